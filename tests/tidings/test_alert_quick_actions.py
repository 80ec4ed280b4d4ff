"""Quick actions on an incident's alerts (`/ack-alerts`, `/ignore-alert ID reason`, ...) on a real git repo.

The alerts come in through the runner (`tidings runner apply` with a captured Alertmanager group of
three), then a person writes `tidings incident update --body` or a commit message; each change is
checked in the files, the model and `git log`: one commit holding the incident and the records.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tidings.cli.main import main
from tidings.content.load import load
from tidings.content.model import AlertRecord, Incident
from tidings.ops.incidents import IncidentError, apply_quick_actions_from_commits
from tidings.ops.quick_actions import QuickActionError, parse
from tidings.store.git import git

from ..conftest import PROJECT_ROOT, SHARED

RAW = SHARED / "data" / "alertmanager" / "payloads" / "raw"
NOW = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
AMARA = ("Amara Okafor", "amara.okafor@example.com")
JONAS = ("Jonas Weber", "jonas.weber@example.com")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


def run(root: Path, *args: str, ok: bool | None = None) -> Result:
    result = CliRunner().invoke(main, ["-C", str(root), *args])
    if ok is True:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo, committed, Amara as git user, and a group of three HighLatency alerts applied."""
    root = tmp_path / "status"
    root.mkdir()
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    # Without the demo's own alert records: these tests count the alerts they make.
    shutil.copytree(PROJECT_ROOT / "content", root / "content", ignore=shutil.ignore_patterns("alerts"))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.name", AMARA[0])
    _git(root, "config", "user.email", AMARA[1])
    _git(root, "config", "commit.gpgsign", "false")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "Start")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(NOW.timestamp())))
    run(root, "runner", "apply", str(RAW / "group_1.body"), str(root), "--source", "alertmanager", ok=True)
    return root


def alerts(root: Path) -> list[AlertRecord]:
    result = load(root)
    assert [d.as_text() for d in result.errors] == []
    return sorted(result.repo.alerts, key=lambda a: a.id)


def the_incident(root: Path) -> Incident:
    (incident_id,) = {a.incident for a in alerts(root)}
    found = load(root).repo.get("incidents", incident_id or "")
    assert isinstance(found, Incident)
    return found


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def changed_in_head(root: Path) -> list[str]:
    return sorted(git(root, "show", "--name-only", "--format=", "HEAD").split())


def unchanged(root: Path, before: str) -> bool:
    return head(root) == before and git(root, "status", "--porcelain") == ""


def test_ack_alerts_acknowledges_every_triggered_alert_and_then_the_incident_in_one_commit(repo):
    incident = the_incident(repo)
    assert [a.status for a in alerts(repo)] == ["triggered"] * 3 and incident.acknowledged_at is None
    out = run(repo, "incident", "update", incident.id, "--body", "/ack-alerts", ok=True).output
    assert f"updated incident {incident.id} by amara" in out
    after = alerts(repo)
    assert [a.status for a in after] == ["acknowledged"] * 3
    assert all((a.events[-1].event, a.events[-1].by) == ("acknowledged", "amara") for a in after)
    incident = the_incident(repo)
    assert incident.acknowledged_at == NOW  # escalation stops, as `tidings alert ack` of the last one does
    last = incident.updates[-1]
    assert last.internal and last.author == "amara"
    assert last.body.startswith("Acknowledged 3 alerts: ") and "incident acknowledged" in last.body
    # One commit: the incident and the three records, naming the person, every alert in a trailer.
    assert changed_in_head(repo) == sorted([incident.path, *(a.path for a in after)])
    message = git(repo, "log", "-1", "--format=%an <%ae>%n%B")
    assert message.startswith(f"{AMARA[0]} <{AMARA[1]}>\nUpdate incident {incident.id} by amara\n")
    assert "Tidings-Person: amara" in message
    assert all(f"Tidings-Alert: {a.id}" in message for a in after)
    # Again: nothing is left to acknowledge; it says so, exit 1, and writes nothing.
    before = head(repo)
    again = run(repo, "incident", "update", incident.id, "--body", "/ack-alerts")
    assert again.exit_code == 1
    said = f"line 1: /ack-alerts: no alert of incident {incident.id} can be acknowledged (3 acknowledged)"
    assert said in again.output
    assert unchanged(repo, before)


def test_one_alert_at_a_time_and_the_refusals_of_tidings_alert(repo):
    first, second, third = alerts(repo)
    incident = the_incident(repo)
    run(repo, "incident", "update", incident.id, "--body", f"/ack-alert {first.id}", ok=True)
    assert [a.status for a in alerts(repo)] == ["acknowledged", "triggered", "triggered"]
    assert the_incident(repo).acknowledged_at is None  # two are still triggered: it still pages
    assert changed_in_head(repo) == sorted([incident.path, first.path])
    run(repo, "incident", "update", incident.id, "--body", f"/resolve-alert {first.id}", ok=True)
    assert alerts(repo)[0].status == "resolved" and the_incident(repo).status != "resolved"

    before = head(repo)
    cases = [
        # The same words as `tidings alert ack` of a resolved alert; the other lines are not applied.
        (
            f"Looking.\n/severity high\n/ack-alert {first.id}",
            f"line 3: cannot acknowledge alert {first.id}: it is resolved (a re-fire reopens it)",
        ),
        (f"/resolve-alert {first.id}", f"cannot resolve alert {first.id}: it is resolved already"),
        (
            f"/ack-alert {second.id[:-1]}x",
            f"line 1: /ack-alert {second.id[:-1]}x: no alert '{second.id[:-1]}x' of incident {incident.id}",
        ),
    ]
    for body, error in cases:
        result = run(repo, "incident", "update", incident.id, "--body", body)
        assert result.exit_code == 1 and error in result.output, result.output
        assert unchanged(repo, before)
    assert (
        f"did you mean '{second.id}'?"
        in run(repo, "incident", "update", incident.id, "--body", f"/ack-alert {second.id[:-1]}x").output
    )
    assert the_incident(repo).severity != "high"

    run(repo, "incident", "update", incident.id, "--body", "/resolve-alerts", ok=True)
    assert [a.status for a in alerts(repo)] == ["resolved"] * 3
    assert the_incident(repo).status != "resolved"  # resolving alerts leaves the incident to people
    assert third.id in the_incident(repo).updates[-1].body


def test_an_alert_of_another_incident_is_refused(repo, tmp_path):
    incident = the_incident(repo)
    other = "2026-10-17-postgres-failover"  # a demo incident with no alerts
    (alert, *_) = alerts(repo)
    before = head(repo)
    result = run(repo, "incident", "update", other, "--body", f"/ack-alert {alert.id}")
    assert result.exit_code == 1
    assert f"alert {alert.id} is not an alert of incident {other} (it belongs to incident {incident.id})" in (
        result.output
    )
    assert f"tidings alert link {alert.id} {other}" in result.output
    result = run(repo, "incident", "update", other, "--body", "/resolve-alerts")
    assert result.exit_code == 1 and f"incident {other} has no alerts" in result.output
    assert unchanged(repo, before)


def test_ignore_alerts_alone_closes_a_runner_incident_as_a_false_alarm(repo):
    incident = the_incident(repo)
    body = "/ignore-alerts the probe's config was wrong"
    run(repo, "incident", "update", incident.id, "--body", body, ok=True)
    after = alerts(repo)
    assert [a.status for a in after] == ["ignored"] * 3
    assert {a.events[-1].reason for a in after} == {"the probe's config was wrong"}  # as written
    incident = the_incident(repo)
    assert incident.status == "resolved" and incident.resolved_at == NOW
    assert "resolved as a false alarm" in incident.updates[-1].body
    assert incident.updates[-1].status == "resolved"
    assert changed_in_head(repo) == sorted([incident.path, *(a.path for a in after)])


def test_ignore_alerts_with_words_of_ones_own_leaves_the_incident_to_people(repo):
    incident = the_incident(repo)
    body = "Latency is fine; the probe was flapping.\n/ignore-alert {}\n/ignore-alerts flapping probe"
    (first, *_) = alerts(repo)
    run(repo, "incident", "update", incident.id, "--body", body.format(first.id), ok=True)
    assert [a.status for a in alerts(repo)] == ["ignored"] * 3
    assert alerts(repo)[0].events[-1].reason is None  # `/ignore-alert ID` without a reason
    incident = the_incident(repo)
    assert incident.status != "resolved" and incident.acknowledged_at == NOW  # it pages no more
    assert incident.updates[-1].body == "Latency is fine; the probe was flapping."


def test_quick_actions_in_commit_messages_act_on_alerts_once(repo):
    incident = the_incident(repo)
    first, second, _ = alerts(repo)
    start = head(repo)
    _person_commit(repo, f"Checked web-1\n\n/ack-alert {first.id}\n\nTidings-Incident: {incident.id}\n")
    _person_commit(repo, f"Done\n\n/resolve-alerts\n\nTidings-Incident: {incident.id}\n")
    done = apply_quick_actions_from_commits(repo, f"{start}..HEAD")
    assert [c.changed for c in done] == [True, True]
    after = alerts(repo)
    assert [a.status for a in after] == ["resolved"] * 3
    # The second commit saw what the first did: web-1 went acknowledged, then resolved.
    assert [e.event for e in after[0].events][-2:] == ["acknowledged", "resolved"]
    assert after[0].events[-1].by == "jonas"
    log = git(repo, "log", "-2", "--format=%s%x00%(trailers:key=Tidings-Alert,valueonly)%x00").split("\0")
    subject = log[0].strip()
    assert subject.startswith("Quick actions of ") and subject.endswith(f"{incident.id} by jonas")
    assert sorted(log[1].split()) == sorted(a.id for a in after)  # the second: every alert it resolved
    assert log[3].split() == [first.id]
    # Acted on once.
    before = head(repo)
    assert apply_quick_actions_from_commits(repo, f"{start}..HEAD") == []
    assert head(repo) == before
    assert second.id in the_incident(repo).updates[-1].body


def test_a_range_with_a_nonsense_alert_action_applies_nothing(repo):
    incident = the_incident(repo)
    start = head(repo)
    _person_commit(repo, f"Ack\n\n/ack-alerts\n\nTidings-Incident: {incident.id}\n")
    _person_commit(repo, f"Ack again\n\n/ack-alerts\n\nTidings-Incident: {incident.id}\n")
    before = head(repo)
    with pytest.raises(IncidentError) as caught:
        apply_quick_actions_from_commits(repo, f"{start}..HEAD")
    assert "nothing was applied" in str(caught.value) and "can be acknowledged (3 acknowledged)" in str(
        caught.value
    )
    assert unchanged(repo, before) and [a.status for a in alerts(repo)] == ["triggered"] * 3
    result = run(repo, "incident", "quick-actions", f"{start}..HEAD")
    assert result.exit_code == 1 and unchanged(repo, before)


def test_a_new_incident_has_no_alerts_to_act_on(repo):
    before = head(repo)
    result = run(repo, "incident", "open", "--title", "New", "--body", "/ack-alerts")
    assert result.exit_code == 2 and "a new incident has no alerts yet" in result.output
    assert unchanged(repo, before)


def test_parsing_alert_actions():
    parsed = parse(
        "/ack-alerts\n/ignore-alerts  it's the probe, again \n/ignore-alert prom-1a2b  flapping\n"
        "/resolve-alert prom-1a2b\n/ignore-alerts"
    )
    assert [(a.name, a.args) for a in parsed.actions] == [
        ("ack-alerts", ()),
        ("ignore-alerts", ("it's the probe, again",)),  # free text: never split like a shell line
        ("ignore-alert", ("prom-1a2b", "flapping")),
        ("resolve-alert", ("prom-1a2b",)),
        ("ignore-alerts", ()),
    ]
    with pytest.raises(QuickActionError) as caught:
        parse("/ack-alerts now\n/ack-alert\n/ack-alert Not-An-Id!\n/ignore-alert\n/ack-alrts")
    assert [str(p) for p in caught.value.problems] == [
        "line 1: /ack-alerts takes no argument"
        " (usage: /ack-alerts (acknowledge the incident's triggered alerts))",
        "line 2: /ack-alert needs an argument (usage: /ack-alert ALERT-ID)",
        "line 3: /ack-alert: 'Not-An-Id!' is not an alert id (usage: /ack-alert ALERT-ID)",
        "line 4: /ignore-alert needs an alert id (usage: /ignore-alert ALERT-ID [reason])",
        "line 5: unknown quick action '/ack-alrts' (did you mean '/ack-alerts'?)",
    ]


def _person_commit(root: Path, message: str, who: tuple[str, str] = JONAS) -> str:
    _git(root, "-c", f"user.name={who[0]}", "-c", f"user.email={who[1]}", "commit", "-q", "--allow-empty",
         "-m", message)  # fmt: skip
    return head(root)

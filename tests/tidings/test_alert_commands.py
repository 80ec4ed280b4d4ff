"""`tidings alert list|show|ack|resolve|ignore|link|promote` on a real git repo.

The alerts come in through the runner (`tidings runner apply` with the captured Alertmanager bodies
and generic posts), then a person triages them; each change is checked in the files, the model
and `git log`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tidings.cli.main import main
from tidings.content.load import load
from tidings.content.model import AlertRecord, Incident
from tidings.store.git import git

from ..conftest import PROJECT_ROOT, SHARED

RAW = SHARED / "data" / "alertmanager" / "payloads" / "raw"
NOW = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
AMARA = ("Amara Okafor", "amara.okafor@example.com")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo, committed, with Amara as git user, and the first captured Alertmanager alert applied.

    Without the demo's own alert records: the tests count the records the runner writes.
    """
    root = tmp_path / "status"
    root.mkdir()
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content", ignore=shutil.ignore_patterns("alerts"))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.name", AMARA[0])
    _git(root, "config", "user.email", AMARA[1])
    _git(root, "config", "commit.gpgsign", "false")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "Start")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(NOW.timestamp())))
    run(root, "runner", "apply", str(RAW / "single_1.body"), str(root), "--source", "alertmanager", ok=True)
    return root


def run(root: Path, *args: str, ok: bool | None = None) -> Result:
    result = CliRunner().invoke(main, ["-C", str(root), *args])
    if ok is True:
        assert result.exit_code == 0, result.output
    return result


def the_alert(root: Path) -> AlertRecord:
    (record,) = load(root).repo.alerts
    return record


def incident_of(root: Path, record: AlertRecord) -> Incident:
    found = load(root).repo.get("incidents", record.incident or "")
    assert isinstance(found, Incident)
    return found


def test_list_and_show(repo):
    record = the_alert(repo)
    listed = run(repo, "alert", "list", ok=True).output
    assert record.id in listed and "triggered" in listed and "ApiDown on api-1:8080" in listed
    assert run(repo, "alert", "list", "--status", "resolved", ok=True).output == ""
    data = json.loads(run(repo, "alert", "list", "--format", "json", ok=True).output)
    assert [a["id"] for a in data] == [record.id] and data[0]["incident"] == record.incident
    assert (
        json.loads(run(repo, "alert", "list", "--component", "web", "--format", "json", ok=True).output) == []
    )
    shown = run(repo, "alert", "show", record.id, ok=True).output
    assert "fingerprint: 747c372d08f14e3c" in shown and "fired" in shown and "hosts: api-1:8080" in shown
    details = json.loads(run(repo, "alert", "show", record.id, "--format", "json", ok=True).output)
    assert [e["event"] for e in details["events"]] == ["fired", "linked"]


def test_an_unknown_alert_gets_a_did_you_mean_and_exit_1(repo):
    record = the_alert(repo)
    head = git(repo, "rev-parse", "HEAD")
    result = run(repo, "alert", "ack", record.id[:-1] + "x")
    assert result.exit_code == 1
    assert f"no alert '{record.id[:-1]}x'" in result.output and record.id in result.output  # did you mean
    assert git(repo, "rev-parse", "HEAD") == head


def test_ack_acknowledges_the_incident_when_no_alert_is_left_triggered(repo):
    record = the_alert(repo)
    out = run(repo, "alert", "ack", record.id, ok=True).output
    assert f"acknowledged alert {record.id} by amara" in out and "incident" in out
    after = the_alert(repo)
    assert after.status == "acknowledged" and after.events[-1].by == "amara"
    assert incident_of(repo, after).acknowledged_at is not None  # escalation stops
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith(f"Acknowledge alert {record.id} by amara")
    assert f"Tidings-Alert: {record.id}" in message and "Tidings-Person: amara" in message
    assert git(repo, "log", "-1", "--format=%an <%ae>").strip() == "Amara Okafor <amara.okafor@example.com>"
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == sorted([after.path, incident_of(repo, after).path])  # one commit, both files
    head = git(repo, "rev-parse", "HEAD")
    again = run(repo, "alert", "ack", record.id)
    assert again.exit_code == 1 and "acknowledged already" in again.output
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == ""


def test_ignoring_the_only_alert_of_a_runner_incident_closes_it_as_a_false_alarm(repo):
    record = the_alert(repo)
    out = run(repo, "alert", "ignore", record.id, "--reason", "the probe was down", ok=True).output
    assert "false alarm" in out
    after = the_alert(repo)
    incident = incident_of(repo, after)
    assert after.status == "ignored" and after.events[-1].reason == "the probe was down"
    assert incident.status == "resolved" and "false alarm" in incident.updates[-1].body
    again = run(repo, "alert", "ignore", record.id)
    assert again.exit_code == 1 and "ignored already" in again.output
    assert run(repo, "alert", "ack", record.id).exit_code == 1  # nonsense: it is a false alarm


def test_ignoring_leaves_an_incident_people_wrote_in_open(repo):
    record = the_alert(repo)
    run(repo, "incident", "update", record.incident or "", "--body", "Looking at the API nodes.", ok=True)
    run(repo, "alert", "ignore", record.id, ok=True)
    incident = incident_of(repo, the_alert(repo))
    assert incident.status != "resolved" and incident.acknowledged_at is not None  # it pages no more


def test_resolve_then_nonsense_is_refused(repo):
    record = the_alert(repo)
    run(repo, "alert", "resolve", record.id, ok=True)
    after = the_alert(repo)
    assert after.status == "resolved" and incident_of(repo, after).status != "resolved"  # people resolve it
    refused = run(repo, "alert", "ack", record.id)
    assert refused.exit_code == 1 and "resolved" in refused.output


def test_link_and_promote(repo, tmp_path):
    integrations = repo / ".gitlab" / "integrations.yml"
    integrations.write_text(
        integrations.read_text().replace("kind: generic", "kind: generic\n    open_incident: false", 1)
    )
    _git(repo, "commit", "-qam", "Generic alerts wait in the list")
    payload = tmp_path / "queue.json"
    payload.write_text(json.dumps({"title": "Queue slow", "service": "api", "fingerprint": "q-1"}))
    run(repo, "runner", "apply", str(payload), str(repo), "--source", "generic", ok=True)
    (waiting,) = [a for a in load(repo).repo.alerts if a.integration == "uptime-checks"]
    assert waiting.incident is None
    out = run(repo, "alert", "promote", waiting.id, ok=True).output
    promoted = load(repo).repo.get("alerts", waiting.id)
    assert isinstance(promoted, AlertRecord) and promoted.incident and promoted.incident in out
    opened = incident_of(repo, promoted)
    assert opened.title == "Queue slow" and "api" in opened.components
    assert [a.fingerprint for a in opened.alerts] == [waiting.fingerprint]  # the incident lists it
    assert run(repo, "alert", "promote", waiting.id).exit_code == 1  # it has an incident now
    other = the_alert_of(repo, "prometheus")
    out = run(repo, "alert", "link", other.id, opened.id, ok=True).output
    assert f"linked alert {other.id} to incident {opened.id}" in out
    assert load(repo).repo.get("alerts", other.id).incident == opened.id  # type: ignore[union-attr]
    assert any(a.fingerprint == other.fingerprint for a in incident_of(repo, promoted).alerts)
    assert load(repo).errors == []


def the_alert_of(root: Path, integration: str) -> AlertRecord:
    (record,) = [a for a in load(root).repo.alerts if a.integration == integration]
    return record

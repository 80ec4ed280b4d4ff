"""`tidings runner apply`: real Alertmanager bodies, byte for byte, against a real repo with a bare remote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.runner.conftest import RAW, _run
from tidings.cli.main import main
from tidings.content.load import load
from tidings.runner.sources.alertmanager import group_id
from tidings.store.git import git


def apply(clone: Path, name: str, *extra: str, source: str = "alertmanager") -> str:
    payload = RAW / f"{name}.body" if source == "alertmanager" and "/" not in name else name
    run = CliRunner().invoke(main, ["runner", "apply", str(payload), str(clone), "--source", source, *extra])
    assert run.exit_code == 0, run.output
    return run.output.split()[0]


def commits(clone: Path) -> list[str]:
    return git(clone, "log", "--format=%s").splitlines()


def incident(clone: Path, stem_start: str):
    repo = load(clone).repo
    (found,) = [i for i in repo.incidents if i.id.startswith(stem_start)]
    return found


def test_fire_redeliver_resolve_redeliver(clone):
    assert [apply(clone, n) for n in ("single_1", "single_1", "single_2", "single_2")] == [
        "opened",
        "unchanged",
        "resolved",
        "unchanged",
    ]
    assert commits(clone)[:2] == [
        "runner: resolved incident 2026-11-22-apidown-on-api-1-8080",
        "runner: opened incident 2026-11-22-apidown-on-api-1-8080",
    ]
    found = incident(clone, "2026-11-22-apidown")
    assert found.status == "resolved" and not found.published  # nothing is public until a person says so
    assert found.components == {"api": "partial_outage"} and found.severity == "critical"
    assert found.resolved_at.isoformat() == "2026-11-22T16:20:14+00:00"  # the alert's endsAt, to the second
    assert [(a.fingerprint, a.state) for a in found.alerts] == [("747c372d08f14e3c", "resolved")]
    assert load(clone).errors == []
    message = git(clone, "log", "-1", "--format=%B")
    assert "Tidings-Source: alertmanager/prometheus" in message
    assert "Tidings-Fingerprint: 747c372d08f14e3c" in message
    assert git(clone, "log", "-1", "--format=%an <%ae>").strip() == "Tidings runner <runner@tidings.invalid>"
    git(clone, "fsck", "--strict")


def test_retries_and_repeats_of_identical_bodies_change_nothing(clone):
    before = len(commits(clone))
    actions = [apply(clone, f"retry_long_{n}") for n in range(1, 13)]
    assert actions[0] == "opened" and set(actions[1:]) <= {"unchanged", "resolved"}
    # The repeat scenario is the same group firing again a minute later: it reopens; repeat_interval's
    # byte-identical re-send is a no-op; then it resolves.
    repeats = [apply(clone, f"repeat_{n}") for n in range(1, 4)]
    assert repeats == ["reopened", "unchanged", "resolved"]
    changes = [a for a in actions + repeats if a != "unchanged"]
    assert len(commits(clone)) - before == len(changes) == 4


def test_flapping_reopens_the_same_incident_within_the_window(clone):
    assert [apply(clone, f"flapping_{n}") for n in range(1, 5)] == [
        "opened",
        "resolved",
        "reopened",
        "resolved",
    ]
    found = incident(clone, "2026-11-22-flappy")
    assert [u.status for u in found.updates] == ["investigating", "resolved", "investigating", "resolved"]


def test_outside_the_window_a_new_incident_opens(clone):
    integrations = clone / ".gitlab" / "integrations.yml"
    integrations.write_text(integrations.read_text().replace("reopen_minutes: 60", "reopen_minutes: 0"))
    git(clone, "commit", "-qam", "No reopening")
    assert [apply(clone, f"flapping_{n}") for n in range(1, 5)] == [
        "opened",
        "resolved",
        "opened",
        "resolved",
    ]
    assert len([i for i in load(clone).repo.incidents if i.id.startswith("2026-11-22-flappy")]) == 2


def test_a_group_resolving_alert_by_alert(clone):
    assert [apply(clone, f"group_{n}") for n in range(1, 4)] == ["opened", "updated", "resolved"]
    found = incident(clone, "2026-11-22-highlatency")
    assert {a.state for a in found.alerts} == {"resolved"} and len(found.alerts) == 3


def test_a_human_comment_and_edit_survive_a_runner_update(clone):
    apply(clone, "single_1")
    path = next((clone / "content" / "incidents").glob("2026-11-22-apidown*.md"))
    text = path.read_text().replace("status: investigating\n", "status: identified  # @amara is on it\n", 1)
    path.write_text(text)
    git(clone, "commit", "-qam", "Identified")
    apply(clone, "single_2")
    after = path.read_text()
    assert "# @amara is on it" in after
    assert after.count("\nstatus: resolved") == 1


def test_generic_alerts_open_and_resolve(clone, tmp_path):
    fire = tmp_path / "fire.json"
    fire.write_text(json.dumps({
        "title": "Checkout latency above 2 s", "description": "p95 latency", "service": "web",
        "severity": "high", "monitoring_tool": "uptime", "hosts": ["web-1"],
        "fingerprint": "checkout-latency", "start_time": "2026-11-24T10:00:00Z",
    }))  # fmt: skip
    resolve = tmp_path / "resolve.json"
    resolve.write_text(json.dumps({**json.loads(fire.read_text()), "end_time": "2026-11-24T10:20:00Z"}))
    assert apply(clone, str(fire), "--integration", "uptime-checks", source="generic") == "opened"
    assert apply(clone, str(fire), "--integration", "uptime-checks", source="generic") == "unchanged"
    assert apply(clone, str(resolve), "--integration", "uptime-checks", source="generic") == "resolved"
    found = incident(clone, "2026-11-24-checkout-latency")
    assert found.components == {"web": "major_outage"} and found.severity == "high"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"version": "4", "groupKey": "g", "alerts": []}', "alerts: expected a non-empty list"),
        (
            b'{"version": "4", "groupKey": "g", "alerts": [{"status": "burning", "fingerprint": "f"}]}',
            "alerts[0].status",
        ),
    ],
)
def test_bad_payloads_are_refused_and_write_nothing(clone, tmp_path, body, message):
    payload = tmp_path / "bad.json"
    payload.write_bytes(body)
    head = git(clone, "rev-parse", "HEAD")
    run = CliRunner().invoke(main, ["runner", "apply", str(payload), str(clone), "--source", "alertmanager"])
    assert run.exit_code == 1 and message in run.output
    assert git(clone, "rev-parse", "HEAD") == head
    assert git(clone, "status", "--porcelain") == ""


def test_push_rebases_onto_a_human_commit_and_never_forces(clone, tmp_path):
    other = tmp_path / "other"
    _run("git", "clone", "--quiet", str(tmp_path / "remote.git"), str(other), cwd=tmp_path)
    readme = other / "content" / "README.md"
    readme.write_text(readme.read_text() + "\nA note merged by a person.\n")
    _run(
        "git",
        "-c",
        "user.name=Bo",
        "-c",
        "user.email=bo@example.com",
        "commit",
        "-qam",
        "Human edit",
        cwd=other,
    )
    _run("git", "push", "--quiet", "origin", "HEAD:main", cwd=other)
    assert apply(clone, "single_1", "--push") == "opened"
    remote_log = git(tmp_path / "remote.git", "log", "--format=%s", "main").splitlines()
    assert remote_log[:3] == [
        "runner: opened incident 2026-11-22-apidown-on-api-1-8080",
        "Human edit",
        "Start",
    ]


SCENARIOS = sorted({p.name.rsplit("_", 1)[0] for p in RAW.glob("*.body")})


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_captured_scenario_applies_in_arrival_order_and_keeps_the_repo_valid(clone, scenario):
    bodies = sorted(RAW.glob(f"{scenario}_*.body"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    actions = [apply(clone, p.stem) for p in bodies]
    assert actions[0] == "opened"
    assert load(clone).errors == []
    # Whatever Alertmanager sent last decides: a group whose last post says resolved is resolved.
    last = json.loads(bodies[-1].read_bytes())
    incidents = [
        i for i in load(clone).repo.incidents if any(a.group == group_id(last["groupKey"]) for a in i.alerts)
    ]
    newest = max(incidents, key=lambda i: (i.started_at, i.id))
    assert (newest.status == "resolved") == (last["status"] == "resolved"), (scenario, actions)
    if scenario == "truncate":
        assert any("max_alerts" in (u.body or "") for u in newest.updates)
    if scenario == "unicode":
        assert not newest.title.isascii()


def test_a_generic_alert_without_start_time_fires_once_however_often_it_is_posted(clone, tmp_path):
    fire = tmp_path / "fire.json"
    fire.write_text(json.dumps({"title": "Homepage down", "service": "web", "fingerprint": "home-1"}))
    resolve = tmp_path / "resolve.json"
    resolve.write_text(json.dumps({**json.loads(fire.read_text()), "end_time": "2030-01-01T00:00:00Z"}))
    args = ("--integration", "uptime-checks")
    posts = [fire, fire, fire, resolve, fire]
    assert [apply(clone, str(p), *args, source="generic") for p in posts] == [
        "opened", "unchanged", "unchanged", "resolved", "reopened"
    ]  # fmt: skip


def test_an_end_before_the_start_is_refused(clone, tmp_path):
    payload = tmp_path / "bad.json"
    payload.write_text(json.dumps({"title": "x", "start_time": "2026-11-24T10:00:00Z",
                                   "end_time": "2026-11-24T09:59:00Z"}))  # fmt: skip
    run = CliRunner().invoke(
        main,
        [
            "runner",
            "apply",
            str(payload),
            str(clone),
            "--source",
            "generic",
            "--integration",
            "uptime-checks",
        ],
    )
    assert run.exit_code == 1 and "end_time" in run.output and "before start_time" in run.output


def test_severity_labels_match_in_any_case(clone, tmp_path):
    payload = json.loads((RAW / "single_1.body").read_bytes())
    for alert in payload["alerts"]:
        alert["labels"]["severity"] = "Critical"
    payload["commonLabels"]["severity"] = "Critical"
    path = tmp_path / "upper.json"
    path.write_text(json.dumps(payload))
    apply(clone, str(path))
    assert incident(clone, "2026-11-22-apidown").severity == "critical"


def test_apply_push_reapplies_onto_a_conflicting_human_edit(clone, tmp_path):
    assert apply(clone, "single_1", "--push") == "opened"
    other = tmp_path / "other"
    _run("git", "clone", "--quiet", str(tmp_path / "remote.git"), str(other), cwd=tmp_path)
    path = next((other / "content" / "incidents").glob("2026-11-22-apidown*.md"))
    path.write_text(path.read_text().replace("status: investigating\n", "status: identified  # on it\n", 1))
    _run(
        "git",
        "-c",
        "user.name=Bo",
        "-c",
        "user.email=bo@example.com",
        "commit",
        "-qam",
        "Identified",
        cwd=other,
    )
    _run("git", "push", "--quiet", "origin", "HEAD:main", cwd=other)
    assert apply(clone, "single_2", "--push") == "resolved"  # its clone still has the old file
    remote = tmp_path / "remote.git"
    log = git(remote, "log", "--format=%s", "main").splitlines()
    assert log[0].startswith("runner: resolved") and log[1] == "Identified"
    final = git(remote, "show", f"main:{path.relative_to(other)}")
    assert "# on it" in final and "\nstatus: resolved" in final and "<<<<<<<" not in final

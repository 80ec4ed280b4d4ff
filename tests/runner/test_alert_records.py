"""Alert records written by the runner: one per alert, changed only by news, linked to the incident.

Real payloads (the captured Alertmanager bodies and generic posts) through `tidings runner apply`
against a clone of a bare remote; the records are read back through the loader.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.runner.conftest import RAW, commit_all
from tidings.cli.main import main
from tidings.content.load import load
from tidings.content.model import AlertRecord
from tidings.store.git import git


def apply(clone: Path, payload: Path | str, source: str = "alertmanager", tmp: Path | None = None) -> str:
    if isinstance(payload, str) and source == "alertmanager":
        payload = RAW / f"{payload}.body"
    run = CliRunner().invoke(main, ["runner", "apply", str(payload), str(clone), "--source", source])
    assert run.exit_code == 0, run.output
    return run.output.split()[0]


def generic(tmp: Path, name: str, **body: object) -> Path:
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(body))
    return path


def post(clone: Path, tmp: Path, name: str, **body: object) -> str:
    """A generic alert posted through `runner apply` to the demo's generic integration."""
    return apply(clone, generic(tmp, name, **body), "generic")


def records(clone: Path) -> list[AlertRecord]:
    result = load(clone)
    assert result.errors == [], [d.as_text() for d in result.errors]
    return list(result.repo.alerts)


def integrations(clone: Path, extra: str) -> None:
    """Give the demo's generic integration settings of this test."""
    path = clone / ".gitlab" / "integrations.yml"
    text = path.read_text()
    assert "kind: generic" in text
    path.write_text(text.replace("kind: generic", "kind: generic\n" + extra, 1))
    commit_all(clone, "Integration settings")


def test_an_alert_becomes_a_record_linked_to_its_incident_and_repeats_change_nothing(clone):
    apply(clone, "single_1")
    (record,) = records(clone)
    (incident,) = [i for i in load(clone).repo.incidents if i.id.startswith("2026-11-22-apidown")]
    assert record.status == "triggered" and record.incident == incident.id
    assert record.integration == "prometheus" and record.source == "alertmanager"
    assert record.fingerprint == "747c372d08f14e3c" and record.fired == 1
    assert record.title == "ApiDown on api-1:8080" and record.severity == "critical"
    assert record.component == "api" and record.hosts == ["api-1:8080"]
    assert record.links["source"].startswith("http://prometheus.example:9090/graph")
    assert [e.event for e in record.events] == ["fired", "linked"]
    assert record.path == f"content/alerts/{record.id}.yml" and record.id.startswith("prometheus-")
    head = git(clone, "rev-parse", "HEAD")
    assert apply(clone, "single_1") == "unchanged"
    assert git(clone, "rev-parse", "HEAD") == head  # a re-delivery writes nothing
    apply(clone, "single_2")
    (record,) = records(clone)
    assert record.status == "resolved" and [e.event for e in record.events][-1] == "resolved"
    assert apply(clone, "single_2") == "unchanged"
    assert git(clone, "show", "--stat", "--format=%s", "HEAD~1").count("content/alerts/") == 1


def test_a_re_fire_reopens_within_the_window_and_is_a_new_record_after_it(clone, tmp_path):
    base = {"title": "Disk full", "service": "storage", "fingerprint": "disk-1"}
    post(clone, tmp_path, "f1", **base, start_time="2026-11-01T10:00:00Z")
    apply(
        clone,
        generic(tmp_path, "r1", **base, start_time="2026-11-01T10:00:00Z", end_time="2026-11-01T10:05:00Z"),
        "generic",
    )
    # 30 minutes after resolving: within the default 60 minutes, the same record comes back.
    post(clone, tmp_path, "f2", **base, start_time="2026-11-01T10:35:00Z")
    (record,) = records(clone)
    assert record.status == "triggered" and record.fired == 2
    assert [e.event for e in record.events] == ["fired", "linked", "resolved", "reopened"]
    apply(
        clone,
        generic(tmp_path, "r2", **base, start_time="2026-11-01T10:35:00Z", end_time="2026-11-01T10:40:00Z"),
        "generic",
    )
    # A day later: a new problem, a record of its own.
    post(clone, tmp_path, "f3", **base, start_time="2026-11-02T10:00:00Z")
    first, second = sorted(records(clone), key=lambda r: r.first_seen)
    assert first.status == "resolved" and second.status == "triggered"
    assert second.id == first.id + "-2" and second.fired == 1
    assert second.incident and second.incident != first.incident  # and a new incident, as today


def test_an_integration_that_opens_no_incident_only_records(clone, tmp_path):
    integrations(clone, "    open_incident: false\n")
    before = {i.id for i in load(clone).repo.incidents}
    assert post(clone, tmp_path, "f", title="Queue slow", fingerprint="q-1") == "unchanged"
    assert {i.id for i in load(clone).repo.incidents} == before
    (record,) = records(clone)
    assert record.incident is None and record.status == "triggered"
    assert git(clone, "log", "-1", "--format=%s").strip() == "runner: 1 alert: 1 recorded"


def test_recovery_can_resolve_the_alert_only(clone, tmp_path):
    integrations(clone, "    recovery: alert\n")
    base = {
        "title": "Login errors",
        "service": "api",
        "fingerprint": "login-1",
        "start_time": "2026-11-03T08:00:00Z",
    }
    post(clone, tmp_path, "f", **base)
    post(clone, tmp_path, "r", **base, end_time="2026-11-03T08:10:00Z")
    (record,) = records(clone)
    incident = load(clone).repo.get("incidents", record.incident or "")
    assert record.status == "resolved"
    assert incident is not None and incident.status != "resolved"  # a person says when it is over


def test_an_incident_template_gives_the_opened_incident_its_defaults(clone, tmp_path):
    integrations(clone, "    template: database-outage\n")
    apply(
        clone, generic(tmp_path, "f", title="Replica lag", fingerprint="lag-1", severity="unknown"), "generic"
    )
    (record,) = records(clone)
    incident = load(clone).repo.get("incidents", record.incident or "")
    template = (clone / "content" / "templates" / "database-outage.md").read_text()
    assert incident is not None
    assert incident.components.get("postgres") == "major_outage"  # the template's defaults
    assert incident.severity == "high" and incident.runbooks == ["postgres-failover"]
    assert "database" in incident.labels  # its quick action applied, its line not in the summary
    assert "/label" not in incident.body and "/label ~database" in template


def test_a_storm_of_alerts_in_one_group_is_one_incident_and_a_record_each(clone, tmp_path):
    payload = json.loads((RAW / "single_1.body").read_bytes())
    alert = payload["alerts"][0]
    payload["alerts"] = [
        {**alert, "fingerprint": f"{n:016x}", "labels": {**alert["labels"], "instance": f"api-{n}:8080"}}
        for n in range(25)
    ]
    path = tmp_path / "storm.json"
    path.write_text(json.dumps(payload))
    apply(clone, path)
    found = records(clone)
    assert len(found) == 25 and len({r.incident for r in found}) == 1
    assert sorted(h for r in found for h in r.hosts) == sorted(f"api-{n}:8080" for n in range(25))


def test_an_alert_inside_a_maintenance_window_says_why_it_pages_nobody(clone, tmp_path):
    window = clone / "content" / "maintenance" / "2026-11-10-storage-work.md"
    window.write_text(
        "---\ntitle: Storage work\npublished: true\nscheduled_for: 2026-11-10T10:00:00Z\n"
        "scheduled_until: 2026-11-10T12:00:00Z\ncomponents: [storage]\n---\n"
    )
    commit_all(clone, "Storage work")
    post(
        clone,
        tmp_path,
        "f",
        title="Disk slow",
        service="storage",
        fingerprint="d-1",
        start_time="2026-11-10T10:30:00Z",
    )
    post(
        clone,
        tmp_path,
        "g",
        title="Disk slow",
        service="api",
        fingerprint="d-2",
        start_time="2026-11-10T10:30:00Z",
    )
    quiet, loud = sorted(records(clone), key=lambda r: r.component or "")[::-1]
    assert quiet.component == "storage" and [e.event for e in quiet.events][:2] == ["fired", "quiet"]
    assert "storage-work" in (quiet.events[1].reason or "")
    assert "quiet" not in [e.event for e in loud.events]  # another component: it pages as usual

"""Each source's documented sequences through parse -> apply -> commit (`runner apply`'s path), in a
clone of a bare remote: fire, re-deliver, acknowledge, resolve, fire again, and replays that change
nothing."""

from __future__ import annotations

import pytest

from tests.runner.sources_setup import add_integrations, body
from tidings.content.load import load
from tidings.runner.service import apply_payload
from tidings.runner.sources.events import IgnoredEvent
from tidings.store.git import git


@pytest.fixture
def repo(clone):
    add_integrations(clone)
    return clone


def run(root, kind: str, integration: str, steps: list[tuple[str, ...]], headers=None) -> None:
    """Apply each fixture in turn and check what it did: to the incident, and to the alert records
    (a third item; none: nothing)."""
    for name, expected, *records in steps:
        applied = apply_payload(root, kind, body(name), integration, headers=headers)
        assert applied.outcome.action == expected, (name, applied.outcome.action)
        done = [r.action for r in applied.outcome.records]
        assert done == (records[0].split(",") if records else done), (name, done)
        if expected == "unchanged" and not records:
            assert done == [], (name, done)
        assert (applied.commit is not None) == (expected != "unchanged" or bool(done)), name


def incidents_of(root, integration: str):
    repo = load(root).repo
    return [i for i in repo.incidents if any(a.source == integration for a in i.alerts)]


def test_grafana_group_fires_resolves_alert_by_alert_and_reopens(repo):
    run(repo, "grafana", "grafana", [
        ("grafana/firing.json", "opened"),
        ("grafana/firing.json", "unchanged"),  # Grafana re-sends the group: nothing new
        ("grafana/one_resolved.json", "updated"),
        ("grafana/resolved.json", "resolved"),
        ("grafana/firing.json", "unchanged"),  # a late retry of the first post
        ("grafana/refired.json", "reopened"),  # within reopen_minutes
    ])  # fmt: skip
    (incident,) = incidents_of(repo, "grafana")
    # The example's group names no alert rule (groupLabels {}): its title names both rules and their team.
    assert incident.title == "High memory usage, High CPU usage (team=blue)"
    assert {a.fingerprint for a in incident.alerts} == {"c6eadffa33fcdf37", "bc97ff14869b13e3"}
    assert incident.status == "investigating" and incident.reopened_at is not None
    assert load(repo).errors == []


def test_pagerduty_ack_acknowledges_the_alert_and_its_incident_resolve_resolves(repo):
    run(repo, "pagerduty", "pagerduty", [
        ("pagerduty/triggered.json", "opened", "recorded"),
        ("pagerduty/acknowledged.json", "acknowledged", "acknowledged"),  # someone took it in PagerDuty
        ("pagerduty/unacknowledged.json", "unchanged", "unacknowledged"),  # the alert waits again
        ("pagerduty/reassigned.json", "unchanged"),
        ("pagerduty/priority_updated.json", "unchanged"),
        ("pagerduty/resolved.json", "resolved"),
        ("pagerduty/triggered.json", "unchanged"),  # replays after the resolve
        ("pagerduty/acknowledged.json", "unchanged"),
        ("pagerduty/resolved.json", "unchanged"),
    ])  # fmt: skip
    (incident,) = incidents_of(repo, "pagerduty")
    assert incident.title == "A little bump in the road" and incident.status == "resolved"
    assert [a.fingerprint for a in incident.alerts] == ["PGR0VU2"]
    # PagerDuty's acknowledgement acknowledged the alert record, and so the incident: it stops paging.
    assert incident.acknowledged_at is not None
    (record,) = [a for a in load(repo).repo.alerts if a.integration == "pagerduty"]
    assert record.status == "resolved" and [e.event for e in record.events][2:] == [
        "acknowledged",
        "unacknowledged",
        "resolved",
    ]
    with pytest.raises(IgnoredEvent):
        apply_payload(repo, "pagerduty", body("pagerduty/annotated.json"), "pagerduty")


def test_datadog_transitions_fire_renotify_recover_and_fire_again(repo):
    run(repo, "datadog", "datadog", [
        ("datadog/triggered.json", "opened"),
        ("datadog/retriggered.json", "unchanged"),  # a re-notification is no new firing
        ("datadog/recovered.json", "resolved"),
        ("datadog/triggered.json", "unchanged"),  # replays of the cycle that ended
        ("datadog/recovered.json", "unchanged"),
        ("datadog/triggered_again.json", "reopened"),  # 20 minutes after the recovery
    ])  # fmt: skip
    (incident,) = incidents_of(repo, "datadog")
    assert incident.title == "[Memory Alert]" and incident.severity == "critical"


def test_sentry_issues_and_metric_alerts(repo):
    issue = {"sentry-hook-resource": "issue"}
    run(repo, "sentry", "sentry", [
        ("sentry/issue_created.json", "opened"),
        ("sentry/issue_created.json", "unchanged"),
        ("sentry/issue_resolved.json", "resolved"),
        ("sentry/issue_created.json", "unchanged"),  # a replay of the creation
        ("sentry/issue_unresolved.json", "reopened"),  # the regression
        ("sentry/issue_unresolved.json", "unchanged"),
        ("sentry/issue_archived.json", "acknowledged", "ignored"),  # ignored in Sentry: no more paging
    ], issue)  # fmt: skip
    alert = {"sentry-hook-resource": "event_alert"}
    run(
        repo,
        "sentry",
        "sentry",
        [("sentry/event_alert.json", "opened"), ("sentry/event_alert.json", "unchanged")],
        alert,
    )
    run(repo, "sentry", "sentry", [("sentry/issue_resolved_1117540176.json", "resolved")], issue)
    run(repo, "sentry", "sentry", [
        ("sentry/metric_alert_critical.json", "opened"),
        ("sentry/metric_alert_warning.json", "unchanged"),
        ("sentry/metric_alert_resolved.json", "resolved"),
        ("sentry/metric_alert_critical.json", "unchanged"),  # a late delivery of the same metric alert
    ], {"sentry-hook-resource": "metric_alert"})  # fmt: skip
    titles = sorted(i.title for i in incidents_of(repo, "sentry"))
    assert titles == [
        "ReferenceError: blooopy is not defined",
        "ReferenceError: heck is not defined",
        "Too many errors",
    ]
    assert load(repo).errors == []


def test_a_custom_mapping_reads_azure_monitors_common_alert_schema(repo):
    run(repo, "generic", "azure", [
        ("custom/azure_fired.json", "opened"),
        ("custom/azure_fired.json", "unchanged"),
        ("custom/azure_resolved.json", "resolved"),
        ("custom/azure_fired.json", "unchanged"),  # the same alert (alertId), from before it resolved
    ])  # fmt: skip
    (incident,) = incidents_of(repo, "azure")
    assert incident.title == "WCUS-R2-Gen2" and incident.severity == "low"  # Sev3
    assert incident.resolved_at is not None and incident.resolved_at.isoformat().startswith(
        "2019-03-22T14:03:16"
    )
    assert "monitoring_tool=Platform" in incident.updates[0].body
    assert "Tidings-Source: generic/azure" in git(repo, "log", "-1", "--format=%B", "--", incident.path)

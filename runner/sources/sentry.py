"""Sentry internal-integration webhooks: issue alerts, metric alerts and issue state changes.

The `Sentry-Hook-Resource` header says what a post is about (the journal keeps it with the body):

- `event_alert` (an issue alert rule fired on an event): the event's issue fires. The issue id is
  the fingerprint and the group, so the issue's own webhooks below act on the same alert.
- `issue`: `created` and `unresolved` fire it, `resolved` resolves it, `ignored` (now `archived`)
  is the alert's triage; `assigned` and other actions are ignored (202).
- `metric_alert`: `critical` and `warning` fire, `resolved` resolves the metric alert (the
  incident Sentry opened for the rule; its id is the fingerprint); the rule is the group, so a rule
  that fires again soon after reopens its incident as a re-firing Alertmanager group does.

Other resources (`installation`, `comment`, `error`, ...) are ignored (202).

Times, so that replays and late deliveries change nothing: an issue alert starts at its event's
time; an issue's `created` at its firstSeen; `unresolved` (a regression) and `resolved` at its
lastSeen, the newest event, so a regression after a resolution fires anew while an old post
replayed does not; `ignored` at its firstSeen, never a new firing. A metric alert starts at its
`date_started` whatever the action.

Posts are signed: `Sentry-Hook-Signature: <hex HMAC-SHA256(client secret, body)>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tidings.content.model import Integration
from tidings.runner.sources.auth import ACCEPTED, Verdict, hmac_sha256_hex, same, secret
from tidings.runner.sources.events import Alert, AlertEvent, IgnoredEvent, PayloadError
from tidings.runner.sources.fields import any_time, group_id, obj, rfc3339, severity_of, text

KIND = "sentry"
RESOURCE_HEADER = "sentry-hook-resource"
SIGNATURE_HEADER = "sentry-hook-signature"
# Headers the parser needs, kept in the journal with the body.
HEADERS = (RESOURCE_HEADER,)
ISSUE_ACTIONS = {"created", "unresolved", "resolved", "ignored", "archived"}
METRIC_ACTIONS = {"critical", "warning", "resolved"}
# Tags that say what failed where; others (the user's IP address, the browser) stay out of the repo.
TAG_LABELS = ("level", "environment", "release", "server_name", "transaction")


def verify(
    integration: Integration, headers: Mapping[str, str], body: bytes, environ: Mapping[str, str]
) -> Verdict:
    key = secret(environ, integration.secret_env)
    given = headers.get(SIGNATURE_HEADER, "").strip().lower()
    if key is not None and given and same(given, hmac_sha256_hex(key, body).encode()):
        return ACCEPTED
    return Verdict(
        False,
        "missing or wrong Sentry-Hook-Signature",
        "" if key is not None else str(integration.secret_env),
    )


def _actor(payload: dict[str, Any]) -> str:
    actor = payload.get("actor")
    if isinstance(actor, dict) and actor.get("type") == "user" and isinstance(actor.get("name"), str):
        return actor["name"]
    return ""


def _labels(integration: Integration, tags: dict[str, str], **more: str) -> dict[str, str]:
    keep = (
        *TAG_LABELS,
        integration.component_label,
        integration.severity_label,
        integration.runbook_annotation,
    )
    labels = {k: v for k, v in tags.items() if k in keep and v}
    labels.update({k: v for k, v in more.items() if v})
    return labels


def _tags(value: Any) -> dict[str, str]:
    """Sentry's `[["key", "value"], ...]` as a mapping (other shapes give nothing)."""
    if not isinstance(value, list):
        return {}
    pairs = (t for t in value if isinstance(t, list) and len(t) == 2)
    return {str(k): str(v) for k, v in pairs if isinstance(k, str) and isinstance(v, str | int | float)}


def _event(integration: Integration, group: str, title: str, description: str, alert: Alert) -> AlertEvent:
    return AlertEvent(
        source=integration.id,
        kind=KIND,
        group=group,
        title=title,
        description=description,
        alerts=(alert,),
        severity=alert.severity,
        components=(alert.component,) if alert.component else (),
        runbooks=(alert.runbook,) if alert.runbook else (),
    )


def _event_alert(payload: dict[str, Any], integration: Integration) -> AlertEvent:
    action = payload.get("action")
    if action != "triggered":
        raise IgnoredEvent(KIND, f"event_alert.{action}")
    data = obj(payload.get("data"), "data")
    event = obj(data.get("event"), "data.event")
    issue = text(event.get("issue_id"), "data.event.issue_id", required=True)
    if event.get("datetime"):
        when = rfc3339(event["datetime"], "data.event.datetime")
    else:
        when = any_time(event.get("timestamp"), "data.event.timestamp")
    tags = _tags(event.get("tags"))
    level = text(event.get("level"), "data.event.level")
    title = text(event.get("title"), "data.event.title") or f"Sentry issue {issue}"
    culprit = text(event.get("culprit"), "data.event.culprit")
    rule = text(data.get("triggered_rule"), "data.triggered_rule")
    environment = text(event.get("environment"), "data.event.environment") or tags.get("environment", "")
    web = event.get("web_url")
    alert = Alert(
        fingerprint=issue,
        state="firing",
        starts_at=when,
        ends_at=None,
        labels=_labels(integration, tags, level=level, environment=environment),
        annotations={
            "description": culprit,
            "rule": rule,
            "event_id": text(event.get("event_id"), "event_id"),
        },
        title=title,
        description=culprit,
        severity=severity_of(integration, tags.get(integration.severity_label, ""), level),
        component=tags.get(integration.component_label, ""),
        hosts=(tags["server_name"],) if tags.get("server_name") else (),
        monitoring_tool="Sentry",
        environment=environment,
        runbook=tags.get(integration.runbook_annotation, ""),
        links=(("Sentry event", web),) if isinstance(web, str) and web else (),
    )
    return _event(integration, group_id("sentry-issue", issue), title, culprit, alert)


def _issue(payload: dict[str, Any], integration: Integration, received_at: datetime) -> AlertEvent:
    action = text(payload.get("action"), "action")  # a string, or a 422 (a list was a TypeError)
    if action not in ISSUE_ACTIONS:
        raise IgnoredEvent(KIND, f"issue.{action}")
    issue = obj(obj(payload.get("data"), "data").get("issue"), "data.issue")
    issue_id = text(issue.get("id"), "data.issue.id", required=True)
    first = rfc3339(issue.get("firstSeen"), "data.issue.firstSeen")
    last = rfc3339(issue.get("lastSeen"), "data.issue.lastSeen")
    title = text(issue.get("title"), "data.issue.title") or f"Sentry issue {issue_id}"
    culprit = text(issue.get("culprit"), "data.issue.culprit")
    level = text(issue.get("level"), "data.issue.level")
    project = issue.get("project")
    slug = (
        project.get("slug", "") if isinstance(project, dict) and isinstance(project.get("slug"), str) else ""
    )
    resolved = action == "resolved"
    ignored = action in ("ignored", "archived")
    url = next((issue[k] for k in ("web_url", "permalink") if isinstance(issue.get(k), str) and issue[k]), "")
    alert = Alert(
        fingerprint=issue_id,
        state="resolved" if resolved else "firing",
        starts_at=first if action in ("created", "ignored", "archived") else last,
        ends_at=received_at if resolved else None,
        labels=_labels(integration, {}, level=level, project=slug),
        annotations={
            "description": culprit,
            "action": str(action),
            "short_id": str(issue.get("shortId") or ""),
        },
        title=title,
        description=culprit,
        severity=severity_of(integration, level),
        monitoring_tool="Sentry",
        links=(("Sentry issue", url),) if url else (),
        triage="ignored" if ignored else "",
        triage_by=_actor(payload) if ignored else "",
    )
    return _event(integration, group_id("sentry-issue", issue_id), title, culprit, alert)


def _metric_alert(payload: dict[str, Any], integration: Integration, received_at: datetime) -> AlertEvent:
    action = text(payload.get("action"), "action")
    if action not in METRIC_ACTIONS:
        raise IgnoredEvent(KIND, f"metric_alert.{action}")
    data = obj(payload.get("data"), "data")
    metric = obj(data.get("metric_alert"), "data.metric_alert")
    alert_id = text(metric.get("id"), "data.metric_alert.id", required=True)
    rule = obj(metric.get("alert_rule", {}), "data.metric_alert.alert_rule")
    rule_name = text(rule.get("name"), "data.metric_alert.alert_rule.name")
    rule_id = text(rule.get("id"), "data.metric_alert.alert_rule.id") or rule_name or alert_id
    started = metric.get("date_started") or metric.get("date_detected")
    starts = rfc3339(started, "data.metric_alert.date_started")
    resolved = action == "resolved"
    ends = (
        rfc3339(metric["date_closed"], "data.metric_alert.date_closed") if metric.get("date_closed") else None
    )
    title = (
        text(data.get("description_title"), "data.description_title") or rule_name or "Sentry metric alert"
    )
    description = text(data.get("description_text"), "data.description_text")
    environment = text(rule.get("environment"), "data.metric_alert.alert_rule.environment")
    projects = metric.get("projects")
    project_names = ", ".join(str(p) for p in projects) if isinstance(projects, list) else ""
    web = data.get("web_url")
    alert = Alert(
        fingerprint=alert_id,
        state="resolved" if resolved else "firing",
        starts_at=starts,
        ends_at=(ends or received_at) if resolved else None,
        labels=_labels(
            integration, {}, alert_rule=rule_name, projects=project_names, environment=environment
        ),
        annotations={"description": description, "action": str(action)},
        title=title,
        description=description,
        severity=severity_of(integration, "" if resolved else str(action)),
        monitoring_tool="Sentry",
        environment=environment,
        links=(("Sentry alert", web),) if isinstance(web, str) and web else (),
    )
    event_title = rule_name or title
    return _event(integration, group_id("sentry-metric", rule_id), event_title, description, alert)


def parse(
    payload: Any, integration: Integration, received_at: datetime, headers: Mapping[str, str]
) -> AlertEvent:
    """The alert a Sentry post says; IgnoredEvent for resources and actions that change no alert."""
    resource = headers.get(RESOURCE_HEADER, "")
    if not resource:
        raise PayloadError("Sentry-Hook-Resource", "missing: the header saying what the post is about")
    payload = obj(payload, "(body)")
    if resource == "event_alert":
        return _event_alert(payload, integration)
    if resource == "issue":
        return _issue(payload, integration, received_at)
    if resource == "metric_alert":
        return _metric_alert(payload, integration, received_at)
    raise IgnoredEvent(KIND, resource, "not a resource the runner acts on")

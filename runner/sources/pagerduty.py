"""PagerDuty V3 webhooks: a PagerDuty incident is one alert, its id the fingerprint.

Each post carries one event (`event.event_type`) and, for the incident events acted on here, the
incident as it is now (`event.data`: status, created_at, title, service, priority, urgency...). So a
post says the alert's whole state, like an Alertmanager group's: triggered or acknowledged is firing,
resolved is resolved; an acknowledgement (or PagerDuty taking one back, `unacknowledged`) is the
alert's triage. Every event of one incident carries its `created_at`, which is therefore the alert's
startsAt: a re-delivery, or an event arriving late, changes nothing, and an acknowledgement after the
trigger is no new firing. PagerDuty never re-triggers a resolved incident (a new one has a new id).

`incident.annotated` carries a note and only a reference to the incident (no status), so it says
nothing of the alert's state: it is ignored (202) like the events not listed in EVENTS (`service.*`,
`incident.delegated`, `pagey.ping`, ...).

Posts are signed: `X-PagerDuty-Signature: v1=<hex HMAC-SHA256(secret, body)>[,v1=...]`, with one
signature per secret while PagerDuty rotates them; one that matches is enough.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidings.content.model import Integration
from tidings.runner.sources.auth import ACCEPTED, Verdict, hmac_sha256_hex, same, secret
from tidings.runner.sources.events import Alert, AlertEvent, IgnoredEvent, PayloadError
from tidings.runner.sources.fields import group_id, obj, rfc3339, severity_of, text

KIND = "pagerduty"
SIGNATURE_HEADER = "x-pagerduty-signature"
EVENTS = frozenset(
    {
        "incident.triggered",
        "incident.acknowledged",
        "incident.unacknowledged",
        "incident.resolved",
        "incident.reassigned",
        "incident.priority_updated",
    }
)
STATUSES = {"triggered": "firing", "acknowledged": "firing", "resolved": "resolved"}


def verify(
    integration: Integration, headers: Mapping[str, str], body: bytes, environ: Mapping[str, str]
) -> Verdict:
    """Accept a body one of whose v1 signatures is ours (constant-time compares, each of them)."""
    key = secret(environ, integration.secret_env)
    given = [
        s.strip()[3:] for s in headers.get(SIGNATURE_HEADER, "").split(",") if s.strip().startswith("v1=")
    ]
    if key is not None and given:
        expected = hmac_sha256_hex(key, body).encode()
        # Every signature is compared, so the time taken does not say which one matched.
        if sum(same(s, expected) for s in given):
            return ACCEPTED
    return Verdict(
        False,
        "missing or wrong X-PagerDuty-Signature",
        "" if key is not None else str(integration.secret_env),
    )


def _name(ref: Any) -> str:
    """A reference's `summary` (PagerDuty's display name), or ""."""
    return ref.get("summary", "") if isinstance(ref, dict) and isinstance(ref.get("summary"), str) else ""


def parse(payload: Any, integration: Integration) -> AlertEvent:
    """The alert a V3 webhook post says; IgnoredEvent for events that change no alert."""
    event = obj(obj(payload, "(body)").get("event"), "event")
    event_type = text(event.get("event_type"), "event.event_type", required=True)
    if event_type not in EVENTS:
        why = "a note, without the incident's state" if event_type == "incident.annotated" else None
        raise IgnoredEvent(KIND, event_type, why or "not an incident event the runner acts on")
    data = obj(event.get("data"), "event.data")
    incident_id = text(data.get("id"), "event.data.id", required=True)
    status = data.get("status")
    if not isinstance(status, str) or status not in STATUSES:  # a list here is unhashable (fuzzing)
        raise PayloadError("event.data.status", "expected 'triggered', 'acknowledged' or 'resolved'")
    created = rfc3339(data.get("created_at"), "event.data.created_at")
    occurred = rfc3339(event.get("occurred_at"), "event.occurred_at")
    title = text(data.get("title"), "event.data.title") or f"PagerDuty incident {incident_id}"
    service = data.get("service")
    priority = _name(data.get("priority"))
    urgency = text(data.get("urgency"), "event.data.urgency")
    labels = {"service": _name(service), "priority": priority, "urgency": urgency}
    labels = {k: v for k, v in labels.items() if v}
    agent = _name(event.get("agent"))
    triage, triage_by = "", ""
    if status == "acknowledged":  # PagerDuty's word on it, whichever event brought it
        triage, triage_by = "acknowledged", agent if event_type == "incident.acknowledged" else ""
    elif event_type == "incident.unacknowledged":
        triage, triage_by = "unacknowledged", agent
    links = [
        ("PagerDuty incident", data.get("html_url")),
        # A reference may be anything in a malformed post: only a mapping has a link (found by fuzzing).
        ("PagerDuty service", service.get("html_url") if isinstance(service, dict) else None),
    ]
    assignees = data.get("assignees")
    severity = severity_of(integration, labels.get(integration.severity_label, ""), priority, urgency)
    alert = Alert(
        fingerprint=incident_id,
        state=STATUSES[status],
        starts_at=created,
        ends_at=occurred if status == "resolved" else None,
        labels=labels,
        annotations={
            "event_id": text(event.get("id"), "event.id"),
            "event_type": event_type,
            "occurred_at": occurred.isoformat(),
            "incident_key": text(data.get("incident_key"), "event.data.incident_key"),
            "assignees": ", ".join(_name(a) for a in assignees) if isinstance(assignees, list) else "",
        },
        title=title,
        severity=severity,
        component=labels.get(integration.component_label, ""),
        monitoring_tool="PagerDuty",
        links=tuple((label, url) for label, url in links if isinstance(url, str) and url),
        triage=triage,
        triage_by=triage_by,
    )
    return AlertEvent(
        source=integration.id,
        kind=KIND,
        group=group_id("pd", incident_id),
        title=title,
        description="",
        alerts=(alert,),
        severity=severity,
        components=(alert.component,) if alert.component else (),
    )

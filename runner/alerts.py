"""Alert events become alert records: each alert of a group kept as its own record, for triage.

One record per alert (integration + fingerprint), found by its id without reading the others
(tidings.store.alert_file). What a post changes:
- an unknown alert that fires: a new record, `triggered`, `fired` event;
- a new firing (a later start time) of an open alert: `fired` counts it, a `re-fired` event;
- a new firing of a resolved alert within the integration's `reopen_minutes`: `reopened`, back to
  `triggered`; later than that: a new record (`-2`, ...), as a new problem;
- a new firing of an ignored alert: counted, and it stays ignored until a person says otherwise;
- a resolve of an open alert: `resolved`;
- the source's own triage (PagerDuty's acknowledge, Sentry's ignore): the status it says;
- anything already recorded (a re-delivery, a repeat, a late post): nothing.
So applying a post twice changes nothing the second time, as the incident side does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from tidings.content.model import Integration, Url
from tidings.runner.sources.events import Alert, AlertEvent
from tidings.store.alert_file import (
    AlertIndex,
    add_event,
    event_entry,
    new_record,
    open_record,
    save_record,
)
from tidings.store.edit import clean_text
from tidings.store.incident_file import parse_stamp, stamp

# Source triage states and the record status each sets.
TRIAGE = {"acknowledged": "acknowledged", "unacknowledged": "triggered", "ignored": "ignored"}


@dataclass(frozen=True)
class RecordChange:
    rel: str  # the record's path, relative to the root
    alert_id: str
    action: str  # recorded, re-fired, reopened, resolved, acknowledged, ...
    by: str = ""  # who, for a triage the source reports (PagerDuty's acknowledger, say)


def _fields(
    event: AlertEvent, alert: Alert, integration: Integration, incident: str | None
) -> dict[str, Any]:
    return {
        # Whatever a source sends, the record must be writable: a title, and links that are URLs.
        "title": clean_text(alert.title).strip() or clean_text(event.title).strip() or "Alert",
        "status": "triggered",
        "integration": integration.id,
        "source": event.kind,
        "fingerprint": alert.fingerprint,
        "group": event.group,
        "severity": alert.severity if alert.severity != "unknown" else event.severity,
        "component": alert.component,
        "hosts": list(alert.hosts),
        "monitoring_tool": alert.monitoring_tool,
        "environment": alert.environment,
        "runbook": alert.runbook,
        "links": {label: url for label, url in alert.links if _is_url(url)},
        "description": alert.description,
        "first_seen": stamp(alert.starts_at, exact=True),
        "last_seen": stamp(alert.starts_at, exact=True),
        "starts_at": stamp(alert.starts_at, exact=True),
        "fired": 1,
        "incident": incident,
    }


_URL: TypeAdapter[str] = TypeAdapter(Url)


def _is_url(value: str) -> bool:
    try:
        _URL.validate_python(value)
    except ValidationError:
        return False
    return True


def _is_new_firing(alert: Alert, recorded_start: datetime | None, status: str) -> bool:
    if alert.state != "firing":
        return False
    if not alert.starts_known:  # no start from the sender: only a firing after a resolve is new
        return status == "resolved"
    return recorded_start is None or alert.starts_at > recorded_start


def apply_alert(
    root: Path,
    index: AlertIndex,
    event: AlertEvent,
    alert: Alert,
    integration: Integration,
    now: datetime,
    incident: str | None,
    quiet: str = "",
) -> RecordChange | None:
    """Bring one alert's record up to date with the post; None when it changes nothing.

    `quiet`: why its firing pages nobody (a maintenance window over its components), said in a
    `quiet` event beside the firing so a reader of the alert sees it."""
    current = index.newest(integration.id, alert.fingerprint)
    if current is None:
        if alert.state != "firing":
            return None  # a resolve of an alert never seen firing
        alert_id = index.next_id(integration.id, alert.fingerprint)
        events = [event_entry(alert.starts_at, "fired", incident=None)]
        if quiet:
            events.append(event_entry(alert.starts_at, "quiet", reason=quiet))
        if incident:
            events.append(event_entry(now, "linked", incident=incident))
        rel = new_record(root, alert_id, _fields(event, alert, integration, incident), events)
        index.add(alert_id)
        return RecordChange(rel, alert_id, "recorded")

    edit = open_record(root, current)
    data = edit.data
    status = str(data.get("status", "triggered"))
    recorded_start = parse_stamp(data.get("starts_at"))
    if _is_new_firing(alert, recorded_start, status):
        window = timedelta(minutes=integration.reopen_minutes)
        resolved_at = _last(data, "resolved")
        if status == "resolved" and (resolved_at is None or alert.starts_at - resolved_at > window):
            # A new problem, not the old one back: a record of its own (and maybe a new incident).
            alert_id = index.next_id(integration.id, alert.fingerprint)
            events = [event_entry(alert.starts_at, "fired")]
            if quiet:
                events.append(event_entry(alert.starts_at, "quiet", reason=quiet))
            if incident:
                events.append(event_entry(now, "linked", incident=incident))
            rel = new_record(root, alert_id, _fields(event, alert, integration, incident), events)
            index.add(alert_id)
            return RecordChange(rel, alert_id, "recorded")
        data["fired"] = int(data.get("fired", 1)) + 1
        data["starts_at"] = stamp(alert.starts_at, exact=True)
        data["last_seen"] = stamp(alert.starts_at, exact=True)
        if status == "resolved":
            data["status"] = "triggered"
            add_event(edit, event_entry(alert.starts_at, "reopened"))
            action = "reopened"
        else:  # open or ignored: counted; an ignored alert stays ignored until a person says otherwise
            add_event(edit, event_entry(alert.starts_at, "re-fired"))
            action = "re-fired"
        if quiet and status != "ignored":
            add_event(edit, event_entry(alert.starts_at, "quiet", reason=quiet))
        _link(edit, incident, now)
        return RecordChange(save_record(edit), current, action)

    if (
        alert.state == "resolved"
        and status in ("triggered", "acknowledged")
        and (recorded_start is None or alert.starts_at >= recorded_start)
    ):
        data["status"] = "resolved"
        at = alert.ends_at or now
        data["last_seen"] = stamp(at, exact=True)
        add_event(edit, event_entry(at, "resolved"))
        return RecordChange(save_record(edit), current, "resolved")

    wanted = TRIAGE.get(alert.triage)
    if wanted and wanted != status and status != "resolved":
        data["status"] = wanted
        add_event(edit, event_entry(now, alert.triage, by=alert.triage_by or None))
        return RecordChange(save_record(edit), current, alert.triage, alert.triage_by)

    if _link(edit, incident, now):
        return RecordChange(save_record(edit), current, "linked")
    return None


def _last(data: Any, kind: str) -> datetime | None:
    for entry in reversed(list(data.get("events") or [])):
        if entry.get("event") == kind:
            return parse_stamp(entry.get("at"))
    return None


def _link(edit: Any, incident: str | None, now: datetime) -> bool:
    """Link the record to `incident` when it belongs to none yet (or to another: a new incident)."""
    if not incident or edit.data.get("incident") == incident:
        return False
    edit.data["incident"] = incident
    add_event(edit, event_entry(now, "linked", incident=incident))
    return True


def apply_records(
    root: Path,
    index: AlertIndex,
    event: AlertEvent,
    integration: Integration,
    now: datetime,
    incident: str | None,
    quiet: Callable[[Alert], str] | None = None,
) -> list[RecordChange]:
    """Every alert of the group's post applied to its record; `quiet` says why an alert's firing
    pages nobody, if it does not."""
    changes = []
    for alert in event.alerts:
        why = quiet(alert) if quiet is not None and alert.state == "firing" else ""
        change = apply_alert(root, index, event, alert, integration, now, incident, why)
        if change is not None:
            changes.append(change)
    return changes

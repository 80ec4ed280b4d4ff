"""The rules of an alert record's status, in one place: which change makes sense from which status,
what it writes in the record, and what it does to the alert's incident.

Statuses, as GitLab's alert management has them: triggered (new), acknowledged (someone is looking),
resolved (fixed), ignored (a false alarm). A change that makes no sense (ignore an alert twice,
acknowledge a resolved one) is an AlertError, raised before anything is written.

What changes do to the alerts' incident (`incident_follows`):
- acknowledge: when no alert of the incident is left triggered, the incident is acknowledged too,
  so its escalation stops (`unless: acknowledged`), as acknowledging the incident does;
- ignore: the alert stops paging. When every alert of the incident is ignored and no person has
  written in the incident (only the runner has), the incident is resolved as a false alarm: it
  exists only because of the alert, and an open incident nobody looks at is noise. Otherwise the
  incident is left to people (acknowledged, as above, when nothing is left triggered). Incidents
  whose every alert was ignored count in no MTTA/MTTR (tidings.ops.metrics);
- resolve, unacknowledge: the alert only; people resolve incidents.

Nothing here commits, and nothing reads more than the records it is given: tidings.ops.alerts (the
`tidings alert` commands, the runner's Slack commands and HTTP API) and an incident's quick actions
(`/ack-alerts`, ... in tidings.ops.incidents) both apply these rules, each in a commit of its own.
It sits below tidings.ops.incidents, which tidings.ops.alerts imports, so both can.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from pathlib import Path

from tidings.content.diagnostics import did_you_mean
from tidings.content.layout import ALERTS_DIR
from tidings.content.load import parse_content
from tidings.content.model import ID_PATTERN, AlertRecord
from tidings.errors import TidingsError
from tidings.store.alert_file import AlertIndex, add_event, event_entry, open_record, rel_of
from tidings.store.edit import EditableFile

STATUSES = ("triggered", "acknowledged", "resolved", "ignored")
RUNNER = "runner"
TRAILER = "Tidings-Alert"


class AlertError(TidingsError):
    """An alert command could not be done; nothing was written."""


class UnknownAlertError(AlertError):
    """No alert record has that id (the message has a did-you-mean)."""


# action -> (the statuses it may start from, the status it sets, the event it writes)
CHANGES = {
    "acknowledge": (("triggered",), "acknowledged", "acknowledged"),
    "unacknowledge": (("acknowledged",), "triggered", "unacknowledged"),
    "resolve": (("triggered", "acknowledged"), "resolved", "resolved"),
    "ignore": (("triggered", "acknowledged", "resolved"), "ignored", "ignored"),
}
_WHY_NOT = {
    ("acknowledge", "acknowledged"): "it is acknowledged already",
    ("acknowledge", "resolved"): "it is resolved (a re-fire reopens it)",
    ("acknowledge", "ignored"): "it is ignored as a false alarm",
    ("unacknowledge", "triggered"): "it is not acknowledged",
    ("resolve", "resolved"): "it is resolved already",
    ("resolve", "ignored"): "it is ignored as a false alarm",
    ("ignore", "ignored"): "it is ignored already",
}
# What the incident does after its alerts changed (incident_follows).
ACKNOWLEDGE = "acknowledge"
FALSE_ALARM = "false alarm"


def unknown_alert(alert_id: str, known: Iterable[str]) -> UnknownAlertError:
    return UnknownAlertError(
        f"no alert '{alert_id}' in {ALERTS_DIR}/", hint=did_you_mean(alert_id, list(known))
    )


def check_change(alert_id: str, action: str, status: str) -> tuple[str, str]:
    """(the status it sets, the event it writes); AlertError when `action` makes no sense from `status`."""
    if action not in CHANGES:
        raise AlertError(f"unknown alert action '{action}'", hint=did_you_mean(action, CHANGES))
    allowed, new, event = CHANGES[action]
    if status not in allowed:
        why = _WHY_NOT.get((action, status), f"it is {status}")
        raise AlertError(f"cannot {action} alert {alert_id}: {why}; nothing was changed")
    return new, event


def mark(
    edit: EditableFile, alert_id: str, action: str, now: datetime, by: str | None, reason: str | None
) -> str:
    """Make the change in a record open for editing (its status and an event); the event's name."""
    status, event = check_change(alert_id, action, str(edit.data.get("status") or "triggered"))
    edit.data["status"] = status
    add_event(edit, event_entry(now, event, by=by, reason=reason))
    return event


def people_wrote(authors: Iterable[str | None], notes: bool) -> bool:
    """Whether anyone but the runner has written in an incident (an update by them, or a note)."""
    return any((author or RUNNER) != RUNNER for author in authors) or notes


def incident_follows(
    actions: Collection[str],
    statuses: Collection[str],
    acknowledged: bool,
    resolved: bool,
    wrote: bool,
) -> str:
    """What an incident does once its alerts changed (the module's rules): FALSE_ALARM (it is resolved),
    ACKNOWLEDGE, or "" (nothing).

    `actions`: the changes made; `statuses`: every alert of the incident, after them; `wrote`:
    whether a person has written in the incident (people_wrote)."""
    if resolved or not {"acknowledge", "ignore"} & set(actions):
        return ""
    if "ignore" in actions and all(s == "ignored" for s in statuses) and not wrote:
        return FALSE_ALARM
    if acknowledged or any(s == "triggered" for s in statuses):
        return ""
    return ACKNOWLEDGE


# --- reading a few records -------------------------------------------------------------------------


def read_alert(root: Path, alert_id: str, index: AlertIndex | None = None) -> AlertRecord:
    """The record `alert_id`, reading that file only; UnknownAlertError with a did-you-mean otherwise.

    AlertError when the file is there but does not validate (saying where)."""
    path = root / rel_of(alert_id)
    if not ID_PATTERN.match(alert_id) or not path.is_file():
        raise unknown_alert(alert_id, (index or AlertIndex(root)).ids)
    parsed = parse_content(rel_of(alert_id), path.read_text(encoding="utf-8"), root)
    if not isinstance(parsed.domain, AlertRecord):
        problems = [d.as_text() for d in parsed.doc.diagnostics[:3]]
        raise AlertError(f"alert {alert_id} does not validate: " + "; ".join(problems))
    return parsed.domain


def linked_ids(root: Path, links: Iterable[tuple[str, str]], index: AlertIndex | None = None) -> list[str]:
    """The ids of the records an incident's `alerts:` list names (integration, fingerprint), in order.

    Every record of such an alert is a candidate (a re-fire long after it was resolved is `-2`); the
    caller keeps those that name the incident back. Nothing is read but a folder listing."""
    index = index or AlertIndex(root)
    found: list[str] = []
    for integration, fingerprint in links:
        for alert_id in index.records(integration, fingerprint):
            if alert_id not in found:
                found.append(alert_id)
    return found


def incident_records(
    root: Path,
    incident_id: str,
    links: Iterable[tuple[str, str]],
    opened: dict[str, EditableFile] | None = None,
    index: AlertIndex | None = None,
) -> dict[str, EditableFile]:
    """The alert records of an incident, open for editing, by id: those its `alerts:` list names that
    name it back (`incident:`). `opened`: records already open (and maybe changed), used as they are."""
    opened = {} if opened is None else opened
    found: dict[str, EditableFile] = {}
    for alert_id in linked_ids(root, links, index):
        if alert_id not in opened:
            opened[alert_id] = open_record(root, alert_id)
        if opened[alert_id].data.get("incident") == incident_id:
            found[alert_id] = opened[alert_id]
    return dict(sorted(found.items()))

"""What people do with alert records: list them, look at one, acknowledge, resolve, ignore, link, promote.

Every change is one commit that names the person, as `tidings incident` commands do; a change that
makes no sense (ignore an alert twice, acknowledge a resolved one) is an AlertError and writes
nothing. The rules (which change makes sense from which status, and what it does to the alert's
incident) are tidings.ops.alert_rules', which an incident's quick actions (`/ack-alerts`, ...)
apply too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from tidings.content.diagnostics import did_you_mean
from tidings.content.load import load
from tidings.content.model import AlertRecord, Incident, StatusRepo
from tidings.ops.alert_rules import (
    ACKNOWLEDGE,
    CHANGES,
    FALSE_ALARM,
    RUNNER,
    STATUSES,
    TRAILER,
    AlertError,
    UnknownAlertError,
    incident_follows,
    incident_records,
    linked_ids,
    mark,
    people_wrote,
    read_alert,
    unknown_alert,
)
from tidings.ops.incidents import Actor, IncidentError, acknowledge, incident_path, open_incident
from tidings.store.alert_file import add_event, event_entry, open_record, rel_of, save_record
from tidings.store.edit import read_editable, save
from tidings.store.git import commit, git
from tidings.store.incident_file import add_update, stamp, update_entry

__all__ = [
    "CHANGES",
    "RUNNER",
    "STATUSES",
    "TRAILER",
    "AlertChange",
    "AlertError",
    "UnknownAlertError",
    "alerts_of",
    "alerts_of_incident",
    "change_status",
    "details",
    "find_alert",
    "incident_alerts",
    "link",
    "list_alerts",
    "promote",
    "read_alert",
    "summary",
]


@dataclass(frozen=True)
class AlertChange:
    """What a command did: the alert, in words, the files written and the commit."""

    alert_id: str
    message: str
    paths: tuple[str, ...] = ()
    commit: str | None = None
    incident: str | None = None
    follows: str = ""  # what it did to the incident, in words ("" for nothing)


def alerts_of(root: Path) -> StatusRepo:
    """The repo with its alert records (the others commands leave them unread)."""
    return load(root).repo


def find_alert(repo: StatusRepo, alert_id: str) -> AlertRecord:
    """The record `alert_id`; AlertError with a did-you-mean when there is none."""
    found = repo.get("alerts", alert_id)
    if isinstance(found, AlertRecord):
        return found
    raise unknown_alert(alert_id, [a.id for a in repo.alerts])


def list_alerts(
    repo: StatusRepo,
    status: str | None = None,
    integration: str | None = None,
    component: str | None = None,
    since: datetime | None = None,
) -> list[AlertRecord]:
    """Alert records, newest first (by when they last fired), filtered."""
    if status is not None and status not in (*STATUSES, "open"):
        raise AlertError(f"unknown status '{status}'", hint=did_you_mean(status, [*STATUSES, "open"]))
    if integration is not None and integration not in {i.id for i in repo.integrations}:
        known = {i.id for i in repo.integrations} | {a.integration for a in repo.alerts}
        if integration not in known:
            raise AlertError(f"unknown integration '{integration}'", hint=did_you_mean(integration, known))
    found = [
        a
        for a in repo.alerts
        if (status is None or a.status == status or (status == "open" and a.open))
        and (integration is None or a.integration == integration)
        and (component is None or a.component == component)
        and (since is None or a.last_seen >= since)
    ]
    return sorted(found, key=lambda a: (a.last_seen, a.id), reverse=True)


def alerts_of_incident(repo: StatusRepo, incident_id: str) -> list[AlertRecord]:
    return [a for a in repo.alerts if a.incident == incident_id]


def incident_alerts(root: Path, incident: Incident) -> list[AlertRecord]:
    """The alerts of an incident, reading only theirs: the records its `alerts:` list names that name it
    back (alert_rules.linked_ids), by id."""
    found = []
    for alert_id in linked_ids(root, ((a.source, a.fingerprint) for a in incident.alerts)):
        record = read_alert(root, alert_id)
        if record.incident == incident.id:
            found.append(record)
    return sorted(found, key=lambda a: a.id)


def summary(record: AlertRecord) -> dict[str, Any]:
    """An alert as a list gives it (JSON): what tells it apart, its status and its incident."""
    return {
        "id": record.id,
        "status": record.status,
        "title": record.title,
        "severity": record.severity,
        "integration": record.integration,
        "source": record.source,
        "component": record.component,
        "fingerprint": record.fingerprint,
        "first_seen": record.first_seen.isoformat(),
        "last_seen": record.last_seen.isoformat(),
        "fired": record.fired,
        "incident": record.incident,
    }


def details(record: AlertRecord) -> dict[str, Any]:
    """An alert with everything its record holds (JSON), its events last."""
    return {
        **summary(record),
        "group": record.group,
        "hosts": record.hosts,
        "monitoring_tool": record.monitoring_tool,
        "environment": record.environment,
        "runbook": record.runbook,
        "links": record.links,
        "description": record.description,
        "events": [e.model_dump(mode="json", exclude_none=True) for e in record.events],
    }


# --- status changes --------------------------------------------------------------------------------


def change_status(
    root: Path,
    alert_id: str,
    action: str,
    now: datetime,
    actor: Actor,
    reason: str | None = None,
    do_commit: bool = True,
) -> AlertChange:
    """Acknowledge, unacknowledge, resolve or ignore an alert (and what follows for its incident)."""
    if action not in CHANGES:
        raise AlertError(f"unknown alert action '{action}'", hint=did_you_mean(action, CHANGES))
    # Only the files this change needs are read: the record, its incident and that incident's
    # other records (a noisy team has tens of thousands of records; reading them all took seconds).
    record = read_alert(root, alert_id)
    edit = open_record(root, alert_id)
    event = mark(edit, alert_id, action, now, actor.person or actor.name or None, reason)
    paths = [save_record(edit)]
    consequence = ""
    if record.incident and action in ("acknowledge", "ignore"):
        repo = load(root, alerts=False).repo
        incident = repo.get("incidents", record.incident)
        others: list[str] = []
        if isinstance(incident, Incident):
            links = [(a.source, a.fingerprint) for a in incident.alerts]
            linked = incident_records(root, incident.id, links, {alert_id: edit})
            others = [str(e.data.get("status")) for i, e in linked.items() if i != alert_id]
        consequence = _follow(root, repo, record, action, others, now, actor, reason, paths)
    verb = {"acknowledge": "Acknowledge", "unacknowledge": "Unacknowledge", "resolve": "Resolve"}.get(
        action, "Ignore"
    )
    words = [f"{event} ({record.title})"] + ([consequence] if consequence else [])
    sha = _commit(
        root, paths, f"{verb} alert {alert_id}{actor.by}", words, alert_id, actor, reason, do_commit
    )
    message = f"{event} alert {alert_id}{actor.by}" + (f"; {consequence}" if consequence else "")
    return AlertChange(alert_id, message, tuple(paths), sha, record.incident, consequence)


def _follow(
    root: Path,
    repo: StatusRepo,
    record: AlertRecord,
    action: str,
    others: Sequence[str],
    now: datetime,
    actor: Actor,
    reason: str | None,
    paths: list[str],
) -> str:
    """What an acknowledged or ignored alert does to its incident (alert_rules' rules); in words."""
    incident = repo.get("incidents", record.incident or "")
    if not isinstance(incident, Incident):
        return ""
    statuses = [CHANGES[action][1], *others]
    wrote = people_wrote((u.author for u in incident.updates), bool(incident.notes))
    acked = incident.acknowledged_at is not None
    follows = incident_follows([action], statuses, acked, incident.status == "resolved", wrote)
    if follows == FALSE_ALARM:
        _close_as_false_alarm(root, incident, now, actor, reason)
        paths.append(incident.path)
        return f"incident {incident.id} resolved: its only alert was a false alarm"
    if follows != ACKNOWLEDGE:
        return ""
    done = acknowledge(
        root, incident.id, now, by=actor.person or actor.name or None, via=actor.via, do_commit=False
    )
    if done.changed:
        paths.append(incident.path)
        return f"incident {incident.id} acknowledged: none of its alerts is left triggered"
    return ""


def _close_as_false_alarm(
    root: Path, incident: Incident, now: datetime, actor: Actor, reason: str | None
) -> None:
    edit = read_editable(root / incident.path, "incident")
    edit.data["status"] = "resolved"
    edit.data["resolved_at"] = stamp(now)
    why = f": {reason}" if reason else ""
    text = f"Closed{actor.by}: its only alert was ignored as a false alarm{why}."
    updates = edit.data.setdefault("updates", CommentedSeq())
    add_update(
        updates, update_entry(stamp(now), "resolved", text, internal=True, author=actor.name or RUNNER)
    )
    save(edit, incident.path)


def _commit(
    root: Path,
    paths: Sequence[str],
    subject: str,
    words: Sequence[str],
    alert_id: str,
    actor: Actor,
    reason: str | None,
    do_commit: bool,
) -> str | None:
    body = (
        "\n".join(f"- {w}" for w in words)
        + f"\n\nVia {actor.via}."
        + (f"\nReason: {reason}" if reason else "")
    )
    trailers = {TRAILER: alert_id, **actor.trailers}
    if actor.person:
        trailers.setdefault("Tidings-Person", actor.person)
    if not do_commit:
        git(root, "add", "--", *paths)
        return None
    return commit(root, list(paths), subject, body=body, trailers=trailers, author=actor.author)


# --- links ------------------------------------------------------------------------------------------


def link(root: Path, alert_id: str, incident_id: str, now: datetime, actor: Actor) -> AlertChange:
    """Make `incident_id` the alert's incident; the incident lists the alert (its group joins it)."""
    repo = alerts_of(root)
    record = find_alert(repo, alert_id)
    try:
        rel, path = incident_path(root, incident_id)
    except IncidentError as exc:
        raise AlertError(str(exc), hint=exc.hint) from exc
    if record.incident == incident_id:
        raise AlertError(f"alert {alert_id} belongs to incident {incident_id} already; nothing was changed")
    edit = open_record(root, alert_id)
    edit.data["incident"] = incident_id
    add_event(edit, event_entry(now, "linked", by=actor.person or actor.name or None, incident=incident_id))
    paths = [save_record(edit), *_list_on_incident(root, rel, path, record)]
    subject = f"Link alert {alert_id} to incident {incident_id}{actor.by}"
    sha = _commit(root, paths, subject, [f"linked to {incident_id}"], alert_id, actor, None, True)
    return AlertChange(
        alert_id,
        f"linked alert {alert_id} to incident {incident_id}{actor.by}",
        tuple(paths),
        sha,
        incident_id,
    )


def _list_on_incident(root: Path, rel: str, path: Path, record: AlertRecord) -> list[str]:
    """Add the alert to the incident's `alerts:` (by source, fingerprint, group), as the runner does."""
    edit = read_editable(path, "incident")
    links = edit.data.setdefault("alerts", CommentedSeq())
    if any(
        link.get("fingerprint") == record.fingerprint and link.get("source") == record.integration
        for link in links
    ):
        return []
    entry = CommentedMap([("source", record.integration), ("fingerprint", record.fingerprint)])
    if record.group:
        entry["group"] = record.group
    entry["state"] = "resolved" if record.status in ("resolved",) else "firing"
    entry["starts_at"] = stamp(record.starts_at, exact=True)
    links.append(entry)
    save(edit, rel)
    return [rel]


def promote(root: Path, alert_id: str, now: datetime, actor: Actor) -> AlertChange:
    """Open an incident from an alert that has none (GitLab's "create incident" on an alert)."""
    repo = alerts_of(root)
    record = find_alert(repo, alert_id)
    if record.incident:
        raise AlertError(
            f"alert {alert_id} belongs to incident {record.incident} already; nothing was changed",
            hint=f"see it with 'tidings incident show {record.incident}'",
        )
    components = [record.component] if record.component and repo.get("components", record.component) else []
    opened = open_incident(
        root,
        now,
        actor,
        title=record.title,
        severity=record.severity,
        components=components,
        started_at=record.starts_at,
        body=f"Opened from alert {alert_id}." + (f"\n\n{record.description}" if record.description else ""),
        do_commit=False,
    )
    edit = open_record(root, alert_id)
    edit.data["incident"] = opened.incident_id
    add_event(
        edit, event_entry(now, "linked", by=actor.person or actor.name or None, incident=opened.incident_id)
    )
    paths = [save_record(edit), opened.rel]
    _list_on_incident(root, opened.rel, root / opened.rel, record)
    subject = f"Open incident {opened.incident_id} from alert {alert_id}{actor.by}"
    sha = _commit(
        root, paths, subject, [f"opened incident {opened.incident_id}"], alert_id, actor, None, True
    )
    message = f"opened incident {opened.incident_id} from alert {alert_id}{actor.by}"
    return AlertChange(alert_id, message, tuple(paths), sha, opened.incident_id)


def alert_rel(alert_id: str) -> str:
    return rel_of(alert_id)

"""Alert events become incident edits: open, update, resolve, reopen — and nothing on a re-delivery.

The incident file records each alert's last state (fingerprint, state, startsAt), so applying the
same event twice, or an old event after a newer one, changes nothing. All writes go through
tidings.store.edit, which keeps the file's comments and formatting and refuses invalid results, in
the file format of tidings.store.incident_file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from tidings.content.model import Incident, Integration, StatusRepo
from tidings.ops.policies import component_policies, fallback_policy
from tidings.runner.escalation.heartbeat import without_heartbeats
from tidings.runner.sources.events import AlertEvent
from tidings.store.edit import new_editable, read_editable, save
from tidings.store.incident_file import (
    INCIDENTS,
    add_update,
    new_incident_path,
    parse_stamp,
    reopen,
    schema_modeline,
    stamp,
    update_entry,
    verbatim_text,
)

RUNNER = "runner"


@dataclass(frozen=True)
class Outcome:
    action: str  # opened, updated, resolved, reopened, unchanged
    incident_id: str | None
    rel: str | None  # the file changed, relative to the repo root
    event: AlertEvent

    @property
    def changed(self) -> bool:
        return self.action != "unchanged"


def _find(repo: StatusRepo, event: AlertEvent) -> Incident | None:
    """The newest incident holding an alert of this group from this integration."""
    found = [
        i
        for i in repo.incidents
        if any(a.source == event.source and a.group == event.group for a in i.alerts)
    ]
    return max(found, key=lambda i: (i.started_at, i.id), default=None)


def _recorded(incident: Incident, event: AlertEvent) -> dict[str, tuple[str | None, datetime | None]]:
    return {
        a.fingerprint: (a.state, a.starts_at)
        for a in incident.alerts
        if a.source == event.source and a.group == event.group
    }


def _news(incident: Incident | None, event: AlertEvent) -> tuple[list[str], list[str]]:
    """(alerts that fire anew, alerts that resolved) compared with what the incident recorded.

    An alert fires anew when it is unknown, or known with an older startsAt (a re-fire). A post
    whose alert is older than what was recorded is stale (delivered late) and brings nothing.
    """
    recorded = _recorded(incident, event) if incident else {}
    fired, resolved = [], []
    for alert in event.alerts:
        state, starts = recorded.get(alert.fingerprint, (None, None))
        if alert.state == "firing" and not alert.starts_known:
            if state != "firing":  # unknown, or firing again after it resolved
                fired.append(alert.fingerprint)
        elif alert.state == "firing" and (state is None or starts is None or alert.starts_at > starts):
            fired.append(alert.fingerprint)
        elif (
            alert.state == "resolved"
            and state == "firing"
            and starts is not None
            and alert.starts_at >= starts
        ):
            resolved.append(alert.fingerprint)
    return fired, resolved


def _alert_links(existing: Any, event: AlertEvent) -> CommentedSeq:
    links = existing if isinstance(existing, CommentedSeq) else CommentedSeq(existing or [])
    by_fp = {
        link.get("fingerprint"): link
        for link in links
        if link.get("source") == event.source and link.get("group") == event.group
    }
    for alert in event.alerts:
        link = by_fp.get(alert.fingerprint)
        if link is None:
            link = CommentedMap(
                [("source", event.source), ("fingerprint", alert.fingerprint), ("group", event.group)]
            )
            links.append(link)
        recorded = parse_stamp(link.get("starts_at"))
        if recorded is not None and recorded > alert.starts_at:
            continue  # a late delivery never overwrites newer state
        link["state"] = alert.state
        link["starts_at"] = stamp(alert.starts_at, exact=True)
    return links


def _describe(event: AlertEvent, fingerprints: list[str], verb: str) -> str:
    alerts = [a for a in event.alerts if a.fingerprint in fingerprints]
    lines = [f"Alert {verb}: {event.title}."]
    for alert in alerts[:10]:
        text = alert.annotations.get("description") or alert.annotations.get("summary") or ""
        labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
        lines.append(f"- `{alert.fingerprint}` {text} ({labels})".replace(" ()", ""))
    if len(alerts) > 10:
        lines.append(f"- and {len(alerts) - 10} more")
    if event.truncated:
        lines.append(f"- Alertmanager left out {event.truncated} more alerts of this group (max_alerts)")
    return "\n".join(lines)


def _update(at: datetime, status: str, body: str, public: bool) -> CommentedMap:
    # Alert text as the sender wrote it, trailing newlines and all (people's text is trimmed instead).
    return update_entry(stamp(at), status, verbatim_text(body), internal=not public, author=RUNNER)


def _open(
    root: Path, repo: StatusRepo, event: AlertEvent, integration: Integration, now: datetime
) -> Outcome:
    incident_id, path = new_incident_path(root, event.title, event.started_at)
    known_components = {c.id for c in repo.components}
    known_runbooks = {r.id for r in repo.runbooks}
    fired = [a.fingerprint for a in event.alerts if a.state == "firing"]
    components = [c for c in event.components if c in known_components]
    runbooks = [r for r in event.runbooks if r in known_runbooks]
    text = _describe(event, fired, "fired")
    unknown = [c for c in event.components if c not in known_components]
    if unknown:  # said in the timeline, so a person sees why no component shows the outage
        label = integration.component_label
        text += "\n" + "\n".join(f"- `{label}={c}` names no component of the page" for c in unknown)
    policy = fallback_policy(repo, components, integration.policy)
    if integration.policy and policy is None and not component_policies(repo, components):
        text += f"\n- the integration's policy `{integration.policy}` is not defined: nobody is paged"
    first = _update(now, "investigating", text, integration.publish)
    data: dict[str, Any] = {
        "title": event.title,
        "severity": event.severity,
        "status": "investigating",
        "published": integration.publish,
        "started_at": stamp(event.started_at),
        **({"components": CommentedMap((c, integration.impact) for c in components)} if components else {}),
        "updates": CommentedSeq([first]),
        "alerts": _alert_links(None, event),
        **({"runbooks": CommentedSeq(runbooks)} if runbooks else {}),
        **({"policy": policy} if policy else {}),
    }
    rel = f"{INCIDENTS}/{incident_id}.md"
    body = (event.description.strip() + "\n") if event.description.strip() else ""
    edit = new_editable(path, "incident", data, body=body, schema_modeline=schema_modeline("incident"))
    save(edit, rel)
    return Outcome("opened", incident_id, rel, event)


def apply_event(
    root: Path, repo: StatusRepo, event: AlertEvent, integration: Integration, now: datetime
) -> Outcome:
    """Apply one alert group's state to the repo's files; return what was done."""
    # Heartbeat alerts (Watchdog) are never incidents: runner/escalation/heartbeat.py watches them.
    event = without_heartbeats(event, integration)
    if not event.alerts:
        return Outcome("unchanged", None, None, event)
    incident = _find(repo, event)
    fired, resolved = _news(incident, event)
    if incident is None:
        if event.firing and fired:
            return _open(root, repo, event, integration, now)
        return Outcome("unchanged", None, None, event)  # a resolve for something never opened

    rel = incident.path
    is_open = incident.status != "resolved"
    if not is_open and fired:
        # The window is measured in alert time, so a late or replayed delivery decides the same way.
        window = timedelta(minutes=integration.reopen_minutes)
        refired_at = max(a.starts_at for a in event.alerts if a.fingerprint in fired)
        if incident.resolved_at is None or refired_at - incident.resolved_at > window:
            return _open(root, repo, event, integration, now)
    if not fired and not resolved:
        return Outcome("unchanged", incident.id, rel, event)

    edit = read_editable(root / rel, "incident")
    data = edit.data
    public = bool(data.get("published")) and integration.publish
    data["alerts"] = _alert_links(data.get("alerts"), event)
    updates = data.setdefault("updates", CommentedSeq())
    if fired and not is_open:
        action = "reopened"
        data["status"] = "investigating"
        # Escalation starts again from the re-fire, and the new opening needs its own acknowledgement.
        reopen(data, max(a.starts_at for a in event.alerts if a.fingerprint in fired))
        add_update(updates, _update(now, "investigating", _describe(event, fired, "fired again"), public))
    elif event.firing:
        action = "updated"
        status = str(data.get("status"))
        if fired:
            add_update(updates, _update(now, status, _describe(event, fired, "fired"), public))
        if resolved:
            add_update(updates, _update(now, status, _describe(event, resolved, "resolved"), public))
    else:
        action = "resolved" if is_open else "updated"
        if is_open:
            data["status"] = "resolved"
            data["resolved_at"] = stamp(event.resolved_at or now)
        add_update(updates, _update(now, "resolved", _describe(event, resolved, "resolved"), public))
    save(edit, rel)
    return Outcome(action, incident.id, rel, event)

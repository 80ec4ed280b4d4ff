"""Alert events become incident edits: open, update, resolve, reopen — and nothing on a re-delivery.

The incident file records each alert's last state (fingerprint, state, startsAt), so applying the
same event twice, or an old event after a newer one, changes nothing. All writes go through
tidings.store.edit, which keeps the file's comments and formatting and refuses invalid results, in
the file format of tidings.store.incident_file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from tidings.content.model import Incident, Integration, StatusRepo
from tidings.ops import quick_actions
from tidings.ops.incidents import acknowledge, read_template
from tidings.ops.policies import component_policies, fallback_policy, maintenance_quiet
from tidings.runner.alerts import RecordChange, apply_records
from tidings.runner.escalation.heartbeat import without_heartbeats
from tidings.runner.sources.events import Alert, AlertEvent
from tidings.store.alert_file import AlertIndex, open_record
from tidings.store.edit import new_editable, read_editable, save
from tidings.store.incident_file import (
    INCIDENTS,
    add_update,
    links_seq,
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
    action: str  # what happened to the incident: opened, updated, resolved, reopened, unchanged
    incident_id: str | None
    rel: str | None  # the incident file, relative to the repo root
    event: AlertEvent
    records: tuple[RecordChange, ...] = ()  # the alert records written

    @property
    def changed(self) -> bool:
        return self.action != "unchanged"

    @property
    def paths(self) -> list[str]:
        """Every file this outcome wrote."""
        return ([self.rel] if self.changed and self.rel else []) + [r.rel for r in self.records]


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
    chosen = read_template(root, integration.template) if integration.template else None
    template = chosen.values if chosen else {}
    # Quick actions in the template's body (`/label ~database`) are applied, as `tidings incident
    # open --template` does, and their lines dropped.
    known = [c.id for c in repo.components]
    actions = quick_actions.parse(chosen.body, repo.people, known) if chosen else quick_actions.Parsed((), "")
    template_body = actions.body
    # The template gives defaults; what the alert says wins (severity, components, runbooks, policy).
    components_map = CommentedMap(template.get("components") or {})
    for c in components:
        components_map[c] = integration.impact
    runbooks = list(dict.fromkeys([*(template.get("runbooks") or []), *runbooks]))
    severity = event.severity if event.severity != "unknown" else template.get("severity", "unknown")
    policy = policy or template.get("policy")
    publish = integration.publish if template.get("published") is None else bool(template["published"])
    status = template.get("status") or "investigating"
    first = _update(now, status, text, publish)
    data: dict[str, Any] = {
        "title": event.title,
        "severity": severity,
        "status": status,
        "published": publish,
        "started_at": stamp(event.started_at),
        **({"components": components_map} if components_map else {}),
        "updates": CommentedSeq([first]),
        "alerts": _alert_links(None, event),
        **({"runbooks": CommentedSeq(runbooks)} if runbooks else {}),
        **({"policy": policy} if policy else {}),
        **{k: template[k] for k in ("labels", "assignees") if template.get(k)},
        **({"links": links_seq(template["links"])} if template.get("links") else {}),
    }
    rel = f"{INCIDENTS}/{incident_id}.md"
    body = (event.description.strip() + "\n") if event.description.strip() else ""
    if template_body.strip():
        body = (body + "\n" if body else "") + template_body.lstrip("\n")
    edit = new_editable(path, "incident", data, body=body, schema_modeline=schema_modeline("incident"))
    quick_actions.apply(actions.actions, edit, now)
    save(edit, rel)
    return Outcome("opened", incident_id, rel, event)


def apply_event(
    root: Path,
    repo: StatusRepo,
    event: AlertEvent,
    integration: Integration,
    now: datetime,
    index: AlertIndex | None = None,
) -> Outcome:
    """Apply one alert group's state to the repo's files (its incident, its alerts' records).

    `index`: the alert records' ids, read once for a batch (made here when not given)."""
    # Heartbeat alerts (Watchdog) are neither incidents nor alert records: they only say the pipe
    # from the monitoring works, and runner/escalation/heartbeat.py watches for their silence.
    event = without_heartbeats(event, integration)
    if not event.alerts:
        return Outcome("unchanged", None, None, event)
    if integration.open_incident:
        outcome = _apply_incident(root, repo, event, integration, now)
        incident_id = outcome.incident_id
    else:
        outcome = Outcome("unchanged", None, None, event)
        found = _find(repo, event)  # one opened by hand (`tidings alert promote`), say
        incident_id = found.id if found else None
    index = index or AlertIndex(root)

    def quiet(alert: Alert) -> str:
        found = maintenance_quiet(
            repo, (alert.component and [alert.component]) or [], [integration], alert.starts_at, now
        )
        return found.reason if found is not None else ""

    records = apply_records(root, index, event, integration, now, incident_id, quiet)
    outcome = dataclasses.replace(outcome, records=tuple(records))
    triaged = [c for c in records if c.action in ("acknowledged", "ignored")]
    if (
        incident_id
        and triaged
        and not outcome.changed
        and not _any_triggered(root, index, event, integration)
    ):
        # The source says someone took the alerts (PagerDuty's acknowledge, Sentry's ignore): the
        # incident is acknowledged, as a person's `tidings alert ack` does, and stops paging.
        done = acknowledge(root, incident_id, now, by=triaged[-1].by or None, via=event.kind, do_commit=False)
        if done.changed:
            outcome = dataclasses.replace(outcome, action="acknowledged", rel=done.rel)
    return outcome


def _any_triggered(root: Path, index: AlertIndex, event: AlertEvent, integration: Integration) -> bool:
    """Whether an alert of the group is still `triggered` (nobody has taken it)."""
    for alert in event.alerts:
        current = index.newest(integration.id, alert.fingerprint)
        if current is not None and open_record(root, current).data.get("status") == "triggered":
            return True
    return False


def _apply_incident(
    root: Path, repo: StatusRepo, event: AlertEvent, integration: Integration, now: datetime
) -> Outcome:
    """Apply one alert group's state to its incident."""
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
    elif integration.recovery == "alert":
        # Recovery resolves the alerts only: a person says when the incident is over.
        action = "updated"
        status = str(data.get("status"))
        add_update(updates, _update(now, status, _describe(event, resolved, "resolved"), public))
    else:
        action = "resolved" if is_open else "updated"
        if is_open:
            data["status"] = "resolved"
            data["resolved_at"] = stamp(event.resolved_at or now)
        add_update(updates, _update(now, "resolved", _describe(event, resolved, "resolved"), public))
    save(edit, rel)
    return Outcome(action, incident.id, rel, event)


def commit_subject(actions: dict[str, list[str]], records: dict[str, int] | None = None) -> str:
    """'opened and resolved incident X', or for many: '40 incidents: 38 opened, 2 resolved'; when no
    incident changed, what happened to the alerts: '3 alerts: 2 recorded, 1 resolved'."""
    if not actions and records:
        total = sum(records.values())
        return f"{total} alert{'s' if total != 1 else ''}: " + ", ".join(
            f"{n} {a}" for a, n in records.items()
        )
    if len(actions) == 1:
        ((incident_id, done),) = actions.items()
        return f"{' and '.join(done)} incident {incident_id}"
    counts: dict[str, int] = {}
    for done in actions.values():
        for action in done:
            counts[action] = counts.get(action, 0) + 1
    return f"{len(actions)} incidents: " + ", ".join(f"{n} {action}" for action, n in counts.items())

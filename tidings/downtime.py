"""How incident impact counts as downtime: the weights, and each component's impact windows.

Shared by the public page's uptime bars (tidings.generator.uptime) and `tidings metrics`, so both
count downtime by one rule: time in `major_outage` counts fully, time in `partial_outage` at 30%
(as Atlassian Statuspage does); degraded performance and maintenance are not downtime.
"""

from __future__ import annotations

from datetime import datetime

from .model import StatusRepo

WEIGHT = {"major_outage": 1.0, "partial_outage": 0.3}

Window = tuple[datetime, datetime, str, str]  # start, end, impact, incident or maintenance id


def impact_windows(repo: StatusRepo, now: datetime) -> dict[str, list[Window]]:
    """Component id -> the windows it spent in a non-operational state, up to `now`.

    An unresolved incident lasts until `now`; maintenance counts once it has begun (its windows are
    `under_maintenance`, which weighs nothing).
    """
    out: dict[str, list[Window]] = {}
    for incident in repo.incidents:
        end = incident.resolved_at or now
        if end <= incident.started_at:
            continue
        for component, impact in incident.components.items():
            if impact != "operational":
                out.setdefault(component, []).append(
                    (incident.started_at, min(end, now), impact, incident.id)
                )
    for m in repo.maintenance:
        end = min(m.scheduled_until, now)
        if m.status_at(now) != "scheduled" and end > m.scheduled_for:
            for component in m.components:
                out.setdefault(component, []).append((m.scheduled_for, end, "under_maintenance", m.id))
    return out

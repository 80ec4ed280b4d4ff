"""How incident impact counts as downtime: the weights, each component's impact windows, and the one
rule that turns a component's windows into downtime over an interval.

Shared by the public page's uptime bars (tidings.generator.uptime) and `tidings metrics`, so both
count downtime by one rule: time in `major_outage` counts fully, time in `partial_outage` at 30%
(as Atlassian Statuspage does); degraded performance and maintenance are not downtime. Where a
component's windows overlap, the worst impact counts at each moment, once: two incidents on the same
hours are not twice the downtime.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tidings.content.model import IMPACTS, StatusRepo
from tidings.ops import status

WEIGHT = {"major_outage": 1.0, "partial_outage": 0.3}

Window = tuple[datetime, datetime, str, str]  # start, end, impact, incident or maintenance id


def impact_windows(repo: StatusRepo, now: datetime) -> dict[str, list[Window]]:
    """Component id -> the windows it spent in a non-operational state, up to `now`.

    An incident ends when its `duration` says (a resolved one without `resolved_at` at its last
    update); an unresolved one lasts until `now`. Maintenance counts once it has begun (its windows
    are `under_maintenance`, which weighs nothing).
    """
    out: dict[str, list[Window]] = {}
    for incident in repo.incidents:
        duration = incident.duration
        if duration is None and incident.status == "resolved":
            continue  # resolved, with no time at all to say when: no downtime we could place
        end = incident.started_at + duration if duration is not None else now
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


@dataclass(frozen=True)
class Downtime:
    """One component over one interval: how long each impact was the worst it had."""

    length: float  # seconds in the interval
    seconds: dict[str, float]  # impact -> seconds it was the worst impact; operational time left out

    @property
    def weighted(self) -> float:
        """Seconds of downtime: major outage fully, partial outage at 30%."""
        return sum(WEIGHT.get(impact, 0.0) * secs for impact, secs in self.seconds.items())

    @property
    def uptime(self) -> float | None:
        """Percent of the interval up; None for an empty interval."""
        if self.length <= 0:
            return None
        return max(0.0, 100.0 * (1 - self.weighted / self.length))


def downtime(windows: Iterable[Window], start: datetime, end: datetime) -> Downtime:
    """A component's downtime over [start, end): its windows merged, the worst impact wins at each moment."""
    events: list[tuple[datetime, int, str]] = []
    for s, e, impact, _ in windows:
        s, e = max(s, start), min(e, end)
        if s < e and impact in IMPACTS and impact != "operational":
            events += [(s, 1, impact), (e, -1, impact)]
    events.sort(key=lambda ev: ev[0])
    active = dict.fromkeys(IMPACTS, 0)
    seconds: dict[str, float] = {}
    previous: datetime | None = None
    for when, step, impact in events:
        if previous is not None and when > previous:
            down = [i for i, n in active.items() if n > 0]
            if down:
                worst = status.worst(down)
                seconds[worst] = seconds.get(worst, 0.0) + (when - previous).total_seconds()
        active[impact] += step
        previous = when
    return Downtime(max(0.0, (end - start).total_seconds()), seconds)

"""Uptime per component per day, from incident impact windows.

A day's downtime is the time a component spent in `major_outage` (counted fully) plus the time in
`partial_outage` (counted at 30%, as Atlassian Statuspage does), where incidents overlap the worst
impact counting once: the rule of tidings.downtime, which `tidings metrics` shares. Degraded
performance and maintenance are shown on the bar but are not downtime. Days are calendar days in
the site's timezone; an unresolved incident lasts until now, a resolved one without `resolved_at`
until its last update.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tidings.content.model import StatusRepo
from tidings.ops import status
from tidings.ops.downtime import downtime, impact_windows


@dataclass(frozen=True)
class Day:
    date: date
    uptime: float  # 0..100; 100 for a day with no downtime (also a day before the window started)
    worst: str  # the worst impact seen that day
    incidents: tuple[str, ...] = ()  # incident ids
    # impact -> seconds that day it was the worst impact (overlapping incidents count once)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Segment:
    """A run of days shown as one piece of the bar: a single day, or consecutive days without downtime."""

    first: date
    last: date
    length: int  # days
    uptime: float
    worst: str


@dataclass(frozen=True)
class Uptime:
    days: tuple[Day, ...]

    @property
    def segments(self) -> list[Segment]:
        """Quiet days (operational, 100%) merged into runs, every other day on its own.

        Each segment is one focusable item carrying its figure as text, so a keyboard or screen
        reader user hears "Sep 1 to Sep 28: 100%" once instead of tabbing through 28 days.
        """
        out: list[Segment] = []
        for day in self.days:
            quiet = day.worst == "operational" and day.uptime == 100.0
            if quiet and out and out[-1].worst == "operational" and out[-1].uptime == 100.0:
                prev = out[-1]
                out[-1] = Segment(prev.first, day.date, prev.length + 1, 100.0, "operational")
            else:
                out.append(Segment(day.date, day.date, 1, day.uptime, day.worst))
        return out

    @property
    def percent(self) -> float:
        """Uptime over the whole window."""
        return sum(d.uptime for d in self.days) / len(self.days) if self.days else 100.0


def uptime_by_component(repo: StatusRepo, now: datetime, zone: ZoneInfo, days: int = 90) -> dict[str, Uptime]:
    """The last `days` calendar days (today included) for every component."""
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    windows = impact_windows(repo, now)
    result: dict[str, Uptime] = {}
    for component in repo.components:
        window_start = datetime.combine(first, time(), zone).astimezone(UTC)
        # Only incidents that reach into the window matter: the rest of the history is skipped once.
        spans = [w for w in windows.get(component.id, []) if w[1] > window_start]
        day_list = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            # In UTC: subtracting two times of one zone ignores a DST change between them.
            start = datetime.combine(day, time(), zone).astimezone(UTC)
            end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
            ids: list[str] = []
            impacts: set[str] = set()
            for s, e, impact, item in spans:
                if min(e, end) > max(s, start):
                    impacts.add(impact)
                    if item not in ids:
                        ids.append(item)
            down = downtime(spans, start, min(end, now))
            up = 100.0 if down.uptime is None else down.uptime
            worst = status.worst(impacts)
            day_list.append(Day(day, up, worst, tuple(ids), down.seconds))
        result[component.id] = Uptime(tuple(day_list))
    return result

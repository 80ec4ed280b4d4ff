"""Incident metrics over a period: frequency, time to acknowledge and to resolve, longest incidents, uptime.

A pure library over the model: the period and `now` are arguments, nothing reads the clock, and
every figure comes from the incident files. The rules, which `tidings metrics` states with its output:

- An incident belongs to the period when it *started* in [start, end); with a component, only the
  incidents that list that component.
- Every incident counts, published or not: these are internal figures about how the team did, not
  what the public page shows. `unpublished` says how many of them the public never saw.
- MTTA is `acknowledged_at - started_at` over the incidents that were acknowledged. An incident that
  never was (an imported history: Statuspage has no acknowledgement; an alert that resolved itself)
  is left out of MTTA and counted in `unacknowledged`, because counting it as zero or as its whole
  duration would make the figure up.
- MTTR is `resolved_at - started_at` over the resolved incidents (the incident's `duration`: a
  resolved one without `resolved_at` ends at its last update); the others are counted in `unresolved`.
- Both come as the mean and the median: a few very long incidents drag the mean, the median is the
  typical incident. Text, JSON and CSV name which is which.
- By severity (all five, in order) and by component (every component, in the site file's order):
  an incident on two components counts for each.
- Frequency: incidents per ISO week (from Monday) and per calendar month, in the given timezone
  (the site's), every week and month of the period listed, zeros included; the mean per week and
  per month is the count over the period's length, given only over a period of at least
  RATE_MINIMUM (a week's rate over 7 days, a month's over 28: the shortest month), because a rate
  from a day and a half (2 incidents as "9.42 a week") would be made up.
- Examples: an incident marked `example: true` (the one `tidings init` writes) is no incident of the
  team's: it counts nowhere (nor in uptime), and `examples` says how many of the period were left out.
- Uptime: per component over [start, min(end, now)), downtime weighted as the public uptime bars
  weigh it (tidings.downtime: major outage fully, partial outage at 30%). Every incident that
  overlaps the period counts for the part inside it, also one that started before it, and an
  unresolved one lasts until `now`. Where a component's incidents overlap, the worst impact counts
  at each moment, never two at once.
- Longest: the resolved incidents of the period by duration, longest first.
- False alarms: an incident whose every alert record (content/alerts/) was ignored is a false
  alarm. It still counts as an incident of its period (someone was paged, or could have been), but
  not in MTTA or MTTR, nor among the unacknowledged or unresolved: it tells nothing of how fast the
  team answers a real problem. `false_alarms` counts them. An incident without alert records is
  never one.

Alerts (the records of content/alerts/, read when the repo is loaded with them):

- A record belongs to the period when it was *first seen* in [start, end); with a component, only
  the records that name that component. `received` counts the records, `firings` their `fired`
  counts (an alert that fired five times is one record, five firings).
- `ignored` counts the records whose status is ignored (a person said: false alarm); the ignored
  share (the false-positive rate) is ignored over received.
- Time to acknowledge an alert: from the start of the firing a person answered to its first
  `acknowledged` event. That firing began at `first_seen`, or at the last `reopened` event before
  the acknowledgement (an alert resolved and firing anew is answered anew); a re-fire of an alert
  still open changes nothing, it was waiting since its first firing. Ignored records are left out
  (a false alarm), as are records never acknowledged (counted in `unacknowledged`, never as zero).
- By integration (every integration of .gitlab/integrations.yml, in its order, then any other a
  record names) and by component (every component, in the site file's order, then other names the
  records give, then records naming none, under NO_COMPONENT).
- By hour of day and day of week, in the given timezone (the site's): the incidents of the period by
  when they started, the alert records by when they were first seen; every hour and weekday listed,
  zeros included.

Post-incident reviews (content/reviews/), for the resolved incidents of the period:

- Time to review: from an incident's resolution to the start (`created_at`) of the review that names
  it, and to its publication (`published_at`), over the incidents that have one (that have a
  published one); `unreviewed` counts the resolved incidents without a review, never as zero or as
  forever. False alarms are left out, as from MTTA and MTTR.
- Action items: those of the reviews of the period's incidents, each once: how many, done, dropped,
  open and overdue (open after their due day, on `now`'s day in the timezone); the done share is
  done over those not dropped.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from tidings.content.model import SEVERITIES, AlertRecord, Incident, StatusRepo
from tidings.ops.downtime import downtime, impact_windows

LONGEST = 10
# The by-component key of alert records that name no component (component ids are slugs: no clash).
NO_COMPONENT = "(none)"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEK = timedelta(days=7)
_MONTH = timedelta(days=365.2425 / 12)
# The shortest period a mean rate is given over: a week's over a week, a month's over the shortest
# month (a February from its first day to March's counts). Shorter, the rate is None.
RATE_MINIMUM = {"week": timedelta(days=7), "month": timedelta(days=28)}


@dataclass(frozen=True)
class Stat:
    """Durations of some incidents: how many, their mean and their median (None when there are none)."""

    count: int
    mean: timedelta | None
    median: timedelta | None

    @classmethod
    def of(cls, durations: Sequence[timedelta]) -> Stat:
        if not durations:
            return cls(0, None, None)
        seconds = [d.total_seconds() for d in durations]
        return cls(
            len(seconds),
            timedelta(seconds=statistics.fmean(seconds)),
            timedelta(seconds=statistics.median(seconds)),
        )


@dataclass(frozen=True)
class Figures:
    """MTTA and MTTR of one set of incidents: all of them, one severity's, or one component's."""

    key: str  # "all", a severity, or a component id
    name: str
    incidents: int
    mtta: Stat  # over the acknowledged incidents, false alarms left out
    mttr: Stat  # over the resolved incidents, false alarms left out
    false_alarms: int = 0  # incidents whose every alert record was ignored

    @property
    def unacknowledged(self) -> int:
        return self.incidents - self.false_alarms - self.mtta.count

    @property
    def unresolved(self) -> int:
        return self.incidents - self.false_alarms - self.mttr.count


@dataclass(frozen=True)
class AlertFigures:
    """The alert records of one integration, one component, or all: how many, how often ignored, TTA."""

    key: str  # "all", an integration id, a component id, or NO_COMPONENT
    name: str
    received: int  # records first seen in the period
    firings: int  # their `fired` counts, summed
    ignored: int
    tta: Stat  # time to acknowledge, over the acknowledged records that are not ignored

    @property
    def ignored_share(self) -> float | None:
        """The false-positive rate: ignored over received (None without records)."""
        return self.ignored / self.received if self.received else None

    @property
    def unacknowledged(self) -> int:
        """Records neither ignored nor ever acknowledged (most resolved by their source)."""
        return self.received - self.ignored - self.tta.count


@dataclass(frozen=True)
class TimeSlot:
    """An hour of the day (0-23) or a day of the week (1, Monday, to 7): incidents and alerts in it."""

    key: int
    label: str  # "00:00" or "Monday"
    incidents: int
    alerts: int


@dataclass(frozen=True)
class Bucket:
    """A week or a month of the period and how many incidents started in it."""

    label: str  # "2026-W03" or "2026-03"
    starts: date  # the week's Monday, the month's first day
    incidents: int


@dataclass(frozen=True)
class LongIncident:
    id: str
    title: str
    severity: str
    started_at: datetime
    resolved_at: datetime
    components: tuple[str, ...]
    published: bool

    @property
    def duration(self) -> timedelta:
        return self.resolved_at - self.started_at


@dataclass(frozen=True)
class ComponentUptime:
    """One component's uptime over the period, and the downtime behind it."""

    component: str
    name: str
    percent: float | None  # None when the period has not begun by `now`
    downtime: timedelta  # weighted: major outage fully, partial outage at 30%
    major_outage: timedelta  # time whose worst impact was a major outage
    partial_outage: timedelta  # time whose worst impact was a partial outage


@dataclass(frozen=True)
class ReviewFigures:
    """Post-incident reviews of the period's resolved incidents, and their action items."""

    resolved: int  # resolved incidents of the period, false alarms left out
    to_review: Stat  # resolution -> review created, over the reviewed ones
    to_publish: Stat  # resolution -> review published, over those with a published review
    items: int = 0
    done: int = 0
    dropped: int = 0
    overdue: int = 0

    @property
    def unreviewed(self) -> int:
        return self.resolved - self.to_review.count

    @property
    def open(self) -> int:
        return self.items - self.done - self.dropped

    @property
    def done_share(self) -> float | None:
        """Done over the items not dropped (None without any)."""
        kept = self.items - self.dropped
        return self.done / kept if kept else None


NO_REVIEWS = ReviewFigures(0, Stat(0, None, None), Stat(0, None, None))


@dataclass(frozen=True)
class Metrics:
    """Every figure of one period (and optionally one component)."""

    start: datetime
    end: datetime
    now: datetime
    timezone: str
    component: str | None
    incidents: int
    unpublished: int
    overall: Figures
    by_severity: tuple[Figures, ...]
    by_component: tuple[Figures, ...]
    weeks: tuple[Bucket, ...]
    months: tuple[Bucket, ...]
    longest: tuple[LongIncident, ...]
    uptime: tuple[ComponentUptime, ...]
    alerts: AlertFigures = AlertFigures("all", "All alerts", 0, 0, 0, Stat(0, None, None))
    alerts_by_integration: tuple[AlertFigures, ...] = ()
    alerts_by_component: tuple[AlertFigures, ...] = ()
    hours: tuple[TimeSlot, ...] = ()  # 24, from 00:00
    weekdays: tuple[TimeSlot, ...] = ()  # 7, from Monday
    reviews: ReviewFigures = NO_REVIEWS
    examples: int = 0  # incidents of the period marked `example: true`, counted nowhere else

    @property
    def false_alarms(self) -> int:
        """Incidents of the period whose every alert record was ignored."""
        return self.overall.false_alarms

    @property
    def per_week(self) -> float | None:
        """Mean incidents a week: the count over the period's length; None under RATE_MINIMUM["week"]."""
        if self.end - self.start < RATE_MINIMUM["week"]:
            return None
        return self.incidents / ((self.end - self.start) / _WEEK)

    @property
    def per_month(self) -> float | None:
        """Mean incidents a month (of 365.2425 / 12 days); None under RATE_MINIMUM["month"]."""
        if self.end - self.start < RATE_MINIMUM["month"]:
            return None
        return self.incidents / ((self.end - self.start) / _MONTH)


def _aware(when: datetime, name: str) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, not the naive {when.isoformat()}")
    return when.astimezone(UTC)


def figures(
    key: str, name: str, incidents: Sequence[Incident], false_alarms: Collection[str] = frozenset()
) -> Figures:
    """MTTA and MTTR (mean and median) of `incidents`, each over the incidents it applies to.

    The incidents whose id is in `false_alarms` count as incidents and in neither figure.
    """
    real = [i for i in incidents if i.id not in false_alarms]
    acknowledged = [i.acknowledged_at - i.started_at for i in real if i.acknowledged_at is not None]
    resolved = [d for d in (i.duration for i in real) if d is not None]
    return Figures(
        key, name, len(incidents), Stat.of(acknowledged), Stat.of(resolved), len(incidents) - len(real)
    )


def false_alarm_ids(alerts: Iterable[AlertRecord]) -> frozenset[str]:
    """The incidents whose every alert record is ignored (and that have at least one)."""
    ignored: dict[str, bool] = {}
    for record in alerts:
        if record.incident:
            ignored[record.incident] = ignored.get(record.incident, True) and record.status == "ignored"
    return frozenset(incident for incident, every in ignored.items() if every)


def time_to_acknowledge(record: AlertRecord) -> timedelta | None:
    """From the start of the firing a person answered to the record's first acknowledgement; None if never.

    The firing began at first_seen, or at the last `reopened` before the acknowledgement. Events are
    taken in time order; an acknowledgement stamped before its firing (a source's clock ahead) is 0.
    """
    start = record.first_seen
    for event in sorted(record.events, key=lambda e: e.at):
        if event.event == "reopened":
            start = event.at
        elif event.event == "acknowledged":
            return max(event.at - start, timedelta(0))
    return None


def alert_figures(
    key: str,
    name: str,
    records: Sequence[AlertRecord],
    waits: Mapping[str, timedelta | None] | None = None,
) -> AlertFigures:
    """Received, firings, ignored and time to acknowledge of `records` (`waits`: each one's, if known)."""
    known = waits if waits is not None else {r.id: time_to_acknowledge(r) for r in records}
    acknowledged = [wait for r in records if r.status != "ignored" and (wait := known[r.id]) is not None]
    return AlertFigures(
        key,
        name,
        len(records),
        sum(r.fired for r in records),
        sum(1 for r in records if r.status == "ignored"),
        Stat.of(acknowledged),
    )


def _slots(
    incidents: Iterable[Incident], alerts: Iterable[AlertRecord], zone: ZoneInfo
) -> tuple[list[TimeSlot], list[TimeSlot]]:
    """Incidents (by start) and alert records (by first seen) per local hour of day and day of week."""
    hours = [[0, 0] for _ in range(24)]
    days = [[0, 0] for _ in range(7)]
    for n, times in enumerate(((i.started_at for i in incidents), (a.first_seen for a in alerts))):
        for when in times:
            local = when.astimezone(zone)
            hours[local.hour][n] += 1
            days[local.weekday()][n] += 1
    return (
        [TimeSlot(h, f"{h:02d}:00", *hours[h]) for h in range(24)],
        [TimeSlot(d + 1, WEEKDAYS[d], *days[d]) for d in range(7)],
    )


def _weeks(incidents: Iterable[Incident], start: datetime, end: datetime, zone: ZoneInfo) -> list[Bucket]:
    def monday(when: datetime) -> date:
        day = when.astimezone(zone).date()
        return day - timedelta(days=day.weekday())

    counts: dict[date, int] = {}
    for incident in incidents:
        counts[monday(incident.started_at)] = counts.get(monday(incident.started_at), 0) + 1
    out = []
    week, last = monday(start), monday(end - timedelta(microseconds=1))
    while week <= last:
        year, number, _ = week.isocalendar()
        out.append(Bucket(f"{year}-W{number:02d}", week, counts.get(week, 0)))
        week += timedelta(days=7)
    return out


def _months(incidents: Iterable[Incident], start: datetime, end: datetime, zone: ZoneInfo) -> list[Bucket]:
    def first(when: datetime) -> date:
        return when.astimezone(zone).date().replace(day=1)

    counts: dict[date, int] = {}
    for incident in incidents:
        counts[first(incident.started_at)] = counts.get(first(incident.started_at), 0) + 1
    out = []
    month, last = first(start), first(end - timedelta(microseconds=1))
    while month <= last:
        out.append(Bucket(f"{month:%Y-%m}", month, counts.get(month, 0)))
        month = (month + timedelta(days=32)).replace(day=1)
    return out


def review_figures(
    repo: StatusRepo,
    incidents: Sequence[Incident],
    now: datetime,
    zone: ZoneInfo,
    false_alarms: Collection[str],
) -> ReviewFigures:
    """Time to review and action-item completion for `incidents` (see the module's rules)."""
    reviews = {r.id: r for i in incidents for r in repo.reviews_of(i.id)}
    created, published, resolved = [], [], 0
    for incident in incidents:
        duration = incident.duration
        if incident.id in false_alarms or incident.status != "resolved" or duration is None:
            continue
        resolved += 1
        mine = repo.reviews_of(incident.id)
        if not mine:
            continue
        end = incident.started_at + duration
        created.append(min(r.created_at for r in mine) - end)
        times = [r.published_at for r in mine if r.published_at is not None]
        if times:
            published.append(min(times) - end)
    day = now.astimezone(zone).date()
    items = [item for r in reviews.values() for item in r.action_items]
    return ReviewFigures(
        resolved=resolved,
        to_review=Stat.of(created),
        to_publish=Stat.of(published),
        items=len(items),
        done=sum(i.status == "done" for i in items),
        dropped=sum(i.status == "dropped" for i in items),
        overdue=sum(i.overdue(day) for i in items),
    )


def default_start(repo: StatusRepo, now: datetime) -> datetime:
    """Where a period without a start begins: when the first incident started (or 90 days before now).

    An example counts here (and nowhere else), so the report of a new repo says it was left out."""
    first = min((i.started_at for i in repo.incidents), default=None)
    return _aware(first, "started_at") if first is not None else _aware(now, "now") - timedelta(days=90)


def compute(
    repo: StatusRepo,
    start: datetime,
    end: datetime,
    now: datetime,
    component: str | None = None,
    timezone: str | None = None,
    longest: int = LONGEST,
) -> Metrics:
    """The metrics of the incidents of `repo` that started in [start, end), optionally on one component,
    and of its alert records first seen then (none unless `repo` was loaded with them).

    `timezone` (default: the site's) is where weeks, months, days and hours begin. Raises ValueError for naive
    times, an empty period or an unknown component.
    """
    start, end, now = _aware(start, "start"), _aware(end, "end"), _aware(now, "now")
    if start >= end:
        raise ValueError(f"the period is empty: {start.isoformat()} is not before {end.isoformat()}")
    names = {c.id: c.name for c in repo.components}
    if component is not None and component not in names:
        raise ValueError(f"unknown component {component!r}")
    zone_name = timezone or repo.site.timezone
    zone = ZoneInfo(zone_name)
    examples = sum(
        1
        for i in repo.incidents
        if i.example and start <= i.started_at < end and (component is None or component in i.components)
    )
    if any(i.example for i in repo.incidents):  # from here on, as if they were not there
        real = tuple(i for i in repo.incidents if not i.example)
        repo = replace(repo, incidents=real, _index={})

    chosen = [
        i
        for i in repo.incidents
        if start <= i.started_at < end and (component is None or component in i.components)
    ]
    chosen.sort(key=lambda i: (i.started_at, i.id))
    components = [component] if component is not None else list(names)
    # Components an incident names that the site file does not (only a repo with errors has them).
    components += sorted({c for i in chosen for c in i.components if c not in names and component is None})

    false_alarms = false_alarm_ids(repo.alerts)
    by_severity = tuple(
        figures(s, s, [i for i in chosen if i.severity == s], false_alarms) for s in SEVERITIES
    )
    by_component = tuple(
        figures(c, names.get(c, c), [i for i in chosen if c in i.components], false_alarms)
        for c in components
    )
    resolved = [(i, i.started_at + d) for i in chosen if (d := i.duration) is not None]
    resolved.sort(key=lambda pair: (pair[0].started_at - pair[1], pair[0].started_at, pair[0].id))
    long_ones = tuple(
        LongIncident(i.id, i.title, i.severity, i.started_at, at, tuple(i.components), i.published)
        for i, at in resolved[:longest]
    )

    windows = impact_windows(repo, now)
    up_to = min(end, now)
    uptime = []
    for c in components:
        down = downtime(windows.get(c, []), start, up_to)
        uptime.append(
            ComponentUptime(
                c,
                names.get(c, c),
                down.uptime,
                timedelta(seconds=down.weighted),
                timedelta(seconds=down.seconds.get("major_outage", 0.0)),
                timedelta(seconds=down.seconds.get("partial_outage", 0.0)),
            )
        )

    records = [
        a
        for a in repo.alerts
        if start <= a.first_seen < end and (component is None or a.component == component)
    ]
    # Each record's wait, once: it counts overall, for its integration and for its component.
    waits = {a.id: time_to_acknowledge(a) for a in records}
    integrations = [i.id for i in repo.integrations]
    integrations += sorted({a.integration for a in records} - set(integrations))
    alert_components = [component] if component is not None else list(names)
    alert_components += sorted({a.component for a in records if a.component} - set(alert_components))
    by_alert_component = [
        alert_figures(c, names.get(c, c), [a for a in records if a.component == c], waits)
        for c in alert_components
    ]
    if any(a.component is None for a in records):
        nameless = [a for a in records if a.component is None]
        by_alert_component.append(alert_figures(NO_COMPONENT, "no component", nameless, waits))
    hours, weekdays = _slots(chosen, records, zone)

    return Metrics(
        start=start,
        end=end,
        now=now,
        timezone=zone_name,
        component=component,
        incidents=len(chosen),
        unpublished=sum(1 for i in chosen if not i.published),
        overall=figures("all", "All incidents", chosen, false_alarms),
        by_severity=by_severity,
        by_component=by_component,
        weeks=tuple(_weeks(chosen, start, end, zone)),
        months=tuple(_months(chosen, start, end, zone)),
        longest=long_ones,
        uptime=tuple(uptime),
        alerts=alert_figures("all", "All alerts", records, waits),
        alerts_by_integration=tuple(
            alert_figures(i, i, [a for a in records if a.integration == i], waits) for i in integrations
        ),
        alerts_by_component=tuple(by_alert_component),
        hours=tuple(hours),
        weekdays=tuple(weekdays),
        reviews=review_figures(repo, chosen, now, zone, false_alarms),
        examples=examples,
    )

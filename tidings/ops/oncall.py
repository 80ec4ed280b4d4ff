"""On-call schedules: who is on call at an instant, and the shifts over a range of time.

A pure library over the model: every function takes the time as an argument (the CLI asks
`tidings.clock`), and every datetime it returns is aware and in UTC. Show them in a reader's zone
with `.astimezone(zone)` at the edge; do not compare or subtract them after that, because Python
compares two datetimes of the *same* zone by wall-clock time and ignores `fold`, so the two
01:30s of a night when clocks go back would compare equal.

How time works in a schedule (GitLab's semantics where GitLab has them):

- A rotation's `starts_at` is its first hand-off. Without an offset it is wall-clock time in the
  rotation's timezone (or the schedule's); with one it is that instant, and its wall-clock time in
  the rotation's timezone sets the time of day of later hand-offs.
- Rotations measured in `days` or `weeks` hand off at local wall-clock time: hand-off k is the
  start's local date and time plus k * length calendar days, so a daily 09:00 hand-off in
  Europe/Berlin stays at 09:00 across DST changes, and the shift across the change lasts 23 or 25
  real hours. This is what GitLab does (Rails adds `length.days` in the schedule's zone).
- Rotations measured in `hours` count elapsed real hours from the start, as GitLab does: a 12-hour
  rotation handing off at 08:00 and 20:00 hands off at 09:00 and 21:00 after clocks go forward.
  An hour-length shift is always an hour long; wall-clock hand-offs would make one shift vanish or
  double at each change.
- A wall-clock time that does not exist (in the gap when clocks go forward) is read the way
  zoneinfo reads it with `fold=0`: with the offset before the change, which lands the same
  distance after the gap (02:30 on 2026-03-29 in Berlin is 03:30 CEST). Only that one hand-off
  moves; the next is at 02:30 again. A wall-clock time that exists twice (when clocks go back) is
  its first occurrence (`fold=0`). Override times and `ends_at` without an offset follow the same
  rules, in the rotation's timezone (`ends_at`) or the schedule's (overrides).
- The person for hand-off k is `participants[k % len(participants)]`; k is computed arithmetically
  from the start, so finding who is on call never walks the shifts since the start.
- Restrictions are windows of local time in the rotation's timezone; outside all of them the
  rotation is inactive (the rotation's turn order goes on regardless, as in GitLab). A window whose
  `to` is before its `from` spans midnight and belongs to the day it starts on:
  `{days: [fri], from: "22:00", to: "06:00"}` is Friday 22:00 to Saturday 06:00.
- A rotation is active from its start until its `ends_at` (exclusive). Where several are active,
  the one listed last wins. Overrides win over every rotation, and a later override over an earlier.
- Every interval is half-open, [starts_at, ends_at): at a hand-off the new person is on call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tidings.content.model import WEEKDAYS, Rotation, Schedule

OVERRIDE = "override"

# Hand-offs of a days/weeks rotation move at most this far from their wall-clock time (a DST gap),
# so a first guess of the index from local times is off by at most one; the loops below fix it.
_MAX_CORRECTION_STEPS = 4


@dataclass(frozen=True)
class OnCall:
    """Who is on call in one schedule at one instant, and through which rotation or override."""

    schedule: str
    person: str
    rotation: str  # the rotation's name, or "override"
    layer: int | None  # index of the rotation in the schedule; None for an override

    @property
    def is_override(self) -> bool:
        return self.layer is None


@dataclass(frozen=True)
class Shift:
    """A stretch of time one person is on call in one schedule, in UTC, half-open [starts_at, ends_at)."""

    schedule: str
    person: str
    starts_at: datetime
    ends_at: datetime
    rotation: str  # the rotation's name, or "override"
    layer: int | None  # index of the rotation in the schedule; None for an override

    @property
    def is_override(self) -> bool:
        return self.layer is None

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    def covers(self, when: datetime) -> bool:
        """Whether the instant `when` (aware) falls inside the shift."""
        return self.starts_at <= when < self.ends_at


def wall_clock(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive wall-clock time in `zone`: first occurrence in a fold, moved past a gap."""
    # fold=0 is zoneinfo's (PEP 495) reading: in a fold the earlier offset, so the first occurrence;
    # in a gap the offset from before it, which lands as far after the gap as the time was into it.
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def instant(value: datetime, zone: ZoneInfo) -> datetime:
    """A schedule time as a UTC instant: aware values as they are, naive ones as wall-clock time in `zone`."""
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    return wall_clock(value, zone)


def _utc(when: datetime, name: str = "when") -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, not the naive {when.isoformat()}")
    return when.astimezone(UTC)


@dataclass(frozen=True)
class _Window:
    days: frozenset[int]  # 0 = Monday, as date.weekday()
    start: time
    end: time

    @property
    def overnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class _Layer:
    """A rotation compiled for arithmetic: instants in UTC, the anchor as local wall-clock time."""

    index: int
    name: str
    zone: ZoneInfo
    participants: tuple[str, ...]
    start: datetime  # UTC: the first hand-off
    end: datetime | None  # UTC, exclusive
    anchor: datetime  # naive local wall-clock time of the first hand-off (days and weeks)
    period: timedelta
    elapsed: bool  # hours: hand-offs every `period` of real time; else every `period` of wall-clock time
    windows: tuple[_Window, ...]  # empty: no restrictions, always active

    def handoff(self, k: int) -> datetime:
        """The instant (UTC) of hand-off k; hand-off 0 is the start."""
        if k == 0:
            # Exactly the written start, even when it is the second 01:30 of a fold (aware starts_at).
            return self.start
        if self.elapsed:
            return self.start + k * self.period
        return wall_clock(self.anchor + k * self.period, self.zone)

    def index_at(self, when: datetime) -> int:
        """k such that handoff(k) <= when < handoff(k + 1); negative before the start. O(1)."""
        if self.elapsed:
            return (when - self.start) // self.period
        local = when.astimezone(self.zone).replace(tzinfo=None)
        k = (local - self.anchor) // self.period
        # Local arithmetic ignores gaps and folds; the true hand-off instants correct the guess.
        for _ in range(_MAX_CORRECTION_STEPS):
            if self.handoff(k) > when:
                k -= 1
            elif self.handoff(k + 1) <= when:
                k += 1
            else:
                break
        return k

    def person(self, k: int) -> str:
        return self.participants[k % len(self.participants)]

    def in_rotation(self, when: datetime) -> bool:
        return self.start <= when and (self.end is None or when < self.end)

    def active(self, when: datetime) -> bool:
        """Whether the rotation has someone on call at `when` (UTC): started, not ended, inside a window."""
        if not self.in_rotation(when):
            return False
        if not self.windows:
            return True
        return any(s <= when < e for s, e in self.restriction_windows(when, when + timedelta(microseconds=1)))

    def restriction_windows(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The restriction windows that meet [start, end), as merged, sorted UTC intervals (unclipped)."""
        # From the day before: an overnight window that started then may still be open.
        first = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date()
        found: list[tuple[datetime, datetime]] = []
        day = first
        while day <= last:
            for window in self.windows:
                if day.weekday() not in window.days:
                    continue
                s = wall_clock(datetime.combine(day, window.start), self.zone)
                end_day = day + timedelta(days=1) if window.overnight else day
                e = wall_clock(datetime.combine(end_day, window.end), self.zone)
                if s < e and e > start and s < end:
                    found.append((s, e))
            day += timedelta(days=1)
        return _union(found)

    def segments(self, start: datetime, end: datetime) -> list[_Piece]:
        """This rotation's on-call pieces within [start, end) (UTC), one per hand-off period and window."""
        lo = max(start, self.start)
        hi = min(end, self.end) if self.end is not None else end
        if lo >= hi:
            return []
        pieces: list[_Piece] = []
        k = self.index_at(lo)
        begin = self.handoff(k)
        while begin < hi:
            finish = self.handoff(k + 1)
            if finish > begin:  # a zone that skips a whole day can make a hand-off period empty
                pieces.append(_Piece(max(begin, lo), min(finish, hi), self.person(k), self.name, self.index))
            k += 1
            begin = finish
        if not self.windows:
            return pieces
        return _intersect(pieces, self.restriction_windows(lo, hi))


@dataclass(frozen=True)
class _Piece:
    start: datetime
    end: datetime
    person: str
    rotation: str
    layer: int | None

    def cut(self, start: datetime, end: datetime) -> _Piece:
        return replace(self, start=start, end=end)


def _union(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _intersect(pieces: list[_Piece], windows: list[tuple[datetime, datetime]]) -> list[_Piece]:
    """The parts of sorted, disjoint pieces inside sorted, disjoint windows (two pointers, linear)."""
    out: list[_Piece] = []
    i = j = 0
    while i < len(pieces) and j < len(windows):
        piece, (ws, we) = pieces[i], windows[j]
        s, e = max(piece.start, ws), min(piece.end, we)
        if s < e:
            out.append(piece.cut(s, e))
        if piece.end <= we:
            i += 1
        else:
            j += 1
    return out


def _paint(base: list[_Piece], top: list[_Piece]) -> list[_Piece]:
    """`top` laid over `base`: top wins where they overlap. Both sorted and disjoint; so is the result."""
    if not top:
        return base
    out: list[_Piece] = []
    j = 0
    for piece in base:
        while j < len(top) and top[j].end <= piece.start:
            j += 1
        cursor, t = piece.start, j
        while cursor < piece.end:
            if t < len(top) and top[t].start < piece.end:
                if top[t].start > cursor:
                    out.append(piece.cut(cursor, top[t].start))
                cursor = max(cursor, top[t].end)
                t += 1
            else:
                out.append(piece.cut(cursor, piece.end))
                break
    return sorted([*out, *top], key=lambda p: p.start)


def _zone(rotation: Rotation, schedule: Schedule) -> ZoneInfo:
    return ZoneInfo(rotation.timezone or schedule.timezone)


def _anchor(starts_at: datetime, zone: ZoneInfo) -> datetime:
    """The wall-clock time hand-offs repeat: as written, so 02:30 stays 02:30 after a gap moved the first."""
    if starts_at.tzinfo is None:
        return starts_at
    return starts_at.astimezone(zone).replace(tzinfo=None)


def _compile(schedule: Schedule) -> list[_Layer]:
    layers: list[_Layer] = []
    for index, rotation in enumerate(schedule.rotations):
        zone = _zone(rotation, schedule)
        start = instant(rotation.starts_at, zone)
        length = rotation.rotation_length
        unit = rotation.rotation_length_unit
        period = {
            "hours": timedelta(hours=length),
            "days": timedelta(days=length),
            "weeks": timedelta(weeks=length),
        }[unit]
        windows = tuple(
            _Window(
                frozenset(WEEKDAYS.index(d) for d in r.days),
                time.fromisoformat(r.from_),
                time.fromisoformat(r.to),
            )
            for r in rotation.restrictions
            if r.from_ != r.to  # an empty window (validation reports it) covers nothing
        )
        if rotation.restrictions and not windows:
            continue  # every window is empty: the rotation never has anyone on call
        layers.append(
            _Layer(
                index=index,
                name=rotation.name,
                zone=zone,
                participants=tuple(rotation.participants),
                start=start,
                end=instant(rotation.ends_at, zone) if rotation.ends_at is not None else None,
                anchor=_anchor(rotation.starts_at, zone),
                period=period,
                elapsed=unit == "hours",
                windows=windows,
            )
        )
    return layers


def _overrides(schedule: Schedule) -> list[_Piece]:
    zone = ZoneInfo(schedule.timezone)
    pieces = []
    for override in schedule.overrides:
        start, end = instant(override.starts_at, zone), instant(override.ends_at, zone)
        if start < end:
            pieces.append(_Piece(start, end, override.person, OVERRIDE, None))
    return pieces


def on_call_at(schedule: Schedule, when: datetime) -> OnCall | None:
    """Who is on call in `schedule` at the instant `when` (aware), or None when nobody is.

    Arithmetic in the number of rotations and overrides; it never walks the shifts since the start.
    """
    at = _utc(when)
    for piece in reversed(_overrides(schedule)):
        if piece.start <= at < piece.end:
            return OnCall(schedule.id, piece.person, OVERRIDE, None)
    for layer in reversed(_compile(schedule)):
        if layer.active(at):
            return OnCall(schedule.id, layer.person(layer.index_at(at)), layer.name, layer.index)
    return None


def person_on_call(schedule: Schedule, when: datetime) -> str | None:
    """The id of the person on call in `schedule` at `when`, or None."""
    found = on_call_at(schedule, when)
    return found.person if found else None


def merge_shifts(shifts: Iterable[Shift]) -> list[Shift]:
    """Shifts sorted by start, with back-to-back shifts of one person, schedule and rotation joined."""
    merged: list[Shift] = []
    for shift in sorted(shifts, key=lambda s: (s.starts_at, s.schedule)):
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.ends_at == shift.starts_at
            and (last.schedule, last.person, last.rotation, last.layer)
            == (shift.schedule, shift.person, shift.rotation, shift.layer)
        ):
            merged[-1] = replace(last, ends_at=shift.ends_at)
        else:
            merged.append(shift)
    return merged


def shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """Who is on call in `schedule` over [start, end), as shifts clipped to that range.

    Shifts never overlap; gaps are times nobody is on call; back-to-back shifts of one person in one
    rotation (or override) are joined. Splitting a range and merging the parts gives the same list.
    Work is proportional to the hand-offs inside the range, not to the time since the start.
    """
    lo, hi = _utc(start, "start"), _utc(end, "end")
    if lo >= hi:
        return []
    timeline: list[_Piece] = []
    for layer in _compile(schedule):
        timeline = _paint(timeline, layer.segments(lo, hi))
    for override in _overrides(schedule):
        if override.start < hi and override.end > lo:
            covering = override.cut(max(override.start, lo), min(override.end, hi))
            timeline = _paint(timeline, [covering])
    return merge_shifts(
        Shift(schedule.id, p.person, p.start, p.end, p.rotation, p.layer) for p in timeline if p.start < p.end
    )


def shift_at(schedule: Schedule, when: datetime, horizon: timedelta = timedelta(days=366)) -> Shift | None:
    """The (joined) shift covering `when`, or None; its bounds are clipped to `when` +/- `horizon`.

    Looks a day either side first and widens only while the shift reaches the edge, so an hourly
    rotation costs a day's shifts, not a year's.
    """
    at = _utc(when)
    back = ahead = timedelta(days=1)
    while True:
        back, ahead = min(back, horizon), min(ahead, horizon)
        found = next((s for s in shifts(schedule, at - back, at + ahead) if s.covers(at)), None)
        if found is None:
            return None
        widen_back = found.starts_at == at - back and back < horizon
        widen_ahead = found.ends_at == at + ahead and ahead < horizon
        if not (widen_back or widen_ahead):
            return found
        back, ahead = back * (4 if widen_back else 1), ahead * (4 if widen_ahead else 1)


def person_shifts(schedules: Sequence[Schedule], person: str, start: datetime, end: datetime) -> list[Shift]:
    """The shifts of one person across `schedules` over [start, end), sorted by start."""
    found = [s for schedule in schedules for s in shifts(schedule, start, end) if s.person == person]
    return sorted(found, key=lambda s: (s.starts_at, s.schedule))


def local_day_start(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local date starts in `zone` (midnight, or the end of a gap at midnight)."""
    return wall_clock(datetime.combine(day, time()), zone)

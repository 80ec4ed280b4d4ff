"""VTIMEZONE blocks as RFC 5545 defines them, made from the zoneinfo database.

An observance's DTSTART is the local time of the change *in the offset in use before it*
(TZOFFSETFROM): New York's clocks go forward at 02:00 EST, so its DAYLIGHT block starts at
20270314T020000, and back at 02:00 EDT, so its STANDARD block starts at 20261101T020000
(RFC 5545 3.6.5: "DTSTART ... MUST be specified as a date with a local time value" and readers
turn it into UTC with TZOFFSETFROM). icalendar's `add_missing_timezones` writes the wall time after
a forward change instead (03:00), so a reader that follows the RFC, as ical.js (Thunderbird, many
web calendars) does, puts every DST onset an hour late and shows the times of that hour an hour
wrong. These blocks list each change explicitly (no RRULE: a rule would claim more than we
checked), only over the dates a file's events need.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

# How far apart the scan looks at the zone: two changes closer than this (none in the database
# since the 1940s) could be missed, so it is well under the shortest real gap between changes.
STEP = timedelta(hours=6)

_State = tuple[timedelta, timedelta, str]  # (UTC offset, DST part of it, abbreviation)


def _state(zone: ZoneInfo, when: datetime) -> _State:
    local = when.astimezone(zone)
    return local.utcoffset() or timedelta(0), local.dst() or timedelta(0), local.tzname() or ""


def changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, _State, _State]]:
    """Every change of offset, DST or abbreviation in (start, end]: (UTC instant, before, after)."""
    found = []
    low, before = start, _state(zone, start)
    while low < end:
        high = min(low + STEP, end)
        after = _state(zone, high)
        if after != before:
            # The first second of the new state, by halving (zone changes fall on whole seconds).
            a, b = low, high
            while b - a > timedelta(seconds=1):
                middle = a + (b - a) / 2
                middle = middle.replace(microsecond=0)
                if _state(zone, middle) == before:
                    a = middle
                else:
                    b = middle
            found.append((b, before, _state(zone, b)))
            before = _state(zone, b)
            low = b
            continue
        low = high
    return found


def _observance(
    begins: datetime, offset_from: timedelta, state: _State
) -> TimezoneStandard | TimezoneDaylight:
    offset_to, dst, name = state
    part = TimezoneDaylight() if dst else TimezoneStandard()
    # The onset as a local time in the offset before it (see the module's docstring), floating.
    part.add("dtstart", (begins + offset_from).replace(tzinfo=None))
    part.add("tzoffsetfrom", offset_from)
    part.add("tzoffsetto", offset_to)
    if name:
        part.add("tzname", name)
    return part


def vtimezone(zone: ZoneInfo, first: date, last: date) -> Timezone:
    """The VTIMEZONE of `zone` valid from the start of `first` to the end of `last` (UTC days)."""
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    block = Timezone()
    block.add("tzid", zone.key)
    block.add("comment", f"Changes from {first.isoformat()} to {last.isoformat()} only.")
    initial = _state(zone, start)
    # What holds at the start, as an observance that changes nothing (from and to the same offset).
    block.add_component(_observance(start, initial[0], initial))
    for when, before, after in changes(zone, start, end):
        block.add_component(_observance(when, before[0], after))
    return block

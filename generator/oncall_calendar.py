"""iCalendar exports of on-call shifts, one per schedule and one per person, for calendar subscriptions.

Times are written with a TZID (the schedule's timezone, or the person's for a person's calendar)
and the VTIMEZONE definition the file needs (tidings.generator.vtimezone, with DST onsets as RFC
5545 has them), so a calendar shows the hand-off at 09:00 Berlin time however the reader's own
zone changes. The one exception is a time that happens twice in
that zone (the repeated hour when clocks go back): RFC 5545 reads an ambiguous local time as its
first occurrence, so such a time is written in UTC instead.

Each event's UID is made of the schedule, rotation, person and start, so regenerating the file
(a subscription refresh) keeps every event's identity and calendar apps update rather than
duplicate. A shift that is cut by the export's window would get a different start on every
refresh, so the export looks `MARGIN` beyond the window on both sides and keeps the shifts whole
(a shift longer than that, such as a rotation of one person, is cut at the margin).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from tidings.content.model import Person, Schedule, slugify
from tidings.generator.vtimezone import vtimezone
from tidings.ops.oncall import Shift, person_shifts, shifts

MARGIN = timedelta(days=62)
# The window calendar exports cover when none is given: what a subscriber looks back on and ahead to.
DEFAULT_PAST = timedelta(days=30)
DEFAULT_FUTURE = timedelta(days=180)


def default_window(now: datetime) -> tuple[datetime, datetime]:
    """The export window for a subscription: from 30 days before to 180 days after the UTC day of `now`.

    Starting at a UTC midnight keeps the file the same all day, whenever a calendar app refreshes it.
    """
    day = datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), UTC)
    return day - DEFAULT_PAST, day + DEFAULT_FUTURE


def shift_uid(shift: Shift, domain: str = "tidings") -> str:
    """A UID that stays the same for the same shift in every export: schedule, rotation, person, start."""
    source = "override" if shift.is_override else slugify(shift.rotation)
    return f"oncall-{shift.schedule}-{source}-{shift.person}-{shift.starts_at:%Y%m%dT%H%M%SZ}@{domain}"


def _whole_shifts(found: list[Shift], start: datetime, end: datetime) -> list[Shift]:
    return [s for s in found if s.ends_at > start and s.starts_at < end]


def _local(when: datetime, zone: ZoneInfo) -> datetime:
    local = when.astimezone(zone)
    if local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset():
        return when.astimezone(UTC)  # ambiguous in `zone`: a TZID time would read as the first occurrence
    return local


def _calendar(name: str, zone: ZoneInfo, prodid: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", prodid)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", zone.key)
    return cal


def _event(shift: Shift, zone: ZoneInfo, summary: str, description: str, now: datetime, domain: str) -> Event:
    event = Event()
    event.add("uid", shift_uid(shift, domain))
    # DTSTAMP is required; the caller's clock (SOURCE_DATE_EPOCH in the CLI) keeps the file reproducible.
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", _local(shift.starts_at, zone))
    event.add("dtend", _local(shift.ends_at, zone))
    event.add("summary", summary)
    event.add("description", description)
    event.add("status", "CONFIRMED")
    event.add("transp", "TRANSPARENT")  # being on call is not being busy
    return event


def _finish(cal: Calendar, zone: ZoneInfo, events: list[tuple[Shift, Event]]) -> bytes:
    seen: dict[str, int] = {}
    for _shift, event in sorted(events, key=lambda pair: (pair[0].starts_at, str(pair[1]["uid"]))):
        uid = str(event["uid"])
        seen[uid] = seen.get(uid, 0) + 1
        if seen[uid] > 1:  # two rotations whose names slugify alike: keep UIDs unique, still stable
            event["uid"] = uid.replace("@", f"-{seen[uid]}@", 1)
        cal.add_component(event)
    uses_zone = any(
        event[key].params.get("TZID") == zone.key for _, event in events for key in ("DTSTART", "DTEND")
    )
    if uses_zone:
        first = min(s.starts_at for s, _ in events).astimezone(UTC).date() - timedelta(days=1)
        last = max(s.ends_at for s, _ in events).astimezone(UTC).date() + timedelta(days=1)
        # Only the changes the events need; the VTIMEZONE goes before the events that use it.
        cal.subcomponents.insert(0, vtimezone(zone, first, last))
    return bytes(cal.to_ical())


def _person_name(people: Sequence[Person], person: str) -> str:
    return next((p.name for p in people if p.id == person), person)


def schedule_calendar(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    now: datetime,
    people: Sequence[Person] = (),
    domain: str = "tidings",
) -> bytes:
    """The shifts of one schedule that meet [start, end), whole, as an iCalendar file in its timezone."""
    zone = ZoneInfo(schedule.timezone)
    cal = _calendar(f"On call: {schedule.name}", zone, "-//Tidings//On-call schedule//EN")
    found = _whole_shifts(shifts(schedule, start - MARGIN, end + MARGIN), start, end)
    events = []
    for shift in found:
        who = _person_name(people, shift.person)
        via = "an override" if shift.is_override else f"rotation {shift.rotation}"
        events.append(
            (
                shift,
                _event(
                    shift,
                    zone,
                    f"{who} on call ({schedule.name})",
                    f"{who} ({shift.person}) is on call for {schedule.name} through {via}.",
                    now,
                    domain,
                ),
            )
        )
    return _finish(cal, zone, events)


def person_calendar(
    schedules: Sequence[Schedule],
    person: Person,
    start: datetime,
    end: datetime,
    now: datetime,
    domain: str = "tidings",
) -> bytes:
    """One person's shifts across `schedules` that meet [start, end), whole, in the person's timezone."""
    zone = ZoneInfo(person.timezone)
    cal = _calendar(f"On call: {person.name}", zone, "-//Tidings//On-call person//EN")
    names = {s.id: s.name for s in schedules}
    found = _whole_shifts(person_shifts(schedules, person.id, start - MARGIN, end + MARGIN), start, end)
    events = []
    for shift in found:
        schedule_name = names.get(shift.schedule, shift.schedule)
        via = "an override" if shift.is_override else f"rotation {shift.rotation}"
        events.append(
            (
                shift,
                _event(
                    shift,
                    zone,
                    f"On call: {schedule_name}",
                    f"{person.name} is on call for {schedule_name} through {via}.",
                    now,
                    domain,
                ),
            )
        )
    return _finish(cal, zone, events)

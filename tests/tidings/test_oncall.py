"""On-call schedules: who is on call, shifts, DST in both hemispheres, iCalendar exports and the CLI."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from tests.conftest import PROJECT_ROOT
from tidings.cli.main import main
from tidings.content.load import load
from tidings.content.model import Schedule, ScheduleFile
from tidings.generator.oncall_calendar import default_window, person_calendar, schedule_calendar, shift_uid
from tidings.ops import oncall as oncall_module
from tidings.ops.oncall import (
    OVERRIDE,
    Shift,
    merge_shifts,
    on_call_at,
    person_on_call,
    person_shifts,
    shift_at,
    shifts,
    wall_clock,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
EPOCH_AUG_14 = str(int(datetime(2026, 8, 14, 10, 0, tzinfo=UTC).timestamp()))  # a Friday, 12:00 in Berlin


def make_schedule(
    rotations: list[dict[str, Any]],
    timezone: str = "Europe/Berlin",
    overrides: list[dict[str, Any]] | None = None,
    id: str = "test",
) -> Schedule:
    """A schedule validated exactly as a file would be (so naive times stay naive)."""
    data = {
        "name": f"Schedule {id}",
        "timezone": timezone,
        "rotations": rotations,
        "overrides": overrides or [],
    }
    model = ScheduleFile.model_validate(data)
    return Schedule.from_file(model, id=id, path=f"content/oncall/schedules/{id}.yml")


def rot(
    starts_at: str,
    unit: str = "days",
    length: int = 1,
    participants: tuple[str, ...] = ("a", "b", "c"),
    name: str = "R",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "starts_at": starts_at,
        "rotation_length": length,
        "rotation_length_unit": unit,
        "participants": list(participants),
        **extra,
    }


def t(text: str) -> datetime:
    """An aware instant from ISO 8601 with an offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


def local(day: date, hour: int, zone: ZoneInfo, minute: int = 0) -> datetime:
    return wall_clock(datetime.combine(day, time(hour, minute)), zone)


def who(schedule: Schedule, when: str | datetime) -> str | None:
    return person_on_call(schedule, t(when) if isinstance(when, str) else when)


def assert_contiguous(found: list[Shift]) -> None:
    for before, after in itertools.pairwise(found):
        assert before.ends_at == after.starts_at, (before, after)


# --- daily hand-offs at local wall-clock time across DST, both hemispheres ------------------------

DST_CHANGES = [
    # zone, the day clocks change, real hours of the daily shift that spans the change
    pytest.param(BERLIN, date(2026, 3, 29), 23, id="berlin-march-forward"),
    pytest.param(BERLIN, date(2026, 10, 25), 25, id="berlin-october-back"),
    pytest.param(NEW_YORK, date(2026, 3, 8), 23, id="new-york-march-forward"),
    pytest.param(NEW_YORK, date(2026, 11, 1), 25, id="new-york-november-back"),
    pytest.param(SYDNEY, date(2026, 4, 5), 25, id="sydney-april-back"),
    pytest.param(SYDNEY, date(2026, 10, 4), 23, id="sydney-october-forward"),
]


@pytest.mark.parametrize(("zone", "change", "hours"), DST_CHANGES)
def test_a_daily_0900_hand_off_stays_at_0900_local_across_the_change(
    zone: ZoneInfo, change: date, hours: int
):
    first = change - timedelta(days=3)
    schedule = make_schedule([rot(f"{first}T09:00:00")], timezone=zone.key)
    start, end = local(first, 9, zone), local(first + timedelta(days=7), 9, zone)
    found = shifts(schedule, start, end)
    assert [s.person for s in found] == ["a", "b", "c", "a", "b", "c", "a"]
    assert [s.starts_at.astimezone(zone).time() for s in found] == [time(9)] * 7
    assert_contiguous(found)
    assert found[0].starts_at == start and found[-1].ends_at == end  # nothing lost, nothing doubled
    durations = [s.duration / timedelta(hours=1) for s in found]
    assert durations == [24, 24, hours, 24, 24, 24, 24]
    # Hand-off on the day of the change: at 09:00 local, not at 09:00 of the old offset.
    assert person_on_call(schedule, local(change, 9, zone) - timedelta(seconds=1)) == "c"
    assert person_on_call(schedule, local(change, 9, zone)) == "a"
    offsets = {s.starts_at.astimezone(zone).utcoffset() for s in found}
    assert len(offsets) == 2  # the hand-offs really are on both sides of the change


def test_the_berlin_hand_off_instants_are_the_documented_ones():
    schedule = make_schedule([rot("2026-03-27T09:00:00")])
    starts = [s.starts_at for s in shifts(schedule, t("2026-03-27T08:00:00Z"), t("2026-03-31T07:00:00Z"))]
    assert starts == [
        t("2026-03-27T08:00:00Z"),  # 09:00 CET
        t("2026-03-28T08:00:00Z"),
        t("2026-03-29T07:00:00Z"),  # 09:00 CEST: the shift before lasted 23 hours
        t("2026-03-30T07:00:00Z"),
    ]


# --- hours rotations count elapsed hours (GitLab) ---------------------------------------------


def test_a_12_hour_rotation_counts_real_hours_across_the_new_york_spring_change():
    schedule = make_schedule([rot("2026-03-07T20:00:00", "hours", 12, ("a", "b"))], "America/New_York")
    found = shifts(
        schedule, t("2026-03-07T20:00:00-05:00"), t("2026-03-07T20:00:00-05:00") + timedelta(hours=48)
    )
    assert [s.duration for s in found] == [timedelta(hours=12)] * 4
    assert [s.starts_at.astimezone(NEW_YORK).hour for s in found] == [20, 9, 21, 9]
    # Wall-clock hand-offs would have given b the pager at 08:00 EDT; elapsed hours give it at 09:00.
    assert who(schedule, "2026-03-08T08:30:00-04:00") == "a"
    assert who(schedule, "2026-03-08T09:00:00-04:00") == "b"


def test_an_8_hour_rotation_counts_real_hours_across_the_sydney_april_change():
    schedule = make_schedule([rot("2026-04-04T18:00:00", "hours", 8)], "Australia/Sydney")
    found = shifts(schedule, t("2026-04-04T07:00:00Z"), t("2026-04-05T07:00:00Z"))
    assert [s.duration for s in found] == [timedelta(hours=8)] * 3
    assert [s.starts_at.astimezone(SYDNEY).hour for s in found] == [18, 2, 9]
    assert [s.person for s in found] == ["a", "b", "c"]


def test_hour_long_shifts_when_berlin_springs_forward_lose_no_one():
    schedule = make_schedule([rot("2026-03-29T00:00:00", "hours", 1)])
    found = shifts(schedule, t("2026-03-28T23:00:00Z"), t("2026-03-29T02:00:00Z"))
    assert [(s.person, s.starts_at.astimezone(BERLIN).hour) for s in found] == [("a", 0), ("b", 1), ("c", 3)]


def test_hour_long_shifts_in_the_new_york_fold_give_each_0100_its_own_person():
    schedule = make_schedule([rot("2026-11-01T00:00:00", "hours", 1)], "America/New_York")
    assert who(schedule, "2026-11-01T01:30:00-04:00") == "b"  # the first 01:30 (EDT)
    assert who(schedule, "2026-11-01T01:30:00-05:00") == "c"  # the second 01:30 (EST)
    assert who(schedule, "2026-11-01T02:30:00-05:00") == "a"


# --- rotations starting in a gap or a fold --------------------------------------------------------


def test_a_rotation_starting_in_the_berlin_gap_starts_as_far_after_it():
    schedule = make_schedule([rot("2026-03-29T02:30:00", participants=("a", "b"))])
    assert who(schedule, "2026-03-29T01:29:59Z") is None
    assert who(schedule, "2026-03-29T01:30:00Z") == "a"  # 03:30 CEST: fold=0 reads 02:30 as +01:00
    first, second = shifts(schedule, t("2026-03-29T00:00:00Z"), t("2026-03-31T00:00:00Z"))[:2]
    assert first.starts_at.astimezone(BERLIN).isoformat() == "2026-03-29T03:30:00+02:00"
    assert second.starts_at.astimezone(BERLIN).isoformat() == "2026-03-30T02:30:00+02:00"  # back on time
    assert second.person == "b"


def test_a_daily_hand_off_that_falls_in_a_gap_moves_only_that_day():
    schedule = make_schedule([rot("2026-03-20T02:30:00", participants=("a", "b"))])
    found = shifts(schedule, t("2026-03-28T00:00:00Z"), t("2026-03-31T00:00:00Z"))
    hand_offs = [s.starts_at.astimezone(BERLIN).isoformat() for s in found[1:]]
    assert hand_offs == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:30:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]
    assert [s.person for s in found] == ["b", "a", "b", "a"]
    assert_contiguous(found)


def test_a_weekly_rotation_starting_in_the_new_york_gap():
    schedule = make_schedule([rot("2026-03-08T02:30:00", "weeks", 1, ("a", "b"))], "America/New_York")
    found = shifts(schedule, t("2026-03-08T00:00:00Z"), t("2026-03-20T00:00:00Z"))
    assert found[0].starts_at == t("2026-03-08T03:30:00-04:00")
    assert found[1].starts_at == t("2026-03-15T02:30:00-04:00") and found[1].person == "b"


def test_a_rotation_starting_in_the_sydney_gap():
    schedule = make_schedule([rot("2026-10-04T02:30:00")], "Australia/Sydney")
    found = shifts(schedule, t("2026-10-03T00:00:00Z"), t("2026-10-06T00:00:00Z"))
    assert found[0].starts_at == t("2026-10-04T03:30:00+11:00")
    assert found[1].starts_at == t("2026-10-05T02:30:00+11:00")


def test_a_naive_start_in_the_new_york_fold_is_the_first_occurrence():
    schedule = make_schedule([rot("2026-11-01T01:30:00", participants=("a", "b"))], "America/New_York")
    assert who(schedule, "2026-11-01T01:29:59-04:00") is None
    assert who(schedule, "2026-11-01T01:30:00-04:00") == "a"
    assert who(schedule, "2026-11-01T01:30:00-05:00") == "a"  # an hour later, same wall clock
    assert who(schedule, "2026-11-02T01:30:00-05:00") == "b"


def test_an_aware_start_in_the_second_occurrence_of_a_fold_is_kept_exactly():
    schedule = make_schedule([rot("2026-11-01T01:30:00-05:00", participants=("a", "b"))], "America/New_York")
    assert who(schedule, "2026-11-01T01:30:00-04:00") is None  # the first 01:30 is before it
    assert who(schedule, "2026-11-01T01:30:00-05:00") == "a"
    found = shifts(schedule, t("2026-11-01T00:00:00Z"), t("2026-11-03T12:00:00Z"))
    assert found[1].starts_at == t("2026-11-02T01:30:00-05:00")


def test_a_daily_hand_off_inside_the_fold_happens_at_the_first_occurrence():
    schedule = make_schedule([rot("2026-10-30T01:30:00")], "America/New_York")
    found = shifts(schedule, t("2026-10-31T05:30:00Z"), t("2026-11-03T06:30:00Z"))
    assert [s.starts_at for s in found] == [
        t("2026-10-31T01:30:00-04:00"),
        t("2026-11-01T01:30:00-04:00"),  # the first 01:30
        t("2026-11-02T01:30:00-05:00"),
    ]
    assert [s.duration / timedelta(hours=1) for s in found] == [24, 25, 24]
    # 01:00 EST comes after the first 01:30: local arithmetic alone would still say 'b'.
    assert who(schedule, "2026-11-01T01:00:00-05:00") == "c"


def test_a_naive_start_in_the_sydney_fold_is_the_first_occurrence():
    schedule = make_schedule([rot("2026-04-05T02:30:00")], "Australia/Sydney")
    found = shifts(schedule, t("2026-04-04T00:00:00Z"), t("2026-04-07T00:00:00Z"))
    assert found[0].starts_at == t("2026-04-05T02:30:00+11:00")
    assert found[0].duration == timedelta(hours=25)


# --- weekly rotations, layers, restrictions, overrides, ends_at ----------------------------------


def test_a_weekly_rotation_hands_off_on_monday_0900_local_in_both_hemispheres():
    berlin = make_schedule([rot("2026-03-23T09:00:00", "weeks", 1, ("a", "b"))])
    found = shifts(berlin, t("2026-03-23T08:00:00Z"), t("2026-04-06T07:00:00Z"))
    assert [(s.person, s.starts_at.astimezone(BERLIN).strftime("%a %H:%M")) for s in found] == [
        ("a", "Mon 09:00"),
        ("b", "Mon 09:00"),
    ]
    assert found[0].duration == timedelta(hours=167)
    sydney = make_schedule([rot("2026-09-28T09:00:00", "weeks", 1, ("a", "b"))], "Australia/Sydney")
    found = shifts(sydney, t("2026-09-27T23:00:00Z"), t("2026-10-11T22:00:00Z"))
    assert [s.starts_at for s in found] == [t("2026-09-28T09:00:00+10:00"), t("2026-10-05T09:00:00+11:00")]
    assert found[0].duration == timedelta(hours=167)


def test_a_two_week_rotation_picks_the_participant_arithmetically():
    schedule = make_schedule([rot("2026-01-05T09:00:00", "weeks", 2)])
    # 2026-03-02 is eight weeks on: the fifth two-week turn, which is b's (a, b, c, a, b).
    assert who(schedule, "2026-03-02T09:00:00+01:00") == "b"
    assert who(schedule, "2026-03-02T08:59:59+01:00") == "a"


def test_finding_who_is_on_call_never_walks_the_shifts_since_the_start(monkeypatch: pytest.MonkeyPatch):
    schedule = make_schedule([rot("1970-01-05T09:00:00", participants=tuple("abcdefg"))])
    calls = 0
    original = oncall_module._Layer.handoff

    def counting(self: oncall_module._Layer, k: int) -> datetime:
        nonlocal calls
        calls += 1
        return original(self, k)

    monkeypatch.setattr(oncall_module._Layer, "handoff", counting)
    when = t("2126-06-01T12:00:00+02:00")
    days = (date(2126, 6, 1) - date(1970, 1, 5)).days
    assert who(schedule, when) == "abcdefg"[days % 7]
    assert calls <= 4
    hourly = make_schedule([rot("1970-01-05T09:00:00", "hours", 1, tuple("abcdefg"))])
    hours = (when - t("1970-01-05T09:00:00+01:00")) // timedelta(hours=1)
    assert who(hourly, when) == "abcdefg"[hours % 7]


def test_the_later_rotation_wins_where_layers_overlap():
    schedule = make_schedule(
        [
            rot("2026-03-02T09:00:00", "weeks", 1, ("base",), name="Base"),
            rot("2026-03-04T00:00:00", "days", 1, ("x", "y"), name="Top", ends_at="2026-03-06T00:00:00"),
        ]
    )
    assert on_call_at(schedule, t("2026-03-03T12:00:00+01:00")).rotation == "Base"  # type: ignore[union-attr]
    found = on_call_at(schedule, t("2026-03-05T12:00:00+01:00"))
    assert found is not None and (found.person, found.rotation, found.layer) == ("y", "Top", 1)
    assert who(schedule, "2026-03-06T00:00:00+01:00") == "base"  # the top layer has ended


BUSINESS_HOURS = {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "17:00"}


def business_hours_schedule() -> Schedule:
    return make_schedule(
        [
            rot("2026-03-02T09:00:00", "weeks", 1, ("n",), name="Nights and weekends"),
            rot("2026-03-02T09:00:00", "days", 1, ("a", "b"), name="Business", restrictions=[BUSINESS_HOURS]),
        ],
        "America/New_York",
    )


def test_business_hours_restrictions_follow_local_time():
    schedule = business_hours_schedule()
    assert who(schedule, "2026-03-06T12:00:00-05:00") == "a"  # Friday, the fifth day: a
    assert who(schedule, "2026-03-06T08:59:59-05:00") == "n"
    assert who(schedule, "2026-03-06T09:00:00-05:00") == "a"
    assert who(schedule, "2026-03-06T17:00:00-05:00") == "n"  # the window is half-open
    assert who(schedule, "2026-03-07T12:00:00-05:00") == "n"  # Saturday
    # After the spring change the window is 09:00 EDT, not 09:00 EST.
    assert who(schedule, "2026-03-09T08:30:00-04:00") == "n"
    assert who(schedule, "2026-03-09T09:00:00-04:00") == "b"


def test_shifts_interleave_the_restricted_layer_and_join_the_weekend():
    schedule = business_hours_schedule()
    found = shifts(schedule, t("2026-03-06T00:00:00-05:00"), t("2026-03-10T00:00:00-04:00"))
    assert [(s.person, s.starts_at.astimezone(NEW_YORK).strftime("%a %H:%M")) for s in found] == [
        ("n", "Fri 00:00"),
        ("a", "Fri 09:00"),
        ("n", "Fri 17:00"),  # one shift from Friday 17:00 to Monday 09:00
        ("b", "Mon 09:00"),
        ("n", "Mon 17:00"),
    ]
    assert found[2].ends_at == t("2026-03-09T09:00:00-04:00")


def overnight_schedule(days: list[str]) -> Schedule:
    window = {"days": days, "from": "22:00", "to": "06:00"}
    return make_schedule(
        [
            rot("2026-01-05T09:00:00", "weeks", 1, ("base",), name="Base"),
            rot("2026-03-02T00:00:00", "days", 1, ("x",), name="Nights", restrictions=[window]),
        ]
    )


def test_an_overnight_window_belongs_to_the_day_it_starts_on():
    schedule = overnight_schedule(["fri"])
    assert who(schedule, "2026-03-06T21:59:00+01:00") == "base"
    assert who(schedule, "2026-03-06T23:00:00+01:00") == "x"  # Friday night
    assert who(schedule, "2026-03-07T05:59:00+01:00") == "x"  # still Friday's window, on Saturday
    assert who(schedule, "2026-03-07T06:00:00+01:00") == "base"
    assert who(schedule, "2026-03-07T23:00:00+01:00") == "base"  # Saturday night is not in it
    assert who(schedule, "2026-03-05T23:00:00+01:00") == "base"  # nor Thursday night


def test_an_overnight_window_over_the_spring_change_is_seven_real_hours():
    schedule = overnight_schedule(["sat"])
    found = shifts(schedule, t("2026-03-28T12:00:00+01:00"), t("2026-03-29T12:00:00+02:00"))
    night = [s for s in found if s.person == "x"]
    assert len(night) == 1
    assert night[0].starts_at == t("2026-03-28T22:00:00+01:00")
    assert night[0].ends_at == t("2026-03-29T06:00:00+02:00")
    assert night[0].duration == timedelta(hours=7)


def test_restrictions_use_the_rotations_timezone_not_the_schedules():
    schedule = make_schedule(
        [
            rot("2026-03-02T09:00:00", "weeks", 1, ("base",), name="Base"),
            rot(
                "2026-03-02T09:00:00",
                "days",
                1,
                ("ny",),
                name="New York office",
                timezone="America/New_York",
                restrictions=[BUSINESS_HOURS],
            ),
        ]
    )
    assert who(schedule, "2026-03-06T14:00:00+01:00") == "base"  # 08:00 in New York
    assert who(schedule, "2026-03-06T15:00:00+01:00") == "ny"  # 09:00 in New York


def override_schedule() -> Schedule:
    return make_schedule(
        [
            rot("2026-03-02T09:00:00", "days", 1, ("a", "b"), name="Base"),
            rot("2026-03-02T09:00:00", "days", 1, ("c",), name="Business", restrictions=[BUSINESS_HOURS]),
        ],
        overrides=[
            {"person": "p", "starts_at": "2026-03-06T12:00:00", "ends_at": "2026-03-06T14:00:00"},
            {"person": "q", "starts_at": "2026-03-06T13:00:00+01:00", "ends_at": "2026-03-06T15:00:00+01:00"},
        ],
    )


def test_overrides_win_over_every_layer_and_the_later_override_wins():
    schedule = override_schedule()
    assert who(schedule, "2026-03-06T11:00:00+01:00") == "c"
    found = on_call_at(schedule, t("2026-03-06T12:30:00+01:00"))  # naive override times: Berlin
    assert found is not None and (found.person, found.rotation, found.is_override) == ("p", OVERRIDE, True)
    assert who(schedule, "2026-03-06T13:30:00+01:00") == "q"
    assert who(schedule, "2026-03-06T15:00:00+01:00") == "c"
    found_shifts = shifts(schedule, t("2026-03-06T10:00:00+01:00"), t("2026-03-06T16:00:00+01:00"))
    assert [(s.person, s.rotation, s.starts_at.astimezone(BERLIN).hour) for s in found_shifts] == [
        ("c", "Business", 10),
        ("p", OVERRIDE, 12),
        ("q", OVERRIDE, 13),
        ("c", "Business", 15),
    ]


def test_an_override_covers_a_time_no_rotation_does():
    schedule = make_schedule(
        [rot("2026-03-02T09:00:00", "days", 1, ("c",), restrictions=[BUSINESS_HOURS])],
        overrides=[{"person": "p", "starts_at": "2026-03-07T10:00:00", "ends_at": "2026-03-07T18:00:00"}],
    )
    assert who(schedule, "2026-03-07T09:00:00+01:00") is None  # Saturday
    assert who(schedule, "2026-03-07T12:00:00+01:00") == "p"


def test_a_rotation_ends_at_its_ends_at():
    schedule = make_schedule(
        [
            rot("2026-01-05T09:00:00", "weeks", 1, ("base",), name="Base"),
            rot("2026-03-02T09:00:00", "days", 1, ("a", "b"), name="Temp", ends_at="2026-03-04T21:00:00"),
        ]
    )
    assert who(schedule, "2026-03-04T20:59:59+01:00") == "a"
    assert who(schedule, "2026-03-04T21:00:00+01:00") == "base"
    found = shifts(schedule, t("2026-03-04T00:00:00+01:00"), t("2026-03-05T00:00:00+01:00"))
    assert [(s.person, s.starts_at.astimezone(BERLIN).hour) for s in found] == [
        ("b", 0),
        ("a", 9),
        ("base", 21),
    ]
    alone = make_schedule([rot("2026-03-02T09:00:00", ends_at="2026-03-03T12:00:00Z")])
    assert who(alone, "2026-03-03T11:59:59Z") == "b"
    assert who(alone, "2026-03-03T12:00:00Z") is None
    assert shifts(alone, t("2026-03-03T00:00:00Z"), t("2026-03-10T00:00:00Z"))[-1].ends_at == t(
        "2026-03-03T12:00:00Z"
    )


def test_times_must_be_aware_and_empty_ranges_are_empty():
    schedule = business_hours_schedule()
    with pytest.raises(ValueError, match="timezone-aware"):
        on_call_at(schedule, datetime(2026, 3, 6, 12))
    assert shifts(schedule, t("2026-03-06T12:00:00Z"), t("2026-03-06T12:00:00Z")) == []
    assert shifts(schedule, t("2026-03-06T12:00:00Z"), t("2026-03-05T12:00:00Z")) == []
    assert who(schedule, "2026-03-01T12:00:00Z") is None  # before every rotation starts


def test_shift_at_gives_the_joined_shift_and_its_real_bounds():
    schedule = business_hours_schedule()
    found = shift_at(schedule, t("2026-03-07T12:00:00-05:00"))
    assert found is not None and found.person == "n"
    assert (found.starts_at, found.ends_at) == (
        t("2026-03-06T17:00:00-05:00"),
        t("2026-03-09T09:00:00-04:00"),
    )
    forever = make_schedule([rot("2026-01-01T00:00:00", participants=("solo",))])
    found = shift_at(forever, t("2026-06-01T00:00:00Z"), horizon=timedelta(days=30))
    assert found is not None and found.ends_at == t("2026-07-01T00:00:00Z")  # clipped at the horizon


# --- shifts over a range: no gaps, no doubles, split anywhere -------------------------------------


def mixed_schedule() -> Schedule:
    """Layers in three zones, restrictions, an hours rotation, overrides: everything at once."""
    return make_schedule(
        [
            rot("2026-01-05T09:00:00", "weeks", 1, ("a", "b", "c"), name="Weekly"),
            rot(
                "2026-03-01T02:30:00",
                "hours",
                7,
                ("h1", "h2"),
                name="Hours",
                timezone="Australia/Sydney",
                restrictions=[{"days": ["sat", "sun"], "from": "20:00", "to": "04:00"}],
            ),
            rot(
                "2026-02-02T08:00:00",
                "days",
                2,
                ("d1", "d2", "d3"),
                name="Days",
                timezone="America/New_York",
                restrictions=[BUSINESS_HOURS],
                ends_at="2026-11-20T12:00:00",
            ),
        ],
        overrides=[
            {"person": "o", "starts_at": "2026-03-29T01:00:00", "ends_at": "2026-03-29T04:00:00"},
            {"person": "o2", "starts_at": "2026-10-25T02:30:00+01:00", "ends_at": "2026-10-26T00:00:00"},
        ],
    )


def check_consistent(schedule: Schedule, found: list[Shift], start: datetime, end: datetime) -> None:
    assert all(start <= s.starts_at < s.ends_at <= end for s in found)
    for before, after in itertools.pairwise(found):
        assert before.ends_at <= after.starts_at  # sorted, never overlapping
        if before.ends_at == after.starts_at:  # back to back: then they differ, or they would be one
            assert (before.person, before.rotation, before.layer) != (
                after.person,
                after.rotation,
                after.layer,
            )
    for s in found:
        middle = on_call_at(schedule, s.starts_at + s.duration / 2)
        assert middle is not None and (middle.person, middle.rotation, middle.layer) == (
            s.person,
            s.rotation,
            s.layer,
        )
    edges = [start, *[x for s in found for x in (s.starts_at, s.ends_at)], end]
    for gap_start, gap_end in zip(edges[::2], edges[1::2], strict=True):  # the gaps between shifts
        if gap_start < gap_end:
            assert on_call_at(schedule, gap_start + (gap_end - gap_start) / 2) is None


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-03-26T00:00:00Z", "2026-04-08T00:00:00Z"),
        ("2026-10-01T00:00:00Z", "2026-11-05T00:00:00Z"),
        ("2026-11-15T00:00:00Z", "2026-11-25T00:00:00Z"),
    ],
)
def test_shifts_agree_with_on_call_at_and_split_anywhere(start: str, end: str):
    schedule = mixed_schedule()
    lo, hi = t(start), t(end)
    whole = shifts(schedule, lo, hi)
    check_consistent(schedule, whole, lo, hi)
    for split in (lo + (hi - lo) / 3, lo + (hi - lo) / 2, t("2026-03-29T01:00:00Z")):
        if lo < split < hi:
            assert merge_shifts([*shifts(schedule, lo, split), *shifts(schedule, split, hi)]) == whole


def test_the_demo_primary_schedule_always_has_someone_on_call_in_2026():
    schedule = load(PROJECT_ROOT).repo.get("schedules", "primary")
    assert isinstance(schedule, Schedule)
    lo, hi = t("2026-01-05T09:00:00+01:00"), t("2027-01-01T00:00:00+01:00")
    found = shifts(schedule, lo, hi)
    assert found[0].starts_at == lo and found[-1].ends_at == hi
    assert_contiguous(found)
    check_consistent(schedule, found[:400], lo, found[399].ends_at)


# --- hypothesis: arbitrary schedules, arbitrary instants ------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"]
# Wall-clock times in the 2026 gaps and folds of those zones, so starts land there often.
TRICKY = [
    "2026-03-29T02:30",
    "2026-10-25T02:30",
    "2026-03-08T02:30",
    "2026-11-01T01:30",
    "2026-04-05T02:30",
    "2026-10-04T02:30",
]


def clock_time() -> st.SearchStrategy[str]:
    return st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


naive_starts = st.one_of(
    st.sampled_from(TRICKY).map(lambda s: s + ":00"),
    st.builds(
        lambda d, h, m: f"{date(2026, 1, 1) + timedelta(days=d)}T{h:02d}:{m:02d}:00",
        st.integers(-200, 300),
        st.integers(0, 23),
        st.sampled_from([0, 30]),
    ),
)
restrictions = st.lists(
    st.fixed_dictionaries(
        {
            "days": st.lists(
                st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1, unique=True
            ),
            "from": clock_time(),
            "to": clock_time(),
        }
    ).filter(lambda r: r["from"] != r["to"]),
    max_size=2,
)


@st.composite
def rotations(draw: st.DrawFn, index: int) -> dict[str, Any]:
    unit = draw(st.sampled_from(["hours", "days", "weeks"]))
    length = draw(st.integers(1, 30 if unit == "hours" else 3))
    rotation = rot(
        draw(naive_starts),
        unit,
        length,
        tuple(draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=4))),
        name=f"R{index}",
        timezone=draw(st.sampled_from(ZONES)),
        restrictions=draw(restrictions),
    )
    if draw(st.booleans()):
        start = datetime.fromisoformat(rotation["starts_at"])
        rotation["ends_at"] = (start + timedelta(hours=draw(st.integers(1, 24 * 200)))).isoformat()
    return rotation


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    count = draw(st.integers(1, 3))
    overrides = []
    for _ in range(draw(st.integers(0, 2))):
        start = datetime.fromisoformat(draw(naive_starts))
        end = start + timedelta(hours=draw(st.integers(1, 72)))
        overrides.append({"person": "o", "starts_at": start.isoformat(), "ends_at": end.isoformat()})
    return make_schedule([draw(rotations(i)) for i in range(count)], draw(st.sampled_from(ZONES)), overrides)


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
DST_INSTANTS = [
    t(f"{day}T{hour}:00:00Z")
    for day, hour in [
        ("2026-03-29", "01"),
        ("2026-10-25", "01"),
        ("2026-03-08", "07"),
        ("2026-11-01", "06"),
        ("2026-04-04", "16"),
        ("2026-10-03", "16"),
    ]
]


@st.composite
def schedule_and_instant(draw: st.DrawFn) -> tuple[Schedule, datetime]:
    """A schedule and an instant, often close to where things change: starts, ends, overrides, DST."""
    schedule = draw(schedules())
    points = [*DST_INSTANTS]
    for rotation in schedule.rotations:
        zone = ZoneInfo(rotation.timezone or schedule.timezone)
        points += [oncall_module.instant(v, zone) for v in (rotation.starts_at, rotation.ends_at) if v]
    for override in schedule.overrides:
        zone = ZoneInfo(schedule.timezone)
        points += [
            oncall_module.instant(override.starts_at, zone),
            oncall_module.instant(override.ends_at, zone),
        ]
    near = st.builds(
        lambda point, minutes: point + timedelta(minutes=minutes),
        st.sampled_from(points),
        st.integers(-48 * 60, 48 * 60),
    )
    return schedule, draw(st.one_of(instants, near))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule_and_instant())
def test_property_on_call_at_is_the_shift_that_covers_the_instant(pair: tuple[Schedule, datetime]):
    schedule, when = pair
    found = on_call_at(schedule, when)
    covering = [
        s for s in shifts(schedule, when - timedelta(days=3), when + timedelta(days=3)) if s.covers(when)
    ]
    if found is None:
        assert covering == []
    else:
        assert len(covering) == 1
        assert (covering[0].person, covering[0].rotation, covering[0].layer) == (
            found.person,
            found.rotation,
            found.layer,
        )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule_and_instant(), st.integers(1, 24 * 20), st.integers(1, 24 * 20))
def test_property_shifts_split_anywhere_and_agree_at_midpoints(
    pair: tuple[Schedule, datetime], before: int, after: int
):
    schedule, split = pair
    lo, hi = split - timedelta(hours=before), split + timedelta(hours=after)
    whole = shifts(schedule, lo, hi)
    assert merge_shifts([*shifts(schedule, lo, split), *shifts(schedule, split, hi)]) == whole
    check_consistent(schedule, whole, lo, hi)


# --- the demo schedules ---------------------------------------------------------------------------


def demo_schedule(schedule_id: str) -> Schedule:
    schedule = load(PROJECT_ROOT).repo.get("schedules", schedule_id)
    assert isinstance(schedule, Schedule)
    return schedule


def test_the_demo_schedules_give_sensible_answers():
    primary, database = demo_schedule("primary"), demo_schedule("database")
    weekly = ["amara", "priya", "chloe", "jonas", "mateo", "liam"]
    # Friday 2026-08-14 at noon in Berlin: business hours, the daily amara/jonas layer wins.
    days = (date(2026, 8, 14) - date(2026, 1, 5)).days
    found = on_call_at(primary, t("2026-08-14T12:00:00+02:00"))
    assert found is not None and found.rotation == "Berlin business hours"
    assert found.person == ["amara", "jonas"][days % 2]
    # That evening and on Saturday the weekly follow-the-sun layer has it.
    weeks = (date(2026, 8, 10) - date(2026, 1, 5)).days // 7
    assert who(primary, "2026-08-14T17:00:00+02:00") == weekly[weeks % 6]
    assert who(primary, "2026-08-15T12:00:00+02:00") == weekly[weeks % 6]
    assert who(primary, "2026-08-17T08:59:00+02:00") == weekly[weeks % 6]
    assert who(primary, "2026-08-17T18:00:00+02:00") == weekly[(weeks + 1) % 6]
    # Christmas: Jonas's override, from midnight Berlin time.
    assert on_call_at(primary, t("2026-12-23T23:59:00+01:00")).is_override is False  # type: ignore[union-attr]
    assert on_call_at(primary, t("2026-12-24T00:00:00+01:00")).is_override  # type: ignore[union-attr]
    assert who(primary, "2026-12-25T15:00:00+01:00") == "jonas"
    assert on_call_at(primary, t("2026-12-27T00:00:00+01:00")).is_override is False  # type: ignore[union-attr]
    # Database: a daily 08:00 New York hand-off; Mateo covers Priya's conference.
    assert who(database, "2026-03-02T07:59:00-05:00") is None
    assert who(database, "2026-03-02T08:00:00-05:00") == "priya"
    assert who(database, "2026-03-09T08:00:00-04:00") == ["priya", "mateo", "liam"][7 % 3]  # after the change
    assert who(database, "2026-12-02T12:00:00-05:00") == "mateo"
    days = (date(2026, 12, 5) - date(2026, 3, 2)).days
    assert who(database, "2026-12-05T12:00:00-05:00") == ["priya", "mateo", "liam"][days % 3]


def test_person_shifts_cover_every_schedule():
    repo = load(PROJECT_ROOT).repo
    found = person_shifts(repo.schedules, "priya", t("2026-03-01T00:00:00Z"), t("2026-05-01T00:00:00Z"))
    assert {s.schedule for s in found} == {"primary", "database"}
    assert all(s.person == "priya" for s in found)
    assert found == sorted(found, key=lambda s: s.starts_at)


# --- iCalendar ------------------------------------------------------------------------------------


def events(body: bytes) -> list[Any]:
    return list(Calendar.from_ical(body).walk("VEVENT"))


NOW = t("2026-03-20T10:00:00Z")


def test_a_schedule_calendar_parses_back_with_the_right_local_times():
    schedule = make_schedule([rot("2026-03-27T09:00:00")])
    start, end = t("2026-03-27T00:00:00+01:00"), t("2026-04-03T00:00:00+02:00")
    parsed = events(schedule_calendar(schedule, start, end, NOW))
    expected = shifts(schedule, start, end + timedelta(days=1))
    assert len(parsed) == 7
    for event, shift in zip(parsed, expected, strict=False):
        assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
        assert event.decoded("DTSTART").time() == time(9)  # 09:00 local on both sides of the change
        assert event.decoded("DTSTART") == shift.starts_at
        assert event.decoded("DTEND") == shift.ends_at
        assert str(event["UID"]) == shift_uid(shift)
    cal = Calendar.from_ical(schedule_calendar(schedule, start, end, NOW))
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]


def test_a_time_that_happens_twice_is_written_in_utc():
    schedule = make_schedule([rot("2026-11-01T00:00:00", "hours", 1)], "America/New_York")
    parsed = events(schedule_calendar(schedule, t("2026-11-01T04:00:00Z"), t("2026-11-01T08:00:00Z"), NOW))
    starts = [e.decoded("DTSTART") for e in parsed]
    assert starts == [t("2026-11-01T04:00:00Z") + timedelta(hours=h) for h in range(4)]
    second_one_am = parsed[2]
    assert "TZID" not in second_one_am["DTSTART"].params
    assert second_one_am.decoded("DTSTART").utcoffset() == timedelta(0)
    assert parsed[0]["DTSTART"].params["TZID"] == "America/New_York"  # 00:00 EDT is not ambiguous


def test_calendar_uids_are_stable_across_runs_and_windows():
    primary = demo_schedule("primary")
    first = schedule_calendar(primary, *default_window(NOW), NOW)
    assert schedule_calendar(primary, *default_window(NOW), NOW) == first  # byte for byte
    later = NOW + timedelta(days=3, hours=5)
    second = schedule_calendar(primary, *default_window(later), later)
    uids_first = {str(e["UID"]): e for e in events(first)}
    uids_second = {str(e["UID"]): e for e in events(second)}
    assert len(uids_first) == len(events(first))  # unique
    shared = uids_first.keys() & uids_second.keys()
    assert len(shared) > 0.9 * len(uids_first)
    for uid in shared:  # the same UID is the same shift, start and end
        assert uids_first[uid].decoded("DTSTART") == uids_second[uid].decoded("DTSTART")
        assert uids_first[uid].decoded("DTEND") == uids_second[uid].decoded("DTEND")
    # A shift cut by the window is still whole: the export looks beyond its edges.
    window_start = default_window(NOW)[0]
    assert min(e.decoded("DTSTART") for e in events(first)) < window_start


def test_a_person_calendar_spans_schedules_in_the_persons_timezone():
    repo = load(PROJECT_ROOT).repo
    priya = repo.get("people", "priya")
    body = person_calendar(repo.schedules, priya, t("2026-03-01T00:00:00Z"), t("2026-05-01T00:00:00Z"), NOW)  # type: ignore[arg-type]
    cal = Calendar.from_ical(body)
    assert str(cal["X-WR-TIMEZONE"]) == "America/New_York"
    parsed = list(cal.walk("VEVENT"))
    assert {str(e["SUMMARY"]) for e in parsed} == {"On call: Primary on-call", "On call: Database on-call"}
    assert all(e["DTSTART"].params.get("TZID") == "America/New_York" for e in parsed)
    uids = [str(e["UID"]) for e in parsed]
    assert len(set(uids)) == len(uids)
    database = [e for e in parsed if "Database" in str(e["SUMMARY"])]
    assert {e.decoded("DTSTART").time() for e in database} == {time(8)}


# --- the CLI ----------------------------------------------------------------------------------------


def run(*args: str, root: Path | None = None, epoch: str = EPOCH_AUG_14) -> Any:
    """`tidings oncall ARGS`, with `-C root` when given (ROOT cannot follow an optional SCHEDULE left out)."""
    where = ["-C", str(root)] if root is not None else []
    return CliRunner().invoke(main, [*where, "oncall", *args], env={"SOURCE_DATE_EPOCH": epoch})


def test_cli_now_in_text_and_json():
    text = run("now", root=PROJECT_ROOT)
    assert text.exit_code == 0, text.output
    assert "primary   jonas (Jonas Weber)  rotation 'Berlin business hours'" in text.stdout
    assert "until Fri 2026-08-14 17:00 +02:00" in text.stdout
    data = json.loads(run("now", "primary", str(PROJECT_ROOT), "--format", "json").stdout)
    assert data["at"] == "2026-08-14T10:00:00+00:00"
    (row,) = data["on_call"]
    assert row["person"] == "jonas" and row["person_name"] == "Jonas Weber" and row["layer"] == 1
    assert row["starts_at"] == "2026-08-14T09:00:00+02:00" and row["ends_at"] == "2026-08-14T17:00:00+02:00"


def test_cli_at_a_time():
    data = json.loads(run("at", "2026-12-25T12:00:00Z", "--format", "json", root=PROJECT_ROOT).stdout)
    by_id = {row["schedule"]: row for row in data["on_call"]}
    assert by_id["primary"]["person"] == "jonas" and by_id["primary"]["override"] is True
    assert by_id["primary"]["rotation"] == "override"
    assert by_id["database"]["starts_at"].endswith("-05:00")
    text = run("at", "2026-03-02T07:00:00-05:00", "database", str(PROJECT_ROOT))
    assert text.exit_code == 0 and text.stdout.strip() == "database  nobody on call"


def test_cli_shifts_in_text_and_json():
    args = ["shifts", "database", "--from", "2026-10-31", "--to", "2026-11-03", str(PROJECT_ROOT)]
    text = run(*args)
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0] == "Database on-call (database), times in America/New_York"
    assert "Sat 2026-10-31 08:00 -04:00  Sun 2026-11-01 08:00 -05:00  priya  Daily" in lines
    data = json.loads(run(*args, "--format", "json").stdout)
    assert data["from"] == "2026-10-31T00:00:00-04:00" and data["to"] == "2026-11-03T00:00:00-05:00"
    assert [s["starts_at"][11:] for s in data["shifts"]] == [
        "00:00:00-04:00",
        "08:00:00-04:00",
        "08:00:00-05:00",
        "08:00:00-05:00",
    ]
    assert data["shifts"][0]["ends_at"] == data["shifts"][1]["starts_at"]


def test_cli_calendar_for_a_schedule_and_a_person(tmp_path: Path):
    out = tmp_path / "primary.ics"
    made = run("calendar", "primary", "-o", str(out), str(PROJECT_ROOT))
    assert made.exit_code == 0, made.output
    assert "wrote" in made.stderr
    parsed = events(out.read_bytes())
    assert parsed and all(str(e["UID"]).startswith("oncall-primary-") for e in parsed)
    again = run("calendar", "primary", str(PROJECT_ROOT))
    assert again.stdout_bytes == out.read_bytes()
    person = run(
        "calendar",
        "--person",
        "chloe",
        "--from",
        "2026-01-01",
        "--to",
        "2026-02-01",
        root=PROJECT_ROOT,
    )
    assert person.exit_code == 0
    assert {str(e["SUMMARY"]) for e in events(person.stdout_bytes)} == {"On call: Primary on-call"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["now", "primry"], "unknown schedule 'primry' (did you mean 'primary'?)"),
        (["shifts", "databse"], "did you mean 'database'?"),
        (["at", "2026-03-29T12:00:00"], "has no timezone offset"),
        (["at", "tomorrow"], "'tomorrow' is not a time"),
        (["at", "9999-12-31T23:59:59-12:00"], "out of range: times are between the years 1000 and 9000"),
        (["at", "0001-01-01T00:00:00+01:00"], "out of range: times are between the years 1000 and 9000"),
        (["shifts", "primary", "--from", "9999-12-31"], "'9999-12-31' is out of range"),
        (["shifts", "primary", "--from", "2026-03-02", "--to", "2026-03-01"], "--to must be after --from"),
        (["calendar", "--person", "amra"], "unknown person 'amra' (did you mean 'amara'?)"),
        (["calendar"], "give either a SCHEDULE or --person ID"),
        (["calendar", "primary", "--person", "amara"], "give either a SCHEDULE or --person ID"),
    ],
)
def test_cli_bad_input_is_a_usage_error(args: list[str], message: str):
    result = run(*args, root=PROJECT_ROOT)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


PEOPLE = """\
people:
  - {id: ana, name: Ana, timezone: Europe/Berlin}
"""
GOOD = """\
name: Good
timezone: Europe/Berlin
rotations:
  - name: Daily
    starts_at: 2026-01-01T09:00:00
    rotation_length: 1
    rotation_length_unit: days
    participants: [ana]
"""


def test_cli_with_a_broken_schedule_answers_for_the_rest_and_fails(make_repo):
    root = make_repo(
        {
            "content/people.yml": PEOPLE,
            "content/oncall/schedules/good.yml": GOOD,
            "content/oncall/schedules/bad.yml": GOOD.replace("unit: days", "unit: fortnights"),
        }
    )
    result = run("now", root=root)
    assert result.exit_code == 1
    assert "good  ana (Ana)" in result.stdout
    assert "content/oncall/schedules/bad.yml" in result.stderr and "fortnights" in result.stderr
    assert "left out 1 schedule with errors: bad" in result.stderr
    one = run("now", "bad", str(root))
    assert one.exit_code == 1 and "schedule 'bad' has errors" in one.stderr
    assert run("now", "good", str(root)).exit_code == 0
    assert run("now", root=root.parent).exit_code == 2  # not a status repo


def test_the_real_command_answers(tmp_path: Path):
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "tidings"),
            "oncall",
            "at",
            "2026-08-15T12:00:00+02:00",
            "primary",
            str(PROJECT_ROOT),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)["on_call"]
    assert row["rotation"] == "Weekly" and row["person"]


def test_the_readme_example_is_what_the_command_prints():
    lines = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("$ tidings oncall at "))
    args = lines[index].strip().split()[3:]  # after "$ tidings oncall"
    result = run(*args, root=PROJECT_ROOT)
    assert result.exit_code == 0 and result.stdout.strip() == lines[index + 1].strip()


def test_a_schedule_naming_an_unknown_person_gives_no_answer(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content")
    primary = root / "content" / "oncall" / "schedules" / "primary.yml"
    primary.write_text(
        primary.read_text().replace("[amara, priya, chloe, jonas, mateo, liam]", "[amara, jonass]")
    )
    one = CliRunner().invoke(main, ["oncall", "at", "2026-01-13T20:00:00+01:00", "primary", str(root)])
    assert one.exit_code == 1 and "jonass" in one.output and "has errors" in one.output
    every = CliRunner().invoke(main, ["-C", str(root), "oncall", "at", "2026-01-13T20:00:00+01:00"])
    assert every.exit_code == 1 and "database" in every.output and "left out 1 schedule" in every.output

"""Every .ics Tidings writes, read by ical.js (Thunderbird's parser, and many web calendars').

The maintenance calendar of the public build, and each schedule's and each person's on-call
calendar (the internal build writes them all; `tidings oncall calendar` writes one) are read the way
a calendar app reads them: each event's start and end become instants through the file's own
VTIMEZONE. They must agree with `tidings oncall shifts` (and the maintenance windows with the JSON
API) on every instant. A repo of hourly hand-offs around 02:00-03:00 in four zones, both
hemispheres and a 30-minute DST (Lord Howe), puts events in the hours around every change; and
each VTIMEZONE is asked directly what it makes of the instants and local times around each change,
against Python's zoneinfo.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import PROJECT_ROOT, write_repo
from tidings.content.load import load
from tidings.generator.oncall_calendar import MARGIN, default_window

TOOLS = PROJECT_ROOT / ".tools"
READER = Path(__file__).with_name("ical_read.mjs")
TIDINGS = str(Path(sys.executable).parent / "tidings")
# 2026-11-02T00:00:00Z: the internal build's calendars cover 2026-10-03 to 2027-05-01, every change
# of the four zones of the hourly repo in both directions (Sydney and Lord Howe forward on Oct 4,
# Berlin back on Oct 25, New York back on Nov 1, forward on Mar 14, Berlin forward on Mar 28, the
# south back on Apr 4).
HOURLY_NOW = 1793577600
# 2026-11-24T20:00:00Z, as the other demo tests.
DEMO_NOW = 1795550400
AROUND = timedelta(hours=3)  # "the hours around each change"
PROBE_STEP = timedelta(minutes=15)

ZONES = {
    "ny": "America/New_York",
    "berlin": "Europe/Berlin",
    "sydney": "Australia/Sydney",
    "lordhowe": "Australia/Lord_Howe",
}


def _hourly_repo(root: Path) -> Path:
    """A schedule a zone: hand-offs every hour from 00:00 to 05:00 local, two people of that zone and a
    traveller from Berlin on the New York and Sydney ones (their shifts in her calendar cross zones)."""
    people = ["people:"]
    for key, zone in ZONES.items():
        for n in (1, 2):
            people += [f"  - id: {key}{n}", f"    name: {key.title()} {n}", f"    timezone: {zone}"]
    people += ["  - id: traveller", "    name: Tess Traveller", "    timezone: Europe/Berlin"]
    files = {
        ".gitlab/status-page.yml": (
            "title: Hourly Status\nbase_url: https://status.example.com/\ntimezone: UTC\n"
            "services:\n  - name: API\n"
        ),
        "content/people.yml": "\n".join(people) + "\n",
    }
    for key, zone in ZONES.items():
        crew = [f"{key}1", f"{key}2"] + (["traveller"] if key in ("ny", "sydney") else [])
        files[f"content/oncall/schedules/{key}.yml"] = (
            f"name: Night {key}\ntimezone: {zone}\nrotations:\n"
            f"  - name: Hourly\n    starts_at: 2026-01-01T00:00:00\n    rotation_length: 1\n"
            f"    rotation_length_unit: hours\n    participants: [{', '.join(crew)}]\n"
            f"    restrictions:\n      - from: '00:00'\n        to: '05:00'\n"
        )
    return write_repo(root, files)


def _run(*args: str, epoch: int | None = None) -> str:
    env = {**os.environ, **({"SOURCE_DATE_EPOCH": str(epoch)} if epoch else {})}
    run = subprocess.run([TIDINGS, *args], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    return run.stdout


def _changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The UTC instants `zone` changes offset in [start, end), found by brute force (every 15 minutes)."""
    found, at = [], start
    before = at.astimezone(zone).utcoffset()
    while at < end:
        at += PROBE_STEP
        now = at.astimezone(zone).utcoffset()
        if now != before:
            found.append(at)
        before = now
    return found


def _wall(when: datetime) -> str:
    return when.replace(tzinfo=None).isoformat()


def _probes(zone: ZoneInfo, changes: list[datetime]) -> dict[str, list]:
    """Local times that exist once, every 15 minutes in the hours around each change."""
    local: list[str] = []
    for change in changes:
        wall = (change - AROUND).astimezone(zone).replace(tzinfo=None)
        last = (change + AROUND).astimezone(zone).replace(tzinfo=None)
        while wall <= last:
            if _exists_once(wall, zone):
                local.append(wall.isoformat())
            wall += PROBE_STEP
    return {"local": local}


def _exists_once(wall: datetime, zone: ZoneInfo) -> bool:
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
    return first.utcoffset() == second.utcoffset() and round_trip


def _read(files: dict[Path, dict[str, list]]) -> dict[str, dict]:
    node = shutil.which("node")
    assert node, "node is needed: run script/test-tools"
    assert (TOOLS / "node_modules" / "ical.js").is_dir(), "ical.js is missing: run script/test-tools"
    run = subprocess.run(
        [node, str(READER), str(TOOLS)],
        input=json.dumps({str(path): probes for path, probes in files.items()}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _instant(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def _shifts(root: Path, schedule: str, start: datetime, end: datetime) -> list[dict]:
    """`tidings oncall shifts` over the calendar's window and its margins, each shift meeting the window."""
    out = json.loads(
        _run(
            "oncall",
            "shifts",
            schedule,
            str(root),
            "--format",
            "json",
            "--from",
            (start - MARGIN).isoformat(),
            "--to",
            (end + MARGIN).isoformat(),
        )
    )
    return [
        {"person": s["person"], "start": _instant(s["starts_at"]), "end": _instant(s["ends_at"])}
        for s in out["shifts"]
        if _instant(s["ends_at"]) > start.timestamp() and _instant(s["starts_at"]) < end.timestamp()
    ]


_ON_CALL = re.compile(r"\(([a-z0-9._-]+)\) is on call")


def _offset(zone: ZoneInfo, seconds: int) -> int:
    return int(
        (datetime.fromtimestamp(seconds, UTC).astimezone(zone).utcoffset() or timedelta(0)).total_seconds()
    )


def _check_zone_readings(name: str, read: dict, zone: ZoneInfo, events: list[dict]) -> int:
    """ical.js's reading of the file's VTIMEZONE agrees with zoneinfo: each change at its instant with
    the offsets before and after it, every change the events' span holds, and the local times around
    each change read as the same instants. How many readings were compared."""
    readings = read["zones"][zone.key]
    wrong = []
    for at, before, after in readings["changes"]:
        if _offset(zone, at) != after or (before != after and _offset(zone, at - 1) != before):
            when = datetime.fromtimestamp(at, UTC)
            wrong.append(f"ical.js changes {before} -> {after} at {when}; zoneinfo: {zone.key} does not then")
    changes = _window_changes(zone, events)
    seen = {at for at, before, after in readings["changes"] if before != after}
    wrong += [f"ical.js misses the change at {c}" for c in changes if int(c.timestamp()) not in seen]
    for wall, seconds in readings["local"]:
        expected = int(datetime.fromisoformat(wall).replace(tzinfo=zone).timestamp())
        if seconds != expected:
            got, want = (datetime.fromtimestamp(x, UTC) for x in (seconds, expected))
            wrong.append(f"{wall} {zone.key}: ical.js {got}, zoneinfo {want}")
    assert wrong == [], f"{name}:\n" + "\n".join(wrong[:20])
    # 25 local times around each change, less those a fall-back change makes happen twice.
    assert changes and len(readings["local"]) >= 16 * len(changes)
    return len(readings["changes"]) + len(readings["local"])


def _events_near_changes(events: list[dict], changes: list[datetime]) -> int:
    """How many event starts or ends fall in the hours around a change."""
    near = 0
    for event in events:
        for at in (event["start"], event["end"]):
            when = datetime.fromtimestamp(at, UTC)
            near += any(abs(when - change) <= AROUND for change in changes)
    return near


def _window_changes(zone: ZoneInfo, events: list[dict]) -> list[datetime]:
    """The changes from a day before the first event to a day after the last (what the file's
    VTIMEZONE must hold: it covers the events' UTC dates and a day on each side)."""
    start = datetime.fromtimestamp(min(e["start"] for e in events), UTC) - timedelta(days=1)
    end = datetime.fromtimestamp(max(e["end"] for e in events), UTC) + timedelta(days=1)
    return _changes(zone, start, end)


def _calendars(internal: Path) -> Iterator[tuple[str, str, Path]]:
    """(kind, id, path) of every on-call calendar the internal build wrote."""
    for path in sorted((internal / "oncall").glob("*.ics")):
        yield "schedule", path.stem, path
    for path in sorted((internal / "oncall" / "people").glob("*.ics")):
        yield "person", path.stem, path


def _check_readings(files: dict[Path, tuple[ZoneInfo, list[dict]]]) -> int:
    """Each file's VTIMEZONE, as ical.js reads it, around every change in the span of its events."""
    asked = {}
    for path, (zone, events) in files.items():
        changes = _window_changes(zone, events) if events else []
        if changes:
            asked[path] = _probes(zone, changes)
    read = _read(asked)
    return sum(
        _check_zone_readings(path.name, read[str(path)], files[path][0], files[path][1]) for path in asked
    )


def _check_oncall_calendars(root: Path, internal: Path, now: datetime) -> dict[str, int]:
    """Every on-call calendar of `internal` read by ical.js, against `tidings oncall shifts`."""
    repo = load(root).repo
    start, end = default_window(now)
    shifts = {s.id: _shifts(root, s.id, start, end) for s in repo.schedules}
    zones = {s.id: s.timezone for s in repo.schedules} | {f"person:{p.id}": p.timezone for p in repo.people}
    found = list(_calendars(internal))
    assert len(found) == len(repo.schedules) + len(repo.people)
    read = _read({path: {} for _, _, path in found})
    counts = {"events": 0, "near": 0}
    files = {}
    for kind, item, path in found:
        events = read[str(path)]["events"]
        if kind == "schedule":
            zone = ZoneInfo(zones[item])
            got = sorted((_person(e), e["start"], e["end"]) for e in events)
            want = sorted((s["person"], s["start"], s["end"]) for s in shifts[item])
        else:
            zone = ZoneInfo(zones[f"person:{item}"])
            got = sorted((item, e["start"], e["end"]) for e in events)
            mine = [s for found in shifts.values() for s in found if s["person"] == item]
            want = sorted((item, s["start"], s["end"]) for s in mine)
        assert got == want, f"{path.name}: ical.js reads other instants than `tidings oncall shifts`"
        assert all(e["start_zone"] in (zone.key, "UTC") for e in events)
        files[path] = (zone, events)
        counts["events"] += len(events)
        if events:
            counts["near"] += _events_near_changes(events, _window_changes(zone, events))
    counts["probes"] = _check_readings(files)
    return counts


def _person(event: dict) -> str:
    found = _ON_CALL.search(event["description"])
    assert found, event["description"]
    return found.group(1)


@pytest.fixture(scope="module")
def hourly(tmp_path_factory) -> tuple[Path, Path]:
    root = _hourly_repo(tmp_path_factory.mktemp("hourly") / "repo")
    internal = root.parent / "internal"
    _run("build", str(root), "--internal", "--out", str(internal), epoch=HOURLY_NOW)
    return root, internal


def test_hourly_hand_offs_around_every_change_read_the_same_in_ical_js(hourly):
    root, internal = hourly
    counts = _check_oncall_calendars(root, internal, datetime.fromtimestamp(HOURLY_NOW, UTC))
    # Every zone changes twice in the window, and each change has hand-offs in the hours around it.
    assert counts["near"] > 4 * 2 * 10, counts
    print(f"hourly repo: {counts}")


def test_the_demos_calendars_read_the_same_in_ical_js(tmp_path):
    internal = tmp_path / "internal"
    _run("build", str(PROJECT_ROOT), "--internal", "--out", str(internal), epoch=DEMO_NOW)
    counts = _check_oncall_calendars(PROJECT_ROOT, internal, datetime.fromtimestamp(DEMO_NOW, UTC))
    assert counts["events"] > 100, counts


def test_oncall_calendar_writes_dst_onsets_in_the_offset_before_them(tmp_path):
    """The issue's own example: New York's 2027 onset is 02:00 EST (RFC 5545), not 03:00."""
    out = tmp_path / "database.ics"
    window = ["--from", "2026-09-28T00:00:00Z", "--to", "2027-04-12T00:00:00Z"]
    _run("oncall", "calendar", "database", str(PROJECT_ROOT), *window, "-o", str(out))
    text = out.read_bytes().decode()
    onsets = re.findall(r"BEGIN:DAYLIGHT\r\nDTSTART:(\d{8}T\d{6})\r\nTZNAME:EDT\r\nTZOFFSETFROM:-0500", text)
    assert onsets == ["20270314T020000"]
    assert "DTSTART:20261101T020000\r\nTZNAME:EST\r\nTZOFFSETFROM:-0400" in text
    person = tmp_path / "amara.ics"
    _run("-C", str(PROJECT_ROOT), "oncall", "calendar", "--person", "amara", *window, "-o", str(person))
    assert "DTSTART:20270328T020000\r\nTZNAME:CEST\r\nTZOFFSETFROM:+0100" in person.read_bytes().decode()
    read = _read({out: {}})[str(out)]
    shifts = _shifts(
        PROJECT_ROOT, "database", datetime(2026, 9, 28, tzinfo=UTC), datetime(2027, 4, 12, tzinfo=UTC)
    )
    assert sorted((e["start"], e["end"]) for e in read["events"]) == sorted(
        (s["start"], s["end"]) for s in shifts
    )
    assert _check_readings({out: (ZoneInfo("America/New_York"), read["events"])}) > 0


def test_the_maintenance_calendar_reads_as_the_api_says(demo_site):
    path = demo_site / "maintenance.ics"
    events = _read({path: {}})[str(path)]["events"]
    api = json.loads((demo_site / "api/v2/scheduled-maintenances.json").read_text())
    want = sorted(
        (m["name"], _instant(m["scheduled_for"]), _instant(m["scheduled_until"]))
        for m in api["scheduled_maintenances"]
    )
    assert sorted((e["summary"], e["start"], e["end"]) for e in events) == want
    assert len(want) >= 2 and date(2026, 1, 1) < datetime.fromtimestamp(want[0][1], UTC).date()

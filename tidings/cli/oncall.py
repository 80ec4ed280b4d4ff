"""`tidings oncall ...`: who is on call, shifts, iCalendar exports; a thin layer over tidings.oncall."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from tidings import clock
from tidings.cli.common import print_diagnostics, repo_root
from tidings.cli.params import TimeParam
from tidings.content.diagnostics import Diagnostic, did_you_mean
from tidings.content.layout import FOLDERS, PEOPLE_FILE
from tidings.content.load import load
from tidings.content.model import Person, Schedule, StatusRepo
from tidings.errors import TidingsError, UsageError
from tidings.generator.oncall_calendar import default_window, person_calendar, schedule_calendar
from tidings.ops.oncall import OnCall, Shift, local_day_start, on_call_at, shift_at, shifts

_SCHEDULE_DIR = next(f.path for f in FOLDERS if f.kind == "schedule")
_ONCALL_DIR = _SCHEDULE_DIR.rsplit("/", 1)[0]
# `now` and `at` say when the current shift ends; a rotation of one person never hands off, so stop looking.
_HORIZON = timedelta(days=366)

F = TypeVar("F", bound=Callable[..., Any])
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json gives times in ISO 8601 with their offsets.",
)


@dataclass
class _Repo:
    repo: StatusRepo
    diagnostics: list[Diagnostic]

    def person(self, person_id: str) -> Person | None:
        found = self.repo.get("people", person_id)
        return found if isinstance(found, Person) else None

    def person_name(self, person_id: str) -> str | None:
        person = self.person(person_id)
        return person.name if person else None

    def broken_schedules(self) -> list[str]:
        """Ids of schedule files with errors: left out of the model, or (an unknown participant, say)
        kept but able to name someone who is not a responder. Either way no answer is given for them."""
        ids = {
            Path(d.path).stem
            for d in self.diagnostics
            if d.severity == "error" and d.path.startswith(_SCHEDULE_DIR + "/")
        }
        return sorted(ids)

    def schedule(self, schedule_id: str) -> Schedule:
        if schedule_id in self.broken_schedules():
            raise TidingsError(
                f"schedule '{schedule_id}' has errors (above); fix them, then run 'tidings validate'"
            )
        found = self.repo.get("schedules", schedule_id)
        if isinstance(found, Schedule):
            return found
        known = [s.id for s in self.repo.schedules]
        hint = did_you_mean(schedule_id, known)
        choices = f"schedules are: {', '.join(known)}" if known else "the repo has no schedules"
        raise click.BadParameter(
            f"unknown schedule '{schedule_id}'" + (f" ({hint})" if hint else "") + f"; {choices}",
            param_hint="SCHEDULE",
        )


def _load(root: Path) -> _Repo:
    """Load ROOT and show the problems that bear on on-call answers; the callers refuse what they break."""
    result = load(root, alerts=False)
    relevant = [d for d in result.errors if d.path.startswith(_ONCALL_DIR + "/") or d.path == PEOPLE_FILE]
    print_diagnostics(relevant)
    others = len(result.errors) - len(relevant)
    if others:
        # An on-call lookup during an incident must not fail over a typo in an unrelated file.
        click.echo(
            f"warning: {others} other error{'s' if others != 1 else ''} in the repo (run 'tidings validate')",
            err=True,
        )
    return _Repo(result.repo, result.diagnostics)


def _iso(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).isoformat()


def _human(when: datetime, zone: ZoneInfo) -> str:
    local = when.astimezone(zone)
    offset = local.isoformat()[-6:]
    return f"{local:%a %Y-%m-%d %H:%M} {offset}"


def _window(value: datetime | date, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value
    return local_day_start(value, zone)


def _who(data: _Repo, schedule: Schedule, when: datetime) -> dict[str, Any]:
    zone = ZoneInfo(schedule.timezone)
    found: OnCall | None = on_call_at(schedule, when)
    shift: Shift | None = shift_at(schedule, when, _HORIZON) if found else None
    return {
        "schedule": schedule.id,
        "schedule_name": schedule.name,
        "timezone": schedule.timezone,
        "person": found.person if found else None,
        "person_name": data.person_name(found.person) if found else None,
        "rotation": found.rotation if found else None,
        "layer": found.layer if found else None,
        "override": found.is_override if found else False,
        "starts_at": _iso(shift.starts_at, zone) if shift else None,
        "ends_at": _iso(shift.ends_at, zone) if shift else None,
        # True when the shift reaches the lookup's horizon: no hand-off in sight.
        "open_ended": bool(shift and shift.ends_at >= when + _HORIZON),
    }


def _print_who(data: _Repo, when: datetime, schedule_ids: list[str], fmt: str) -> None:
    rows = [_who(data, data.schedule(i), when) for i in schedule_ids]
    if fmt == "json":
        click.echo(json.dumps({"at": when.astimezone(UTC).isoformat(), "on_call": rows}, indent=2))
        return
    if not rows:
        click.echo(f"no on-call schedules in {_SCHEDULE_DIR}/")
        return
    width = max(len(r["schedule"]) for r in rows)
    for row in rows:
        zone = ZoneInfo(row["timezone"])
        label = row["schedule"].ljust(width)
        if row["person"] is None:
            click.echo(f"{label}  nobody on call")
            continue
        name = f" ({row['person_name']})" if row["person_name"] else ""
        via = "override" if row["override"] else f"rotation '{row['rotation']}'"
        since = _human(datetime.fromisoformat(row["starts_at"]), zone)
        until = (
            "no hand-off within a year"
            if row["open_ended"]
            else f"until {_human(datetime.fromisoformat(row['ends_at']), zone)}"
        )
        click.echo(f"{label}  {row['person']}{name}  {via}, since {since}, {until}")


def _all_or_one(data: _Repo, schedule_id: str | None) -> list[str]:
    if schedule_id is not None:
        data.schedule(schedule_id)  # fails early with a did-you-mean
        return [schedule_id]
    broken = set(data.broken_schedules())
    return [s.id for s in data.repo.schedules if s.id not in broken]


def _check_broken(data: _Repo, schedule_id: str | None) -> None:
    broken = data.broken_schedules()
    if schedule_id is None and broken:
        plural = "s" if len(broken) != 1 else ""
        raise TidingsError(f"left out {len(broken)} schedule{plural} with errors: {', '.join(broken)}")


def _root(command: F) -> F:
    """ROOT, and `--root DIR`: how ROOT was given here before it was positional everywhere. The
    README showed it, so it still works, hidden, with a warning; the search upward starts there."""
    with_repo = repo_root(command)

    @click.option(
        "--root",
        "root_option",
        hidden=True,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
    )
    @wraps(with_repo)
    def given(*args: Any, root: Path | None, root_option: Path | None, **kwargs: Any) -> Any:
        if root_option is not None:
            if root is not None:
                raise UsageError("give the status repo as ROOT or as --root, not both")
            click.echo("warning: --root is deprecated: give the status repo as the last argument", err=True)
            root = root_option
        return with_repo(*args, root=root, **kwargs)

    return given  # type: ignore[return-value]


@click.group()
def oncall() -> None:
    """Who is on call: now, at a time, shifts over a range, and iCalendar exports."""


@oncall.command("now")
@click.argument("schedule_id", metavar="[SCHEDULE]", required=False)
@_root
@format_option
def oncall_now(schedule_id: str | None, root: Path, fmt: str) -> None:
    """Who is on call now in SCHEDULE (default: every schedule)."""
    data = _load(root)
    _print_who(data, clock.now(), _all_or_one(data, schedule_id), fmt)
    _check_broken(data, schedule_id)


@oncall.command("at")
@click.argument("when", metavar="TIME", type=TimeParam())
@click.argument("schedule_id", metavar="[SCHEDULE]", required=False)
@_root
@format_option
def oncall_at(when: datetime, schedule_id: str | None, root: Path, fmt: str) -> None:
    """Who is on call at TIME (ISO 8601 with an offset) in SCHEDULE (default: every schedule)."""
    data = _load(root)
    _print_who(data, when, _all_or_one(data, schedule_id), fmt)
    _check_broken(data, schedule_id)


@oncall.command("shifts")
@click.argument("schedule_id", metavar="SCHEDULE")
@click.option(
    "--from",
    "start",
    type=TimeParam(dates=True),
    default="now",
    help="A time with an offset, a date, or now (the default).",
)
@click.option(
    "--to", "end", type=TimeParam(dates=True), default=None, help="End, exclusive (default: 7 days on)."
)
@_root
@format_option
def oncall_shifts(
    schedule_id: str, start: datetime | date, end: datetime | date | None, root: Path, fmt: str
) -> None:
    """The shifts of SCHEDULE from --from to --to (exclusive).

    Times are ISO 8601 with an offset (2026-03-29T09:00:00+02:00, ...Z) or `now`; a date such as
    2026-03-29 means the start of that day in the schedule's timezone.
    """
    data = _load(root)
    schedule = data.schedule(schedule_id)
    zone = ZoneInfo(schedule.timezone)
    lo = _window(start, zone)
    hi = _window(end, zone) if end is not None else lo + timedelta(days=7)
    if hi <= lo:
        raise click.BadParameter("--to must be after --from", param_hint="--to")
    found = shifts(schedule, lo, hi)
    if fmt == "json":
        out = {
            "schedule": schedule.id,
            "schedule_name": schedule.name,
            "timezone": schedule.timezone,
            "from": _iso(lo, zone),
            "to": _iso(hi, zone),
            "shifts": [
                {
                    "person": s.person,
                    "person_name": data.person_name(s.person),
                    "rotation": s.rotation,
                    "layer": s.layer,
                    "override": s.is_override,
                    "starts_at": _iso(s.starts_at, zone),
                    "ends_at": _iso(s.ends_at, zone),
                }
                for s in found
            ],
        }
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(f"{schedule.name} ({schedule.id}), times in {schedule.timezone}")
    if not found:
        click.echo("nobody is on call in this range")
    width = max((len(s.person) for s in found), default=0)
    for s in found:
        via = "override" if s.is_override else s.rotation
        click.echo(f"{_human(s.starts_at, zone)}  {_human(s.ends_at, zone)}  {s.person.ljust(width)}  {via}")


@oncall.command("calendar")
@click.argument("schedule_id", metavar="[SCHEDULE]", required=False)
@click.option(
    "--person",
    "person_id",
    metavar="ID",
    help="One person's shifts across every schedule, instead of a SCHEDULE.",
)
@click.option(
    "--from", "start", type=TimeParam(dates=True), default=None, help="Start (default: 30 days ago)."
)
@click.option("--to", "end", type=TimeParam(dates=True), default=None, help="End (default: 180 days on).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the .ics file here instead of to standard output.",
)
@_root
def oncall_calendar(
    schedule_id: str | None,
    person_id: str | None,
    start: datetime | date | None,
    end: datetime | date | None,
    output: Path | None,
    root: Path,
) -> None:
    """An iCalendar (.ics) file of SCHEDULE's shifts, or of one --person's, for calendar apps."""
    if (schedule_id is None) == (person_id is None):
        raise UsageError("give either a SCHEDULE or --person ID")
    data = _load(root)
    now = clock.now()
    default_start, default_end = default_window(now)
    if person_id is not None:
        person = data.person(person_id)
        if person is None:
            hint = did_you_mean(person_id, [p.id for p in data.repo.people])
            raise click.BadParameter(
                f"unknown person '{person_id}'" + (f" ({hint})" if hint else ""), param_hint="--person"
            )
        zone = ZoneInfo(person.timezone)
        lo = _window(start, zone) if start is not None else default_start
        hi = _window(end, zone) if end is not None else default_end
        _check_range(lo, hi)
        body = person_calendar(data.repo.schedules, person, lo, hi, now)
    else:
        assert schedule_id is not None
        schedule = data.schedule(schedule_id)
        zone = ZoneInfo(schedule.timezone)
        lo = _window(start, zone) if start is not None else default_start
        hi = _window(end, zone) if end is not None else default_end
        _check_range(lo, hi)
        body = schedule_calendar(schedule, lo, hi, now, data.repo.people)
    if output is None:
        click.echo(body, nl=False)
        return
    output.write_bytes(body)
    events = body.count(b"BEGIN:VEVENT")
    click.echo(f"wrote {events} event{'s' if events != 1 else ''} to {output}", err=True)


def _check_range(lo: datetime, hi: datetime) -> None:
    if hi <= lo:
        raise click.BadParameter("--to must be after --from", param_hint="--to")

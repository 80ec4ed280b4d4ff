"""click parameter types the commands share."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from tidings import clock
from tidings.cli.common import search_upward
from tidings.content.load import site_timezone
from tidings.content.model import TIMESTAMP_YEARS
from tidings.content.model_errors import naive_hint


def _site_zone(ctx: click.Context | None) -> str:
    """The timezone of the status repo the command works on, as far as it is known yet: its ROOT when
    click has read it (it reads arguments in the order given), else the repo the working directory
    is in. The hint names the zone it took, so a guess is never silent."""
    given = ctx.params.get("root") if ctx is not None else None
    # Not read yet (or not given), click holds a sentinel of its own there, not a path.
    found = search_upward(Path(given) if isinstance(given, str | Path) else Path("."))
    return site_timezone(found) if found is not None else "UTC"


class TimeParam(click.ParamType):
    """An ISO 8601 timestamp with an offset, or `now`; with `dates=True` also a date (midnight, local)."""

    name = "TIME"

    def __init__(self, dates: bool = False) -> None:
        self.dates = dates

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime | date:
        if isinstance(value, datetime | date):
            return value
        text = str(value).strip()
        if text.lower() == "now":
            return clock.now()
        if self.dates:
            try:
                day = date.fromisoformat(text)
            except ValueError:
                pass
            else:
                self._check_year(day.year, text, param, ctx)
                return day
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            example = "2026-03-29T09:00:00+02:00, 2026-03-29T07:00:00Z or now"
            if self.dates:
                example += ", or a date such as 2026-03-29"
            self.fail(f"{text!r} is not a time: write {example}", param, ctx)
        if parsed.tzinfo is None:
            # The project's rule for time: a local time can be ambiguous at a DST change, so never guess.
            self.fail(f"{text!r} has no timezone offset: {naive_hint(text, _site_zone(ctx))}", param, ctx)
        try:
            year = parsed.astimezone(UTC).year
        except OverflowError:  # past year 9999 or before year 1 in UTC
            year = 0
        self._check_year(year, text, param, ctx)
        return parsed

    def _check_year(
        self, year: int, text: str, param: click.Parameter | None, ctx: click.Context | None
    ) -> None:
        """As in content files, times are between the years 1000 and 9000 (past them, zones overflow)."""
        low, high = TIMESTAMP_YEARS
        if not low <= year <= high:
            self.fail(f"{text!r} is out of range: times are between the years {low} and {high}", param, ctx)


class WhenParam(click.ParamType):
    """A time as the quick actions `/at` and `/started-at` take it: an ISO 8601 timestamp with an
    offset, `now`, or `HH:MM`, kept as text here, since it is placed on today's date in the site's
    timezone, which only the repo knows (`tidings.ops.quick_actions.parse_time`)."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime | date | str:
        # Deferred: the quick actions' parser is loaded by the commands that take a WhenParam only.
        from tidings.ops.quick_actions import CLOCK_TIME

        if isinstance(value, str) and CLOCK_TIME.match(value.strip()):
            return value.strip()
        return TimeParam().convert(value, param, ctx)

"""click parameter types the commands share."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import click

from tidings import clock
from tidings.content.model import TIMESTAMP_YEARS


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
            self.fail(
                f"{text!r} has no timezone offset: add one, as in {text}+02:00 or {text}Z",
                param,
                ctx,
            )
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

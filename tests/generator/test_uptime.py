"""Uptime from incident impact windows: weights, calendar days in the site's zone, DST, ongoing incidents."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tidings.generator.uptime import uptime_by_component
from tidings.load import load

BERLIN = ZoneInfo("Europe/Berlin")


def _incident(start: str, end: str | None, impact: str, component: str = "api") -> str:
    resolved = f"resolved_at: {end}\n" if end else ""
    status = "resolved" if end else "investigating"
    return f"""\
---
title: Something
status: {status}
started_at: {start}
{resolved}components:
  {component}: {impact}
---
"""


def _uptime(make_repo, files, now, days=10):
    repo = load(make_repo(files)).repo
    return uptime_by_component(repo, now, BERLIN, days)


def test_major_counts_fully_partial_at_30_percent_degraded_not(make_repo):
    files = {
        "content/incidents/a.md": _incident(
            "2026-03-10T00:00:00+01:00", "2026-03-10T06:00:00+01:00", "major_outage"
        ),
        "content/incidents/b.md": _incident(
            "2026-03-11T00:00:00+01:00", "2026-03-11T12:00:00+01:00", "partial_outage"
        ),
        "content/incidents/c.md": _incident(
            "2026-03-12T00:00:00+01:00", "2026-03-12T12:00:00+01:00", "degraded_performance"
        ),
    }
    result = _uptime(make_repo, files, datetime(2026, 3, 13, 12, tzinfo=UTC))
    days = {d.date: d for d in result["api"].days}
    assert days[date(2026, 3, 10)].uptime == 75.0  # 6 of 24 hours down
    assert days[date(2026, 3, 11)].uptime == 85.0  # 12 hours at 30%
    assert days[date(2026, 3, 12)].uptime == 100.0
    assert days[date(2026, 3, 12)].worst == "degraded_performance"
    assert days[date(2026, 3, 10)].incidents == ("a",)
    assert result["web"].percent == 100.0


def test_days_are_local_and_a_dst_day_has_23_hours(make_repo):
    # Berlin springs forward on 2026-03-29: that day has 23 hours.
    files = {
        "content/incidents/a.md": _incident(
            "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", "major_outage"
        ),
        "content/incidents/b.md": _incident(
            "2026-03-30T23:00:00+02:00", "2026-03-31T00:30:00+02:00", "major_outage"
        ),
    }
    result = _uptime(make_repo, files, datetime(2026, 4, 2, tzinfo=UTC))
    days = {d.date: d for d in result["api"].days}
    assert days[date(2026, 3, 29)].seconds["major_outage"] == 23 * 3600
    assert days[date(2026, 3, 29)].uptime == 0.0
    assert days[date(2026, 3, 30)].seconds["major_outage"] == 3600  # 23:00-24:00 local
    assert days[date(2026, 3, 31)].seconds["major_outage"] == 1800


def test_an_ongoing_incident_lasts_until_now_and_today_is_partial(make_repo):
    files = {"content/incidents/a.md": _incident("2026-03-13T10:00:00+01:00", None, "major_outage")}
    now = datetime(2026, 3, 13, 12, tzinfo=BERLIN)
    result = _uptime(make_repo, files, now)
    today = result["api"].days[-1]
    assert today.date == date(2026, 3, 13)
    assert today.seconds["major_outage"] == 2 * 3600
    assert round(today.uptime, 2) == round(100 * (1 - 2 / 12), 2)  # 2 of the 12 hours so far

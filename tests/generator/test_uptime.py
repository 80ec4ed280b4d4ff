"""Uptime from incident impact windows: weights, calendar days in the site's zone, DST, ongoing incidents."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tidings.content.load import load
from tidings.generator.uptime import uptime_by_component
from tidings.ops.metrics import compute

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


def test_overlapping_incidents_count_once_and_the_bar_agrees_with_metrics(make_repo):
    # Two major outages on the same six hours are six hours down, not twelve; a partial outage under
    # a major one adds nothing, and the partial outage's own hour after it counts at 30%.
    files = {
        "content/incidents/a.md": _incident(
            "2026-03-10T06:00:00+01:00", "2026-03-10T12:00:00+01:00", "major_outage"
        ),
        "content/incidents/b.md": _incident(
            "2026-03-10T06:00:00+01:00", "2026-03-10T12:00:00+01:00", "major_outage"
        ),
        "content/incidents/c.md": _incident(
            "2026-03-10T08:00:00+01:00", "2026-03-10T13:00:00+01:00", "partial_outage"
        ),
    }
    root = make_repo(files)
    repo = load(root).repo
    now = datetime(2026, 3, 13, 12, tzinfo=UTC)
    day = {d.date: d for d in uptime_by_component(repo, now, BERLIN, 10)["api"].days}[date(2026, 3, 10)]
    assert day.seconds == {"major_outage": 6 * 3600, "partial_outage": 3600}
    assert day.uptime == pytest.approx(100 * (1 - (6 + 0.3) / 24))
    assert (day.worst, day.incidents) == ("major_outage", ("a", "b", "c"))

    start = datetime(2026, 3, 10, tzinfo=BERLIN)
    api = compute(repo, start, start + timedelta(days=1), now).uptime[0]
    assert api.percent == pytest.approx(day.uptime)


def test_a_resolved_incident_without_resolved_at_ends_at_its_last_update(make_repo):
    # Validate only warns about it; it must not count as an outage until now.
    text = """\
---
title: Resolved without a time
status: resolved
started_at: 2026-03-10T10:00:00+01:00
components:
  api: major_outage
updates:
  - {at: 2026-03-10T10:30:00+01:00, status: investigating, body: Looking.}
  - {at: 2026-03-10T16:00:00+01:00, status: resolved, body: Fixed.}
---
"""
    repo = load(make_repo({"content/incidents/a.md": text})).repo
    assert repo.get("incidents", "a").duration == timedelta(hours=6)  # type: ignore[union-attr]
    now = datetime(2026, 3, 13, 12, tzinfo=UTC)
    days = {d.date: d for d in uptime_by_component(repo, now, BERLIN, 10)["api"].days}
    assert days[date(2026, 3, 10)].seconds == {"major_outage": 6 * 3600}
    assert days[date(2026, 3, 11)].uptime == 100.0
    start = datetime(2026, 3, 10, tzinfo=BERLIN)
    metrics = compute(repo, start, now, now)
    assert metrics.uptime[0].major_outage == timedelta(hours=6)
    assert metrics.overall.mttr.mean == timedelta(hours=6)

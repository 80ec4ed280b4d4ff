"""`tidings metrics` on reviews: time from resolution to the review (started, published), and how
the action items are doing."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from tidings.cli.main import main
from tidings.content.load import load
from tidings.ops.metrics import compute

PEOPLE = "people:\n  - {id: alice, name: Alice Example}\n"

# A second resolved incident (no review), and one still open: neither counts for time to review.
OTHER = """\
---
title: Slow web
severity: low
status: resolved
started_at: 2026-03-15T09:00:00Z
resolved_at: 2026-03-15T09:30:00Z
updates:
  - {at: 2026-03-15T09:30:00Z, status: resolved, body: Fixed.}
---
"""
OPEN = """\
---
title: Still going
status: investigating
started_at: 2026-03-16T09:00:00Z
---
"""
# The demo-like incident resolved 2026-03-14T10:00Z: review started 1 day 2 h later, published after 3 days.
REVIEW = """\
---
incidents: [2026-03-14-api-errors]
created_at: 2026-03-15T12:00:00Z
published_at: 2026-03-17T10:00:00Z
action_items:
  - {title: One, owner: alice, due: 2026-03-20, status: done}
  - {title: Two, owner: alice, due: 2026-03-20}
  - {title: Three, owner: alice, due: 2026-04-20}
  - {title: Four, owner: alice, due: 2026-03-01, status: dropped}
---
"""
NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)


def _repo(make_repo):
    return make_repo(
        {
            "content/people.yml": PEOPLE,
            "content/incidents/2026-03-15-slow-web.md": OTHER,
            "content/incidents/2026-03-16-still-going.md": OPEN,
            "content/reviews/api.md": REVIEW,
        }
    )


def test_time_to_review_and_action_items(make_repo):
    repo = load(_repo(make_repo)).repo
    figures = compute(repo, datetime(2026, 3, 1, tzinfo=UTC), NOW, NOW).reviews
    assert figures.resolved == 2 and figures.unreviewed == 1
    assert (figures.to_review.count, figures.to_review.median) == (1, timedelta(days=1, hours=2))
    assert (figures.to_publish.count, figures.to_publish.median) == (1, timedelta(days=3))
    assert (figures.items, figures.done, figures.dropped, figures.open, figures.overdue) == (4, 1, 1, 2, 1)
    assert figures.done_share == 1 / 3
    # A period without the reviewed incident has none of its review.
    later = compute(repo, datetime(2026, 3, 15, tzinfo=UTC), NOW, NOW).reviews
    assert (later.resolved, later.to_review.count, later.items, later.done_share) == (1, 0, 0, None)


def test_the_command_reports_them_in_every_format(make_repo, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(NOW.timestamp())))
    root = _repo(make_repo)
    runner = CliRunner()
    data = json.loads(runner.invoke(main, ["metrics", "--format", "json", str(root)]).output)
    assert data["reviews"] == {
        "resolved_incidents": 2,
        "reviewed": 1,
        "unreviewed": 1,
        "time_to_review_seconds": {"mean": 93600.0, "median": 93600.0},
        "published": 1,
        "time_to_publish_seconds": {"mean": 259200.0, "median": 259200.0},
        "action_items": 4,
        "done": 1,
        "dropped": 1,
        "open": 2,
        "overdue": 1,
        "done_share": 0.3333,
    }
    assert "Time to review" in data["rules"]
    rows = list(
        csv.DictReader(io.StringIO(runner.invoke(main, ["metrics", "--format", "csv", str(root)]).output))
    )
    mine = {r["metric"]: r["value"] for r in rows if r["section"] == "reviews"}
    assert mine["time_to_review_median_seconds"] == "93600.0" and mine["overdue"] == "1"
    text = runner.invoke(main, ["metrics", str(root)]).output
    assert "time to review (started)          1  1 d 2 h  1 d 2 h" in text
    assert "1 of 2 resolved incidents have no review (left out)." in text
    assert "Action items: 4 (1 done, 2 open, 1 dropped), 33% done, 1 overdue." in text

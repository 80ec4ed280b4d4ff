"""Post-incident reviews as content: the file, its sections, and what validate says of it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from click.testing import CliRunner

from tidings.cli.main import main
from tidings.content.load import load
from tidings.content.model import Review
from tidings.content.review_sections import split_sections

PEOPLE = """\
people:
  - {id: alice, name: Alice Example, email: alice@example.com}
  - {id: bob, name: Bob Example, email: bob@example.com}
"""

REVIEW = """\
---
incidents: [2026-03-14-api-errors]
created_at: 2026-03-16T09:00:00Z
published_at: 2026-03-18T09:00:00Z
authors: [alice]
annotations:
  - at: 2026-03-14T09:05:00Z
    note: The first update came five minutes after the alert.
  - at: 2026-03-14T08:55:00Z
    note: A config change went out.
action_items:
  - title: Add a canary stage
    owner: alice
    due: 2026-03-20
    issue: https://gitlab.example.com/ops/-/issues/7
    priority: high
  - title: Page sooner
    owner: bob
    due: 2026-04-30
  - title: Write a runbook
    owner: bob
    due: 2026-03-01
    status: done
---
Written with the team on Monday.

## Summary

The API failed for an hour.

## Customer impact

Every API call failed.

## Contributing factors

```text
## not a heading: inside a code block
```
The canary stage was skipped.

## What went well

Rollback was fast.
"""

# 2026-03-25 noon, Berlin: the first item (due 03-20) is late, the second (due 04-30) is not.
NOW = datetime(2026, 3, 25, 11, 0, tzinfo=UTC)


def _repo(make_repo, review: str = REVIEW, site_extra: str = "", **more: str):
    files = {"content/people.yml": PEOPLE, "content/reviews/api-errors.md": review, **more}
    root = make_repo(files)
    if site_extra:
        site = root / ".gitlab" / "status-page.yml"
        site.write_text(site.read_text() + site_extra)
    return root


def _texts(result) -> list[str]:
    return [d.as_text() for d in result.diagnostics]


def test_a_review_loads_with_its_sections(make_repo, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1773964800")  # 2026-03-20: nothing overdue yet
    result = load(_repo(make_repo))
    assert _texts(result) == []
    (review,) = result.repo.reviews
    assert isinstance(review, Review) and review.id == "api-errors"
    assert [s.key for s in review.sections] == [
        "summary",
        "customer_impact",
        "contributing_factors",
        "what_went_well",
    ]
    assert "## not a heading" in review.sections[2].text
    assert review.preamble == "Written with the team on Monday."
    assert review.action_items[0].due == date(2026, 3, 20)
    assert review.heading({i.id: i for i in result.repo.incidents}) == "Review: API errors"
    assert result.repo.reviews_of("2026-03-14-api-errors") == [review]


def test_sections_split_on_level_two_headings_only():
    preamble, sections = split_sections("intro\n# Title\n## What went well?\ntext\n### detail\n## Next ##\n")
    assert preamble == "intro\n# Title"
    assert [(s.key, s.heading, s.text) for s in sections] == [
        ("what_went_well", "What went well?", "text\n### detail"),
        ("next", "Next", ""),
    ]


def test_overdue_action_items_warn_and_fail_strict(make_repo, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(NOW.timestamp())))
    root = _repo(make_repo)
    result = load(root)
    assert _texts(result) == [
        "content/reviews/api-errors.md:14:10: warning: action_items[0].due: action item 'Add a canary stage' "
        "(alice) was due on 2026-03-20 and is still open "
        "(mark it done or dropped, or give it a new due date) [overdue-action-item]"
    ]
    runner = CliRunner()
    assert runner.invoke(main, ["validate", "--no-cache", str(root)]).exit_code == 0
    strict = runner.invoke(main, ["validate", "--no-cache", "--strict", str(root)])
    assert strict.exit_code == 1 and "overdue-action-item" in strict.output


def test_due_today_is_not_overdue_in_the_sites_timezone(make_repo, monkeypatch):
    # 2026-03-20T23:30Z is already March 21 in Berlin, where the site lives: overdue there.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(datetime(2026, 3, 20, 22, 30, tzinfo=UTC).timestamp())))
    assert [d.code for d in load(_repo(make_repo)).diagnostics] == []
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(datetime(2026, 3, 20, 23, 30, tzinfo=UTC).timestamp())))
    assert [d.code for d in load(_repo(make_repo)).diagnostics] == ["overdue-action-item"]


def test_unknown_incidents_owners_and_bad_status_point_at_the_line(make_repo, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1773964800")
    broken = (
        REVIEW.replace("[2026-03-14-api-errors]", "[2026-03-14-api-error]")
        .replace("owner: bob\n    due: 2026-04-30", "owner: bobb\n    due: 2026-04-30")
        .replace("status: done", "status: don")
    )
    texts = _texts(load(_repo(make_repo, broken)))
    assert texts == [
        "content/reviews/api-errors.md:2:13: error: incidents[0]: unknown incident '2026-03-14-api-error' "
        "(did you mean '2026-03-14-api-errors'?) [unknown-reference]",
        "content/reviews/api-errors.md:18:12: error: action_items[1].owner: unknown person 'bobb' "
        "(did you mean 'bob'?) [unknown-reference]",
        "content/reviews/api-errors.md:23:13: error: action_items[2].status: 'don' is not one of: "
        "open, done, dropped (did you mean 'done'?) [bad-value]",
    ]


def test_annotations_name_real_updates_and_each_incident_has_one_review(make_repo, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1773964800")
    with_id = REVIEW.replace("  - at: 2026-03-14T09:05:00Z\n", "  - update: abcd1234\n")
    second = "---\nincidents: [2026-03-14-api-errors]\ncreated_at: 2026-03-17T09:00:00Z\n---\n"
    texts = _texts(load(_repo(make_repo, with_id, **{"content/reviews/again.md": second})))
    assert texts == [
        # Files are read in name order: again.md names it first.
        "content/reviews/api-errors.md:2:13: error: incidents[0]: incident '2026-03-14-api-errors' has a "
        "review already: content/reviews/again.md (review it in that file, or list the other incidents there "
        "too) [duplicate-review]",
        "content/reviews/api-errors.md:7:13: error: annotations[0].update: no update 'abcd1234' in the "
        "review's incidents (annotate by time instead: 'at: <time>') [unknown-reference]",
    ]


def test_a_review_is_required_only_where_the_site_says(make_repo, monkeypatch):
    # 2026-03-25: the incident (high, resolved 03-14) is 11 days past resolution.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(NOW.timestamp())))
    files = {"content/people.yml": PEOPLE}
    root = make_repo(files)
    assert [d.code for d in load(root).diagnostics] == []
    site = root / ".gitlab" / "status-page.yml"
    base = site.read_text()
    site.write_text(base + "reviews:\n  required_for: [critical, high]\n  within_days: 7\n")
    assert _texts(load(root)) == [
        "content/incidents/2026-03-14-api-errors.md:7:14: warning: resolved_at: a high incident resolved on "
        "2026-03-14 has no post-incident review 7 days on (start one: tidings review open "
        "2026-03-14-api-errors) [no-review]"
    ]
    site.write_text(base + "reviews:\n  required_for: [critical, high]\n  within_days: 14\n")
    assert load(root).diagnostics == []  # not due yet
    site.write_text(base + "reviews:\n  required_for: [critical]\n  within_days: 7\n")
    assert load(root).diagnostics == []  # not this severity
    site.write_text(base + "reviews:\n  required_for: [high]\n  within_days: 7\n  since: 2026-03-15\n")
    assert load(root).diagnostics == []  # resolved before `since`
    site.write_text(base + "reviews:\n  required_for: [high]\n  within_days: 7\n")
    (root / "content" / "reviews").mkdir()
    (root / "content" / "reviews" / "r.md").write_text(
        "---\nincidents: [2026-03-14-api-errors]\ncreated_at: 2026-03-24T09:00:00Z\n---\n"
    )
    assert load(root).diagnostics == []  # it has one


def test_site_settings_are_checked_with_did_you_mean(make_repo):
    root = _repo(make_repo, site_extra="reviews:\n  required_for: [hihg]\n  public_section: [summary]\n")
    texts = _texts(load(root))
    assert any("required_for[0]: 'hihg' is not one of" in t and "did you mean 'high'?" in t for t in texts)
    assert any("public_section" in t and "did you mean 'public_sections'?" in t for t in texts)

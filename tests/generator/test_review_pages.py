"""Reviews on the sites: the public part on the incident page (and nothing else changes), the whole
review on the internal site, with its timeline and the open action items per owner."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.generator.test_internal import Page, read
from tests.tidings.test_review_metrics import NOW as METRICS_NOW
from tests.tidings.test_review_metrics import _repo as metrics_repo
from tidings.generator.build import build
from tidings.generator.internal import build_internal

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
annotations:
  - at: 2026-03-14T09:05:00Z
    note: The first update came five minutes after the alert.
  - at: 2026-03-14T08:55:00Z
    note: A config change went out.
action_items:
  - {title: Page sooner, owner: bob, due: 2026-04-30}
  - {title: Add a canary stage, owner: alice, due: 2026-03-20, issue: "https://gitlab.example.com/o/-/issues/7"}
  - {title: Write a runbook, owner: alice, due: 2026-03-01, status: done}
  - {title: Fix the docs, owner: alice, due: 2026-05-01}
---
## Summary

The API failed for an hour.

## Customer impact

Every API call failed.

## Contributing factors

The canary stage was skipped.
"""
INCIDENT = "incidents/2026-03-14-api-errors.html"
NOW = "1774436400"  # 2026-03-25T11:00Z: alice's canary item (due 03-20) is late


@pytest.fixture
def repo(make_repo, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOW)
    return make_repo({"content/people.yml": PEOPLE})


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_draft_changes_no_public_byte_and_a_published_review_only_its_incident_page(repo, tmp_path):
    build(repo, tmp_path / "before", cache=False)
    (repo / "content/reviews").mkdir()
    review = repo / "content/reviews/api.md"
    review.write_text(REVIEW.replace("published_at: 2026-03-18T09:00:00Z\n", ""))
    build(repo, tmp_path / "draft", cache=False)
    before, draft = _files(tmp_path / "before"), _files(tmp_path / "draft")
    assert before == draft

    review.write_text(REVIEW)
    build(repo, tmp_path / "published", cache=False)
    published = _files(tmp_path / "published")
    assert [p for p in published if published[p] != before.get(p)] == [INCIDENT]
    page = published[INCIDENT].decode()
    part = page[page.index('<section class="review"') :]
    assert "Post-incident review" in part and "The API failed for an hour." in part
    assert "Every API call failed." in part
    for private in ("canary", "config change", "Page sooner", "five minutes", "bob", "alice"):
        assert private not in page, private


def test_the_site_chooses_the_public_sections(repo, tmp_path):
    (repo / "content/reviews").mkdir()
    (repo / "content/reviews/api.md").write_text(REVIEW)
    site = repo / ".gitlab/status-page.yml"
    site.write_text(site.read_text() + "reviews:\n  public_sections: [contributing_factors]\n")
    build(repo, tmp_path / "out", cache=False)
    page = (tmp_path / "out" / INCIDENT).read_text()
    assert "The canary stage was skipped." in page
    assert "The API failed for an hour." not in page and "Every API call failed." not in page


def test_an_edited_review_rerenders_its_incident_page_incrementally(repo, tmp_path):
    (repo / "content/reviews").mkdir()
    review = repo / "content/reviews/api.md"
    review.write_text(REVIEW)
    out = tmp_path / "out"
    build(repo, out)
    review.write_text(REVIEW.replace("The API failed for an hour.", "The API failed for sixty minutes."))
    result = build(repo, out)
    assert result.rendered >= 1
    assert "The API failed for sixty minutes." in (out / INCIDENT).read_text()
    build(repo, tmp_path / "cold", cache=False)
    assert _files(out) == {k: v for k, v in _files(tmp_path / "cold").items()}


def test_the_internal_site_lists_reviews_and_open_items_per_owner_overdue_first(repo, tmp_path):
    (repo / "content/reviews").mkdir()
    (repo / "content/reviews/api.md").write_text(REVIEW)
    out = tmp_path / "internal"
    build_internal(repo, out)

    index = (out / "reviews/index.html").read_text()
    owners = re.findall(r'<h3 id="owner-([a-z]+)">', index)
    assert owners == ["alice", "bob"]  # alice has an overdue item
    alice = index[index.index('id="owner-alice"') : index.index('id="owner-bob"')]
    rows = re.findall(r"<tr( class=\"overdue\")?>\n<td>([^<]+)</td>", alice)
    assert rows == [(' class="overdue"', "Mar 20, 2026"), ("", "May 1, 2026")]  # not the done one
    assert "Write a runbook" not in index
    assert "../reviews/api.html" in Page(index).links

    text = " ".join(" ".join(read(out, "reviews/api.html").text).split())
    assert "Review: API errors" in text and "Contributing factors" in text
    assert "The canary stage was skipped." in text  # internal sections too
    # The timeline, from the incident: its updates, with the annotations joined or on their own.
    assert text.index("A config change went out.") < text.index("We are looking into errors on the API.")
    assert "Review note: The first update came five minutes after the alert." in text
    assert "Write a runbook" in text and "Overdue" in text

    incident = read(out, INCIDENT)
    assert "../reviews/api.html" in incident.links
    assert "reviews/index.html" in read(out, "index.html").links  # in the navigation
    overview = " ".join(" ".join(read(out, "index.html").text).split())
    assert "3 open action items from post-incident reviews, 1 overdue." in overview


def test_the_internal_metrics_page_shows_them(make_repo, monkeypatch, tmp_path):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(METRICS_NOW.timestamp())))
    out = tmp_path / "internal"
    build_internal(metrics_repo(make_repo), out)
    html = (out / "metrics/index.html").read_text()
    assert '<tr><th scope="row">Review started</th><td>1</td><td>1 d 2 h</td>' in html
    assert (
        "1 of 2 resolved incidents without a review. Action items: 4 (1 done, 2 open, 1 dropped), 33% done"
        in html
    )

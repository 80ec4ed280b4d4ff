"""Incidents kept lazily by the parse cache: a summary answers as the whole incident does, and a build
after one edit loads whole only the incidents of the pages it renders again."""

from __future__ import annotations

import os
import pickle
import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tidings.content.cache import ParseCache
from tidings.content.lazy import SUMMARY_FIELDS, Lazy, LazyItem
from tidings.content.load import parse_content
from tidings.generator.build import Warm, build

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
INCIDENTS = "content/incidents"

# Incidents whose summaries are easy to get wrong: no updates; only internal updates (the public
# view has none); resolved without resolved_at (duration from the last update); an update before the
# start; unpublished; mentions redacted in the public view.
ODD = {
    "no-updates": """---
title: No updates
severity: low
status: investigating
published: true
started_at: 2026-11-01T10:00:00Z
components:
  api: degraded_performance
---
""",
    "internal-only": """---
title: Only internal updates
severity: high
status: resolved
published: true
started_at: 2026-11-02T10:00:00Z
components:
  api: partial_outage
  web: degraded_performance
updates:
  - at: 2026-11-02T10:05:00Z
    status: investigating
    body: "@alice is on it"
    internal: true
  - at: 2026-11-02T11:00:00Z
    status: resolved
    body: fixed
    internal: true
---
""",
    "resolved-without-time": """---
title: Resolved without a time
severity: low
status: resolved
published: true
started_at: 2026-11-03T10:00:00Z
updates:
  - at: 2026-11-03T09:55:00Z
    status: investigating
    body: seen before the start
  - at: 2026-11-03T12:00:00Z
    status: resolved
    body: done, thanks @bob
---
""",
    "unpublished": """---
title: Not for the public
severity: critical
status: identified
published: false
started_at: 2026-11-04T10:00:00Z
components:
  web: major_outage
updates:
  - at: 2026-11-04T10:01:00Z
    status: identified
    body: found it
---
""",
}


def lazy_copy(parsed):
    """The parsed file as a later run reads it back from the cache file: its head and a blob."""
    back = pickle.loads(pickle.dumps(Lazy.of(parsed)))
    assert isinstance(back, Lazy) and back._whole is None
    return back


def demo_and_odd_incidents():
    texts = {p.stem: p.read_text() for p in sorted((PROJECT_ROOT / INCIDENTS).glob("*.md"))}
    return {**texts, **ODD}


@pytest.mark.parametrize("name", sorted(demo_and_odd_incidents()))
def test_a_summary_answers_as_the_whole_incident_and_its_public_view(name):
    parsed = parse_content(f"{INCIDENTS}/{name}.md", demo_and_odd_incidents()[name])
    assert parsed.domain is not None, parsed.doc.diagnostics
    for role, whole in (("domain", parsed.domain), ("public", parsed.public)):
        back = lazy_copy(parsed)
        item = back.lazy_domain() if role == "domain" else back.lazy_public()
        if whole is None:  # unpublished: no public view, and none is made of the summary
            assert item is None
            continue
        assert isinstance(item, LazyItem)
        for field in SUMMARY_FIELDS:
            assert getattr(item, field) == getattr(whole, field), (role, field)
        assert back._whole is None  # all of that from the summary
        # Anything else loads the whole, and answers as it does.
        assert item.title == whole.title and item.updates == whole.updates
        assert item.model_dump() == whole.model_dump()
    back = lazy_copy(parsed)
    assert back.references() == parsed.references()
    assert list(back.diagnostics) == parsed.doc.diagnostics


def test_checks_kept_with_a_file_hold_until_the_clock_passes_its_start():
    text = ODD["no-updates"].replace("2026-11-01T10:00:00Z", "2026-12-10T10:00:00Z")
    parsed = parse_content(f"{INCIDENTS}/future.md", text)
    before = parsed.file_checks(NOW)
    assert "future-start" in [d.code for d in before]
    back = lazy_copy(parsed)
    assert back.file_checks(NOW) == before and back._whole is None  # kept: not checked again
    later = back.file_checks(NOW + timedelta(days=30))  # started by then: checked again
    assert "future-start" not in [d.code for d in later]
    # The next runs keep the newer findings in the head, even when a run loads the file whole only to
    # show it (its blob still holds the findings it was parsed with).
    again = pickle.loads(pickle.dumps(back))
    assert again.file_checks(NOW + timedelta(days=30)) == later and again._whole is None
    assert again.lazy_domain().title  # shown: loaded whole
    third = pickle.loads(pickle.dumps(again))
    assert third.file_checks(NOW + timedelta(days=30)) == later and third._whole is None
    assert back._whole is not None


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def settle(root: Path) -> None:
    """Files as if written an hour ago (a file written just now is read again, whatever its stat)."""
    old = time.time_ns() - 3600 * 10**9
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(old, old))


def on_one_component(text: str, component: str) -> str:
    """An incident's text with its components: mapping replaced by one component."""
    lines, out, skipping = text.split("\n"), [], False
    for line in lines:
        if line == "components:":
            skipping = True
            continue
        if skipping and line.startswith("  "):
            continue
        skipping = False
        out.append(line)
    assert out[0] == "---"
    return "\n".join([out[0], f"components: {{{component}: degraded_performance}}", *out[1:]])


def years_back(text: str, years: int) -> str:
    return re.sub(r"\b(20\d\d)-", lambda m: f"{int(m.group(1)) - years}-", text)


def loaded_copies(warm: Warm) -> tuple[set[str], set[str]]:
    """(the old copies read whole in the build that used `warm`, the hundred newest of them)."""
    lazies = [v for v in warm.parse_cache._used.values() if isinstance(v, Lazy) and v.kind == "incident"]
    copies = [v for v in lazies if re.search(r"-\d+y$", v.id)]
    assert len(copies) >= 400
    started = SUMMARY_FIELDS.index("started_at")
    newest = sorted(copies, key=lambda v: v.head.domain[started], reverse=True)[:100]
    return {v.id for v in copies if v._whole is not None}, {v.id for v in newest}


def test_a_build_after_one_edit_loads_whole_only_the_incidents_it_renders_again(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content")
    folder = root / INCIDENTS
    originals = sorted(folder.glob("*.md"))
    # Four hundred more: the demo's resolved ones (an active one is news on every page), shifted back
    # by whole years, all on one component (whose page shows its newest fifty).
    resolved = [p for p in originals if "\nstatus: resolved\n" in p.read_text()]
    for years in range(1, 400 // len(resolved) + 2):
        for path in resolved:
            text = years_back(on_one_component(path.read_text(), "ci"), years)
            (folder / f"{path.stem}-{years}y.md").write_text(text)
    # And a review of an old one: the review checks read its incidents' summaries, not the incidents.
    review = (root / "content" / "reviews" / "2026-07-08-api-errors.md").read_text()
    reviewed = years_back(review, 20).replace("2026-07-08-api-errors", "2006-07-08-api-errors")
    reviewed = reviewed.replace(
        "incidents: [2006-07-08-api-errors]", "incidents: [2026-07-08-api-errors-20y]"
    )
    (root / "content" / "reviews" / "old-review.md").write_text(reviewed)
    out = tmp_path / "public"
    build(root, out, now=NOW)
    settle(root)
    build(root, out, now=NOW)  # the stats of settled files recorded

    # An hour later, nothing edited: the pages about the present again.
    later = NOW + timedelta(hours=1)
    warm = Warm(ParseCache(root))  # a fresh process's cache, read back from the file
    assert build(root, out, now=later, warm=warm).rendered > 0
    loaded, newest = loaded_copies(warm)
    assert loaded <= newest, sorted(loaded - newest)[:5]

    edited = folder / originals[0].name
    edited.write_text(edited.read_text().replace("title: ", "title: Edited, ", 1))
    warm = Warm(ParseCache(root))
    result = build(root, out, now=later, warm=warm)
    assert 0 < result.rendered < result.files
    # Whole: what the pages rendered again show (the edited incident's page and month, the index,
    # the API's and the feeds' newest fifty each, the component's newest fifty). Of the old history,
    # at most the hundred newest; the rest is known by its summary alone.
    loaded, newest = loaded_copies(warm)
    assert loaded <= newest, sorted(loaded - newest)[:5]

    cold = tmp_path / "cold"
    build(root, cold, now=later, cache=False)
    assert tree(out) == tree(cold)

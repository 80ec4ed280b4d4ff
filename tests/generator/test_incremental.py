"""Incremental builds: after an edit, an addition, a deletion or a rename, the site is byte for byte
what a cold build writes, and only the pages that depend on the change are rendered again."""

from __future__ import annotations

import os
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tidings.content.cache import ParseCache
from tidings.generator import write
from tidings.generator.build import Rebuilds, build
from tidings.generator.problems import BuildFailed

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
INCIDENTS = "content/incidents"


def tree(folder: Path) -> dict[str, bytes]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def assert_same_as_cold(root: Path, out: Path, tmp_path: Path, name: str) -> None:
    cold = tmp_path / f"cold-{name}"
    build(root, cold, now=NOW, cache=False)
    incremental, expected = tree(out), tree(cold)
    assert sorted(incremental) == sorted(expected)
    assert [p for p in expected if incremental[p] != expected[p]] == []


def settle(root: Path) -> None:
    """Every file under `root` as if last written an hour ago: a file written within the last seconds
    is never taken as unchanged by its stat (cache.settled), and these tests are about the others."""
    an_hour_ago = time.time_ns() - 3600 * 10**9
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(an_hour_ago, an_hour_ago))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content")
    settle(root)
    return root


def inode(path: Path) -> int:
    return path.stat().st_ino


def test_edit_add_delete_rename_each_equal_a_cold_build(repo, tmp_path):
    out = tmp_path / "public"
    first = build(repo, out, now=NOW)
    assert first.reused == 0
    untouched = out / "incidents" / "2026-06-03-ci-runner-queue.html"
    before = inode(untouched)

    again = build(repo, out, now=NOW)
    assert again.rendered == 0 and again.reused == again.files  # nothing changed, nothing written
    assert inode(untouched) == before

    # Edit one incident's title.
    edited = repo / INCIDENTS / "2026-07-08-api-errors.md"
    edited.write_text(edited.read_text().replace("title: ", "title: Edited, ", 1))
    result = build(repo, out, now=NOW)
    assert "Edited, " in (out / "incidents" / "2026-07-08-api-errors.html").read_text()
    assert 0 < result.rendered < result.files / 2
    assert inode(untouched) == before  # a page that does not depend on the edit is not rewritten
    assert_same_as_cold(repo, out, tmp_path, "edit")

    # Add one (a copy with a new id).
    shutil.copy(edited, repo / INCIDENTS / "2026-07-09-api-errors-again.md")
    result = build(repo, out, now=NOW)
    assert (out / "incidents" / "2026-07-09-api-errors-again.html").is_file()
    assert 0 < result.rendered < result.files / 2
    assert_same_as_cold(repo, out, tmp_path, "add")

    # Delete one.
    (repo / INCIDENTS / "2026-07-09-api-errors-again.md").unlink()
    build(repo, out, now=NOW)
    assert not (out / "incidents" / "2026-07-09-api-errors-again.html").exists()
    assert_same_as_cold(repo, out, tmp_path, "delete")

    # Rename one: its page moves, nothing is left at the old path. (The demo's review names it: a
    # person renaming it updates the review too, or validate and the build say the id is unknown.)
    edited.rename(repo / INCIDENTS / "2026-07-08-api-errors-renamed.md")
    review = repo / "content/reviews/2026-07-08-api-errors.md"
    renamed = review.read_text().replace("[2026-07-08-api-errors]", "[2026-07-08-api-errors-renamed]")
    review.write_text(renamed)
    build(repo, out, now=NOW)
    assert (out / "incidents" / "2026-07-08-api-errors-renamed.html").is_file()
    assert not (out / "incidents" / "2026-07-08-api-errors.html").exists()
    assert_same_as_cold(repo, out, tmp_path, "rename")
    assert inode(untouched) == before


def test_templates_settings_and_the_clock_reach_every_page_that_shows_them(repo, tmp_path):
    out = tmp_path / "public"
    build(repo, out, now=NOW)
    # A theme override: every page extends base.html.
    (repo / "site_templates").mkdir()
    (repo / "site_templates" / "base.html").write_text(
        '{% extends "default:base.html" %}{% block feeds %}{{ super() }}<meta name="x-test" content="1">'
        "{% endblock %}"
    )
    result = build(repo, out, now=NOW)
    pages = list(out.rglob("*.html"))
    assert result.rendered == len(pages)  # every page, and nothing else (feeds, API, badges stay)
    assert all('name="x-test"' in p.read_text() for p in pages)
    assert_same_as_cold(repo, out, tmp_path, "theme")
    # A component renamed in the site settings shows on incident pages.
    site = repo / ".gitlab" / "status-page.yml"
    site.write_text(site.read_text().replace("name: REST API", "name: Public REST API"))
    build(repo, out, now=NOW)
    assert "Public REST API" in (out / "incidents" / "2026-07-08-api-errors.html").read_text()
    assert_same_as_cold(repo, out, tmp_path, "settings")
    # A day later: the index and the pages about now change, incident pages stay.
    later = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)
    page = out / "incidents" / "2026-06-03-ci-runner-queue.html"
    before = inode(page)
    build(repo, out, now=later)
    assert inode(page) == before
    cold = tmp_path / "cold-later"
    build(repo, cold, now=later, cache=False)
    assert tree(out) == tree(cold)


def test_a_folder_changed_by_hand_is_not_trusted(repo, tmp_path):
    out = tmp_path / "public"
    build(repo, out, now=NOW)
    shutil.rmtree(out)
    out.mkdir()  # someone emptied it: there is nothing to take over
    result = build(repo, out, now=NOW)
    assert result.reused == 0
    assert_same_as_cold(repo, out, tmp_path, "emptied")


def test_the_cache_is_safe_to_delete_and_processes_render_the_same(repo, tmp_path, monkeypatch):
    monkeypatch.setattr(write, "PARALLEL_MIN", 1)  # the demo is small: use processes anyway
    out = tmp_path / "public"
    build(repo, out, now=NOW, workers=2)
    assert_same_as_cold(repo, out, tmp_path, "processes")
    shutil.rmtree(repo / ".tidings-cache")
    result = build(repo, out, now=NOW)
    assert result.reused == 0  # no manifest: everything rendered afresh
    assert_same_as_cold(repo, out, tmp_path, "no-cache")


def test_unchanged_inputs_stop_at_once_and_keep_their_warnings(repo, tmp_path):
    (repo / "content" / "notes.txt").write_text("not content")  # a warning: an ignored file
    out = tmp_path / "public"
    first = build(repo, out, now=NOW)
    # (and the demo's own: its review's overdue action item)
    assert [w.code for w in first.warnings] == ["unknown-file", "overdue-action-item"]
    assert not first.inputs_unchanged
    # (notes.txt was written a moment ago: it counts by its bytes, which have not changed.)
    again = build(repo, out, now=NOW)
    assert again.inputs_unchanged and again.warnings == first.warnings and again.files == first.files
    # The same bytes with a new mtime: looked at again, and nothing needs writing.
    page = repo / INCIDENTS / "2026-07-08-api-errors.md"
    os.utime(page, ns=(page.stat().st_atime_ns, page.stat().st_mtime_ns + 1_000_000))
    touched = build(repo, out, now=NOW)
    assert not touched.inputs_unchanged and touched.rendered == 0
    # Another clock: the pages about now are rendered again.
    later = build(repo, out, now=datetime(2026, 12, 1, 21, 0, tzinfo=UTC))
    assert not later.inputs_unchanged and later.rendered > 0


def test_a_damaged_output_folder_is_repaired_by_the_next_build(repo, tmp_path):
    out = tmp_path / "public"
    build(repo, out, now=NOW)
    (out / "index.html").unlink()
    (out / "incidents" / "2026-07-08-api-errors.html").write_text("changed by hand")
    again = build(repo, out, now=NOW)
    assert not again.inputs_unchanged  # the inputs are the same, but the folder is not what was written
    assert_same_as_cold(repo, out, tmp_path, "repaired")


def test_a_symlinked_content_folder_edited_in_place_is_rebuilt(repo, tmp_path):
    real = tmp_path / "elsewhere"
    shutil.move(repo / INCIDENTS, real)
    (repo / INCIDENTS).symlink_to(real)
    out = tmp_path / "public"
    build(repo, out, now=NOW)
    page = real / "2026-07-08-api-errors.md"
    with page.open("r+") as handle:  # an in-place edit: the folder itself does not change
        text = handle.read()
        handle.seek(0)
        handle.write(text.replace("title: ", "title: Linked, ", 1))
    result = build(repo, out, now=NOW)
    assert not result.inputs_unchanged
    assert "Linked, " in (out / "incidents" / "2026-07-08-api-errors.html").read_text()
    assert_same_as_cold(repo, out, tmp_path, "symlinked")


def test_the_page_key_reads_the_public_view_module_itself():
    """Moved modules must not drop out of the key silently (the key reads a missing file as '-')."""
    import tidings.content.public
    from tidings.generator.build import public_module

    assert public_module().is_file()
    assert public_module().samefile(tidings.content.public.__file__)


def test_alert_records_are_never_read_by_a_public_build(repo, tmp_path):
    """The runner writes alert records by the thousand; a public build neither reads them nor stops
    for them: new ones leave the inputs unchanged, and a broken one is validate's to report."""
    out = tmp_path / "public"
    first = build(repo, out, now=NOW)
    alerts = repo / "content" / "alerts"
    alerts.mkdir(exist_ok=True)
    (alerts / "prometheus-0123456789ab.yml").write_text("title: [broken\n")
    again = build(repo, out, now=NOW)
    assert again.inputs_unchanged and again.files == first.files
    from tidings.content.load import load

    assert any(d.path.startswith("content/alerts/") for d in load(repo).errors)  # validate sees it


def test_a_build_into_its_own_folder_updates_it_in_place(repo, tmp_path):
    """No new folder and no hard links: the folder stays, changed files are replaced one by one, and
    what no output wants (a file put there by hand, a folder left empty) goes, as a swap would do."""
    out = tmp_path / "public"
    build(repo, out, now=NOW)
    folder, marker = inode(out), inode(out / write.MARKER)
    (out / "stray" / "empty").mkdir(parents=True)
    (out / "stray" / "by-hand.html").write_text("not ours")
    (out / "also-empty").mkdir()
    (out / "incidents" / "by-hand.html").write_text("not ours")
    edited = repo / INCIDENTS / "2026-07-08-api-errors.md"
    edited.write_text(edited.read_text().replace("title: ", "title: Edited, ", 1))
    build(repo, out, now=NOW)
    assert inode(out) == folder and inode(out / write.MARKER) == marker
    assert not (out / "stray").exists() and not (out / "incidents" / "by-hand.html").exists()
    assert not (out / "also-empty").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["public", "repo"]  # no staging folder left
    assert_same_as_cold(repo, out, tmp_path, "in-place")
    assert not list((repo / ".tidings-cache").glob("*.journal"))


def test_a_template_error_in_an_update_leaves_the_site_as_it_was(repo, tmp_path):
    out = tmp_path / "public"
    build(repo, out, now=NOW)
    before = tree(out)
    edited = repo / INCIDENTS / "2026-07-08-api-errors.md"
    edited.write_text(edited.read_text().replace("title: ", "title: Edited, ", 1))
    (repo / "site_templates").mkdir()
    (repo / "site_templates" / "incident.html").write_text("{% extends 'default:incident.html' %}{{ nope( }}")
    with pytest.raises(BuildFailed):
        build(repo, out, now=NOW)
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["public", "repo"]  # no staging folder left


def test_an_interrupted_update_is_repaired_by_the_next_build(repo, tmp_path, monkeypatch):
    """Stopped half way through replacing files (Ctrl-C, a killed CI job), the folder holds some new
    pages and some old. The journal names every path the update was changing, so the next build
    trusts none of them, even a page whose size and time look exactly as the manifest recorded."""
    out = tmp_path / "public"
    build(repo, out, now=NOW)
    page = out / "incidents" / "2026-07-08-api-errors.html"
    recorded = page.stat()
    source = repo / INCIDENTS / "2026-07-08-api-errors.md"
    original = source.read_text()
    # Same length, so the half-written site's page keeps its size: only the journal can tell.
    source.write_text(original.replace("title: REST API", "title: REST APX", 1))
    (repo / INCIDENTS / "2026-06-03-ci-runner-queue.md").unlink()

    real_replace, moved = os.replace, []

    def interrupted(src: str, dst: str) -> None:
        if str(dst).startswith(str(out)):
            if moved and moved[-1] == str(page):
                raise KeyboardInterrupt  # the page after the edited one: stop there
            moved.append(str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(repo, out, now=NOW)
    monkeypatch.undo()
    assert list((repo / ".tidings-cache").glob("*.journal"))
    assert "REST APX" in page.read_text()  # half way: the edited page is replaced...
    assert (out / "incidents" / "2026-06-03-ci-runner-queue.html").exists()  # ...the deleted one not yet gone
    # The edit is undone, and the new page given the old one's size and time, as a coarse clock would.
    source.write_text(original)
    assert page.stat().st_size == recorded.st_size
    os.utime(page, ns=(recorded.st_atime_ns, recorded.st_mtime_ns))
    build(repo, out, now=NOW)
    assert "REST APX" not in page.read_text()
    assert_same_as_cold(repo, out, tmp_path, "interrupted")
    assert not list((repo / ".tidings-cache").glob("*.journal"))


def test_rebuilds_in_one_process_keep_parsed_files_in_memory_and_equal_a_cold_build(repo, tmp_path):
    """`tidings serve` rebuilds with the parsed files of its last build in memory: the cache file is
    not read again (here it is gone), and every result is still what a cold build writes, after an
    edit, an addition, a deletion, a build that failed and the fix."""
    out = tmp_path / "public"
    rebuilds = Rebuilds(repo, out)
    first = rebuilds(now=NOW)
    files = len(list((repo / INCIDENTS).glob("*.md")))
    assert not first.inputs_unchanged
    for stored in (repo / ".tidings-cache").glob("parsed*.pickle"):
        stored.unlink()
    assert rebuilds(now=NOW).inputs_unchanged

    edited = repo / INCIDENTS / "2026-07-08-api-errors.md"
    edited.write_text(edited.read_text().replace("title: ", "title: Edited, ", 1))
    rebuilds(now=NOW)
    assert rebuilds.warm is not None and rebuilds.warm.parse_cache.hits >= files - 1  # all but the edited one
    assert_same_as_cold(repo, out, tmp_path, "warm-edit")

    shutil.copy(edited, repo / INCIDENTS / "2026-07-09-api-errors-again.md")
    rebuilds(now=NOW)
    assert_same_as_cold(repo, out, tmp_path, "warm-add")
    (repo / INCIDENTS / "2026-06-03-ci-runner-queue.md").unlink()
    rebuilds(now=NOW)
    assert_same_as_cold(repo, out, tmp_path, "warm-delete")

    good = edited.read_text()
    edited.write_text(good.replace("status: resolved", "status: nope", 1))
    with pytest.raises(BuildFailed):
        rebuilds(now=NOW)
    edited.write_text(good.replace("title: Edited, ", "title: Fixed, ", 1))
    rebuilds(now=NOW)
    assert "Fixed, " in (out / "incidents" / "2026-07-08-api-errors.html").read_text()
    assert_same_as_cold(repo, out, tmp_path, "warm-fixed")
    # A theme override made while it runs: the templates it compiled before are not used.
    (repo / "site_templates").mkdir()
    (repo / "site_templates" / "incident.html").write_text(
        '{% extends "default:incident.html" %}{% block feeds %}{{ super() }}<meta name="x-warm" content="1">'
        "{% endblock %}"
    )
    rebuilds(now=NOW)
    assert 'name="x-warm"' in (out / "incidents" / "2026-07-08-api-errors.html").read_text()
    assert_same_as_cold(repo, out, tmp_path, "warm-theme")
    # What the process kept in memory was saved too: a new process starts warm.
    assert ParseCache(repo).get(ParseCache.key(f"{INCIDENTS}/{edited.name}", edited.read_bytes())) is not None


def test_feeds_are_rendered_again_only_when_the_updates_they_choose_change(repo, tmp_path):
    """A feed shows the newest few updates: an edit to an old incident leaves every feed as it was
    (not even rewritten), an edit to one it shows changes it, and both equal a cold build."""
    site = repo / ".gitlab" / "status-page.yml"
    site.write_text(site.read_text().replace("entries: 50", "entries: 2"))
    out = tmp_path / "public"
    build(repo, out, now=NOW)
    feeds = sorted([*out.glob("history.*"), *out.glob("components/*.rss"), *out.glob("components/*.atom")])
    assert len(feeds) > 2
    before = {feed: inode(feed) for feed in feeds}
    old = repo / INCIDENTS / "2026-06-03-ci-runner-queue.md"
    old.write_text(old.read_text().replace("title: ", "title: Old, ", 1))
    build(repo, out, now=NOW)
    assert {feed: inode(feed) for feed in feeds} == before
    assert_same_as_cold(repo, out, tmp_path, "old-edit")
    shown = re.search(r"incidents/([\w.-]+)\.html", (out / "history.rss").read_text())
    assert shown is not None
    newest = repo / INCIDENTS / f"{shown.group(1)}.md"
    newest.write_text(newest.read_text().replace("title: ", "title: New, ", 1))
    build(repo, out, now=NOW)
    assert "New, " in (out / "history.rss").read_text()
    assert_same_as_cold(repo, out, tmp_path, "new-edit")


def test_an_edit_that_keeps_the_size_is_seen(repo, tmp_path):
    """Unchanged files are known by their stat (size, times, inode), not read again: an edit of the
    same length still changes the times, and the page follows."""
    out = tmp_path / "public"
    build(repo, out, now=NOW)
    build(repo, out, now=NOW)  # the stats recorded, now that the files are settled
    page = repo / INCIDENTS / "2026-07-08-api-errors.md"
    text = page.read_text()
    assert "title: REST API" in text
    page.write_text(text.replace("title: REST API", "title: REST APX", 1))
    assert page.stat().st_size == len(text.encode())
    settle(repo)  # as if edited an hour ago: known by its stat, not read for being new
    build(repo, out, now=NOW)
    assert "REST APX" in (out / "incidents" / "2026-07-08-api-errors.html").read_text()
    assert_same_as_cold(repo, out, tmp_path, "same-size")


def test_a_later_build_takes_markdown_conversions_from_the_cache(repo, tmp_path):
    """The pages about now (the index, components, the API) show the same updates build after build:
    their Markdown is converted once and kept in the cache folder, and what is kept renders the same."""
    from tidings.generator import markup

    out = tmp_path / "public"
    build(repo, out, now=NOW)
    markup._to_html.cache_clear()  # as a new process starts
    later = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    result = build(repo, out, now=later)
    assert result.rendered > 0
    assert markup._to_html.cache_info().currsize == 0  # nothing converted again
    cold = tmp_path / "cold"
    build(repo, cold, now=later, cache=False)
    assert tree(cold) == tree(out)


def test_a_file_dated_in_the_future_is_judged_by_its_bytes(repo, tmp_path):
    """Its times say nothing (an archive from a clock that runs ahead): an unchanged repo still stops
    at once, and an edit that keeps those times is still seen."""
    page = repo / INCIDENTS / "2026-07-08-api-errors.md"
    future = time.time_ns() + 86400 * 10**9
    os.utime(page, ns=(future, future))
    out = tmp_path / "public"
    build(repo, out, now=NOW)
    assert build(repo, out, now=NOW).inputs_unchanged
    page.write_text(page.read_text().replace("title: REST API", "title: REST APX", 1))
    os.utime(page, ns=(future, future))
    result = build(repo, out, now=NOW)
    assert not result.inputs_unchanged
    assert "REST APX" in (out / "incidents" / "2026-07-08-api-errors.html").read_text()
    assert build(repo, out, now=NOW).inputs_unchanged
    assert_same_as_cold(repo, out, tmp_path, "future")

"""`tidings review open|list` on a real git repo (a committed copy of the demo), and the timeline a
review reads from its incidents."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tidings.cli.main import main
from tidings.content.load import load
from tidings.content.model import Review
from tidings.ops.reviews import timeline

from ..conftest import PROJECT_ROOT

AMARA = ("Amara Okafor", "amara.okafor@example.com")
DNS = "2026-09-11-dns-resolution"  # demo: critical, resolved, no review
API = "2026-07-08-api-errors"  # demo: the one with a review
# 2026-12-01: the demo review's item due 2026-08-15 is late, the one due 2027-03-31 is not.
NOW = "1796083200"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo, committed in a fresh repo whose git user is Amara (a person in people.yml)."""
    root = tmp_path / "status"
    root.mkdir()
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.name", AMARA[0])
    _git(root, "config", "user.email", AMARA[1])
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "Start")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOW)
    return root


def tidings(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_open_starts_a_review_from_the_template_with_the_timeline_and_commits_it(repo: Path) -> None:
    run = tidings("review", "open", DNS, repo)
    assert run.exit_code == 0, run.output
    rel = f"content/reviews/{DNS}.md"
    assert run.output.startswith(f"opened review {rel} by amara (commit ")
    assert _git(repo, "status", "--porcelain") == ""
    assert _git(repo, "log", "-1", "--format=%an <%ae>|%s").strip() == (
        f"Amara Okafor <amara.okafor@example.com>|Open review of incident {DNS} by amara"
    )
    trailers = _git(repo, "log", "-1", "--format=%(trailers:only)").split("\n")
    assert f"Tidings-Review: {DNS}" in trailers and "Tidings-Person: amara" in trailers
    assert _git(repo, "show", "--name-only", "--format=", "HEAD").split() == [rel]

    text = (repo / rel).read_text()
    incident = load(repo).repo.get("incidents", DNS)
    # Every update of the incident is there to annotate, commented out: the file does not copy it.
    for update in incident.updates:  # type: ignore[attr-defined]
        assert f"# update: {update.status}: {' '.join(update.body.split())[:50]}" in text
    assert "\nannotations: []\n" in text and "\naction_items: []\n" in text
    assert "## Summary\n\n## Customer impact\n\n## Contributing factors\n\n## What went well\n" in text
    result = load(repo)
    assert [d.code for d in result.diagnostics] == ["overdue-action-item"]  # the demo's own, nothing new
    review = result.repo.get("reviews", DNS)
    assert isinstance(review, Review)
    assert review.incidents == [DNS] and review.authors == ["amara"] and review.published_at is None
    assert review.created_at == datetime.fromtimestamp(int(NOW), UTC)


def test_open_refuses_a_second_review_and_unknown_incidents(repo: Path) -> None:
    again = tidings("review", "open", API, repo)
    assert again.exit_code == 2
    assert f"incident {API} has a review already: content/reviews/{API}.md" in again.output
    typo = tidings("review", "open", "2026-09-11-dns-resolutio", repo)
    assert typo.exit_code == 2 and f"did you mean '{DNS}'?" in typo.output
    assert _git(repo, "log", "--format=%s") == "Start\n"  # nothing committed
    # The refusal counts reviews by the incidents they name, whatever their file is called.
    shutil.move(repo / f"content/reviews/{API}.md", repo / "content/reviews/july-outage.md")
    moved = tidings("review", "open", API, repo)
    assert moved.exit_code == 2 and "has a review already: content/reviews/july-outage.md" in moved.output


def test_open_with_no_commit_stages_the_file(repo: Path) -> None:
    run = tidings("review", "open", DNS, "--no-commit", "--by", "jonas", repo)
    assert run.exit_code == 0, run.output
    assert _git(repo, "status", "--porcelain").strip() == f"A  content/reviews/{DNS}.md"
    assert "authors: [jonas]" in (repo / f"content/reviews/{DNS}.md").read_text()


def test_list_shows_action_items_overdue_first_and_filters(repo: Path) -> None:
    listed = tidings("review", "list", repo)
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].startswith(f"{API}  published 2026-07-14  {API}  Review: REST API returning 502 errors")
    assert lines[1] == "  action items: 2 open (1 overdue), 1 done, 1 dropped"
    assert [line.split()[0] for line in lines[2:]] == ["OVERDUE", "open", "done", "dropped"]

    overdue = tidings("review", "list", "--overdue", repo)
    assert overdue.exit_code == 0, overdue.output
    (item,) = overdue.output.splitlines()[2:]
    assert "OVERDUE  due 2026-08-15  amara  A synthetic check on api.example.com" in item

    mine = json.loads(tidings("review", "list", "--owner", "priya", "--format", "json", repo).output)
    assert [[i["title"] for i in r["action_items"]] for r in mine] == [
        ["Load balancer changes appear in the deploy log"]
    ]
    assert mine[0]["action_items"][0]["overdue"] is False

    assert tidings("review", "list", "--owner", "liam", repo).output == "no action items owned by liam\n"
    wrong = tidings("review", "list", "--owner", "amra", repo)
    assert wrong.exit_code == 2 and "unknown person 'amra'" in wrong.output and "'amara'" in wrong.output


def test_list_overdue_follows_the_clock(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1786000000")  # 2026-08-06: nothing is late yet
    assert tidings("review", "list", "--overdue", repo).output == "no overdue action items\n"
    (repo / f"content/reviews/{API}.md").unlink()
    assert tidings("review", "list", repo).output == "no reviews (content/reviews/)\n"


def test_the_timeline_is_read_from_the_incident_with_annotations_joined(repo: Path) -> None:
    repo_model = load(repo).repo
    review = repo_model.get("reviews", API)
    assert isinstance(review, Review)
    entries = timeline(repo_model, review)
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    kinds = {e.kind for e in entries}
    assert {"started", "update", "note", "acknowledged", "alert", "resolved", "annotation"} <= kinds
    (alone,) = [e for e in entries if e.kind == "annotation"]  # 11:00: nothing recorded then
    assert alone.text.startswith("The load balancer change reached all load balancers at once")
    started = next(e for e in entries if e.kind == "started")
    assert started.notes == (
        "The error-rate alert fired two minutes after the change; the page reached Amara at once.",
    )
    internal = [e for e in entries if e.kind == "update" and e.internal]
    assert internal and internal[0].text.startswith("identified: @amara rolled back")

    # Annotating an update by its id: the entry with that id carries the note, and only it.
    path = repo / "content/incidents/2026-07-08-api-errors.md"
    path.write_text(path.read_text().replace("    author: jonas\n", "    author: jonas\n    id: rollback1\n"))
    file = repo / f"content/reviews/{API}.md"
    file.write_text(
        file.read_text().replace(
            "annotations:\n", "annotations:\n  - update: rollback1\n    note: Done by hand.\n"
        )
    )
    result = load(repo)
    assert [d.code for d in result.diagnostics] == ["overdue-action-item"]
    review = result.repo.get("reviews", API)
    noted = [e for e in timeline(result.repo, review) if "Done by hand." in e.notes]  # type: ignore[arg-type]
    assert [e.update for e in noted] == ["rollback1"]


def test_open_pushes_and_a_review_someone_pushed_first_wins(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    _git(repo, "remote", "add", "origin", str(remote))
    _git(repo, "push", "-q", "-u", "origin", "main")
    other = tmp_path / "other"
    _git(tmp_path, "clone", "-q", str(remote), str(other))

    pushed = tidings("review", "open", DNS, "--push", repo)
    assert pushed.exit_code == 0, pushed.output
    assert (
        _git(remote, "log", "-1", "--format=%s", "main").strip() == f"Open review of incident {DNS} by amara"
    )

    # Jonas, in a clone that has not fetched, starts the same review and pushes: the remote's wins,
    # his commit is dropped (as a conflicting push always is) and he is told where the review is.
    late = tidings(
        "review", "open", DNS, "--push", "--author", "Jonas Weber <jonas.weber@example.com>", other
    )
    assert late.exit_code == 2
    assert f"incident {DNS} has a review already: content/reviews/{DNS}.md" in late.output
    assert _git(other, "rev-parse", "HEAD") == _git(remote, "rev-parse", "main")
    assert "reset: moving to HEAD~1" in _git(other, "reflog")  # committed, met the conflict, dropped
    assert "authors: [amara]" in (other / f"content/reviews/{DNS}.md").read_text()

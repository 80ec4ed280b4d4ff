"""Public updates read from commits: what notifies, and what never does."""

from __future__ import annotations

import time
from pathlib import Path

from tests.runner.subscribers.conftest import LAG, STORAGE, tidings
from tidings.content.load import load, site_components
from tidings.runner.subscribers.events import updates_between
from tidings.runner.subscribers.store import Update
from tidings.store.git import git


def head(clone: Path) -> str:
    return git(clone, "rev-parse", "HEAD").strip()


def found(clone: Path, start: str) -> list[Update]:
    site = load(clone, alerts=False).repo.site
    names = {c.id: c.name for c in site_components(site)}
    return updates_between(clone, start, head(clone), site, names, 0.0)


def told(updates: list[Update]) -> list[tuple[str, str, str, str | None]]:
    return [(u.event, u.item, u.payload["status"], (u.payload["update"] or {}).get("body")) for u in updates]


def test_a_person_s_commands_notify_only_what_the_public_sees(clone: Path) -> None:
    start = head(clone)
    tidings(clone, "incident", "update", LAG, "--body", "Still unpublished: nobody hears of this.")
    tidings(clone, "incident", "publish", LAG, "--body", "Reads may be stale; @mateo is failing over.")
    tidings(clone, "incident", "update", LAG, "--body", "The DB team approved.", "--internal")
    tidings(
        clone, "incident", "update", LAG, "--body", "Failing over to the standby.", "--status", "identified"
    )
    tidings(clone, "incident", "update", LAG, "--status", "monitoring")  # no text: an internal update
    tidings(clone, "incident", "resolve", LAG)
    updates = found(clone, start)
    assert told(updates) == [
        ("published", LAG, "investigating", "Reads may be stale; Incident Responder is failing over."),
        ("update", LAG, "identified", "Failing over to the standby."),
        ("status", LAG, "monitoring", None),
        ("update", LAG, "resolved", "This incident has been resolved."),
    ]
    first = updates[0].payload
    assert first["url"] == f"https://status.example.com/incidents/{LAG}.html"
    assert first["components"] == [
        {"id": "postgres", "name": "Postgres Databases", "impact": "degraded_performance"}
    ]
    assert first["impact"] == "degraded_performance" and first["severity"] == "unknown"
    assert updates[0].components == ("postgres",)
    assert len({u.key for u in updates}) == 4
    for u in updates:  # nothing internal reaches a notification
        text = str(u.payload)
        assert "approved" not in text and "mateo" not in text and "analytics query" not in text


def test_unpublishing_and_republishing_tells_nothing_new(clone: Path) -> None:
    tidings(clone, "incident", "publish", LAG, "--body", "Reads may be stale.")
    start = head(clone)
    tidings(clone, "incident", "unpublish", LAG)
    tidings(clone, "incident", "publish", LAG)
    updates = found(clone, start)
    # Published again with the same latest update: the same key as the first time, so once only.
    assert told(updates) == [("published", LAG, "investigating", "Reads may be stale.")]


def test_maintenance_updates_and_a_merge_notify(clone: Path) -> None:
    start = head(clone)
    git(clone, "checkout", "-q", "-b", "mr")
    path = clone / "content" / "maintenance" / f"{STORAGE}.md"
    text = path.read_text(encoding="utf-8")
    added = "  - at: 2026-11-23T09:00:00Z\n    status: scheduled\n    body: Moved by an hour.\n"
    path.write_text(
        text.replace("---\nObject Storage moves", added + "---\nObject Storage moves"), encoding="utf-8"
    )
    git(clone, "commit", "-qam", "Maintenance moved")
    git(clone, "checkout", "-q", "main")
    git(clone, "merge", "-q", "--no-ff", "mr", "-m", "Merge branch 'mr'")
    updates = found(clone, start)
    assert [(u.event, u.item, u.payload["type"]) for u in updates] == [("update", STORAGE, "maintenance")]
    payload = updates[0].payload
    assert payload["url"] == f"https://status.example.com/maintenance/{STORAGE}.html"
    assert payload["scheduled_for"] == "2026-12-06T00:00:00+00:00"
    assert updates[0].components == ("storage",)


def test_a_site_that_publishes_no_incidents_notifies_none(clone: Path) -> None:
    site = clone / ".gitlab" / "status-page.yml"
    site.write_text(site.read_text().replace("incidents:\n  publish: true", "incidents:\n  publish: false"))
    git(clone, "commit", "-qam", "No incidents on the page")
    start = head(clone)
    tidings(clone, "incident", "publish", LAG, "--body", "Reads may be stale.")
    assert found(clone, start) == []


def test_commits_older_than_a_day_are_no_news(clone: Path, monkeypatch) -> None:
    start = head(clone)
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
    tidings(clone, "incident", "publish", LAG, "--body", "Reads may be stale.")
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    site = load(clone, alerts=False).repo.site
    old = updates_between(clone, start, head(clone), site, {}, 0.0, since=time.time() - 86_400)
    assert old == [] and len(found(clone, start)) == 1

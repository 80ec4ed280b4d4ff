"""Public updates, read from the commits that reached the branch, whoever made them.

A merge request, `tidings incident`, Slack or an alert: every change reaches subscribers the same
way, as a commit on the branch, so the commits are what is read (as announcements are, in
runner/escalation/announce.py): first parent only, each incident and maintenance file compared
before and after each commit. What the reader may see is decided by the public view
(tidings.content.public): an item that is not published (or an incident while the site publishes
none), an internal update, notes and mentions never reach a notification.

An item's events in one commit, from its public view before and after it:
- `published`: it was not public and now is (its latest public update goes with it);
- `update`: it was public and gained public updates (a new one, or an internal one made public),
  one event each, told by the update's time (and its place among updates of the same second);
- `status`: it was public, gained no public update, and its status changed (the runner resolving
  an incident, say, with an internal update of its own).
An edit of an existing update's text is no news. A deleted file is no news either.

Each event has a key from what it is, not from the commit (`published` and `update` events), so
finding it again after a rewind of the mark (a restored backup) queues nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tidings.content import urls
from tidings.content.layout import FOLDERS
from tidings.content.load import parse_content
from tidings.content.model import Incident, Maintenance, SiteFile
from tidings.ops.history import snapshot
from tidings.ops.status import worst
from tidings.runner.subscribers.store import Update
from tidings.store.git import GitError, git

log = logging.getLogger(__name__)
FOLDERS_READ = tuple(f.path for f in FOLDERS if f.kind in ("incident", "maintenance"))


def _text(root: Path, rev: str, path: str) -> str | None:
    try:
        return git(root, "show", f"{rev}:{path}")
    except GitError:
        return None


def _utc(value: Any) -> str | None:
    """A timestamp (a datetime or its YAML text) as UTC ISO text, for comparing updates."""
    if isinstance(value, datetime):
        when = value
    else:
        try:
            when = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    if when.tzinfo is None:
        return None
    return when.astimezone(UTC).isoformat()


class _Before:
    """What the public saw of an item before a commit: whether it was public, its public updates'
    times and its status. Read from the file's raw front matter when it did not validate then."""

    def __init__(self, site: SiteFile, rel: str, text: str | None):
        self.public = False
        self.times: Counter[str] = Counter()  # public updates at each time (two may share a second)
        self.status: str | None = None
        if text is None:
            return
        item = parse_content(rel, text).domain
        if isinstance(item, Incident | Maintenance):
            self.public = _shown(site, item)
            self.times = Counter(t for u in item.updates if not u.internal and (t := _utc(u.at)))
            self.status = item.status
            return
        data = snapshot(text).data or {}
        self.public = data.get("published") is True and (
            rel.startswith("content/maintenance") or site.incidents.publish
        )
        updates = data.get("updates") if isinstance(data.get("updates"), list) else []
        for u in updates or []:
            if isinstance(u, dict) and u.get("internal") is not True and (t := _utc(u.get("at"))):
                self.times[t] += 1
        status = data.get("status")
        self.status = str(status) if status is not None else None


def _shown(site: SiteFile, item: Incident | Maintenance) -> bool:
    if not item.published:
        return False
    return site.incidents.publish if isinstance(item, Incident) else True


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def item_events(
    site: SiteFile,
    names: dict[str, str],
    rel: str,
    before_text: str | None,
    after_text: str,
    commit: str,
    found_at: float,
) -> list[Update]:
    """The public updates one commit made to one incident or maintenance file."""
    parsed = parse_content(rel, after_text)
    item = parsed.domain
    if not isinstance(item, Incident | Maintenance) or not _shown(site, item) or parsed.public is None:
        return []
    public: Incident | Maintenance = parsed.public
    before = _Before(site, rel, before_text)
    kind = "incident" if isinstance(item, Incident) else "maintenance"
    updates: list[Any] = list(public.updates)
    if not before.public:
        latest = updates[-1] if updates else None
        at = _utc(latest.at) if latest else ""
        key = _key(kind, item.id, "published", at or "")
        return [_update(site, names, public, "published", latest, commit, key, found_at)]
    seen: dict[str, int] = {}
    found = []
    for update in updates:
        at = _utc(update.at) or ""
        seen[at] = seen.get(at, 0) + 1
        if seen[at] <= before.times[at]:
            continue
        key = _key(kind, item.id, "update", at, str(seen[at]))
        found.append(_update(site, names, public, "update", update, commit, key, found_at))
    if not found and item.status != before.status and item.status is not None:
        key = _key(kind, item.id, "status", str(item.status), commit)
        found.append(_update(site, names, public, "status", None, commit, key, found_at))
    return found


def _update(
    site: SiteFile,
    names: dict[str, str],
    item: Incident | Maintenance,
    event: str,
    update: Any,
    commit: str,
    key: str,
    found_at: float,
) -> Update:
    told = (
        {"at": update.at.astimezone(UTC).isoformat(), "status": update.status, "body": update.body}
        if update is not None
        else None
    )
    payload: dict[str, Any] = {"event": event, "id": item.id, "title": item.title, "update": told}
    if isinstance(item, Incident):
        impacts = dict(item.components)
        components = list(impacts)
        payload.update(
            type="incident",
            status=item.status,
            severity=item.severity,
            impact=worst(impacts.values()),
            components=[{"id": c, "name": names.get(c, c), "impact": i} for c, i in impacts.items()],
            started_at=item.started_at.astimezone(UTC).isoformat(),
            resolved_at=item.resolved_at.astimezone(UTC).isoformat() if item.resolved_at else None,
            url=urls.public_incident_url(site, item, True),
        )
    else:
        components = list(item.components)
        at = update.at if update is not None else datetime.fromtimestamp(found_at, UTC)
        payload.update(
            type="maintenance",
            status=item.status_at(at),
            impact="under_maintenance",
            components=[
                {"id": c, "name": names.get(c, c), "impact": "under_maintenance"} for c in components
            ],
            scheduled_for=item.scheduled_for.astimezone(UTC).isoformat(),
            scheduled_until=item.scheduled_until.astimezone(UTC).isoformat(),
            url=urls.public_maintenance_url(site, item),
        )
    return Update(key, item.id, event, commit, tuple(components), payload, found_at)


def updates_between(
    root: Path,
    old: str,
    new: str,
    site: SiteFile,
    names: dict[str, str],
    found_at: float,
    since: float | None = None,
) -> list[Update]:
    """The public updates made by the commits old..new (first parent), oldest first; with `since`,
    only by commits made (committed) since then: older ones are no news any more."""
    out: list[Update] = []
    span = ["rev-list", "--reverse", "--first-parent", f"{old}..{new}"]
    if since is not None:
        span.insert(1, f"--since={int(since)}")
    for sha in git(root, *span).split():
        listing = git(
            root, "diff-tree", "-r", "--no-commit-id", "--name-status", "--no-renames", f"{sha}^", sha, "--",
            *FOLDERS_READ,
        )  # fmt: skip
        for line in listing.splitlines():
            status, _, path = line.partition("\t")
            if not path.endswith(".md") or status == "D":
                continue
            after = _text(root, sha, path)
            if after is None:
                continue
            before = None if status == "A" else _text(root, f"{sha}^", path)
            try:
                out.extend(item_events(site, names, path, before, after, sha, found_at))
            except Exception:  # one odd file must not stop the news of the others; the type only
                log.exception("subscribers: could not read %s at %s", path, sha[:12])
    return out

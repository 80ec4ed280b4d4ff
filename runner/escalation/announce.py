"""Incident news in Slack channels chosen by component or severity: `announce:` in notifications.yml.

    announce:
      - id: db-incidents
        kind: slack
        url_env: TIDINGS_SLACK_DB_WEBHOOK_URL
        when: {components: [postgres, storage], severities: [critical, high]}
        events: [opened, resolved]       # the default; `updated` adds public updates and status changes

Pages go to a person through `channels:`; announcements go to a team's channel, once per event,
whoever made it: the runner's alerts, Slack, `tidings incident`, a merged merge request. So they
are read from git, not from the code paths that change incidents: `runner serve` walks the
commits that reached the branch it pushes to (the remote's, else its own HEAD) since the last
one it looked at, first parent only, and compares each incident file before and after each
commit. A file that appears not resolved is `opened`; a status that becomes resolved is
`resolved` (an incident imported already resolved is neither); otherwise a commit that adds a
public update (or makes one public) or changes the status is `updated`, once for the commit
(internal updates are not news: acknowledgements, alert notes and Slack comments stay in the
incident). The first look only remembers where the branch is, so turning this on never announces
the past.

The commit it got to is kept in `announced.json` in the runner's state folder, and each message
sent in `announcements.jsonl` (fsynced, keyed by incident, event, time and channel), so a crash
re-sends at most the one message in flight, with the same key in its text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidings.content import urls
from tidings.content.layout import FOLDERS
from tidings.content.load import load
from tidings.content.model import AnnounceChannel, RetrySettings, StatusRepo, links_as_written
from tidings.ops.history import snapshot
from tidings.runner.escalation.branch_walk import BranchWalk
from tidings.runner.escalation.notifiers import DeliveryError, _post, one_line, slack_escape, slack_link
from tidings.runner.outbound import Network, networks
from tidings.store.git import GitError, git

log = logging.getLogger(__name__)
INCIDENTS = next(f.path for f in FOLDERS if f.kind == "incident")
EMOJI = {"opened": ":rotating_light:", "updated": ":memo:", "resolved": ":white_check_mark:"}
# How much of the updates' text a message carries: a section holds 3000 characters.
MAX_TEXT = 2800

Send = Callable[[str, bytes, Mapping[str, str], float, Sequence[Network]], None]


@dataclass(frozen=True)
class Event:
    """An incident opened, updated or resolved in a commit, with its fields as they were then; for
    `updated`, the public updates it added and the status it had before."""

    kind: str  # opened, updated, resolved
    incident: str
    commit: str
    data: dict[str, Any]
    updates: tuple[dict[str, Any], ...] = ()
    was: str | None = None  # updated: the status before, when it changed
    # updated: the incident's last update (id, else time), which a status change comes with; so the
    # same change made again later (monitoring, identified, monitoring again) is news again
    latest: str = ""

    @property
    def at(self) -> str:
        if self.kind == "updated":
            # The same news is the same key, even from a commit rebased to another sha.
            said = [f"{u.get('id') or ''}|{u.get('at')}|{u.get('body')}" for u in self.updates]
            return "\0".join([*said, f"{self.was}->{self.data.get('status')}", self.latest])
        field = "started_at" if self.kind == "opened" else "resolved_at"
        return str(self.data.get(field) or "")

    def key(self, channel: str) -> str:
        text = "\0".join((self.incident, self.kind, self.at, channel))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def matches(channel: AnnounceChannel, event: Event) -> bool:
    """Whether the channel wants this event: its kind, a component of it, its severity."""
    if event.kind not in channel.events:
        return False
    components = event.data.get("components")
    names = set(components) if isinstance(components, dict) else set()
    if channel.when.components and not names & set(channel.when.components):
        return False
    severity = str(event.data.get("severity") or "unknown")
    return not channel.when.severities or severity in channel.when.severities


def _text(root: Path, rev: str, path: str) -> str | None:
    try:
        return git(root, "show", f"{rev}:{path}")
    except GitError:
        return None


def events_between(root: Path, old: str, new: str) -> list[Event]:
    """Incidents opened, updated and resolved by the commits old..new (first parent), oldest first."""
    out: list[Event] = []
    for sha in git(root, "rev-list", "--reverse", "--first-parent", f"{old}..{new}").split():
        listing = git(
            root,
            "diff-tree",
            "-r",
            "--no-commit-id",
            "--name-status",
            "--no-renames",
            f"{sha}^",
            sha,
            "--",
            INCIDENTS,
        )
        for line in listing.splitlines():
            status, _, path = line.partition("\t")
            if not path.endswith(".md") or status == "D":
                continue
            before = None if status == "A" else _text(root, f"{sha}^", path)
            after = _text(root, sha, path)
            new_data = snapshot(after).data if after else None
            if new_data is None:
                continue
            old_data = snapshot(before).data if before else None
            incident = Path(path).stem
            resolved_now = new_data.get("status") == "resolved"
            if old_data is None and not resolved_now:
                out.append(Event("opened", incident, sha, new_data))
            elif old_data is not None and resolved_now and old_data.get("status") != "resolved":
                out.append(Event("resolved", incident, sha, new_data))
            elif old_data is not None:
                news = _made_public(old_data.get("updates"), new_data.get("updates"))
                was = old_data.get("status")
                changed = was != new_data.get("status")
                if news or changed:
                    was_then = str(was) if changed else None
                    latest = _latest(new_data.get("updates"))
                    out.append(Event("updated", incident, sha, new_data, news, was_then, latest))
    return out


def _latest(updates: Any) -> str:
    """The last update of a timeline (kept in time order): its id, or its time when it has none."""
    last = updates[-1] if isinstance(updates, list) and updates else None
    return str(last.get("id") or last.get("at") or "") if isinstance(last, dict) else ""


def _made_public(old: Any, new: Any) -> tuple[dict[str, Any], ...]:
    """The public updates of `new` that `old` did not have as public ones (added, or made public).
    Updates are known by their id; one without an id (written by hand) by all it says."""
    before = [u for u in old if isinstance(u, dict)] if isinstance(old, list) else []
    public_ids = {str(u["id"]) for u in before if u.get("id") and u.get("internal") is not True}
    out = []
    for u in new if isinstance(new, list) else []:
        if not isinstance(u, dict) or u.get("internal") is True:
            continue
        if u.get("id"):
            if str(u["id"]) not in public_ids:
                out.append(u)
        elif not any(u == v and v.get("internal") is not True for v in before):
            out.append(u)
    return tuple(out)


def payload(repo: StatusRepo, event: Event, key: str) -> dict[str, Any]:
    """An incoming-webhook message: a line of text and Block Kit blocks."""
    data = event.data
    title = slack_escape(one_line(str(data.get("title") or event.incident)))
    severity = slack_escape(str(data.get("severity") or "unknown"))
    found = data.get("components")
    components: dict[str, Any] = found if isinstance(found, dict) else {}
    what = event.kind
    status = slack_escape(str(data.get("status")))
    headline = f"{EMOJI[event.kind]} Incident {what}: *{title}* ({severity}, {status})"
    lines = [f"`{slack_escape(event.incident)}`"]
    if event.was is not None:
        lines.append(f"status {slack_escape(event.was)} → {status}")
    if components:
        lines.append(
            ", ".join(f"{slack_escape(str(c))} {slack_escape(str(i))}" for c, i in components.items())
        )
    url = urls.public_incident_url(repo.site, event.incident, bool(data.get("published")))
    if url:
        lines.append(slack_link(url, "Status page"))
    lines += [slack_link(url, one_line(text) or url) for url, text in links_as_written(data.get("links"))]
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": headline}}]
    if event.updates:
        said = "\n".join(
            f"*{slack_escape(str(u.get('status')))}*: {slack_escape(one_line(str(u.get('body') or '')))}"
            for u in event.updates
        )
        if len(said) > MAX_TEXT:  # cut short, never inside an escape such as &amp;
            said = re.sub(r"&[a-z]*$", "", said[:MAX_TEXT]) + " …"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": said}})
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(lines) + f" · key {key}"}]}
    )
    return {
        "text": f"Incident {what}: {title} ({event.incident})",
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


class Announcer:
    """Walks new commits on the runner's branch and tells each `announce:` channel what concerns it."""

    def __init__(self, root: Path, state: Path, pushing: bool):
        self.root = root
        self.walk = BranchWalk(
            root, pushing, state / "announced.json", state / "announcements.jsonl", "announcements"
        )

    def run_once(
        self,
        env: Mapping[str, str] | None = None,
        send: Send = _post,
        sleep: Callable[[float], None] = time.sleep,
    ) -> list[dict[str, Any]]:
        """Announce what the commits since the last look did; the records of what was sent."""
        walk = self.walk.since()
        if walk is None:
            return []
        seen, head = walk
        repo = load(self.root, alerts=False).repo
        if not repo.notifications.announce:  # nothing to tell anyone: only move the mark
            self.walk.move(head)
            return []
        env = os.environ if env is None else env
        done = []
        for event in events_between(self.root, seen, head):
            for channel in repo.notifications.announce:
                key = event.key(channel.id)
                if key in self.walk.done or not matches(channel, event):
                    continue
                record = self._send(repo, channel, event, key, env, send, sleep, repo.notifications.retry)
                self.walk.note(record)
                done.append(record)
        self.walk.move(head)
        return done

    def _send(
        self,
        repo: StatusRepo,
        channel: AnnounceChannel,
        event: Event,
        key: str,
        env: Mapping[str, str],
        send: Send,
        sleep: Callable[[float], None],
        retry: RetrySettings,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "key": key,
            "channel": channel.id,
            "incident": event.incident,
            "event": event.kind,
            "commit": event.commit,
        }
        body = json.dumps(payload(repo, event, key), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        delay = retry.backoff_seconds
        for attempt in range(1, retry.attempts + 1):
            try:
                url = env.get(channel.url_env, "")
                if not url:
                    raise DeliveryError(f"the variable {channel.url_env} is not set", permanent=True)
                send(url, body, headers, retry.timeout_seconds, networks(repo.notifications.allow_networks))
                log.info("announced %s %s on %s", event.kind, event.incident, channel.id)
                return {**record, "state": "sent", "attempts": attempt}
            except DeliveryError as exc:
                error, permanent = str(exc), exc.permanent
            except Exception as exc:  # never stop announcing for one channel; the type only (secrets)
                error, permanent = f"unexpected error ({type(exc).__name__})", True
            log.warning("announcing %s on %s, try %d: %s", event.incident, channel.id, attempt, error)
            if permanent or attempt == retry.attempts:
                return {**record, "state": "failed", "attempts": attempt, "error": error}
            sleep(delay)
            delay *= 2
        return {**record, "state": "failed", "attempts": retry.attempts}

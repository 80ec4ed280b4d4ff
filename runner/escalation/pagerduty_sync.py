"""Two-way sync with PagerDuty: a person's acknowledgement or resolution in Tidings is told to PagerDuty.

Any of the ways a person changes an alert (`tidings alert`, quick actions, Slack, the alert API)
ends in a commit with a `Tidings-Alert` trailer naming the record. The runner walks the commits that
reach the branch, as it does for announcements (announce.py), and for each such record of a
PagerDuty integration with `sync:` whose status became acknowledged or resolved, sets the PagerDuty
incident (the record's fingerprint) to it (runner/sources/pagerduty_api.py), retried as a page is.

Exactly once per (commit, record, status): a local ledger in the state folder, fsynced, keeps what
was told; the mark of the last commit walked moves only after. PagerDuty's own changes arrive as its
webhooks (commits with `Tidings-Source`, no `Tidings-Alert`): they are never told back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tidings.content.load import load, parse_content
from tidings.content.model import AlertRecord, Integration
from tidings.runner.escalation.branch_walk import BranchWalk
from tidings.runner.outbound import networks
from tidings.runner.sources.pagerduty_api import Status, tell_pagerduty
from tidings.store.alert_file import rel_of
from tidings.store.git import git

log = logging.getLogger(__name__)
ALERT_TRAILER = "Tidings-Alert"
TOLD = ("acknowledged", "resolved")


def _status_at(root: Path, rev: str, alert_id: str) -> AlertRecord | None:
    text = git(root, "show", f"{rev}:{rel_of(alert_id)}", check=False)
    if not text:
        return None
    parsed = parse_content(rel_of(alert_id), text, root)
    return parsed.domain if isinstance(parsed.domain, AlertRecord) else None


class PagerDutySync:
    """Walks new commits on the runner's branch and tells PagerDuty of people's changes."""

    def __init__(self, root: Path, state: Path, pushing: bool):
        self.root = root
        self.walk = BranchWalk(
            root, pushing, state / "pagerduty-synced.json", state / "pagerduty-sync.jsonl", "PagerDuty sync"
        )

    def _changes(self, seen: str, head: str) -> list[tuple[str, str]]:
        """(commit, alert id) of people's alert changes between seen and head, oldest first."""
        out = git(
            self.root, "log", "--reverse", "--format=%H%x00%(trailers:key=Tidings-Alert,valueonly)%x1e",
            f"{seen}..{head}", "--", "content/alerts",
        )  # fmt: skip
        found = []
        for record in out.split("\x1e"):
            sha, _, ids = record.strip().partition("\x00")
            found += [(sha, alert_id) for alert_id in ids.split() if sha]
        return found

    def run_once(
        self, env: Mapping[str, str] | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> list[dict[str, Any]]:
        """Tell PagerDuty what the commits since the last look did; the records of what was told."""
        walk = self.walk.since()
        if walk is None:
            return []
        seen, head = walk
        repo = load(self.root, alerts=False).repo
        synced: dict[str, Integration] = {i.id: i for i in repo.integrations if i.sync is not None}
        done = []
        for sha, alert_id in self._changes(seen, head) if synced else []:
            after, before = _status_at(self.root, sha, alert_id), _status_at(self.root, f"{sha}~1", alert_id)
            if after is None or after.integration not in synced or after.status not in TOLD:
                continue
            if before is not None and before.status == after.status:
                continue
            key = f"{sha}:{alert_id}:{after.status}"
            if key in self.walk.done:
                continue
            sync = synced[after.integration].sync
            assert sync is not None
            status: Status = "acknowledged" if after.status == "acknowledged" else "resolved"
            allowed = networks(repo.notifications.allow_networks)
            retry = repo.notifications.retry
            outcome = tell_pagerduty(sync, after.fingerprint, status, retry, sleep, env, allowed)
            record = {
                "key": key,
                "alert": alert_id,
                "incident": after.fingerprint,
                "status": status,
                "state": outcome.state,
                "attempts": outcome.attempts,
                "error": outcome.error,
            }
            self.walk.note(record)
            done.append(record)
        self.walk.move(head)
        return done

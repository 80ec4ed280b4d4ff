"""The apply worker: journal entries in batches -> incident edits -> one commit -> push.

Exactly once, through crashes: the last applied journal seq is written into each commit as a
trailer, so on start the worker resets its clone to HEAD (dropping half-applied edits) and
re-applies every entry after that seq. Applying is idempotent besides (alert states are recorded
in the incidents), and each entry is applied with its own arrival time as "now", so a replay
writes exactly what the first attempt would have.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tidings.gitstore import commit, git, push
from tidings.load import load, refresh_incident

from .apply import apply_event
from .events import PayloadError
from .journal import Entry, Journal
from .service import parse

log = logging.getLogger(__name__)
TRAILER = "Tidings-Journal-Seq"
BATCH_LIMIT = 500


@dataclass
class Metrics:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    commits: int = 0
    push_failures: int = 0
    apply_seconds: list[float] = field(default_factory=list)


def last_applied_seq(root: Path) -> int:
    out = git(root, "log", "-1", f"--grep=^{TRAILER}: ", "--format=%B", check=False)
    found = re.findall(rf"^{TRAILER}: (\d+)$", out, re.MULTILINE)
    return int(found[-1]) if found else 0


class Worker:
    def __init__(self, root: Path, journal: Journal, metrics: Metrics, do_push: bool = True):
        self.root = root
        self.journal = journal
        self.metrics = metrics
        self.do_push = do_push
        self.applied = 0
        self.unpushed = False

    def recover(self) -> None:
        """Drop edits a crash left uncommitted; find where the journal was applied up to."""
        git(self.root, "reset", "--quiet", "--hard", "HEAD")
        git(self.root, "clean", "-fdq", "--", "content/incidents")
        self.applied = last_applied_seq(self.root)
        self.unpushed = True  # a crash may have come between commit and push

    @property
    def depth(self) -> int:
        return self.journal.last_seq - self.applied

    def apply_batch(self, entries: list[Entry]) -> None:
        result = load(self.root)
        if result.errors:
            log.error(
                "the status repo has %d errors; not applying alerts until it is fixed", len(result.errors)
            )
            return
        repo = result.repo
        changed: list[str] = []
        groups: list[str] = []
        fingerprints: set[str] = set()
        lines = []
        for entry in entries:
            record = entry.record
            integration = next(i for i in repo.integrations if i.id == record["integration"])
            received = datetime.fromisoformat(record["received_at"])
            try:
                event = parse(record["kind"], base64.b64decode(record["body"]), integration, received)
            except PayloadError as exc:  # checked on receipt; only a changed config could get here
                log.error("journal entry %d no longer parses: %s", entry.seq, exc)
                continue
            outcome = apply_event(self.root, repo, event, integration, received)
            if outcome.changed and outcome.rel:
                repo = refresh_incident(repo, outcome.rel)
                if outcome.rel not in changed:
                    changed.append(outcome.rel)
                groups.append(event.group)
                fingerprints |= {a.fingerprint for a in event.alerts}
                lines.append(f"- {outcome.action} {outcome.incident_id} ({event.kind}/{event.source})")
                self.metrics.applied += 1
            else:
                self.metrics.duplicates += 1
            self.metrics.apply_seconds.append(time.time() - received.timestamp())
        last = entries[-1].seq
        if changed:
            subject = (
                lines[0][2:] if len(lines) == 1 else f"{len(lines)} alert changes to {len(changed)} incidents"
            )
            commit(
                self.root,
                changed,
                f"runner: {subject}",
                body="\n".join(lines),
                trailers={
                    "Tidings-Alert-Group": sorted(set(groups)),
                    "Tidings-Fingerprint": sorted(fingerprints),
                    TRAILER: str(last),
                },
            )
            self.metrics.commits += 1
            self.unpushed = True
        self.applied = last

    def push_if_needed(self) -> None:
        if not (self.do_push and self.unpushed):
            return
        result = push(self.root)
        if result.pushed:
            self.unpushed = False
        else:
            self.metrics.push_failures += 1
            log.warning("push failed, will retry: %s", result.reason)

    async def run(self) -> None:
        while True:
            entries = self.journal.read(after=self.applied)[:BATCH_LIMIT]
            if entries:
                await asyncio.to_thread(self.apply_batch, entries)
            if self.unpushed:
                await asyncio.to_thread(self.push_if_needed)
            # Clear before looking again, so an append landing in between is never missed.
            self.journal.appended.clear()
            if self.journal.read(after=self.applied):
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.journal.appended.wait(), timeout=5 if self.unpushed else 30)

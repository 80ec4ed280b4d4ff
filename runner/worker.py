"""The apply worker: journal entries in batches -> incident edits -> one commit -> push.

Exactly once, through crashes: each commit names the journal it applies and the last seq of it
(trailers), so on start the worker resets its clone to HEAD (dropping half-applied edits) and
re-applies every entry after the newest seq of *its own* journal in the history. Other runners
sharing the remote commit with their own journal's id, so their seqs never count as ours.
Applying is idempotent besides (alert states are recorded in the incidents), and each entry is
applied with its own arrival time as "now", so a replay writes exactly what the first attempt
would have.

The same property handles people merging meanwhile. Before a batch the clone fast-forwards to
the remote; a push that is rejected fetches and rebases; when the rebase conflicts (a person
edited the same incident file), the worker drops its unpushed commits, takes the remote's
files, and re-applies the journal from the last seq of its own the remote holds: its events land on the
fresh file, never as conflict markers. A remote that is down only delays the push.

Slack slash commands (runner/slack.py) travel the same path: journalled, applied here under the
same lock, each in a commit of its own carrying its seq, and answered once the step has pushed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tidings.content.load import load, refresh_incident
from tidings.content.model import Integration
from tidings.runner import slack
from tidings.runner.apply import apply_event
from tidings.runner.journal import ID_TRAILER, SEQ_TRAILER, Entry, Journal
from tidings.runner.service import parse
from tidings.runner.slack import Reply
from tidings.runner.sources.events import PayloadError
from tidings.store.edit import EditError
from tidings.store.git import GitError, commit, current_branch, git, push

log = logging.getLogger(__name__)
BATCH_LIMIT = 500
# A batch starts once no request has arrived for QUIET seconds, or MAX_DELAY after the first.
QUIET = 0.05
MAX_DELAY = 1.0
REMOTE = "origin"


@dataclass
class Metrics:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    failed: int = 0
    commits: int = 0
    pushes: int = 0
    push_failures: int = 0
    reapplied: int = 0
    # Seconds from receipt to commit, per applied entry (the newest few thousand).
    apply_seconds: list[float] = field(default_factory=list)

    def observe(self, seconds: float) -> None:
        self.apply_seconds.append(seconds)
        if len(self.apply_seconds) > 5000:
            del self.apply_seconds[:1000]


def last_applied_seq(root: Path, journal_id: str, rev: str = "HEAD") -> int:
    """The seq of journal `journal_id` recorded by its newest commit reachable from `rev` (0 if none)."""
    mine = f"--grep=^{ID_TRAILER}: {journal_id}$"
    out = git(root, "log", "-1", mine, "--format=%B", rev, "--", check=False)
    found = re.findall(rf"^{SEQ_TRAILER}: (\d+)$", out, re.MULTILINE)
    return int(found[-1]) if found else 0


def legacy_applied_seq(root: Path, rev: str = "HEAD") -> int:
    """The seq of the newest commit that names no journal (made before journals had ids)."""
    for message in git(root, "log", f"--grep=^{SEQ_TRAILER}: ", "--format=%B%x00", rev, "--").split("\0"):
        if not re.search(rf"^{ID_TRAILER}: ", message, re.MULTILINE):
            found = re.findall(rf"^{SEQ_TRAILER}: (\d+)$", message, re.MULTILINE)
            if found:
                return int(found[-1])
    return 0


def commit_subject(actions: dict[str, list[str]]) -> str:
    """'opened and resolved incident X', or for many: '40 incidents: 38 opened, 2 resolved'."""
    if len(actions) == 1:
        ((incident_id, done),) = actions.items()
        return f"{' and '.join(done)} incident {incident_id}"
    counts: dict[str, int] = {}
    for done in actions.values():
        for action in done:
            counts[action] = counts.get(action, 0) + 1
    return f"{len(actions)} incidents: " + ", ".join(f"{n} {action}" for action, n in counts.items())


def has_remote(root: Path) -> bool:
    return REMOTE in git(root, "remote", check=False).split()


def recover(root: Path, journal: Journal) -> int:
    """Drop edits a crash left uncommitted; return the seq up to which the clone holds `journal`."""
    lock = root / ".git" / "index.lock"
    if lock.exists():  # the runner owns this clone: a lock is a crash's leftover
        lock.unlink()
    # A crash inside `git rebase` (while pushing) leaves a detached HEAD: put the branch back first,
    # or every later commit would land off the branch (and a push would create refs/heads/HEAD).
    for leftover, command in (
        ("rebase-merge", "rebase"),
        ("rebase-apply", "rebase"),
        ("MERGE_HEAD", "merge"),
    ):
        if (root / ".git" / leftover).exists():
            log.warning("a crash left a %s in progress in %s; aborting it", command, root)
            git(root, command, "--abort", check=False)
    if current_branch(root) == "HEAD":
        raise GitError(
            f"{root} is on a detached HEAD: check out the branch the runner should commit to and start again"
        )
    git(root, "reset", "--quiet", "--hard", "HEAD")
    git(root, "clean", "-fdq", "--", "content/incidents")
    if journal.legacy:
        journal.adopt(legacy_applied_seq(root))
    return last_applied_seq(root, journal.id)


class Worker:
    def __init__(self, root: Path, journal: Journal, metrics: Metrics, applied: int, do_push: bool = True):
        """`applied`: what `recover` returned, the seq up to which the journal is in git."""
        self.root = root
        self.journal = journal
        self.metrics = metrics
        self.do_push = do_push and has_remote(root)
        self.applied = applied
        # A crash may have come between commit and push: then there is something to push first.
        # Otherwise the first step syncs, so an alert is never applied on a config the remote replaced.
        self.unpushed = self.do_push and self._ahead()
        self.blocked = ""  # why the worker is waiting (an invalid repo), shown by /healthz
        self.integrations: dict[str, Integration] = {}
        # Answers to Slack commands, by journal seq, until the endpoint that waits for one takes it;
        # held in `_answers` until the step has pushed, so an answer speaks of what the remote holds.
        self.replies: dict[int, Reply] = {}
        self._answers: dict[int, Reply] = {}
        # Held for every git operation in the clone: a step here, the escalation tick, an ack link.
        self.lock = threading.Lock()
        self._config_head = ""
        self.refresh_config()

    def refresh_config(self) -> None:
        """Re-read the integrations when the clone's HEAD moved (a merged config change)."""
        head = git(self.root, "rev-parse", "HEAD", check=False).strip()
        if head == self._config_head:
            return
        self._config_head = head
        self.integrations = {i.id: i for i in load(self.root).repo.integrations}

    @property
    def depth(self) -> int:
        """Journal entries waiting to be applied (counted: a refused append leaves a gap in the seqs)."""
        return self.journal.waiting(self.applied)

    def _upstream(self) -> str:
        return f"{REMOTE}/{current_branch(self.root)}"

    def _ahead(self) -> bool:
        """Whether HEAD holds commits the remote's branch (as last fetched) does not; True if unknown."""
        out = git(self.root, "rev-list", "--count", f"{self._upstream()}..HEAD", check=False).strip()
        return not out.isdigit() or int(out) > 0

    def sync(self) -> None:
        """Fast-forward to what people merged, when nothing of ours is waiting to be pushed."""
        if not self.do_push or self.unpushed:
            return
        try:
            git(self.root, "fetch", "--quiet", REMOTE, current_branch(self.root))
            git(self.root, "merge", "--quiet", "--ff-only", self._upstream())
        except GitError as exc:
            log.info("could not sync with the remote (will push later): %s", exc)

    def _failed(self, entry: Entry, reason: str) -> None:
        """Keep an entry that cannot be applied, with why, rather than dropping it silently."""
        self.metrics.failed += 1
        log.error("journal entry %d not applied: %s", entry.seq, reason)
        with (self.journal.folder / "failed.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"reason": reason, **entry.record}, sort_keys=True) + "\n")

    def apply_batch(self, entries: list[Entry]) -> bool:
        """Apply entries and commit them as one; False when the repo is invalid (nothing applied)."""
        result = load(self.root)
        if result.errors:
            self.blocked = f"the status repo has {len(result.errors)} errors; run 'tidings validate'"
            log.error("%s; not applying alerts until it is fixed", self.blocked)
            return False
        self.blocked = ""
        repo = result.repo
        integrations = self.integrations = {i.id: i for i in repo.integrations}
        changed: list[str] = []
        groups: set[str] = set()
        sources: set[str] = set()
        fingerprints: set[str] = set()
        lines: list[str] = []
        actions: dict[str, list[str]] = {}  # incident id -> what happened to it, in order
        received_times: list[float] = []
        for entry in entries:
            record = entry.record
            integration = integrations.get(record["integration"])
            if integration is None:
                self._failed(entry, f"integration {record['integration']!r} is no longer configured")
                continue
            received = datetime.fromisoformat(record["received_at"])
            try:
                event = parse(record["kind"], base64.b64decode(record["body"]), integration, received)
                outcome = apply_event(self.root, repo, event, integration, received)
            except (PayloadError, EditError) as exc:  # checked on receipt; a changed config or file
                self._failed(entry, str(exc))
                continue
            except Exception as exc:  # a bug: keep the entry (failed.jsonl), never stop the worker for it
                log.exception("journal entry %d could not be applied", entry.seq)
                self._failed(entry, f"{type(exc).__name__}: {exc}")
                continue
            if outcome.changed and outcome.rel:
                repo = refresh_incident(repo, outcome.rel)
                if outcome.rel not in changed:
                    changed.append(outcome.rel)
                groups.add(event.group)
                sources.add(f"{event.kind}/{event.source}")
                fingerprints |= {a.fingerprint for a in event.alerts}
                lines.append(f"- {outcome.action} {outcome.incident_id} ({event.kind}/{event.source})")
                done = actions.setdefault(str(outcome.incident_id), [])
                if not done or done[-1] != outcome.action:
                    done.append(outcome.action)
                self.metrics.applied += 1
                received_times.append(received.timestamp())
            else:
                self.metrics.duplicates += 1
        last = entries[-1].seq
        if changed:
            subject = commit_subject(actions)
            commit(
                self.root,
                changed,
                f"runner: {subject}",
                body="\n".join(lines),
                trailers={
                    "Tidings-Source": sorted(sources),
                    "Tidings-Alert-Group": sorted(groups),
                    "Tidings-Fingerprint": sorted(fingerprints),
                    **self.journal.trailers(last),
                },
            )
            self.metrics.commits += 1
            self.unpushed = self.do_push
            # Our own commit touches only incidents: the integrations just loaded still hold.
            self._config_head = git(self.root, "rev-parse", "HEAD").strip()
            committed = time.time()
            for received_at in received_times:
                self.metrics.observe(committed - received_at)
        self.applied = last
        return True

    def apply_entries(self, entries: list[Entry]) -> bool:
        """Alerts in batches, one commit each; a Slack command alone, in its own commit."""
        start = 0
        while start < len(entries):
            if entries[start].record.get("kind") == slack.KIND:
                if not self.apply_command(entries[start]):
                    return False
                start += 1
                continue
            end = start
            while end < len(entries) and entries[end].record.get("kind") != slack.KIND:
                end += 1
            if not self.apply_batch(entries[start:end]):
                return False
            start = end
        return True

    def apply_command(self, entry: Entry) -> bool:
        """Run one Slack command in the clone; its commit carries the journal seq like an alert batch's."""
        result = load(self.root)
        if result.errors:
            self.blocked = f"the status repo has {len(result.errors)} errors; run 'tidings validate'"
            log.error("%s; not applying Slack commands until it is fixed", self.blocked)
            return False
        self.blocked = ""
        head = git(self.root, "rev-parse", "HEAD").strip()
        try:
            reply = slack.apply_entry(self.root, result.repo, entry.record, self.journal.trailers(entry.seq))
        except slack.CommandError as exc:  # checked on receipt; only a changed parser gets here
            reply = slack.Reply(f":warning: {exc}")
        except Exception:  # a bug: say so, and leave the clone as it was
            log.exception("Slack command (journal entry %d) failed", entry.seq)
            recover(self.root, self.journal)
            reply = slack.Reply(":warning: the runner could not do that (see its log); nothing was changed")
        if git(self.root, "rev-parse", "HEAD").strip() != head:
            self.metrics.commits += 1
            self.unpushed = self.do_push
            self._config_head = git(self.root, "rev-parse", "HEAD").strip()
        self.applied = entry.seq
        self._answers[entry.seq] = reply
        return True

    def _answer(self) -> None:
        """Hand over the answers of this step; those whose commits a conflict dropped come again."""
        for seq, reply in sorted(self._answers.items()):
            if seq <= self.applied:
                self.replies[seq] = reply
        self._answers.clear()
        while len(self.replies) > 1000:  # answers nobody waited for (the request timed out)
            del self.replies[min(self.replies)]

    def reapply_from_remote(self) -> None:
        """Our commits conflict with the remote's: take the remote's files and re-apply our events."""
        upstream = self._upstream()
        seq = last_applied_seq(self.root, self.journal.id, upstream)
        log.warning("rebase conflicted; re-applying journal entries after %d onto %s", seq, upstream)
        git(self.root, "reset", "--quiet", "--hard", upstream)
        self.metrics.reapplied += max(0, self.applied - seq)
        self.applied = seq
        self.unpushed = False

    def push_if_needed(self) -> None:
        if not self.unpushed:
            return
        result = push(self.root, REMOTE)
        if result.pushed:
            self.unpushed = False
            self.metrics.pushes += 1
        elif result.reason.startswith("conflict"):
            self.reapply_from_remote()
        else:
            self.metrics.push_failures += 1
            log.warning("push failed, will retry: %s", result.reason)

    def step(self) -> bool:
        """One round: sync, apply what is waiting, push. True when there may be more to do now."""
        with self.lock:
            self.sync()
            self.refresh_config()
            entries = self.journal.after(self.applied, BATCH_LIMIT)
            applied = bool(entries) and self.apply_entries(entries)
            was_unpushed = self.unpushed
            self.push_if_needed()
            if not self.unpushed:
                # Everything applied is committed and pushed, or changed nothing (re-deliveries):
                # none of it is needed again. Without this a stream of repeats grew the journal
                # (and the memory holding it) until the next real change.
                self.journal.compact(self.applied)
            self._answer()
            reapplying = was_unpushed and self.depth > 0 and not self.unpushed
            return (applied and len(entries) == BATCH_LIMIT) or reapplying

    async def _settle(self) -> None:
        """Wait while requests keep arriving (up to MAX_DELAY): a burst then costs one commit, and
        applying (CPU-heavy YAML work) does not compete with acknowledging the burst."""
        deadline = asyncio.get_running_loop().time() + MAX_DELAY
        while asyncio.get_running_loop().time() < deadline:
            self.journal.appended.clear()
            try:
                await asyncio.wait_for(self.journal.appended.wait(), timeout=QUIET)
            except TimeoutError:
                return

    async def run(self) -> None:
        while True:
            await self._settle()
            # Cleared before looking, so an append landing while we work is never missed.
            self.journal.appended.clear()
            try:
                more = await asyncio.to_thread(self.step)
            except Exception as exc:  # git or the disk failing: say so on /healthz, try again shortly
                log.exception("the apply worker failed; retrying")
                self.blocked = f"the apply worker failed: {type(exc).__name__}: {exc}"
                await asyncio.sleep(2.0)
                continue
            if more or (self.journal.after(self.applied, 1) and not self.blocked):
                continue
            # Waiting: for new entries, or to retry a push (remote down) or an invalid repo.
            timeout = 2.0 if (self.unpushed or self.blocked) else 30.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.journal.appended.wait(), timeout=timeout)

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

Commands (Slack's slash commands, runner/slack.py) travel the same path: journalled, applied here
under the same lock, each in a commit of its own carrying its seq, and answered (Answers) once the
step has pushed. The worker knows them only as `Command`s by journal kind: app.py wires them in.

Git goes through the clone (runner/remote.py), the runner's one git policy.
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from tidings.content.load import load, refresh_incident
from tidings.content.model import Integration, StatusRepo
from tidings.runner.apply import apply_event, commit_subject
from tidings.runner.journal import ID_TRAILER, SEQ_TRAILER, Entry, Journal
from tidings.runner.remote import Clone, Published
from tidings.runner.sources import parse
from tidings.runner.sources.events import PayloadError
from tidings.store.alert_file import AlertIndex
from tidings.store.edit import EditError
from tidings.store.git import GitError, commit, git

log = logging.getLogger(__name__)
BATCH_LIMIT = 500
# A batch starts once no request has arrived for QUIET seconds, or MAX_DELAY after the first.
QUIET = 0.05
MAX_DELAY = 1.0


class Command(Protocol):
    """A kind of journal entry that is a command: applied alone, committed on its own, answered."""

    def apply(
        self, root: Path, repo: StatusRepo, record: Mapping[str, Any], trailers: Mapping[str, str]
    ) -> Any:
        """Apply it in the clone and commit, with `trailers` naming the journal entry; the answer."""
        ...

    def failed(self) -> Any:
        """The answer when `apply` raised (a bug): the clone has been put back as it was."""
        ...


class Answers:
    """Commands' answers, by journal seq, handed from the worker's thread to the requests awaiting them."""

    KEEP = 1000  # answers nobody waited for (the request timed out) are forgotten beyond this

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: dict[int, Any] = {}
        self._waiting: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = {}

    def give(self, seq: int, answer: Any) -> None:
        """From the worker's thread: the answer to entry `seq`, to whoever waits (or comes) for it."""
        with self._lock:
            waiting = self._waiting.pop(seq, None)
            if waiting is None:
                self._ready[seq] = answer
                while len(self._ready) > self.KEEP:
                    del self._ready[min(self._ready)]
                return
        loop, future = waiting

        def settle() -> None:
            if not future.done():  # a waiter that timed out meanwhile has cancelled it
                future.set_result(answer)

        loop.call_soon_threadsafe(settle)

    async def wait(self, seq: int, timeout: float) -> Any | None:
        """The answer to entry `seq` once the worker has applied and pushed it (None after `timeout`)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if seq in self._ready:
                return self._ready.pop(seq)
            future: asyncio.Future[Any] = loop.create_future()
            self._waiting[seq] = (loop, future)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            with self._lock:
                self._waiting.pop(seq, None)
            return None


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


def recover(clone: Clone, journal: Journal) -> int:
    """Drop what a crash left in the clone; return the seq up to which the clone holds `journal`."""
    clone.recover()
    if journal.legacy:
        journal.adopt(legacy_applied_seq(clone.root))
    return last_applied_seq(clone.root, journal.id)


class Worker:
    def __init__(
        self,
        clone: Clone,
        journal: Journal,
        metrics: Metrics,
        applied: int,
        commands: Mapping[str, Command] | None = None,
    ):
        """`applied`: what `recover` returned, the seq up to which the journal is in git.
        `commands`: the journal kinds that are commands, and how to apply each."""
        self.clone = clone
        self.root = clone.root
        self.journal = journal
        self.metrics = metrics
        self.commands = dict(commands or {})
        self.applied = applied
        # A crash may have come between commit and push: then there is something to push first.
        self.unpushed = clone.pushing and clone.ahead() > 0
        self.blocked = ""  # why the worker is waiting (an invalid repo), shown by /healthz
        self.integrations: dict[str, Integration] = {}
        # Commands' answers go out once their step has pushed, so an answer speaks of what the
        # remote holds; a conflict that drops a command's commit applies it, and answers it, again.
        self.answers = Answers()
        self._answers: dict[int, Any] = {}
        # Held for every git operation in the clone: a step here, the escalation tick, an ack link.
        self.lock = clone.lock
        clone.on_conflict = self.reapply_from_remote
        self._step: asyncio.Future[bool] | None = None  # the step running in its thread, if any
        self._config_head = ""
        self.refresh_config()

    @property
    def do_push(self) -> bool:
        return self.clone.pushing

    def refresh_config(self) -> None:
        """Re-read the integrations when the clone's HEAD moved (a merged config change)."""
        head = git(self.root, "rev-parse", "HEAD", check=False).strip()
        if head == self._config_head:
            return
        self._config_head = head
        self.integrations = {i.id: i for i in load(self.root, alerts=False).repo.integrations}

    @property
    def depth(self) -> int:
        """Journal entries waiting to be applied (counted: a refused append leaves a gap in the seqs)."""
        return self.journal.waiting(self.applied)

    def _failed(self, entry: Entry, reason: str) -> None:
        """Keep an entry that cannot be applied, with why, rather than dropping it silently."""
        self.metrics.failed += 1
        log.error("journal entry %d not applied: %s", entry.seq, reason)
        with (self.journal.folder / "failed.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"reason": reason, **entry.record}, sort_keys=True) + "\n")

    def apply_batch(self, entries: list[Entry]) -> bool:
        """Apply entries and commit them as one; False when the repo is invalid (nothing applied)."""
        # Alert records are read by id as they are needed (AlertIndex), never all of them.
        result = load(self.root, alerts=False)
        if result.errors:
            self.blocked = f"the status repo has {len(result.errors)} errors; run 'tidings validate'"
            log.error("%s; not applying alerts until it is fixed", self.blocked)
            return False
        self.blocked = ""
        repo = result.repo
        index = AlertIndex(self.root)
        record_actions: dict[str, int] = {}
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
                body = base64.b64decode(record["body"])
                event = parse(record["kind"], body, integration, received, record.get("headers"))
                outcome = apply_event(self.root, repo, event, integration, received, index)
            except (PayloadError, EditError) as exc:  # checked on receipt; a changed config or file
                self._failed(entry, str(exc))
                continue
            except (OSError, GitError):
                # The disk or git failing (full, a lock left behind): not the entry's fault. The whole
                # batch stops uncommitted; `run` puts the clone back and tries again shortly.
                raise
            except Exception as exc:  # a bug: keep the entry (failed.jsonl), never stop the worker for it
                log.exception("journal entry %d could not be applied", entry.seq)
                self._failed(entry, f"{type(exc).__name__}: {exc}")
                continue
            if outcome.paths:
                if outcome.changed and outcome.rel:
                    repo = refresh_incident(repo, outcome.rel)
                    lines.append(f"- {outcome.action} {outcome.incident_id} ({event.kind}/{event.source})")
                    done = actions.setdefault(str(outcome.incident_id), [])
                    if not done or done[-1] != outcome.action:
                        done.append(outcome.action)
                for path in outcome.paths:
                    if path not in changed:
                        changed.append(path)
                for change in outcome.records:
                    record_actions[change.action] = record_actions.get(change.action, 0) + 1
                groups.add(event.group)
                sources.add(f"{event.kind}/{event.source}")
                fingerprints |= {a.fingerprint for a in event.alerts}
                self.metrics.applied += 1
                received_times.append(received.timestamp())
            else:
                self.metrics.duplicates += 1
        last = entries[-1].seq
        if changed:
            subject = commit_subject(actions, record_actions)
            if record_actions:
                lines.append("- alerts: " + ", ".join(f"{n} {a}" for a, n in record_actions.items()))
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
        """Alerts in batches, one commit each; a command alone, in its own commit."""
        start = 0
        while start < len(entries):
            if entries[start].record.get("kind") in self.commands:
                if not self.apply_command(entries[start]):
                    return False
                start += 1
                continue
            end = start
            while end < len(entries) and entries[end].record.get("kind") not in self.commands:
                end += 1
            if not self.apply_batch(entries[start:end]):
                return False
            start = end
        return True

    def apply_command(self, entry: Entry) -> bool:
        """Run one command in the clone; its commit carries the journal seq like an alert batch's."""
        result = load(self.root, alerts=False)  # commands read the alert records they need by name
        if result.errors:
            self.blocked = f"the status repo has {len(result.errors)} errors; run 'tidings validate'"
            log.error("%s; not applying commands until it is fixed", self.blocked)
            return False
        self.blocked = ""
        command = self.commands[entry.record["kind"]]
        head = git(self.root, "rev-parse", "HEAD").strip()
        try:
            answer = command.apply(self.root, result.repo, entry.record, self.journal.trailers(entry.seq))
        except (OSError, GitError):
            raise  # the disk or git failing: the command is made again once `run` has put things back
        except Exception:  # a bug: say so, and leave the clone as it was
            log.exception("command (journal entry %d) failed", entry.seq)
            self.clone.recover()
            answer = command.failed()
        if git(self.root, "rev-parse", "HEAD").strip() != head:
            self.metrics.commits += 1
            self.unpushed = self.do_push
            self._config_head = git(self.root, "rev-parse", "HEAD").strip()
        self.applied = entry.seq
        self._answers[entry.seq] = answer
        return True

    def _answer(self) -> None:
        """Hand over the answers of this step; those whose commits a conflict dropped come again."""
        for seq, answer in sorted(self._answers.items()):
            if seq <= self.applied:
                self.answers.give(seq, answer)
        self._answers.clear()

    def reapply_from_remote(self) -> None:
        """Our commits conflict with the remote's: take the remote's files and re-apply our entries."""
        upstream = self.clone.upstream
        seq = last_applied_seq(self.root, self.journal.id, upstream)
        log.warning("rebase conflicted; re-applying journal entries after %d onto %s", seq, upstream)
        self.clone.take_remote()
        self.metrics.reapplied += max(0, self.applied - seq)
        self.applied = seq
        self.unpushed = False

    def push_if_needed(self) -> None:
        if not self.unpushed:
            return
        published = self.clone.publish()
        if published is Published.PUSHED:
            self.unpushed = False
            self.metrics.pushes += 1
        elif published is Published.UNREACHABLE:
            self.metrics.push_failures += 1
        # CONFLICT: reapply_from_remote ran (on_conflict); the next step applies the entries again.

    def step(self) -> bool:
        """One round: sync, apply what is waiting, push. True when there may be more to do now."""
        with self.lock:
            # Entries first, then the fetch: every entry is applied on what the remote held when it
            # arrived, or newer (a merge pushed just before an alert is never missed).
            entries = self.journal.after(self.applied, BATCH_LIMIT)
            self.clone.sync()
            self.refresh_config()
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

    async def stop(self, grace: float) -> None:
        """A graceful stop, once `run` is cancelled: finish the step in hand, push what it committed.

        Bounded by `grace` seconds for each; what is left (a push to a remote that does not answer)
        stays committed locally and journalled, and the next start pushes it."""
        if self._step is not None and not self._step.done():
            log.info("stopping: finishing the batch in hand")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._step), grace)
        if self.unpushed:
            log.info("stopping: pushing what is committed")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(self._push_now), grace)

    def _put_back(self) -> None:
        with self.lock:
            self.clone.recover()

    def _push_now(self) -> None:
        with self.lock:
            self.push_if_needed()

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
                # Kept, and shielded: a stop (SIGTERM) waits for the step in hand instead of leaving
                # it running alone in its thread (runner/app.py, `stop`).
                self._step = asyncio.ensure_future(asyncio.to_thread(self.step))
                more = await asyncio.shield(self._step)
            except Exception as exc:  # git or the disk failing: say so on /healthz, try again shortly
                log.exception("the apply worker failed; retrying")
                self.blocked = f"the apply worker failed: {type(exc).__name__}: {exc}"
                # Edits of a batch that did not commit must not stay: applied again onto them, an
                # update would be written twice. The commits are the truth; retry from them.
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self._put_back)
                await asyncio.sleep(2.0)
                continue
            if more or (self.journal.after(self.applied, 1) and not self.blocked):
                continue
            # Waiting: for new entries, or to retry a push (remote down) or an invalid repo.
            timeout = 2.0 if (self.unpushed or self.blocked) else 30.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.journal.appended.wait(), timeout=timeout)

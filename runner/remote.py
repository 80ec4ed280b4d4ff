"""The runner's one git policy: a clone it owns, kept in step with the remote.

Every part of the runner that changes the status repo goes through a Clone: the alert worker, the
one-shot `runner apply`, the escalation tick and ack links. The policy, in one place:
- recover: a crash's leftovers (an index lock, a rebase or merge in progress, uncommitted edits
  and new files)
  are dropped on start; the commits are the truth.
- sync: fetch and fast-forward to what people merged; if both sides moved, publish first.
- publish: push, never forced; a rejected push fetches and rebases (tidings.store.git.push). A
  rebase that conflicts (a person edited the same file) is resolved by `on_conflict`: the worker
  takes the remote's files and re-applies its journal; the tick and ack links drop their own
  commits (they are made again: pages re-planned, acks replayed from their queue). A remote that
  is down only delays the push.
- The remote's name (tidings.store.git.REMOTE) and the state folder (state_dir) are defined once.

The remote is also what makes a page safe to send: a page is sent only once the remote holds the
commit that records it, so two runners (a `runner serve` and a scheduled `runner tick` in CI, or
two CI jobs) can never both send it. A push is the compare-and-swap: of two clones recording the
same page, one push wins and the other's rebase conflicts, so it drops its record and finds the
page already recorded by the winner.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from tidings.content.layout import ALERTS_DIR
from tidings.errors import TidingsError
from tidings.store.git import REMOTE, GitError, PushOutcome, PushResult, current_branch, fetch, git, push

log = logging.getLogger(__name__)
# Every commit the tick and the ack links make carries this trailer: such a commit can be dropped
# on a conflict and made again (pages are re-planned, acks replayed from their queue).
RUNNER_TRAILER = "Tidings-Runner"


class Published(enum.Enum):
    """What publishing left: the remote holds everything, or why not."""

    PUSHED = "pushed"  # the remote holds every local commit (pushed now, or nothing to push)
    CONFLICT = "conflict"  # a conflict was resolved by taking the remote's files: plan again
    UNREACHABLE = "unreachable"  # not pushed now (remote down, or still rejected): try again later
    LOCAL = "local"  # no remote to push to (or pushing is off): commits stay local


class CloneConflict(TidingsError):
    """Local commits that are not the runner's conflict with the remote; a person must sort them out."""


# Where the runner keeps its local state (journal, delivery ledger, ack queue, locks) when not told:
# inside the clone's .git, so it is never committed. Operators may put it on a volume of its own.
STATE_ENV = "TIDINGS_RUNNER_STATE"


def state_dir(root: Path, given: Path | None = None) -> Path:
    """The runner's state folder: `given`, else $TIDINGS_RUNNER_STATE, else ROOT/.git/tidings-runner."""
    if given is not None:
        return given
    env = os.environ.get(STATE_ENV)
    return Path(env) if env else root / ".git" / "tidings-runner"


def has_remote(root: Path) -> bool:
    return REMOTE in git(root, "remote", check=False).split()


@dataclass
class Clone:
    """A clone the runner writes to. `pushing`: it has a remote and commits are pushed to it."""

    root: Path
    pushing: bool
    lock: AbstractContextManager[object] = field(default_factory=threading.Lock)
    # How a conflicting push is resolved; None: drop the runner's own commits (_drop_runner_commits).
    on_conflict: Callable[[], None] | None = None
    state_folder: Path | None = None  # None: state_dir's default
    last_push: PushResult | None = field(default=None, init=False)  # what git said, for people

    @classmethod
    def open(cls, root: Path, do_push: bool = True, state: Path | None = None) -> Clone:
        return cls(root.resolve(), do_push and has_remote(root), state_folder=state)

    @property
    def state(self) -> Path:
        return state_dir(self.root, self.state_folder)

    @property
    def upstream(self) -> str:
        return f"{REMOTE}/{current_branch(self.root)}"

    def ahead(self) -> int:
        """Local commits the remote's branch (as last fetched) lacks; all of them if it has none yet."""
        known = git(self.root, "rev-parse", "--verify", "--quiet", self.upstream, check=False).strip()
        span = f"{self.upstream}..HEAD" if known else "HEAD"
        out = git(self.root, "rev-list", "--count", span, check=False).strip()
        return int(out) if out.isdigit() else 0

    def _contains(self, ancestor: str, rev: str) -> bool:
        try:
            git(self.root, "merge-base", "--is-ancestor", ancestor, rev)
        except GitError:
            return False
        return True

    def recover(self) -> None:
        """Drop what a crash left: an index lock, a rebase or merge in progress, uncommitted edits."""
        root = self.root
        lock = root / ".git" / "index.lock"
        if lock.exists():  # the runner owns this clone: a lock is a crash's leftover
            lock.unlink()
        # A crash inside `git rebase` (while pushing) leaves a detached HEAD: put the branch back
        # first, or every later commit would land off the branch (and a push would create
        # refs/heads/HEAD).
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
                f"{root} is on a detached HEAD: "
                "check out the branch the runner should commit to and start again"
            )
        git(root, "reset", "--quiet", "--hard", "HEAD")
        # The files a batch that did not commit left behind go too: an alert record left untracked
        # would read as already written when the batch is made again, and never be committed.
        git(root, "clean", "-fdq", "--", "content/incidents", ALERTS_DIR)

    def sync(self) -> None:
        """Fetch and catch up with the remote, so work is planned on what people merged (an ack, a
        config change); a remote that is down leaves the clone as it is."""
        if not self.pushing:
            return
        try:
            fetch(self.root, REMOTE, current_branch(self.root))
        except GitError as exc:
            log.info("could not fetch (the remote may be down): %s", exc)
            return
        if self._contains("HEAD", self.upstream):
            git(self.root, "merge", "--quiet", "--ff-only", self.upstream)
        elif not self._contains(self.upstream, "HEAD"):
            # Both moved: put our commits on top of the remote's now (a push rebases them), or drop
            # and re-make them if they conflict, rather than plan on files the remote has changed.
            self.publish()

    def publish(self) -> Published:
        """Push what is committed; CONFLICT once the conflict is resolved (so: plan again)."""
        self.last_push = None
        if not self.pushing:
            return Published.LOCAL
        if self.ahead() == 0:
            return Published.PUSHED
        result = self.last_push = push(self.root, REMOTE)
        if result.outcome is PushOutcome.PUSHED:
            return Published.PUSHED
        if result.outcome is PushOutcome.CONFLICT:
            log.warning("the remote has conflicting changes; taking them and planning again")
            (self.on_conflict or self._drop_runner_commits)()
            return Published.CONFLICT
        log.warning("not pushed (will try again): %s", result.reason)
        return Published.UNREACHABLE

    def take_remote(self) -> None:
        """Drop every local commit and take the remote's branch as it was last fetched."""
        git(self.root, "reset", "--quiet", "--hard", self.upstream)

    def _drop_runner_commits(self) -> None:
        """Standalone conflict handling: drop our own commits (they can be made again), keep others'."""
        while self.ahead() > 0:
            trailers = git(self.root, "log", "-1", f"--format=%(trailers:key={RUNNER_TRAILER},valueonly)")
            if not trailers.strip():
                raise CloneConflict(
                    f"local commits in {self.root} conflict with {self.upstream} and are not the runner's; "
                    "push or drop them, then run the tick again"
                )
            git(self.root, "reset", "--quiet", "--hard", "HEAD~1")
        git(self.root, "merge", "--quiet", "--ff-only", self.upstream)

    def remote_text(self, rel: str) -> str | None:
        """The file as the remote holds it (as of the last fetch or push); None if it has none."""
        if not self.pushing:
            return None
        run = git(self.root, "show", f"{self.upstream}:{rel}", check=False)
        return run or None

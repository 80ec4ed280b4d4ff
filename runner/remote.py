"""The runner's clone as escalation and ack links use it: sync, publish, and what the remote holds.

The remote is what makes a page safe to send: a page is sent only once the remote holds the commit
that records it, so two runners (a `runner serve` and a scheduled `runner tick` in CI, or two CI
jobs) can never both send it. A push is the compare-and-swap: of two clones recording the same
page, one push wins and the other's rebase conflicts, so it drops its record and finds the page
already recorded by the winner.

In `runner serve` the alert worker owns the same clone, so everything here runs under the worker's
lock, and a conflict is resolved the worker's way (take the remote's files, re-apply the journal).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tidings.errors import TidingsError
from tidings.store.git import GitError, current_branch, git, push

log = logging.getLogger(__name__)
REMOTE = "origin"
# Every commit the tick and the ack links make carries this trailer: such a commit can be dropped
# on a conflict and made again (pages are re-planned, acks replayed from their queue).
RUNNER_TRAILER = "Tidings-Runner"

Published = Literal["pushed", "unreachable", "conflict", "local"]


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
    on_conflict: Callable[[], None] | None = None
    state_folder: Path | None = None  # None: state_dir's default

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
        out = git(self.root, "rev-list", "--count", f"{self.upstream}..HEAD", check=False).strip()
        return int(out) if out.isdigit() else 0

    def _contains(self, ancestor: str, rev: str) -> bool:
        try:
            git(self.root, "merge-base", "--is-ancestor", ancestor, rev)
        except GitError:
            return False
        return True

    def sync(self) -> None:
        """Fetch and catch up with the remote, so a tick plans on what people merged (an ack, say)."""
        if not self.pushing:
            return
        try:
            git(self.root, "fetch", "--quiet", REMOTE, current_branch(self.root))
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
        """Push what is committed; 'conflict' after the conflict was resolved (so: plan again)."""
        if not self.pushing:
            return "local"
        if self.ahead() == 0:
            return "pushed"
        result = push(self.root, REMOTE)
        if result.pushed:
            return "pushed"
        if result.reason.startswith("conflict"):
            log.warning("the remote has conflicting changes; taking them and planning again")
            (self.on_conflict or self._drop_runner_commits)()
            return "conflict"
        log.warning("not pushed (will try again): %s", result.reason)
        return "unreachable"

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

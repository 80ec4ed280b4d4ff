"""Walking the runner's branch: the commits since the last look, and a ledger of what was done.

The announcer (Slack channel news) and the PagerDuty sync both tell the outside world about commits
once each. Both keep a mark (the last commit looked at, moved only after a walk is done) and a
ledger of keys, one line each, fsynced as soon as something was told: a crash mid-walk repeats at
most the one in hand, and the walk resumes from the mark.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from tidings.store.edit import write_atomic
from tidings.store.git import REMOTE, GitError, current_branch, git

log = logging.getLogger(__name__)


class BranchWalk:
    def __init__(self, root: Path, pushing: bool, mark: Path, ledger: Path, what: str):
        """`what` names the walker in the log."""
        self.root = root
        self.pushing = pushing
        self.mark = mark
        self.ledger = ledger
        self.what = what
        self.done: set[str] = set()
        if ledger.exists():
            for line in ledger.read_text(encoding="utf-8").splitlines():
                try:
                    self.done.add(json.loads(line)["key"])
                except (ValueError, KeyError):
                    continue  # torn by a crash: that one may be told again, with its key

    def since(self) -> tuple[str, str] | None:
        """(last commit looked at, branch head) when there are commits to walk. A first look, or a
        mark no longer in the branch's history, starts from now (the mark moves to the head)."""
        rev = f"{REMOTE}/{current_branch(self.root)}" if self.pushing else "HEAD"
        head = git(self.root, "rev-parse", "--verify", "--quiet", rev, check=False).strip()
        try:
            seen = str(json.loads(self.mark.read_text(encoding="utf-8"))["commit"])
        except (OSError, ValueError, KeyError):
            seen = ""
        if not head or head == seen:
            return None
        if not seen or not _is_ancestor(self.root, seen, head):
            if seen:
                log.warning(
                    "%s: %s is no longer in the branch's history; starting from %s", self.what, seen, head
                )
            self.move(head)
            return None
        return seen, head

    def move(self, head: str) -> None:
        """The walk up to `head` is done."""
        self.mark.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.mark, json.dumps({"commit": head}) + "\n")

    def note(self, record: dict[str, Any]) -> None:
        """`record` (with its `key`) was told: in the ledger before anything else happens."""
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        self.done.add(record["key"])


def _is_ancestor(root: Path, ancestor: str, rev: str) -> bool:
    try:
        git(root, "merge-base", "--is-ancestor", ancestor, rev)
    except GitError:
        return False
    return True

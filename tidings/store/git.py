"""Git as the database: commits that say who and why (with trailers), pushes that never force.

Runs the real `git` so hooks, signing config and credentials behave as they do for people.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tidings.errors import TidingsError

log = logging.getLogger(__name__)

# The runner's identity in commits. Set TIDINGS_RUNNER_EMAIL to the e-mail of the account whose key
# signs them (e.g. a project access token's bot user) for GitLab to show them as Verified.
RUNNER_NAME = os.environ.get("TIDINGS_RUNNER_NAME") or "Tidings runner"
RUNNER_EMAIL = (os.environ.get("TIDINGS_RUNNER_EMAIL") or "runner@tidings.invalid").lower()


class GitError(TidingsError):
    """A git command failed; the message carries git's own words."""


class RemoteTimeout(GitError):
    """The remote did not answer in time; the command (and all it started) was stopped."""


# A remote that stops answering (a hung server, a network gone mid-push) must not hold the runner,
# or a graceful stop, for ever: fetches and pushes get this many seconds, then they are killed with
# everything they started (ssh, a local receive-pack). Killing a push is safe: the remote updates
# its ref only at the very end, all at once.
TIMEOUT_ENV = "TIDINGS_GIT_TIMEOUT"
DEFAULT_TIMEOUT = 120.0


def network_timeout() -> float:
    try:
        seconds = float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT)
    except ValueError:
        return DEFAULT_TIMEOUT
    return seconds if seconds > 0 else DEFAULT_TIMEOUT


def _network(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a git command that talks to the remote, in a process group of its own, bounded in time."""
    timeout = network_timeout()
    process = subprocess.Popen(
        ["git", "-C", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so that a timeout (or Ctrl-C) can stop its children too
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except BaseException as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        if isinstance(exc, subprocess.TimeoutExpired):
            raise RemoteTimeout(f"git {' '.join(args)}: no answer from the remote in {timeout:g} s") from None
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def remote_git(root: Path, *args: str) -> None:
    """A git command that talks to the remote (a fetch); GitError when it fails or does not answer."""
    run = _network(root, *args)
    if run.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {(run.stderr or run.stdout).strip()}")


def fetch(root: Path, remote: str, branch: str) -> None:
    """Fetch `branch` from `remote`; GitError when it is down, gone or does not answer in time."""
    remote_git(root, "fetch", "--quiet", remote, branch)


# The remote every clone Tidings writes to pushes to and syncs with: the one place that names it.
REMOTE = "origin"


class PushOutcome(enum.Enum):
    """How a push ended; callers decide on this, never on the wording of `reason`."""

    PUSHED = "pushed"
    CONFLICT = "conflict"  # the rebase onto the remote's new commits conflicted; local commits kept
    UNREACHABLE = "unreachable"  # the remote could not be fetched (down, or gone mid-push)
    REJECTED = "rejected"  # still rejected after every retry (others kept pushing first)
    DETACHED = "detached"  # the clone is on a detached HEAD: nothing was pushed


@dataclass(frozen=True)
class PushResult:
    outcome: PushOutcome
    attempts: int
    reason: str = ""  # for people: what git said

    @property
    def pushed(self) -> bool:
        return self.outcome is PushOutcome.PUSHED


def git(root: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True) -> str:
    run = subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if check and run.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {(run.stderr or run.stdout).strip()}")
    return run.stdout


def _identity(name: str, email: str) -> dict[str, str]:
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email}  # fmt: skip


def commit(
    root: Path,
    paths: Sequence[str],
    subject: str,
    body: str = "",
    trailers: Mapping[str, str | Sequence[str]] | None = None,
    author: tuple[str, str] = (RUNNER_NAME, RUNNER_EMAIL),
) -> str | None:
    """Commit `paths` (relative to root) with a message and trailers; None when nothing changed."""
    git(root, "add", "--", *paths)
    if not git(root, "diff", "--cached", "--name-only", "--", *paths).strip():
        return None
    lines = [subject, ""]
    if body:
        lines += [body.rstrip(), ""]
    for key, value in (trailers or {}).items():
        for item in [value] if isinstance(value, str) else value:
            lines.append(f"{key}: {item}")
    message = "\n".join(lines).rstrip() + "\n"
    run = subprocess.run(
        ["git", "-C", str(root), "commit", "--quiet", "-F", "-", "--", *paths],
        input=message,
        capture_output=True,
        text=True,
        env={**os.environ, **_identity(*author)},
        check=False,
    )
    if run.returncode != 0:
        raise GitError(f"git commit: {(run.stderr or run.stdout).strip()}")
    return git(root, "rev-parse", "HEAD").strip()


def current_branch(root: Path) -> str:
    return git(root, "rev-parse", "--abbrev-ref", "HEAD").strip()


def push(root: Path, remote: str = REMOTE, attempts: int = 5) -> PushResult:
    """Push the current branch; on rejection fetch, rebase onto what others pushed, and try again.

    Never forces. A rebase that conflicts is aborted and reported, leaving the local commits as
    they were, so the caller can re-apply its events to the fresh files instead.
    """
    branch = current_branch(root)
    if branch == "HEAD":  # never push a detached HEAD: it would create refs/heads/HEAD on the remote
        return PushResult(PushOutcome.DETACHED, 0, "the clone is on a detached HEAD, not a branch")
    for attempt in range(1, attempts + 1):
        try:
            run = _network(root, "push", "--quiet", remote, f"HEAD:refs/heads/{branch}")
        except RemoteTimeout as exc:  # a remote that hangs is as good as down: try again later
            return PushResult(PushOutcome.UNREACHABLE, attempt, str(exc))
        if run.returncode == 0:
            return PushResult(PushOutcome.PUSHED, attempt)
        log.info("push rejected (attempt %d): %s", attempt, run.stderr.strip())
        try:
            fetch(root, remote, branch)
        except GitError as exc:
            return PushResult(PushOutcome.UNREACHABLE, attempt, f"remote unreachable: {exc}")
        rebase = subprocess.run(
            ["git", "-C", str(root), "rebase", "--quiet", f"{remote}/{branch}"],
            capture_output=True,
            text=True,
            env={**os.environ, **_identity(RUNNER_NAME, RUNNER_EMAIL)},
            check=False,
        )
        if rebase.returncode != 0:
            git(root, "rebase", "--abort", check=False)
            return PushResult(
                PushOutcome.CONFLICT, attempt, f"conflict while rebasing onto {remote}/{branch}"
            )
    return PushResult(PushOutcome.REJECTED, attempts, "still rejected after retries")

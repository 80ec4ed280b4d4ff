"""What every command that changes the repo for a person shares: its options, and who the person is.

A change is committed with the person's git identity (`--author`, else git's user.name and
user.email) and names their people.yml id (`--by`, else the one whose email is theirs).
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parseaddr
from pathlib import Path
from typing import Any, TypeVar

import click

from tidings.content.diagnostics import did_you_mean
from tidings.content.load import load
from tidings.errors import TidingsError, UsageError
from tidings.ops.incidents import Actor, person_for_email
from tidings.store.git import REMOTE, GitError, PushOutcome, current_branch, git, push

F = TypeVar("F", bound=Callable[..., Any])


def changing(command: F) -> F:
    """The options every changing command shares."""
    for option in reversed(
        (
            click.option(
                "--by",
                "person",
                help="Person id named in the timeline (default: the one whose email is yours).",
            ),
            click.option(
                "--author", help='Commit as "Name <email>" (default: git\'s user.name and user.email).'
            ),
            click.option(
                "--no-commit", is_flag=True, help="Stage the change (git add) without committing it."
            ),
            click.option(
                "--push/--no-push", "push_commit", default=False, help="Push the commit (never forced)."
            ),
        )
    ):
        command = option(command)
    return command


def identity(root: Path, given: str | None) -> tuple[str, str]:
    """(name, email) from --author, or git's user.name/user.email; a usage error when neither is set."""
    if given is not None:
        name, email = parseaddr(given)
        if not name or "@" not in email:
            raise UsageError(f'--author must look like "Name <email@example.com>", not {given!r}')
        return name, email
    name = git(root, "config", "user.name", check=False).strip()
    email = git(root, "config", "user.email", check=False).strip()
    if not name or not email:
        raise UsageError(
            'who is making this change? set git\'s user.name and user.email, or pass --author "Name <email>"'
        )
    return name, email


def actor_for(root: Path, person: str | None, author: str | None) -> Actor:
    who = identity(root, author)
    people = load(root, alerts=False).repo
    if person is not None:
        known = [p.id for p in people.people]
        if person not in known:
            raise UsageError(f"unknown person '{person}' {did_you_mean(person, known)}".strip())
    else:
        person = person_for_email(people, who[1])
    return Actor(name=person or who[0], author=who, person=person)


R = TypeVar("R")
# How often a change is made again on the remote's fresh files before giving up.
PUSH_ATTEMPTS = 5


def made_and_pushed(root: Path, make: Callable[[], R], sha: Callable[[R], str | None], push_it: bool) -> R:
    """Make a change (`make` commits it), and with `push_it` push it, never forced.

    A push whose rebase conflicts (the runner committed pages to the same incident a moment ago,
    say) is resolved as the runner resolves its own: our commit is dropped, the remote's files are
    taken, and the change is made again on them, so a responder's acknowledgement always lands.
    Only our own commit is dropped: other local commits that are not on the remote stop it there.
    """
    result = make()
    if not push_it or sha(result) is None:
        return result
    for _ in range(PUSH_ATTEMPTS):
        pushed = push(root)
        if pushed.pushed:
            return result
        if pushed.outcome is not PushOutcome.CONFLICT or not _take_remote_over(root, sha(result) or ""):
            raise TidingsError(f"committed locally but not pushed: {pushed.reason}")
        result = make()  # on the remote's files: it may find there is nothing left to do
        if sha(result) is None:
            return result
    raise TidingsError(f"committed locally but not pushed: the remote kept changing ({PUSH_ATTEMPTS} tries)")


def _take_remote_over(root: Path, ours: str) -> bool:
    """Drop our one commit (HEAD) and fast-forward to the remote's branch; False, touching nothing,
    when HEAD is not ours or other local commits are not on the remote either."""
    upstream = f"{REMOTE}/{current_branch(root)}"
    if git(root, "rev-parse", "HEAD").strip() != ours or not _contains(root, "HEAD~1", upstream):
        return False
    git(root, "reset", "--quiet", "--hard", "HEAD~1")
    git(root, "merge", "--quiet", "--ff-only", upstream)
    return True


def _contains(root: Path, ancestor: str, rev: str) -> bool:
    """Whether `rev` holds `ancestor`."""
    try:
        git(root, "merge-base", "--is-ancestor", ancestor, rev)
    except GitError:
        return False
    return True

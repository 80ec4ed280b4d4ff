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
from tidings.errors import UsageError
from tidings.ops.incidents import Actor, person_for_email
from tidings.store.git import git

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

"""`tidings incident ...`: change an incident from the command line; a thin layer over tidings.incidents."""

from __future__ import annotations

from pathlib import Path

import click

from . import clock
from .diagnostics import did_you_mean
from .edit import EditError
from .gitstore import GitError, git, push
from .incidents import IncidentError, acknowledge
from .load import load


@click.group()
def incident() -> None:
    """Change incidents: each command edits the file and commits it."""


def _me(root: Path) -> str | None:
    """The person in content/people.yml whose email is this clone's git user.email, if any."""
    email = git(root, "config", "user.email", check=False).strip().lower()
    people = load(root).repo.people
    return next((p.id for p in people if email and (p.email or "").lower() == email), None)


@incident.command("ack")
@click.argument("incident_id", metavar="ID")
@click.argument("root", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--by", "person", help="Person id acknowledging (default: the one whose email is git's user.email)."
)
@click.option(
    "--push/--no-push",
    "push_commit",
    default=False,
    help="Push the commit (fetching and rebasing if needed).",
)
def ack(incident_id: str, root: Path, person: str | None, push_commit: bool) -> None:
    """Acknowledge incident ID in ROOT: set acknowledged_at, add an internal update, commit.

    Rules with `unless: acknowledged` stop paging. Acknowledging twice changes nothing.
    """
    if person is not None:
        known = [p.id for p in load(root).repo.people]
        if person not in known:
            raise click.UsageError(f"unknown person '{person}' {did_you_mean(person, known)}".strip())
    else:
        person = _me(root)
    try:
        result = acknowledge(root, incident_id, clock.now(), by=person)
    except IncidentError as exc:
        raise click.UsageError(str(exc)) from exc
    except (EditError, GitError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(result.message + (f" (commit {result.commit[:12]})" if result.commit else ""))
    if push_commit and result.commit:
        pushed = push(root)
        if not pushed.pushed:
            raise click.ClickException(f"committed locally but not pushed: {pushed.reason}")

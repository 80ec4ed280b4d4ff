"""`tidings incident ...`: change an incident from the command line; a thin layer over tidings.incidents.

Every command that changes a file commits it with the person's git identity (`--author`, else git's
user.name and user.email) and a `Tidings-Incident` trailer; `--no-commit` stages it instead.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from tidings import clock
from tidings.cli.changes import actor_for, changing, identity, made_and_pushed
from tidings.cli.common import repo_root
from tidings.cli.params import WhenParam
from tidings.content.load import load
from tidings.content.model import IMPACTS, INCIDENT_STATUSES, SEVERITIES, Incident
from tidings.errors import TidingsError, UsageError
from tidings.ops.incidents import (
    Change,
    acknowledge,
    apply_quick_actions_from_commits,
    details,
    find_incident,
    list_incidents,
    open_incident,
    resolve_incident,
    set_fields,
    set_published,
    summary,
    update_incident,
)
from tidings.ops.quick_actions import parse_time
from tidings.store.git import push

F = TypeVar("F", bound=Callable[..., Any])


@click.group()
def incident() -> None:
    """Open, update, acknowledge, resolve, publish and read incidents; each change is a commit."""


id_argument = click.argument("incident_id", metavar="ID")


def _finish(root: Path, make: Callable[[], Change], no_commit: bool, push_commit: bool) -> None:
    """Make the change (and push it: a conflict makes it again on the remote's files); say what was done."""
    result = made_and_pushed(root, make, lambda r: r.commit, push_commit and not no_commit)
    for warning in result.warnings:  # done all the same; stderr, so scripts reading stdout see the change
        click.echo(f"warning: {warning}", err=True)
    if not result.changed:
        click.echo(result.message)
        return
    if result.commit:
        click.echo(f"{result.message} (commit {result.commit[:12]})")
    else:
        click.echo(
            f"{result.message} (staged in {result.rel}, not committed)" if no_commit else result.message
        )


def _body(body: str | None) -> str:
    """--body as given; `-` reads it from standard input (multi-line text, quick actions)."""
    if body == "-":
        return sys.stdin.read()
    return body or ""


@incident.command("open")
@repo_root
@click.option("--title", help="The title (or the template's).")
@click.option("--severity", type=click.Choice(SEVERITIES), help="Default: the template's, else unknown.")
@click.option(
    "--component",
    "components",
    multiple=True,
    metavar="ID[=IMPACT]",
    help=f"An affected component (repeatable); IMPACT one of {', '.join(IMPACTS)} (default partial_outage).",
)
@click.option("--status", type=click.Choice(INCIDENT_STATUSES), help="Default: investigating.")
@click.option("--published/--unpublished", default=None, help="Default: unpublished (or the template's).")
@click.option("--body", help="The first update (quick actions allowed; '-' reads standard input).")
@click.option("--template", metavar="NAME", help="Start from content/templates/NAME.md.")
@changing
def open_command(
    root: Path,
    title: str | None,
    severity: str | None,
    components: tuple[str, ...],
    status: str | None,
    published: bool | None,
    body: str | None,
    template: str | None,
    person: str | None,
    author: str | None,
    no_commit: bool,
    push_commit: bool,
) -> None:
    """Open a new incident in ROOT, with the id <date>-<slug of the title>, and commit it."""
    text, actor = _body(body), actor_for(root, person, author)
    make = lambda: open_incident(  # noqa: E731 (made again on fresh files after a conflict)
        root,
        clock.now(),
        actor,
        title=title,
        severity=severity,
        status=status,
        components=components,
        published=published,
        body=text,
        template=template,
        do_commit=not no_commit,
    )
    _finish(root, make, no_commit, push_commit)


at_option = click.option(
    "--at",
    "at",
    type=WhenParam(),
    help="When it happened, if earlier (a backdated update goes into the timeline in time order); "
    "HH:MM is today in the site's timezone.",
)


def _placed(root: Path, option: str, value: datetime | str | None) -> datetime | None:
    """A WhenParam's value as a time: `HH:MM` on today's date in the site's timezone, as `/at` has it."""
    if not isinstance(value, str):
        return value
    try:
        return parse_time(value, clock.now(), load(root, alerts=False).repo.site.timezone)
    except ValueError as exc:
        raise UsageError(f"{option} {value}: {exc}") from None


@incident.command("update")
@id_argument
@repo_root
@click.option("--body", help="The update's text, with quick actions on lines of their own ('-': stdin).")
@click.option("--status", type=click.Choice(INCIDENT_STATUSES), help="The incident's new status.")
@click.option("--internal", is_flag=True, help="An internal update: never on the public page.")
@at_option
@changing
def update_command(
    incident_id: str,
    root: Path,
    body: str | None,
    status: str | None,
    internal: bool,
    at: datetime | str | None,
    person: str | None,
    author: str | None,
    no_commit: bool,
    push_commit: bool,
) -> None:
    """Add a timeline update to incident ID; quick actions in --body act on the incident."""
    text, actor = _body(body), actor_for(root, person, author)
    make = lambda: update_incident(  # noqa: E731
        root,
        incident_id,
        clock.now(),
        actor,
        body=text,
        status=status,
        internal=internal,
        do_commit=not no_commit,
        at=_placed(root, "--at", at),
    )
    _finish(root, make, no_commit, push_commit)


@incident.command("set")
@id_argument
@repo_root
@click.option("--title", help="The new title.")
@click.option("--severity", type=click.Choice(SEVERITIES), help="The new severity.")
@click.option(
    "--component",
    "components",
    multiple=True,
    metavar="ID[=IMPACT]",
    help=f"A component's impact (repeatable); IMPACT one of {', '.join(IMPACTS)} "
    "(default partial_outage; operational when it works again).",
)
@click.option(
    "--started-at",
    type=WhenParam(),
    help="When it really started (not after its first update); HH:MM is today in the site's timezone.",
)
@changing
def set_command(
    incident_id: str,
    root: Path,
    title: str | None,
    severity: str | None,
    components: tuple[str, ...],
    started_at: datetime | str | None,
    person: str | None,
    author: str | None,
    no_commit: bool,
    push_commit: bool,
) -> None:
    """Set the title, severity, components' impacts or start of incident ID, in one commit.

    The timeline gets an internal update saying what changed, as the quick actions /title,
    /severity, /component and /started-at do.
    """
    actor = actor_for(root, person, author)
    make = lambda: set_fields(  # noqa: E731
        root,
        incident_id,
        clock.now(),
        actor,
        title=title,
        severity=severity,
        components=components,
        started_at=_placed(root, "--started-at", started_at),
        do_commit=not no_commit,
    )
    _finish(root, make, no_commit, push_commit)


@incident.command("ack")
@id_argument
@repo_root
@changing
def ack(
    incident_id: str, root: Path, person: str | None, author: str | None, no_commit: bool, push_commit: bool
) -> None:
    """Acknowledge incident ID in ROOT: set acknowledged_at, add an internal update, commit.

    Rules with `unless: acknowledged` stop paging. Acknowledging twice changes nothing.
    """
    actor = actor_for(root, person, author)
    # The timeline names the person: their people.yml id, else the author's name (never "runner").
    make = lambda: acknowledge(  # noqa: E731
        root, incident_id, clock.now(), by=actor.name, author=actor.author, do_commit=not no_commit
    )
    _finish(root, make, no_commit, push_commit)


@incident.command("resolve")
@id_argument
@repo_root
@click.option("--body", help="The resolving update (default: 'This incident has been resolved.').")
@at_option
@changing
def resolve_command(
    incident_id: str,
    root: Path,
    body: str | None,
    at: datetime | str | None,
    person: str | None,
    author: str | None,
    no_commit: bool,
    push_commit: bool,
) -> None:
    """Resolve incident ID: status resolved, resolved_at now (or --at), a resolved update; commit."""
    actor = actor_for(root, person, author)
    text = _body(body)
    make = lambda: resolve_incident(  # noqa: E731
        root, incident_id, clock.now(), actor, text, do_commit=not no_commit, at=_placed(root, "--at", at)
    )
    _finish(root, make, no_commit, push_commit)


def _publish(root: Path, incident_id: str, published: bool, body: str | None, **who: Any) -> None:
    actor = actor_for(root, who["person"], who["author"])
    text = _body(body)
    make = lambda: set_published(  # noqa: E731
        root, incident_id, clock.now(), actor, published, text, do_commit=not who["no_commit"]
    )
    _finish(root, make, who["no_commit"], who["push_commit"])


@incident.command("publish")
@id_argument
@repo_root
@click.option("--body", help="A public update to add with it (needed when there is none yet).")
@changing
def publish_command(incident_id: str, root: Path, body: str | None, **who: Any) -> None:
    """Publish incident ID on the status page; it needs a public update."""
    _publish(root, incident_id, True, body, **who)


@incident.command("unpublish")
@id_argument
@repo_root
@changing
def unpublish_command(incident_id: str, root: Path, **who: Any) -> None:
    """Take incident ID off the status page (its file and history stay)."""
    _publish(root, incident_id, False, None, **who)


format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)


def _local(repo_timezone: str, value: Any) -> str:
    return value.astimezone(ZoneInfo(repo_timezone)).strftime("%Y-%m-%d %H:%M %z") if value else "-"


@incident.command("list")
@repo_root
@click.option(
    "--status",
    type=click.Choice([*INCIDENT_STATUSES, "open"]),
    help="Only incidents with this status ('open': not resolved).",
)
@click.option("--severity", type=click.Choice(SEVERITIES))
@click.option("--published/--unpublished", default=None, help="Only published (or unpublished) incidents.")
@format_option
def list_command(
    root: Path, status: str | None, severity: str | None, published: bool | None, fmt: str
) -> None:
    """List the incidents of ROOT, newest first."""
    found = list_incidents(root, status, severity, published)
    if fmt == "json":
        click.echo(json.dumps([summary(i) for i in found], indent=2, ensure_ascii=False))
        return
    zone = load(root, alerts=False).repo.site.timezone
    for i in found:
        public = "published" if i.published else "unpublished"
        started = _local(zone, i.started_at)
        click.echo(f"{i.id}  {i.status}  {i.severity}  {public}  {started}  {i.title}")


def _show_text(incident: Incident, zone: str) -> str:
    lines = [
        f"{incident.id}: {incident.title}",
        f"  status {incident.status}, severity {incident.severity}, "
        + ("published" if incident.published else "unpublished"),
        f"  started {_local(zone, incident.started_at)}, "
        f"acknowledged {_local(zone, incident.acknowledged_at)}, "
        f"resolved {_local(zone, incident.resolved_at)}",
    ]
    if incident.components:
        lines.append("  components: " + ", ".join(f"{c} {i}" for c, i in incident.components.items()))
    for label, values in (
        ("assignees", incident.assignees),
        ("labels", incident.labels),
        ("runbooks", incident.runbooks),
    ):
        if values:
            lines.append(f"  {label}: {', '.join(values)}")
    for link in incident.links:
        lines.append(f"  link: {link.text} {link.url}" if link.text else f"  link: {link.url}")
    if incident.updates:
        lines.append("timeline:")
        for u in incident.updates:
            tag = " [internal]" if u.internal else ""
            who = f" ({u.author})" if u.author else ""
            body = " ".join(u.body.split())
            lines.append(f"  {_local(zone, u.at)}  {u.status}{tag}{who}: {body}")
    if incident.notes:
        lines.append("notes:")
        for n in incident.notes:
            who = f" ({n.author})" if n.author else ""
            lines.append(f"  {_local(zone, n.at)}{who}: {' '.join(n.body.split())}")
    if incident.body.strip():
        lines += ["summary:", *(f"  {line}" for line in incident.body.strip().splitlines())]
    return "\n".join(lines)


@incident.command("show")
@id_argument
@repo_root
@format_option
def show_command(incident_id: str, root: Path, fmt: str) -> None:
    """Show incident ID: its fields, timeline, notes and summary (internal ones too)."""
    found = find_incident(root, incident_id)
    if fmt == "json":
        click.echo(json.dumps(details(found), indent=2, ensure_ascii=False))
    else:
        click.echo(_show_text(found, load(root).repo.site.timezone))


@incident.command("quick-actions")
@click.argument("revs", metavar="REV|A..B")
@repo_root
@click.option("--author", help='Commit as "Name <email>" (default: the runner\'s identity, as CI jobs do).')
@click.option("--no-commit", is_flag=True, help="Stage the changes (git add) without committing them.")
@click.option("--push/--no-push", "push_commit", default=False, help="Push the commits (never forced).")
def quick_actions_command(
    revs: str, root: Path, author: str | None, no_commit: bool, push_commit: bool
) -> None:
    """Apply the quick actions written in the messages of commit REV, or of the commits A..B.

    A commit's actions act on the incidents its `Tidings-Incident` trailers name, else on every
    incident file it adds or changes. Each commit is acted on once (a `Tidings-Quick-Actions-From`
    trailer records it), so a CI job can run this on every push: `tidings incident quick-actions
    $CI_COMMIT_BEFORE_SHA..$CI_COMMIT_SHA --push`.
    """
    who = identity(root, author) if author else None
    try:
        done = apply_quick_actions_from_commits(
            root, revs, **({"author": who} if who else {}), do_commit=not no_commit
        )
    except UsageError as exc:
        # The actions come from commits, not from this command's options: a wrong one is a problem in
        # the repo (exit 1), where in `incident update --body` it is the caller's (exit 2).
        raise TidingsError(str(exc), exc.hint) from exc
    if not done:
        click.echo(f"no quick actions to apply in {revs}")
    for result in done:
        _finish(root, functools.partial(lambda r: r, result), no_commit, False)
    if push_commit and any(r.commit for r in done):
        pushed = push(root)
        if not pushed.pushed:
            raise TidingsError(f"committed locally but not pushed: {pushed.reason}")

"""`tidings alert ...`: triage alert records from the command line; a thin layer over tidings.ops.alerts."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from tidings import clock
from tidings.cli.changes import actor_for, changing, made_and_pushed
from tidings.cli.common import repo_root
from tidings.cli.params import TimeParam
from tidings.ops.alerts import (
    STATUSES,
    AlertChange,
    alerts_of,
    change_status,
    details,
    find_alert,
    link,
    list_alerts,
    promote,
    summary,
)

id_argument = click.argument("alert_id", metavar="ID")


@click.group()
def alert() -> None:
    """List and triage alert records: acknowledge, resolve, ignore, link to an incident, promote."""


def _when(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M ") + local.isoformat()[-6:]


@alert.command("list")
@repo_root
@click.option(
    "--status", type=click.Choice([*STATUSES, "open"]), help="Only these (open: triggered or acknowledged)."
)
@click.option("--integration", metavar="ID", help="Only alerts from this integration.")
@click.option("--component", metavar="ID", help="Only alerts naming this component.")
@click.option("--since", type=TimeParam(dates=True), help="Only alerts that fired or changed since then.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_command(
    root: Path,
    status: str | None,
    integration: str | None,
    component: str | None,
    since: datetime | None,
    fmt: str,
) -> None:
    """List the alert records of ROOT, the most recent first."""
    repo = alerts_of(root)
    found = list_alerts(repo, status, integration, component, since)
    if fmt == "json":
        click.echo(json.dumps([summary(a) for a in found], indent=2, ensure_ascii=False))
        return
    zone = ZoneInfo(repo.site.timezone)
    for a in found:
        where = f"  -> {a.incident}" if a.incident else ""
        click.echo(
            f"{a.id}  {a.status}  {a.severity}  {_when(a.last_seen, zone)}  x{a.fired}  {a.title}{where}"
        )


@alert.command("show")
@id_argument
@repo_root
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show(alert_id: str, root: Path, fmt: str) -> None:
    """Show alert ID: its fields, links and every event."""
    repo = alerts_of(root)
    record = find_alert(repo, alert_id)
    if fmt == "json":
        click.echo(json.dumps(details(record), indent=2, ensure_ascii=False))
        return
    zone = ZoneInfo(repo.site.timezone)
    lines = [f"{record.title}", f"  id: {record.id}", f"  status: {record.status}"]
    for key in (
        "severity",
        "integration",
        "source",
        "component",
        "monitoring_tool",
        "environment",
        "runbook",
        "incident",
    ):
        value = getattr(record, key)
        if value:
            lines.append(f"  {key.replace('_', ' ')}: {value}")
    if record.hosts:
        lines.append(f"  hosts: {', '.join(record.hosts)}")
    lines.append(f"  fingerprint: {record.fingerprint}")
    first, last = _when(record.first_seen, zone), _when(record.last_seen, zone)
    lines.append(f"  first seen: {first}; last: {last}; fired {record.fired}x")
    for label, url in record.links.items():
        lines.append(f"  {label}: {url}")
    if record.description:
        lines += ["", *("  " + line for line in record.description.splitlines())]
    lines.append("")
    for e in record.events:
        extra = "".join(
            [
                f" by {e.by}" if e.by else "",
                f" -> {e.incident}" if e.incident else "",
                f": {e.reason}" if e.reason else "",
            ]
        )
        lines.append(f"  {_when(e.at, zone)}  {e.event}{extra}")
    click.echo("\n".join(lines))


def _finish(root: Path, make: Callable[[], AlertChange], push_commit: bool) -> None:
    """Make the change (and push it: a conflict makes it again on the remote's files); say what was done."""
    result = made_and_pushed(root, make, lambda r: r.commit, push_commit)
    click.echo(f"{result.message}" + (f" (commit {result.commit[:12]})" if result.commit else ""))


def _status_command(action: str, doc: str) -> click.Command:
    def command(
        alert_id: str,
        root: Path,
        reason: str | None,
        person: str | None,
        author: str | None,
        no_commit: bool,
        push_commit: bool,
    ) -> None:
        actor = actor_for(root, person, author)
        now = clock.now

        def make() -> AlertChange:
            return change_status(root, alert_id, action, now(), actor, reason, do_commit=not no_commit)

        _finish(root, make, push_commit and not no_commit)

    command.__doc__ = doc  # before repo_root, which adds what it says of ROOT to the help
    decorated = changing(command)
    decorated = click.option("--reason", help="Why (kept in the alert's events and the commit).")(decorated)
    return click.command()(id_argument(repo_root(decorated)))


alert.add_command(
    _status_command(
        "acknowledge",
        "Acknowledge alert ID: someone is looking. When none of its incident's alerts is left triggered, "
        "the incident is acknowledged too and its escalation stops.",
    ),
    "ack",
)
alert.add_command(
    _status_command("resolve", "Resolve alert ID: its problem is fixed (its incident stays)."), "resolve"
)
alert.add_command(
    _status_command(
        "ignore",
        "Ignore alert ID as a false alarm: it pages nobody and counts in no MTTA or MTTR. Its incident is "
        "resolved when the alert was its only one and nobody has written in it.",
    ),
    "ignore",
)


@alert.command("link")
@id_argument
@click.argument("incident_id", metavar="INCIDENT")
@repo_root
@click.option("--push/--no-push", "push_commit", default=False, help="Push the commit (never forced).")
@click.option("--by", "person", help="Person id named in the events (default: the one whose email is yours).")
@click.option("--author", help='Commit as "Name <email>" (default: git\'s user.name and user.email).')
def link_command(
    alert_id: str, incident_id: str, root: Path, push_commit: bool, person: str | None, author: str | None
) -> None:
    """Make INCIDENT the incident of alert ID (the incident lists it; later alerts of its group join it)."""
    actor = actor_for(root, person, author)
    _finish(root, lambda: link(root, alert_id, incident_id, clock.now(), actor), push_commit)


@alert.command("promote")
@id_argument
@repo_root
@click.option("--push/--no-push", "push_commit", default=False, help="Push the commit (never forced).")
@click.option(
    "--by", "person", help="Person id named in the incident (default: the one whose email is yours)."
)
@click.option("--author", help='Commit as "Name <email>" (default: git\'s user.name and user.email).')
def promote_command(
    alert_id: str, root: Path, push_commit: bool, person: str | None, author: str | None
) -> None:
    """Open an incident from alert ID (one that has none), with its title, severity and component."""
    actor = actor_for(root, person, author)
    _finish(root, lambda: promote(root, alert_id, clock.now(), actor), push_commit)

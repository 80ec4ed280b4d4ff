"""`tidings log`: the story of an incident (or of all of them) from git, in words."""

from __future__ import annotations

import json
import zoneinfo
from datetime import datetime, tzinfo
from pathlib import Path

import click

from tidings.cli.common import repo_root
from tidings.content.diagnostics import did_you_mean
from tidings.content.documents import read_yaml
from tidings.content.layout import SITE_FILE
from tidings.errors import UsageError
from tidings.ops.history import Change, history, known_incidents


def _site_zone(root: Path) -> tzinfo | None:
    """The site's timezone, to show times in; None (as git recorded them) when it cannot be read."""
    try:
        name = read_yaml(root / SITE_FILE, SITE_FILE).values().get("timezone", "UTC")
        return zoneinfo.ZoneInfo(str(name))
    except Exception:  # a broken site file must not stop an audit; times keep their own offsets
        return None


def _when(at: datetime, zone: tzinfo | None) -> str:
    local = at.astimezone(zone) if zone else at
    return local.strftime("%Y-%m-%d %H:%M ") + local.isoformat()[-6:]


def format_text(changes: list[Change], zone: tzinfo | None, with_incident: bool) -> str:
    if not changes:
        return ""
    who_width = min(24, max(len(c.who) for c in changes))
    lines = []
    for c in changes:
        columns = [_when(c.at, zone), c.commit[:12], c.who.ljust(who_width)]
        if with_incident:
            columns.append(c.incident)
        lines.append("  ".join([*columns, "; ".join(c.changes)]))
    return "\n".join(lines) + "\n"


@click.command("log")
@click.argument("incident", required=False)
@repo_root
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object a change, with author, trailers and the words.",
)
def log(incident: str | None, root: Path, fmt: str) -> None:
    """The history of INCIDENT (or of every incident) in the status repo at ROOT, from git.

    Each commit that touched the incident's file (following renames), oldest first: when, the
    commit, who made it (a person, or 'runner' for the runner's commits) and what changed, in words.
    """
    known = known_incidents(root) if incident is not None else []
    if incident is not None and incident not in known:
        hint = did_you_mean(incident, known)
        # `tidings log DIR` once told every incident's story of DIR, guessing that DIR was no id.
        folder = Path(incident).is_dir()
        raise UsageError(
            f"no incident {incident!r} in {root}" + (f" ({hint})" if hint else ""),
            hint=f"every incident of the status repo in {incident}: tidings -C {incident} log"
            if folder
            else "",
        )
    changes = history(root, incident)
    if fmt == "json":
        click.echo(json.dumps([c.as_dict() for c in changes], indent=2, ensure_ascii=False))
        return
    if not changes:
        click.echo("no commits touched " + (f"incident {incident}" if incident else "any incident"), err=True)
        return
    click.echo(format_text(changes, _site_zone(root), with_incident=incident is None), nl=False)

"""`tidings review ...`: start a post-incident review, and list reviews and their action items;
a thin layer over tidings.ops.reviews."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tidings import clock
from tidings.cli.changes import actor_for, changing, made_and_pushed
from tidings.cli.common import repo_root
from tidings.content.load import load
from tidings.ops.reviews import OpenItem, ReviewSummary, list_reviews, open_review, summary_json


@click.group()
def review() -> None:
    """Start post-incident reviews and follow their action items; a review is content/reviews/<id>.md."""


@review.command("open")
@click.argument("incident_id", metavar="INCIDENT")
@repo_root
@changing
def open_command(
    incident_id: str, root: Path, person: str | None, author: str | None, no_commit: bool, push_commit: bool
) -> None:
    """Start the review of INCIDENT in ROOT from the template, its timeline ready to annotate, and
    commit it; refused when the incident has a review already."""
    actor = actor_for(root, person, author)
    make = lambda: open_review(root, incident_id, clock.now(), actor, do_commit=not no_commit)  # noqa: E731
    result = made_and_pushed(root, make, lambda r: r.commit, push_commit and not no_commit)
    if result.commit:
        click.echo(f"{result.message} (commit {result.commit[:12]})")
    else:
        click.echo(f"{result.message} (staged, not committed)")


def _item_line(entry: OpenItem) -> str:
    item = entry.item
    state = "OVERDUE" if entry.overdue else item.status
    extra = [f"priority {item.priority}"] if item.priority else []
    extra += [item.issue] if item.issue else []
    tail = f"  ({', '.join(extra)})" if extra else ""
    return f"  {state:<8} due {item.due.isoformat()}  {item.owner}  {item.title}{tail}"


def _summary_text(found: ReviewSummary) -> list[str]:
    r = found.review
    state = f"published {r.published_at.date().isoformat()}" if r.published_at else "draft"
    counts = f"{found.count('open')} open ({found.overdue} overdue), {found.count('done')} done"
    if found.count("dropped"):
        counts += f", {found.count('dropped')} dropped"
    lines = [f"{r.id}  {state}  {', '.join(r.incidents)}  {found.title}", f"  action items: {counts}"]
    return lines + [_item_line(o) for o in found.items]


@review.command("list")
@repo_root
@click.option("--overdue", is_flag=True, help="Only action items still open after their due day.")
@click.option("--owner", metavar="PERSON", help="Only the action items this person (people.yml id) owns.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_command(root: Path, overdue: bool, owner: str | None, fmt: str) -> None:
    """List the reviews of ROOT, newest first, with their action items, overdue first. With --overdue
    or --owner, only the reviews that have such items, and only those items."""
    found = list_reviews(load(root).repo, clock.now(), overdue=overdue, owner=owner)
    if fmt == "json":
        click.echo(json.dumps([summary_json(s) for s in found], indent=2, ensure_ascii=False))
        return
    for summary in found:
        click.echo("\n".join(_summary_text(summary)))
    if not found:
        if overdue:
            click.echo("no overdue action items" + (f" owned by {owner}" if owner else ""))
        else:
            click.echo(f"no action items owned by {owner}" if owner else "no reviews (content/reviews/)")

"""`tidings import ...`: another status page's history as content files, over tidings.importers."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from tidings.content.layout import SITE_FILE
from tidings.ops.importers import ImportBatch, ImportFailed, plan_import

T = TypeVar("T")
# Problems are listed one a line; past this many the rest are counted, not shown.
SHOWN_PROBLEMS = 50

root_argument = click.argument("root", default=".", type=click.Path(file_okay=False, path_type=Path))


class AliasParam(click.ParamType):
    """OLD=NEW: a component name the input uses, and the name (or id) it is now."""

    name = "OLD=NEW"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        old, sep, new = str(value).partition("=")
        if not sep or not old.strip() or not new.strip():
            self.fail(f"{value!r} is not OLD=NEW, e.g. 'GitHub Actions=Actions'", param, ctx)
        return old.strip(), new.strip()


def _options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        (
            click.option(
                "--component-alias",
                "aliases",
                multiple=True,
                type=AliasParam(),
                help="A component the input names OLD is the component NEW (a renamed one). Repeatable.",
            ),
            click.option("--title", help="Title of the page, when the import starts a new status repo."),
            click.option("--dry-run", is_flag=True, help="Say what would change; write nothing."),
            click.option("-q", "--quiet", is_flag=True, help="Print only errors."),
        )
    ):
        command = option(command)
    return command


def _progress(quiet: bool) -> Callable[[Sequence[T], str], Iterable[T]] | None:
    """A progress bar on a terminal; nothing in CI, when piped, or with --quiet."""
    if quiet or not sys.stderr.isatty():
        return None

    def bar(items: Sequence[T], label: str) -> Iterator[T]:
        with click.progressbar(items, label=label, file=sys.stderr) as shown:
            yield from shown

    return bar


def _check_root(root: Path) -> None:
    """ROOT is a status repo, or a new or empty folder to start one in (so a typo writes nothing)."""
    if (root / SITE_FILE).is_file() or not root.exists():
        return
    if any(not entry.name.startswith(".") for entry in root.iterdir()):
        raise click.UsageError(
            f"{root} is not a status repo: {SITE_FILE} is missing "
            "(import into a status repo, or into a new or empty folder to start one)"
        )


def _run(batch_of: Callable[[], ImportBatch], root: Path, what: str, options: dict[str, Any]) -> None:
    # `tidings -q import ...` is as quiet as `tidings import ... -q`.
    quiet = bool(options["quiet"] or click.get_current_context().find_root().params.get("quiet"))
    _check_root(root)
    progress = _progress(quiet)
    try:
        batch = batch_of()
        if options["title"]:
            batch.title = options["title"]
        plan = plan_import(root, batch, dict(options["aliases"]), progress=progress)
    except ImportFailed as failed:
        for problem in failed.problems[:SHOWN_PROBLEMS]:
            click.echo(f"error: {problem}", err=True)
        if len(failed.problems) > SHOWN_PROBLEMS:
            click.echo(f"... and {len(failed.problems) - SHOWN_PROBLEMS} more", err=True)
        if failed.hint:
            click.echo(f"hint: {failed.hint}", err=True)
        count = len(failed.problems)
        raise click.ClickException(
            f"{count} problem{'s' if count != 1 else ''} in {what}; nothing was written"
        ) from failed
    for skipped in batch.skipped:
        if not quiet:
            click.echo(f"skipped {skipped}", err=True)
    if options["dry_run"]:
        if not quiet:
            for f in plan.changed:
                click.echo(f"{f.action:8} {f.rel}")
            click.echo(f"dry run, nothing written: {plan.summary()}")
        return
    plan.write(progress=progress)
    if not quiet:
        click.echo(plan.summary())


@click.group("import")
def import_group() -> None:
    """Import another status page's history into the status repo at ROOT.

    Re-running an import is safe: files it wrote before are found again and updated when upstream
    changed, and left alone (unchanged) when not. Bad input writes nothing (exit 1).
    """


@import_group.command("statuspage")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@root_argument
@_options
def statuspage(file: Path, root: Path, **options: Any) -> None:
    """Import a Statuspage v2 JSON FILE: incidents.json, scheduled-maintenances.json, summary.json,
    components.json, or an archive of incidents with their updates (githubstatus-history.json)."""
    from tidings.ops.importers.statuspage import read_statuspage

    _run(lambda: read_statuspage(file), root, file.name, options)


@import_group.command("cstate")
@click.argument("site", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@root_argument
@click.option(
    "--timezone", help="IANA zone of times written without an offset (default: Hugo's timeZone, or UTC)."
)
@_options
def cstate(site: Path, root: Path, timezone: str | None, **options: Any) -> None:
    """Import the cState (Hugo) site in DIR: config.yml systems and content/issues/*.md."""
    from tidings.ops.importers.cstate import read_cstate

    _run(lambda: read_cstate(site, timezone), root, str(site), options)

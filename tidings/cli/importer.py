"""`tidings import ...`: another status page's history as content files, over tidings.importers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from tidings.cli.common import progress_bar, quiet, root_argument, search_upward, with_root_help
from tidings.content.layout import SITE_FILE
from tidings.errors import TidingsError, UsageError
from tidings.ops.importers import ImportBatch, ImportFailed, plan_import

# Problems are listed one a line; past this many the rest are counted, not shown.
SHOWN_PROBLEMS = 50

F = TypeVar("F", bound=Callable[..., Any])


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
            click.option(
                "--description",
                help='Description of the page (each page\'s <meta name="description"> falls back to it), '
                "when the import starts a new status repo; default: the source's, else one from its name "
                "and components.",
            ),
            click.option("--dry-run", is_flag=True, help="Say what would change; write nothing."),
            click.option("-q", "--quiet", is_flag=True, help="Print only errors."),
        )
    ):
        command = option(command)
    return command


def _import_root(command: F) -> F:
    """ROOT as everywhere, except that an import may also start a status repo."""
    command.__doc__ = (
        f"{with_root_help(command.__doc__)} ROOT may also be a new or empty folder: the import makes it "
        "a status repo (so does an empty working directory)."
    )
    return root_argument(exists=False)(command)


def _empty(folder: Path) -> bool:
    """Nothing there yet but dot files (a fresh clone's .git): a place to start a status repo in."""
    return not folder.exists() or not any(not entry.name.startswith(".") for entry in folder.iterdir())


def _target(root: Path | None) -> Path:
    """Where to import: a new or empty ROOT as it is, else the status repo at or above ROOT (default:
    the working directory), else an empty working directory; so a typo writes nothing."""
    if root is not None and _empty(root):
        return root
    found = search_upward(Path(".") if root is None else root)
    if found is not None:
        return found
    if root is None and _empty(Path(".")):
        return Path(".")
    raise UsageError(
        f"{(root or Path('.')).resolve()} is not a status repo, nor in one: {SITE_FILE} is missing",
        hint="import into a status repo, or into a new or empty folder to start one",
    )


def _run(batch_of: Callable[[], ImportBatch], root: Path | None, what: str, options: dict[str, Any]) -> None:
    # `tidings -q import ...` is as quiet as `tidings import ... -q`.
    silent = bool(options["quiet"] or quiet())
    root = _target(root)
    progress = progress_bar(silent=silent)
    try:
        batch = batch_of()
        if options["title"]:
            batch.title = options["title"]
        if options["description"]:
            batch.description = " ".join(options["description"].split())
        plan = plan_import(root, batch, dict(options["aliases"]), progress=progress)
    except ImportFailed as failed:
        for problem in failed.problems[:SHOWN_PROBLEMS]:
            click.echo(f"error: {problem}", err=True)
        if len(failed.problems) > SHOWN_PROBLEMS:
            click.echo(f"... and {len(failed.problems) - SHOWN_PROBLEMS} more", err=True)
        count = len(failed.problems)
        # The problems are listed above; the one line names the input, which only we know.
        raise TidingsError(
            f"{count} problem{'s' if count != 1 else ''} in {what}; nothing was written", failed.hint
        ) from failed
    for skipped in batch.skipped:
        if not silent:
            click.echo(f"skipped {skipped}", err=True)
    if options["dry_run"]:
        if not silent:
            for f in plan.changed:
                click.echo(f"{f.action:8} {f.rel}")
            click.echo(f"dry run, nothing written: {plan.summary()}")
        return
    plan.write(progress=progress)
    if not silent:
        click.echo(plan.summary())


@click.group("import")
def import_group() -> None:
    """Import another status page's history into the status repo at ROOT.

    Re-running an import is safe: files it wrote before are found again and updated when upstream
    changed, and left alone (unchanged) when not. Bad input writes nothing (exit 1).
    """


@import_group.command("statuspage")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_import_root
@_options
def statuspage(file: Path, root: Path | None, **options: Any) -> None:
    """Import a Statuspage v2 JSON FILE: incidents.json, scheduled-maintenances.json, summary.json,
    components.json, or an archive of incidents with their updates (githubstatus-history.json)."""
    from tidings.ops.importers.statuspage import read_statuspage

    _run(lambda: read_statuspage(file), root, file.name, options)


@import_group.command("cstate")
@click.argument("site", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_import_root
@click.option(
    "--timezone", help="IANA zone of times written without an offset (default: Hugo's timeZone, or UTC)."
)
@_options
def cstate(site: Path, root: Path | None, timezone: str | None, **options: Any) -> None:
    """Import the cState (Hugo) site in DIR: config.yml systems and content/issues/*.md."""
    from tidings.ops.importers.cstate import read_cstate

    _run(lambda: read_cstate(site, timezone), root, str(site), options)

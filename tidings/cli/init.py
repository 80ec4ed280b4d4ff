"""`tidings init`: a new status repo, asked for on a terminal or given by flags in scripts."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from tidings import clock
from tidings.errors import TidingsError
from tidings.ops.scaffold import (
    INIT_AUTHOR,
    Answers,
    BadAnswer,
    check_base_url,
    check_timezone,
    create,
)

DEFAULTS = Answers()


def _checked(check: Callable[[str], object]) -> Callable[[str], str]:
    """A click value_proc: BadAnswer becomes a re-prompt with the reason."""

    def proc(value: str) -> str:
        try:
            checked = check(value)
        except BadAnswer as exc:
            raise click.BadParameter(str(exc)) from exc
        return "" if checked is None else str(checked)

    return proc


def _not_empty(value: str) -> str:
    if not value.strip():
        raise BadAnswer("it must not be empty")
    return value.strip()


@click.command("init")
@click.argument("directory", metavar="[DIR]", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", help=f"The page's title [default: {DEFAULTS.title}].")
@click.option("--base-url", help=f"The URL the page is served from [default: {DEFAULTS.base_url}].")
@click.option("--timezone", help=f"IANA timezone times are shown in [default: {DEFAULTS.timezone}].")
@click.option(
    "--component",
    "components",
    multiple=True,
    help=f"A component's name; repeat it for more, in page order [default: {DEFAULTS.component}].",
)
@click.option(
    "--yes",
    "--no-input",
    "no_input",
    is_flag=True,
    help="Ask nothing: flags, then defaults (as when standard input is not a terminal).",
)
@click.option("--force", is_flag=True, help="Overwrite files that exist already.")
@click.option(
    "--git/--no-git",
    default=True,
    show_default=True,
    help="git init DIR if it is not in a repo, and commit the files written (--no-git: leave git alone).",
)
def init(
    directory: Path,
    title: str | None,
    base_url: str | None,
    timezone: str | None,
    components: tuple[str, ...],
    no_input: bool,
    force: bool,
    git: bool,
) -> None:
    """Create a new status repo in DIR (default: the working directory) that validates and builds at once.

    On a terminal it asks for what the flags did not give; otherwise it never asks. It refuses to
    overwrite existing files (listing them) unless --force.
    """
    interactive = not no_input and sys.stdin.isatty()
    if interactive:
        title = title or click.prompt("Title", default=DEFAULTS.title, value_proc=_checked(_not_empty))
        base_url = base_url or click.prompt(
            "Base URL (where the page is served)",
            default=DEFAULTS.base_url,
            value_proc=_checked(check_base_url),
        )
        timezone = timezone or click.prompt(
            "Timezone (IANA)", default=DEFAULTS.timezone, value_proc=_checked(check_timezone)
        )
        components = components or (
            click.prompt("First component", default=DEFAULTS.component, value_proc=_checked(_not_empty)),
        )
    answers = Answers(
        title=DEFAULTS.title if title is None else title,
        base_url=base_url or DEFAULTS.base_url,
        timezone=timezone or DEFAULTS.timezone,
        component=components[0] if components else DEFAULTS.component,
        more_components=components[1:],
    )
    try:
        created = create(directory, answers, clock.now(), force=force, git_init=git)
    except OSError as exc:
        raise TidingsError(f"cannot write {directory}: {exc.strerror}") from exc
    click.echo(f"Created a status repo in {directory} ({len(created.files)} files).")
    if answers.base_url == DEFAULTS.base_url:
        click.echo(
            f"base_url is {DEFAULTS.base_url}: set it in .gitlab/status-page.yml to where the page is served."
        )
    if created.git_initialized:
        click.echo("Initialized a git repository there.")
    if created.commit and created.author:
        name, email = created.author
        click.echo(f"Committed every file it wrote as {name} <{email}> ({created.commit[:12]}).")
        if created.author == INIT_AUTHOR:
            click.echo("  (git has no user.name and user.email here: set them for your own commits.)")
    else:
        # stderr: a script that expects the commit must see it did not happen
        click.echo(f"Not committed: {created.not_committed}.", err=True)
    where = "" if directory == Path(".") else f" {directory}"
    click.echo(f"Next: tidings validate{where} && tidings serve{where}")

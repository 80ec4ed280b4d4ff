"""What every command shares: ROOT and how the status repo is found, the one mapping of errors,
diagnostics on standard error, and the progress bar.

ROOT is always the last positional argument, and optional: without it the status repo is found by
searching upward from the working directory, as git finds its repository, so `tidings validate`
anywhere in a status repo validates that repo. `tidings -C DIR` runs as if started in DIR.
"""

from __future__ import annotations

import errno
import inspect
import sys
from collections.abc import Callable, Iterator, Sequence
from functools import wraps
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from tidings.content.diagnostics import Diagnostic
from tidings.content.layout import SITE_FILE
from tidings.errors import TidingsError, UsageError

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

# Said in the --help of every command that takes ROOT.
ROOT_HELP = (
    "ROOT is the status repo or any folder in it, always the last argument. Without it, the repo the "
    "working directory is in, found upward as git finds its repository. To give ROOT but leave out "
    "an optional argument before it, run `tidings -C ROOT ...` instead."
)


# --- ROOT ------------------------------------------------------------------------------------------


def root_argument(*, exists: bool = True) -> Callable[[F], F]:
    """The one ROOT argument: optional, the last positional; `None` when not given."""
    return click.argument(
        "root",
        required=False,
        metavar="[ROOT]",
        type=click.Path(exists=exists, file_okay=False, path_type=Path),
        # Read before the options (click reads arguments last otherwise), so an option's error can
        # speak of the repo: a time without an offset is hinted in the site's timezone.
        is_eager=True,
    )


def with_root_help(doc: str | None) -> str:
    """A command's help with the ROOT rule after it."""
    return f"{inspect.cleandoc(doc or '')}\n\n{ROOT_HELP}"


def is_status_repo(folder: Path) -> bool:
    """A status repo is a folder with the site file, whatever else it holds."""
    return (folder / SITE_FILE).is_file()


def search_upward(start: Path) -> Path | None:
    """The status repo that is `start` or holds it (the nearest, as git finds .git), or None.

    `start` itself is returned as given, so messages name it as the person wrote it; a repo found
    above is absolute, since a path relative to a folder below would read oddly in messages.
    """
    if is_status_repo(start):
        return start
    for folder in start.resolve().parents:
        if is_status_repo(folder):
            return folder
    return None


def find_repo(root: Path | None) -> Path:
    """The status repo at or above ROOT (default: the working directory), or a usage error saying
    where the search started."""
    start = Path(".") if root is None else root
    found = search_upward(start)
    if found is None:
        raise UsageError(
            f"no status repo in {start.resolve()} or any folder above it ({SITE_FILE} is missing)",
            hint="try 'tidings init' to start one, or give the status repo as ROOT",
        )
    return found


def repo_root(command: F) -> F:
    """Add the ROOT argument to a command that needs a status repo; it is called with the repo found.

    Put it below the command's other arguments: click orders arguments from the top down.
    """

    @root_argument()
    @wraps(command)
    def with_repo(*args: Any, root: Path | None, **kwargs: Any) -> Any:
        return command(*args, root=find_repo(root), **kwargs)

    with_repo.__doc__ = with_root_help(command.__doc__)
    return with_repo  # type: ignore[return-value]


# --- errors ----------------------------------------------------------------------------------------


class CliError(click.ClickException):
    """A TidingsError as click shows it: one line, then the hint; exit 1, a problem in the repo."""

    def __init__(self, error: TidingsError):
        super().__init__(str(error))
        self.hint = error.hint

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {self.format_message()}", file=file, err=file is None)
        if self.hint:
            click.echo(f"hint: {self.hint}", file=file, err=file is None)


class CliUsageError(CliError):
    """A UsageError: the command was called wrongly (exit 2, as click's own usage errors)."""

    exit_code = 2


def as_click_error(error: TidingsError) -> CliError:
    """The one mapping: a usage error exits 2, any other TidingsError 1."""
    return CliUsageError(error) if error.usage else CliError(error)


# A full or read-only disk is not a bug in Tidings: said in one line, like any other error.
DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


class MappedErrors(click.Group):
    """A group whose commands' TidingsErrors become clean errors; anything else (a bug) keeps its
    traceback. The root group is one, so the mapping is made once, for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TidingsError as exc:
            raise as_click_error(exc) from exc
        except OSError as exc:
            if exc.errno not in DISK_ERRORS:
                raise  # anything else may be a bug: keep its traceback
            raise CliError(
                TidingsError(
                    f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc.strerror),
                    hint="make room (or fix the disk) and run the command again",
                )
            ) from exc


# --- output ----------------------------------------------------------------------------------------


def quiet() -> bool:
    """Whether `tidings -q` was given: then only errors are printed."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("quiet"))


def print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    """Diagnostics on standard error, one a line; with -q only the errors."""
    only_errors = quiet()
    for d in diagnostics:
        if not (only_errors and d.severity != "error"):
            click.echo(d.as_text(), err=True)


class ProgressBar:
    """click's progress bar on standard error, for both ways the library reports progress."""

    def __init__(self, label: str = ""):
        self.label = label
        self.bar: Any = None

    # generator.write.Progress: told the total once it is known, then how many more are done.
    def start(self, total: int) -> None:
        if total:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()

    def advance(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done)
            if self.bar.pos >= self.bar.length:
                self.bar.__exit__(None, None, None)
                self.bar = None

    # tidings.ops.importers.plan.Progress: items gone through under a label of their own.
    def __call__(self, items: Sequence[T], label: str) -> Iterator[T]:
        with click.progressbar(items, label=label, file=sys.stderr) as shown:
            yield from shown


def progress_bar(label: str = "", *, silent: bool = False) -> ProgressBar | None:
    """A progress bar on a terminal; none in CI, when piped, with `tidings -q`, or when `silent`."""
    if silent or quiet() or not sys.stderr.isatty():
        return None
    return ProgressBar(label)

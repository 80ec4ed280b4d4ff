"""`tidings validate`, `schema`, `build` and `serve`: the status repo checked, and its site built."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import IO, Any

import click

from tidings.cli.common import (
    find_repo,
    print_diagnostics,
    progress_bar,
    quiet,
    repo_root,
    root_argument,
    with_root_help,
)
from tidings.content.layout import SCHEMA_DIR
from tidings.content.report import FORMATS, render
from tidings.errors import UsageError


@click.command()
@repo_root
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="codequality writes GitLab's Code Quality report, for merge requests.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file instead of standard output.",
)
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="Keep what was checked in the user's cache (~/.cache/tidings): the next run reads what changed.",
)
def validate(root: Path, fmt: str, strict: bool, output: Path | None, cache: bool) -> None:
    """Check every file of the status repo at ROOT and report every problem.

    Exits 0 when clean, 1 when there are errors (or warnings, with --strict), 2 on usage errors.
    """
    from tidings.content.cache import ParseCache, outside_cache
    from tidings.content.load import load

    # Kept outside the repo: validate leaves every file of it as it was (CI diffs the tree).
    parse_cache = ParseCache(root, folder=outside_cache(root, "validate")) if cache else None
    result = load(root, parse_cache, alerts="check")
    if parse_cache is not None:
        try:
            parse_cache.save()
        except OSError as exc:  # a read-only checkout, say: the report matters, the cache does not
            logging.getLogger(__name__).info("could not keep the parse cache: %s", exc)
    report = render(result.diagnostics, fmt)
    if output is not None:
        try:
            output.write_text(report, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write the report to {output}: {exc.strerror}") from exc
        if fmt != "text":
            click.echo(render(result.diagnostics, "text"), nl=False, err=True)
    else:
        click.echo(report, nl=False)
    sys.exit(0 if result.ok(strict=strict) else 1)


SCHEMA_HELP = """Write JSON Schema for each kind of file into the status repo at ROOT, for editors' modelines.

With --out, into that folder instead: then no status repo is needed."""


@click.command(help=with_root_help(SCHEMA_HELP))
@root_argument()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Folder to write the schemas to [default: ROOT/{SCHEMA_DIR}].",
)
def schema(root: Path | None, out: Path | None) -> None:
    from tidings.content.schema import write_schemas

    folder = find_repo(root) / SCHEMA_DIR if out is None else out
    for path in write_schemas(folder):
        click.echo(str(path))


def _subscriber_counts(file: IO[str]) -> dict[str, Any]:
    try:
        data = json.load(file)
    except ValueError as exc:
        raise UsageError(f"--subscriber-counts: {file.name} is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(
            f"--subscriber-counts: {file.name} is not what `tidings subscribers count --format json` writes"
        )
    return data


@click.command()
@repo_root
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: ROOT/public, or ROOT/internal with --internal).",
)
@click.option(
    "--internal",
    is_flag=True,
    help="Build the internal site instead: every incident, notes, alerts, runbooks, on-call, metrics.",
)
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="Keep parsed files in ROOT/.tidings-cache/ and take unchanged pages over from the last build.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Render in this many processes (default: one a CPU core).",
)
@click.option(
    "--subscriber-counts",
    type=click.File("r"),
    default=None,
    help="With --internal: show these subscriber counts (`tidings subscribers count --format json`).",
)
def build(
    root: Path,
    out: Path | None,
    internal: bool,
    cache: bool,
    jobs: int | None,
    subscriber_counts: IO[str] | None,
) -> None:
    """Build the public status site of ROOT into static files (with --internal, the internal site)."""
    from tidings.generator.build import build as build_site
    from tidings.generator.problems import BuildFailed

    out = out or root / ("internal" if internal else "public")
    if subscriber_counts and not internal:
        raise UsageError("--subscriber-counts goes with --internal: the public site shows no subscribers")
    try:
        if internal:
            from tidings.generator.internal import build_internal  # only then: it imports everything

            counts = _subscriber_counts(subscriber_counts) if subscriber_counts else None
            result = build_internal(root, out, subscriber_counts=counts)
        else:
            bar = progress_bar("Rendering")
            result = build_site(root, out, cache=cache, workers=jobs or 0, progress=bar)
    except BuildFailed as exc:
        print_diagnostics(exc.diagnostics)  # what the error's one line counts
        raise
    print_diagnostics(result.warnings)
    click.echo(f"{result.files} files in {result.out} ({result.rendered} written, {result.reused} unchanged)")


@click.command()
@repo_root
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int, help="0 picks a free port.")
def serve(root: Path, host: str, port: int) -> None:
    """Preview ROOT: build, serve on HOST:PORT, rebuild and reload browsers on every change."""
    import tempfile

    from tidings.generator.build import Rebuilds
    from tidings.generator.serve import LiveSite, serve_live

    with tempfile.TemporaryDirectory(prefix="tidings-serve-") as tmp:
        out = Path(tmp) / "site"
        rebuilds = Rebuilds(root, out)

        def rebuild() -> None:
            rebuilds()

        if not quiet():
            logging.getLogger("tidings.generator.serve").setLevel(logging.INFO)  # say each rebuild
        site = LiveSite(root, rebuild, out)
        serve_live(
            site,
            host,
            port,
            on_ready=lambda url: click.echo(f"Serving {root.resolve()} at {url} (rebuilds on every change)"),
        )

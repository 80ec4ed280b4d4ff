"""The `tidings` command: a thin click layer over the library."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Any

import click

from tidings import __version__, clock
from tidings.content.layout import SCHEMA_DIR, SITE_FILE
from tidings.content.report import FORMATS, render

# Command groups in modules of their own, imported only when used: `tidings build` should not pay
# for the on-call, import or metrics code (the model alone takes a tenth of a second to import).
LAZY_COMMANDS = {
    "oncall": "tidings.cli.oncall:oncall",
    "incident": "tidings.cli.incident:incident",
    "import": "tidings.cli.importer:import_group",
    "init": "tidings.cli.init:init",
    "log": "tidings.cli.log:log",
    "metrics": "tidings.cli.metrics:metrics",
}


class LazyGroup(click.Group):
    """A click group whose LAZY_COMMANDS are imported on first use (click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, name = LAZY_COMMANDS[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), name), cmd_name)
        return super().get_command(ctx, cmd_name)


root_argument = click.argument(
    "root", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path)
)


class _Bar:
    """click's progress bar, opened once the total is known (generator.write.Progress)."""

    def __init__(self, label: str):
        self.label = label
        self.bar: Any = None

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


def _progress_bar(label: str) -> _Bar | None:
    """A progress bar on a terminal; none in CI, when piped, or with --quiet."""
    quiet = click.get_current_context().find_root().params.get("quiet")
    return _Bar(label) if sys.stderr.isatty() and not quiet else None


def _require_status_repo(root: Path) -> None:
    if not (root / SITE_FILE).is_file():
        raise click.UsageError(f"{root} is not a status repo: {SITE_FILE} is missing (try 'tidings init')")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tidings")
@click.option("-v", "--verbose", is_flag=True, help="Say more about what is happening.")
@click.option("-q", "--quiet", is_flag=True, help="Only print errors.")
def main(verbose: bool, quiet: bool) -> None:
    """Tidings: a status page and incident runner whose database is a git repository."""
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s")


@main.command()
@root_argument
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
def validate(root: Path, fmt: str, strict: bool, output: Path | None) -> None:
    """Check every file of the status repo at ROOT and report every problem.

    Exits 0 when clean, 1 when there are errors (or warnings, with --strict), 2 on usage errors.
    """
    _require_status_repo(root)
    from tidings.content.load import load

    result = load(root)
    report = render(result.diagnostics, fmt)
    if output is not None:
        try:
            output.write_text(report, encoding="utf-8")
        except OSError as exc:
            raise click.UsageError(f"cannot write the report to {output}: {exc.strerror}") from exc
        if fmt != "text":
            click.echo(render(result.diagnostics, "text"), nl=False, err=True)
    else:
        click.echo(report, nl=False)
    sys.exit(0 if result.ok(strict=strict) else 1)


@main.command()
@root_argument
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Folder to write the schemas to [default: ROOT/{SCHEMA_DIR}].",
)
def schema(root: Path, out: Path | None) -> None:
    """Write JSON Schema for each kind of file into the status repo at ROOT, for editors' modelines."""
    from tidings.content.schema import write_schemas

    if out is None:
        _require_status_repo(root)  # run from content/, it would make a content/.gitlab/schemas
    for path in write_schemas(root / SCHEMA_DIR if out is None else out):
        click.echo(str(path))


def _print_diagnostics(diagnostics: list) -> None:  # type: ignore[type-arg]
    quiet = bool(
        click.get_current_context(silent=True) and click.get_current_context().find_root().params.get("quiet")
    )
    for d in diagnostics:
        if quiet and d.severity != "error":
            continue  # -q: only errors
        click.echo(d.as_text(), err=True)


@main.command()
@root_argument
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
def build(root: Path, out: Path | None, internal: bool, cache: bool, jobs: int | None) -> None:
    """Build the public status site of ROOT into static files (with --internal, the internal site)."""
    from tidings.generator.build import build as build_site
    from tidings.generator.problems import BuildFailed
    from tidings.generator.write import UnsafeOutput

    _require_status_repo(root)
    out = out or root / ("internal" if internal else "public")
    try:
        if internal:
            from tidings.generator.internal import build_internal  # only then: it imports everything

            result = build_internal(root, out)
        else:
            bar = _progress_bar("Rendering")
            result = build_site(root, out, cache=cache, workers=jobs or 0, progress=bar)
    except UnsafeOutput as exc:
        raise click.UsageError(f"refusing to build there: {exc}") from exc
    except BuildFailed as exc:
        _print_diagnostics(exc.diagnostics)
        raise click.ClickException(
            f"{exc}; nothing was written (run 'tidings validate' for details)"
        ) from exc
    _print_diagnostics(result.warnings)
    click.echo(f"{result.files} files in {result.out} ({result.rendered} written, {result.reused} unchanged)")


@main.command()
@root_argument
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int, help="0 picks a free port.")
def serve(root: Path, host: str, port: int) -> None:
    """Preview ROOT: build, serve on HOST:PORT, rebuild and reload browsers on every change."""
    import tempfile

    from tidings.generator.build import build as build_site
    from tidings.generator.serve import CannotListen, LiveSite, serve_live

    _require_status_repo(root)
    with tempfile.TemporaryDirectory(prefix="tidings-serve-") as tmp:
        out = Path(tmp) / "site"

        def rebuild() -> None:
            # One process: forking beside the server's threads is unsafe, and rebuilds are small.
            build_site(root, out, cache=True, workers=1)

        if not click.get_current_context().find_root().params.get("quiet"):
            logging.getLogger("tidings.generator.serve").setLevel(logging.INFO)  # say each rebuild
        site = LiveSite(root, rebuild, out)
        try:
            serve_live(
                site,
                host,
                port,
                on_ready=lambda url: click.echo(
                    f"Serving {root.resolve()} at {url} (rebuilds on every change)"
                ),
            )
        except CannotListen as exc:
            raise click.UsageError(str(exc)) from exc


STATE_OPTION = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="TIDINGS_RUNNER_STATE",
    show_envvar=True,
    help="The runner's own state (journal, deliveries, ack queue); default ROOT/.git/tidings-runner. "
    "Keep it on a volume that outlives the process.",
)


@main.group()
def runner() -> None:
    """The runner: alert webhooks applied to the status repo as commits."""


@runner.command("apply")
@root_argument
@click.option(
    "--source",
    "kind",
    type=click.Choice(["alertmanager", "generic"]),
    required=True,
    help="The payload's format.",
)
@click.option("--integration", "integration_id", help="Integration id in .gitlab/integrations.yml.")
@click.option("--push/--no-push", default=False, help="Push the commit (fetching and rebasing if needed).")
@click.argument("payload", type=click.File("rb"))
def runner_apply(root: Path, kind: str, integration_id: str | None, push: bool, payload) -> None:  # type: ignore[no-untyped-def]
    """Apply one alert PAYLOAD file (or - for standard input) to ROOT and commit the change."""
    from tidings.runner.service import RepoInvalid, UnknownIntegration, apply_payload
    from tidings.runner.sources.events import PayloadError

    _require_status_repo(root)
    try:
        applied = apply_payload(root, kind, payload.read(), integration_id, do_push=push)
    except PayloadError as exc:
        raise click.ClickException(f"the payload is not a valid {kind} alert: {exc}") from exc
    except (UnknownIntegration, RepoInvalid) as exc:
        raise click.ClickException(str(exc)) from exc
    outcome = applied.outcome
    where = f" {outcome.incident_id}" if outcome.incident_id else ""
    click.echo(f"{outcome.action}{where}" + (f" (commit {applied.commit[:12]})" if applied.commit else ""))
    if applied.push is not None and not applied.push.pushed:
        raise click.ClickException(f"committed locally but not pushed: {applied.push.reason}")


@runner.command("serve")
@root_argument
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--push/--no-push", default=True, show_default=True, help="Push commits to the clone's remote.")
@click.option(
    "--tick-seconds",
    default=15.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Run the escalation tick this often; 0 turns escalation off.",
)
@STATE_OPTION
def runner_serve(
    root: Path, host: str, port: int, push: bool, tick_seconds: float, state_dir: Path | None
) -> None:
    """Receive alert webhooks and apply them to the clone at ROOT as commits; escalate and page."""
    import uvicorn

    from tidings.runner.app import create_app

    _require_status_repo(root)
    click.echo(f"Runner for {root.resolve()} on http://{host}:{port}/", err=True)
    app = create_app(root, state_dir=state_dir, do_push=push, tick_seconds=tick_seconds or None)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@runner.command("tick")
@root_argument
@click.option(
    "--push/--no-push",
    default=True,
    show_default=True,
    help="Push each record before sending (needed when several runners or jobs tick).",
)
@STATE_OPTION
def runner_tick(root: Path, push: bool, state_dir: Path | None) -> None:
    """Page whoever is due for open incidents in ROOT; record every page and delivery as commits.

    Safe to run twice or at once. Exits 1 when a delivery failed, a page waits for the remote,
    or the repo has errors, so a scheduled pipeline shows it.
    """
    from tidings.runner.escalation.tick import tick_root
    from tidings.runner.remote import CloneConflict

    _require_status_repo(root)
    try:
        result = tick_root(root, clock.now(), do_push=push, state=state_dir)
    except CloneConflict as exc:
        raise click.ClickException(str(exc)) from exc
    for due in result.recorded:
        who = due.person or "nobody (no one on call)"
        click.echo(
            f"page {due.key[:12]} {due.incident}: {who}, {due.policy} rule {due.rule}, round {due.round}"
        )
    for key in result.taken_over:
        click.echo(f"took over page {key[:12]} (its runner never sent it)")
    for key in result.cancelled:
        click.echo(f"cancelled page {key[:12]}: acknowledged, resolved or reopened before it went out")
    for d in result.deliveries:
        tries = f"{d.attempts} {'try' if d.attempts == 1 else 'tries'}"
        click.echo(
            f"{d.state} {d.key[:12]} to {d.person} on {d.channel} ({tries})"
            + (f": {d.error}" if d.error else "")
        )
    if result.waiting:
        click.echo(
            f"{len(result.waiting)} page(s) committed, not yet pushed: sent once the push goes through"
        )
    if result.blocked:
        raise click.ClickException(result.blocked)
    if not result.ok:
        sys.exit(1)

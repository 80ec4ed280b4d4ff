"""`tidings runner ...`: alert payloads applied as commits, the webhook service, the escalation tick."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click

from tidings import clock
from tidings.cli.common import repo_root
from tidings.errors import TidingsError

STATE_OPTION = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="TIDINGS_RUNNER_STATE",
    show_envvar=True,
    help="The runner's own state (journal, deliveries, ack queue); default ROOT/.git/tidings-runner. "
    "Keep it on a volume that outlives the process.",
)


@click.group()
def runner() -> None:
    """The runner: alert webhooks applied to the status repo as commits."""


@runner.command("apply")
@click.argument("payload", type=click.File("rb"))
@repo_root
@click.option(
    "--source",
    "kind",
    type=click.Choice(["alertmanager", "generic"]),
    required=True,
    help="The payload's format.",
)
@click.option("--integration", "integration_id", help="Integration id in .gitlab/integrations.yml.")
@click.option("--push/--no-push", default=False, help="Push the commit (fetching and rebasing if needed).")
def runner_apply(payload: IO[bytes], root: Path, kind: str, integration_id: str | None, push: bool) -> None:
    """Apply one alert PAYLOAD file (or - for standard input) to ROOT and commit the change."""
    from tidings.runner.service import apply_payload
    from tidings.runner.sources.events import PayloadError

    try:
        applied = apply_payload(root, kind, payload.read(), integration_id, do_push=push)
    except PayloadError as exc:  # it names the field; only we know which format was expected
        raise TidingsError(f"the payload is not a valid {kind} alert: {exc}") from exc
    outcome = applied.outcome
    where = f" {outcome.incident_id}" if outcome.incident_id else ""
    click.echo(f"{outcome.action}{where}" + (f" (commit {applied.commit[:12]})" if applied.commit else ""))
    if applied.push is not None and not applied.push.pushed:
        raise TidingsError(f"committed locally but not pushed: {applied.push.reason}")


@runner.command("serve")
@repo_root
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
@click.option(
    "--public-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Also serve the public subscription endpoint (subscribe, confirm, unsubscribe) on this port, "
    "and nothing else there; without it, nobody can subscribe and subscribers are not told.",
)
@click.option(
    "--public-host", default="127.0.0.1", show_default=True, help="Where the public endpoint listens."
)
def runner_serve(
    root: Path,
    host: str,
    port: int,
    push: bool,
    tick_seconds: float,
    state_dir: Path | None,
    public_port: int | None,
    public_host: str,
) -> None:
    """Receive alert webhooks and apply them to the clone at ROOT as commits; escalate and page."""
    import uvicorn

    from tidings.runner.app import create_app

    click.echo(f"Runner for {root.resolve()} on http://{host}:{port}/", err=True)
    app = create_app(root, state_dir=state_dir, do_push=push, tick_seconds=tick_seconds or None)
    if public_port is None:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
        return
    from tidings.runner.subscribers.serve import serve_both

    click.echo(f"Public subscription endpoint on http://{public_host}:{public_port}/", err=True)
    serve_both(app, root, state_dir, push, (host, port), (public_host, public_port))


@runner.command("tick")
@repo_root
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

    result = tick_root(root, clock.now(), do_push=push, state=state_dir)
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
        raise TidingsError(result.blocked)
    if not result.ok:
        sys.exit(1)

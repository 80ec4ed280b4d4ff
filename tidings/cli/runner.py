"""`tidings runner ...`: alert payloads applied as commits, the webhook service, the escalation tick."""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from tidings import clock
from tidings.cli.common import repo_root
from tidings.content.model import IntegrationKind
from tidings.errors import TidingsError, UsageError

if TYPE_CHECKING:
    from tidings.runner.preview import Preview

KINDS: tuple[str, ...] = IntegrationKind.__args__  # type: ignore[attr-defined]

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


def _headers(values: tuple[str, ...]) -> dict[str, str]:
    """`-H 'Name: value'` options as {name in lower case: value}."""
    headers = {}
    for value in values:
        name, colon, text = value.partition(":")
        if not colon or not name.strip():
            raise UsageError(
                f"--header {value!r} is not 'Name: value'", "e.g. -H 'Sentry-Hook-Resource: issue'"
            )
        headers[name.strip().lower()] = text.strip()
    return headers


HEADER_OPTION = click.option(
    "-H",
    "--header",
    "header",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="A request header the source reads, as sent (Sentry: -H 'Sentry-Hook-Resource: issue').",
)


@runner.command("apply")
@click.argument("payload", type=click.File("rb"))
@repo_root
@click.option("--source", "kind", type=click.Choice(KINDS), required=True, help="The payload's format.")
@click.option("--integration", "integration_id", help="Integration id in .gitlab/integrations.yml.")
@HEADER_OPTION
@click.option("--push/--no-push", default=False, help="Push the commit (fetching and rebasing if needed).")
def runner_apply(
    payload: IO[bytes], root: Path, kind: str, integration_id: str | None, header: tuple[str, ...], push: bool
) -> None:
    """Apply one alert PAYLOAD file (or - for standard input) to ROOT and commit the change."""
    from tidings.runner.service import apply_payload
    from tidings.runner.sources.events import IgnoredEvent, PayloadError

    try:
        applied = apply_payload(
            root, kind, payload.read(), integration_id, do_push=push, headers=_headers(header)
        )
    except PayloadError as exc:  # it names the field; only we know which format was expected
        raise TidingsError(f"the payload is not a valid {kind} alert: {exc}") from exc
    except IgnoredEvent as exc:  # what the endpoint answers 202: nothing to do, and no error
        click.echo(f"ignored: {exc}")
        return
    outcome = applied.outcome
    where = f" {outcome.incident_id}" if outcome.incident_id else ""
    click.echo(f"{outcome.action}{where}" + (f" (commit {applied.commit[:12]})" if applied.commit else ""))
    if applied.push is not None and not applied.push.pushed:
        raise TidingsError(f"committed locally but not pushed: {applied.push.reason}")


def _when(at: datetime | None) -> str:
    return at.isoformat() if at else "-"


def _show_preview(shown: Preview) -> None:
    integration, event = shown.integration, shown.event
    how = ", custom mapping" if integration.mapping is not None else ""
    click.echo(f"integration {integration.id} ({integration.kind}{how})")
    if shown.ignored:
        click.echo(f"ignored (the runner answers 202 and changes nothing): {shown.ignored}")
    if event is not None:
        rows: list[tuple[str, Any]] = [
            ("group", event.group),
            ("title", event.title),
            ("state", "firing" if event.firing else "resolved"),
            ("severity", event.severity),
            ("components", ", ".join(event.components)),
            ("runbooks", ", ".join(event.runbooks)),
            ("description", event.description),
        ]
        for alert in event.alerts:
            start = _when(alert.starts_at) + (
                "" if alert.starts_known else " (when received: the payload has none)"
            )
            rows += [
                ("alert", alert.fingerprint),
                ("  state", alert.state + (f", ended {_when(alert.ends_at)}" if alert.ends_at else "")),
                ("  started", start),
                ("  title", alert.title),
                ("  severity", alert.severity),
                ("  component", alert.component),
                ("  hosts", ", ".join(alert.hosts)),
                ("  monitoring tool", alert.monitoring_tool),
                ("  environment", alert.environment),
                ("  runbook", alert.runbook),
                ("  triage", " by ".join(t for t in (alert.triage, alert.triage_by) if t)),
                *(("  link", f"{label}: {url}") for label, url in alert.links),
                *(("  label", f"{k}={v}") for k, v in sorted(alert.labels.items())),
            ]
        for name, value in rows:
            if value:
                text = " ".join(str(value).split())
                click.echo(f"  {name:<18} {text[:200] + ('...' if len(text) > 200 else '')}")
    for problem in shown.problems:
        what = "error" if problem.error else "note"
        click.echo(f"{what}: {problem.path} ({problem.target}): {problem.message}")


def _preview_json(shown: Preview) -> str:
    event = asdict(shown.event) if shown.event is not None else None
    return json.dumps(
        {
            "integration": shown.integration.id,
            "kind": shown.integration.kind,
            "ok": shown.ok,
            "ignored": shown.ignored,
            "event": event,
            "problems": [asdict(p) for p in shown.problems],
        },
        indent=2,
        default=_when,
        ensure_ascii=False,
    )


@runner.command("map")
@click.argument("integration_id", metavar="INTEGRATION")
@click.argument("payload", type=click.File("rb"))
@repo_root
@HEADER_OPTION
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def runner_map(
    integration_id: str, payload: IO[bytes], root: Path, header: tuple[str, ...], fmt: str
) -> None:
    """Show the alert PAYLOAD (a file, or - for standard input) becomes through INTEGRATION, and
    every problem on the way; nothing is written. Exits 1 when the runner would refuse it (422)."""
    from tidings.runner.preview import find_integration, preview

    integration = find_integration(root, integration_id)
    shown = preview(integration, payload.read(), clock.now(), _headers(header))
    if fmt == "json":
        click.echo(_preview_json(shown))
    else:
        _show_preview(shown)
    if not shown.ok:
        sys.exit(1)


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
    # SIGTERM is a graceful stop (the app finishes the batch in hand and pushes it): uvicorn stops,
    # then raises the signal again with the handler it found, which this makes an exit with 0.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
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

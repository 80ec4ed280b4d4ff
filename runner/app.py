"""The runner's HTTP service (ASGI, Starlette): alerts in, 2xx only once they are on disk.

Routes: POST /alerts/{kind}/{integration}, GET /healthz, GET /metrics (Prometheus text),
GET/POST /ack/{token} (runner/ack.py), POST /slack/commands (runner/slack.py), POST
/heartbeat/{integration} (runner/escalation/heartbeat.py, which also watches for silence) and the
alert API under /api/alerts (runner/alerts_api.py). With
`tick_seconds`, the escalation tick runs every so often in a thread, under the worker's lock for
its git operations (runner/tick.py); without it, acks taken while the remote was down are pushed
every few seconds (runner/ack.py's `retry_queued`). Every ANNOUNCE_SECONDS the commits that reached the branch
are read for incidents opened and resolved, told to the `announce:` channels (runner/announce.py).
Every refusal writes nothing: 404 unknown integration, 401 bad token or signature (each source's
`verify`, runner/sources/), 413 over 1 MiB, 400 not JSON, 422 the wrong shape (naming the field).
A known event that changes no alert is answered 202 and counted (`tidings_runner_ignored_total`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tidings import clock
from tidings.runner import alerts_api, slack
from tidings.runner.escalation import heartbeat
from tidings.runner.escalation.ack import ack_endpoint, retry_queued
from tidings.runner.escalation.announce import Announcer
from tidings.runner.escalation.pagerduty_sync import PagerDutySync
from tidings.runner.escalation.tick import tick
from tidings.runner.journal import Journal
from tidings.runner.remote import Clone
from tidings.runner.remote import state_dir as clone_state_dir
from tidings.runner.sources import kept_headers, parse, verify
from tidings.runner.sources.events import IgnoredEvent, PayloadError
from tidings.runner.subscribers.deploys import deployed_endpoint
from tidings.runner.worker import Command, Metrics, Worker, recover

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
LATENCY = "tidings_runner_apply_latency_seconds"
STOP_GRACE = 20.0  # seconds a graceful stop waits for the batch in hand, and again for its push
RETRY_AFTER = 10  # seconds a sender is asked to wait when the journal cannot take a request
IGNORED_KINDS = 100  # distinct (source, event type) counters kept for /metrics
ANNOUNCE_SECONDS = 2.0  # how often new commits are looked at for incident news (runner/announce.py)


def _error(status: int, message: str, **extra: str) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _label(value: str) -> str:
    """A Prometheus label value from a sender's text: short, and nothing that needs escaping."""
    return re.sub(r"[^A-Za-z0-9_.:-]", "_", value[:80]) or "_"


def journal_unavailable(exc: OSError) -> JSONResponse:
    """A request the journal could not take (a full disk, say): 503, so the sender retries later.

    Nothing was acknowledged; the journal took its part-written batch back out (runner/journal.py).
    """
    log.error("could not journal a request (answered 503): %s", exc)
    response = _error(503, f"the runner cannot store requests now ({exc.strerror or exc}); retry later")
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def create_app(
    root: Path,
    state_dir: Path | None = None,
    do_push: bool = True,
    tick_seconds: float | None = None,
    heartbeat_seconds: float = heartbeat.CHECK_SECONDS,
) -> Starlette:
    """The runner for the status repo clone at `root`; its journal and other state live in `state_dir`
    (default: clone.state_dir's).

    `tick_seconds`: run the escalation tick that often (None: not at all). `heartbeat_seconds`: how
    often integrations that expect a heartbeat are checked for silence.
    """
    root = root.resolve()
    state = clone_state_dir(root, state_dir)
    metrics = Metrics()
    # Known events of known sources that change no alert, by (source kind, event type).
    ignored: dict[tuple[str, str], int] = {}
    heartbeats = heartbeat.HeartbeatLog(state)
    holder: dict[str, Worker] = {}
    clones: dict[str, Clone] = {}

    async def receive_alert(request: Request) -> Response:
        kind = request.path_params["kind"]
        worker = holder["worker"]
        integration = worker.integrations.get(request.path_params["integration"])
        if integration is None or integration.kind != kind:
            return _error(404, "no such integration")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY:
            return _error(413, f"body over {MAX_BODY} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _error(413, f"body over {MAX_BODY} bytes")
        headers = {name.lower(): value for name, value in request.headers.items()}
        # A signature covers the body, so every check waits for it; none writes anything.
        verdict = verify(kind, integration, headers, body, os.environ)
        if not verdict.ok:
            if verdict.unset:
                log.warning(
                    "%s is not set: every post to %s/%s is refused", verdict.unset, kind, integration.id
                )
            return _error(401, verdict.reason)
        now = clock.now()
        try:
            event = parse(kind, body, integration, now, headers)
        except IgnoredEvent as exc:  # a known event that changes no alert: 2xx, so it is never re-sent
            log.warning("%s/%s: %s", kind, integration.id, exc)
            # A sender's event types are few; past IGNORED_KINDS of them, the rest count as "other".
            key = (kind, _label(exc.event))
            if key not in ignored and len(ignored) >= IGNORED_KINDS:
                key = (kind, "other")
            ignored[key] = ignored.get(key, 0) + 1
            return JSONResponse({"status": "ignored", "reason": str(exc)}, status_code=202)
        except PayloadError as exc:
            status = 400 if exc.field == "(body)" and "not JSON" in str(exc) else 422
            return _error(status, str(exc), field=exc.field)
        record = {
            "kind": kind,
            "integration": integration.id,
            "received_at": now.isoformat(),
            "body": base64.b64encode(body).decode(),
        }
        kept = kept_headers(kind, headers)
        if kept:  # only for the sources that read headers; older records have none
            record["headers"] = kept
        try:
            seq = await worker.journal.append(record)
        except OSError as exc:
            return journal_unavailable(exc)
        metrics.received += 1
        try:  # a heartbeat alert (Watchdog) in it keeps the silence alarm quiet (escalation/heartbeat.py)
            await heartbeat.record(heartbeats, integration, event, now)
        except OSError as exc:  # the alert itself is journalled; only the heartbeat's time is lost
            log.error("could not keep a heartbeat: %s", exc)
        return JSONResponse({"status": "accepted", "seq": seq})

    async def healthz(request: Request) -> Response:
        worker = holder["worker"]
        return JSONResponse(
            {
                "status": "blocked" if worker.blocked else "ok",
                "reason": worker.blocked,
                "journal_depth": worker.depth,
                "unpushed": worker.unpushed,
            }
        )

    async def prometheus(request: Request) -> Response:
        worker = holder["worker"]
        latencies = sorted(metrics.apply_seconds)

        def quantile(q: float) -> float:
            return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0.0

        lines = [
            "# TYPE tidings_runner_received_total counter",
            f"tidings_runner_received_total {metrics.received}",
            "# TYPE tidings_runner_applied_total counter",
            f"tidings_runner_applied_total {metrics.applied}",
            "# TYPE tidings_runner_duplicates_total counter",
            f"tidings_runner_duplicates_total {metrics.duplicates}",
            "# TYPE tidings_runner_commits_total counter",
            f"tidings_runner_commits_total {metrics.commits}",
            "# TYPE tidings_runner_failed_total counter",
            f"tidings_runner_failed_total {metrics.failed}",
            "# TYPE tidings_runner_pushes_total counter",
            f"tidings_runner_pushes_total {metrics.pushes}",
            "# TYPE tidings_runner_reapplied_total counter",
            f"tidings_runner_reapplied_total {metrics.reapplied}",
            "# TYPE tidings_runner_push_failures_total counter",
            f"tidings_runner_push_failures_total {metrics.push_failures}",
            "# TYPE tidings_runner_journal_depth gauge",
            f"tidings_runner_journal_depth {worker.depth}",
            "# HELP tidings_runner_ignored_total Posts of events that change no alert (answered 202).",
            "# TYPE tidings_runner_ignored_total counter",
            *(
                f'tidings_runner_ignored_total{{kind="{k}",event="{e}"}} {n}'
                for (k, e), n in sorted(ignored.items())
            ),
            "# HELP tidings_runner_apply_latency_seconds From receipt to commit, recent applied alerts.",
            "# TYPE tidings_runner_apply_latency_seconds summary",
            *(f'{LATENCY}{{quantile="{q}"}} {quantile(q):.6f}' for q in (0.5, 0.99)),
            f"tidings_runner_apply_latency_seconds_count {len(latencies)}",
        ]
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    async def announce(announcer: Announcer | PagerDutySync, every: float) -> None:
        """Incident news to the `announce:` channels, every `every` seconds; a failure is logged."""
        while True:
            try:
                await asyncio.to_thread(announcer.run_once)
            except Exception:
                log.exception("announcing incidents failed; trying again in %.0f s", every)
            await asyncio.sleep(every)

    async def escalate(clone: Clone, every: float) -> None:
        """The escalation tick, in a thread, every `every` seconds; a failing tick is logged, not fatal."""
        while True:
            try:
                await asyncio.to_thread(tick, clone, clock.now(), stopping=stopping)
            except Exception:
                log.exception("escalation tick failed; trying again in %.0f s", every)
            await asyncio.sleep(every)

    # Set by a graceful stop: the escalation tick, running in a thread, then sends nothing more.
    stopping = threading.Event()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        journal = Journal(state)
        clone = clones["clone"] = Clone.open(root, do_push, state)
        applied = recover(clone, journal)
        commands: dict[str, Command] = {
            slack.KIND: slack.SlackCommands(),
            alerts_api.KIND: alerts_api.AlertApiCommands(),
        }
        worker = Worker(clone, journal, metrics, applied, commands=commands)
        if not worker.integrations:
            journal.close()
            raise RuntimeError(f"no valid integrations in {root}/.gitlab/integrations.yml")
        holder["worker"] = worker
        tasks = [asyncio.create_task(worker.run())]
        tasks.append(asyncio.create_task(announce(Announcer(root, state, worker.do_push), ANNOUNCE_SECONDS)))
        # People's acknowledgements and resolutions told to PagerDuty (integrations with `sync:`).
        synced = PagerDutySync(root, state, worker.do_push)
        tasks.append(asyncio.create_task(announce(synced, ANNOUNCE_SECONDS)))
        watched = heartbeat.watch(heartbeats, journal, lambda: worker.integrations, heartbeat_seconds)
        tasks.append(asyncio.create_task(watched))
        if tick_seconds:
            tasks.append(asyncio.create_task(escalate(clone, tick_seconds)))
        else:  # the tick pushes acks taken while the remote was down; without it, this does
            tasks.append(asyncio.create_task(retry_queued(clone)))
        try:
            yield
        finally:
            # A graceful stop (SIGTERM; uvicorn has stopped accepting): the worker first, which
            # finishes the batch in hand and pushes it, then the rest.
            stopping.set()  # the tick begins no further send (a thread cannot be cancelled)
            tasks[0].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tasks[0]
            await worker.stop(STOP_GRACE)
            for task in tasks[1:]:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            journal.close()

    routes = [
        Route("/alerts/{kind:str}/{integration:str}", receive_alert, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/metrics", prometheus),
        Route("/ack/{token:str}", ack_endpoint(lambda: clones["clone"]), methods=["GET", "POST"]),
        Route("/slack/commands", slack.slack_endpoint(lambda: holder["worker"], state), methods=["POST"]),
        Route(
            "/heartbeat/{integration:str}",
            heartbeat.heartbeat_endpoint(lambda: holder["worker"].integrations, heartbeats),
            methods=["POST"],
        ),
        *alerts_api.routes(lambda: holder["worker"]),
        Route("/deployed", deployed_endpoint(state), methods=["POST"]),  # runner/subscribers/deploys.py
    ]
    return Starlette(routes=routes, lifespan=lifespan)

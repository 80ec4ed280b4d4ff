"""The runner's HTTP service (ASGI, Starlette): alerts in, 2xx only once they are on disk.

Routes: POST /alerts/{kind}/{integration}, GET /healthz, GET /metrics (Prometheus text).
Every refusal writes nothing: 404 unknown integration, 401 bad token, 413 over 1 MiB, 400 not
JSON, 422 the wrong shape (naming the field).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import logging
import os
import statistics
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tidings import clock
from tidings.load import load
from tidings.model import Integration

from .events import PayloadError
from .journal import Journal
from .service import parse
from .worker import Metrics, Worker

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


def _error(status: int, message: str, **extra: str) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def create_app(root: Path, state_dir: Path | None = None, do_push: bool = True) -> Starlette:
    """The runner for the status repo clone at `root`; its journal lives in `state_dir`."""
    root = root.resolve()
    state = state_dir or root / ".git" / "tidings-runner"
    metrics = Metrics()
    integrations: dict[str, Integration] = {}
    holder: dict[str, object] = {}

    async def receive_alert(request: Request) -> Response:
        kind = request.path_params["kind"]
        integration = integrations.get(request.path_params["integration"])
        if integration is None or integration.kind != kind:
            return _error(404, "no such integration")
        expected = os.environ.get(integration.token_env, "")
        given = request.headers.get("authorization", "")
        token = given[7:] if given.lower().startswith("bearer ") else ""
        # Constant-time, and an unset variable never matches (not even an empty token).
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            return _error(401, "missing or wrong bearer token")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY:
            return _error(413, f"body over {MAX_BODY} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _error(413, f"body over {MAX_BODY} bytes")
        now = clock.now()
        try:
            parse(kind, body, integration, now)
        except PayloadError as exc:
            status = 400 if exc.field == "(body)" and "not JSON" in str(exc) else 422
            return _error(status, str(exc), field=exc.field)
        metrics.received += 1
        journal: Journal = holder["journal"]  # type: ignore[assignment]
        seq = await journal.append(
            {
                "kind": kind,
                "integration": integration.id,
                "received_at": now.isoformat(),
                "body": base64.b64encode(body).decode(),
            }
        )
        return JSONResponse({"status": "accepted", "seq": seq})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def prometheus(request: Request) -> Response:
        worker: Worker = holder["worker"]  # type: ignore[assignment]
        latencies = metrics.apply_seconds[-1000:]
        median = statistics.median(latencies) if latencies else 0
        lines = [
            "# TYPE tidings_runner_received_total counter",
            f"tidings_runner_received_total {metrics.received}",
            "# TYPE tidings_runner_applied_total counter",
            f"tidings_runner_applied_total {metrics.applied}",
            "# TYPE tidings_runner_duplicates_total counter",
            f"tidings_runner_duplicates_total {metrics.duplicates}",
            "# TYPE tidings_runner_commits_total counter",
            f"tidings_runner_commits_total {metrics.commits}",
            "# TYPE tidings_runner_push_failures_total counter",
            f"tidings_runner_push_failures_total {metrics.push_failures}",
            "# TYPE tidings_runner_journal_depth gauge",
            f"tidings_runner_journal_depth {worker.depth}",
            "# TYPE tidings_runner_apply_latency_seconds gauge",
            f'tidings_runner_apply_latency_seconds{{quantile="0.5"}} {median}',
            f'tidings_runner_apply_latency_seconds{{quantile="1"}} {max(latencies, default=0)}',
        ]
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        result = load(root)
        if result.errors:
            raise RuntimeError(f"the status repo at {root} has errors; run 'tidings validate'")
        integrations.update({i.id: i for i in result.repo.integrations})
        journal = Journal(state)
        worker = Worker(root, journal, metrics, do_push=do_push)
        worker.recover()
        holder.update(journal=journal, worker=worker)
        task = asyncio.create_task(worker.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            journal.close()

    routes = [
        Route("/alerts/{kind:str}/{integration:str}", receive_alert, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/metrics", prometheus),
    ]
    return Starlette(routes=routes, lifespan=lifespan)

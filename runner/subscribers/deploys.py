"""`POST /deployed` on the runner's main listener: the pages job says which commit is live.

    Authorization: Bearer $TIDINGS_DEPLOY_TOKEN
    {"commit": "<the deployed commit's full SHA>"}

Why the pages job, and not the runner watching the clock: a public update must not reach a
subscriber before the public page can show it, and only the deploy knows when that is (a pipeline
may wait for a runner, or fail and be retried). The runner then releases every held update whose
commit the deployed one contains (service.py), `release_delay_seconds` later when caches sit in
front of the page. The template's `tidings:deployed` job sends it after the Pages deployment.

A missing or wrong token gets 401 (compared in constant time; an unset variable matches nothing),
a body that is not such JSON 422, over 4 KiB 413. Nothing of it touches the subscribers.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tidings.runner.subscribers.store import Store

TOKEN_ENV = "TIDINGS_DEPLOY_TOKEN"
MAX_BODY = 4096
COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def deployed_endpoint(state: Path) -> Callable[[Request], Awaitable[Response]]:
    """The route's handler, for the runner whose state folder is `state`."""
    opened: dict[str, Store] = {}

    def record(commit: str) -> None:
        if "store" not in opened:
            opened["store"] = Store.open(state)
        opened["store"].add_deployed(commit)

    async def endpoint(request: Request) -> Response:
        expected = os.environ.get(TOKEN_ENV, "")
        given = request.headers.get("authorization", "")
        token = given[7:] if given.lower().startswith("bearer ") else ""
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return JSONResponse({"error": f"body over {MAX_BODY} bytes"}, status_code=413)
        try:
            data = json.loads(body)
            commit = str(data["commit"]).strip().lower() if isinstance(data, dict) else ""
        except (ValueError, KeyError):
            commit = ""
        if not COMMIT.match(commit):
            return JSONResponse(
                {"error": 'expected {"commit": "<full SHA>"}', "field": "commit"}, status_code=422
            )
        await asyncio.to_thread(record, commit)
        return JSONResponse({"status": "recorded", "commit": commit})

    return endpoint

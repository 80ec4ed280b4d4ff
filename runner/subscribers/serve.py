"""`runner serve --public-port`: the runner's app and the public subscription app, in one process,
each on its own listener (the public one faces readers; the other stays inside)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.applications import Starlette

from tidings.runner.remote import has_remote
from tidings.runner.remote import state_dir as runner_state_dir
from tidings.runner.subscribers.endpoint import create_public_app


def serve_both(
    app: Starlette,
    root: Path,
    state: Path | None,
    push: bool,
    main: tuple[str, int],
    public: tuple[str, int],
) -> None:
    """Serve `app` at `main` and the public app at `public` until a signal stops both."""
    import uvicorn

    root = root.resolve()
    public_app = create_public_app(root, runner_state_dir(root, state), push and has_remote(root))
    servers = [
        uvicorn.Server(uvicorn.Config(served, host=host, port=port, log_level="warning", access_log=False))
        for served, (host, port) in ((app, main), (public_app, public))
    ]

    async def both() -> None:
        # Each server catches SIGTERM and SIGINT in turn and passes it on once it has stopped
        # (uvicorn restores the handler it found and raises the signal again): both stop.
        await asyncio.gather(*(server.serve() for server in servers))

    with asyncio.Runner(loop_factory=servers[0].config.get_loop_factory()) as runner:
        runner.run(both())

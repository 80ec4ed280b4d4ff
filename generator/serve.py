"""Serving a built site on a local address, for previews (`tidings serve`, `script/demo`)."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

log = logging.getLogger(__name__)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        log.info("%s - %s", self.address_string(), format % args)


def serve_folder(
    folder: Path, host: str = "127.0.0.1", port: int = 8000, on_ready: Callable[[str], None] | None = None
) -> None:
    """Serve `folder` until interrupted; `on_ready` gets the URL once the socket is bound."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    with ThreadingHTTPServer((host, port), handler) as server:
        bound_host, bound_port = server.server_address[:2]
        url = f"http://{bound_host!s}:{bound_port}/"
        if on_ready:
            on_ready(url)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()

"""Fixtures for generator tests: a real HTTP server on 127.0.0.1 serving a built site."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tidings.generator.build import build

# 2026-11-24T20:00:00Z: the demo then has two active incidents and one upcoming maintenance window.
DEMO_NOW = "1795550400"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _LikeGitLabPages(_Quiet):
    """A missing page is answered as GitLab Pages answers it: 404, with the site's own 404.html."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@pytest.fixture(scope="session")
def http_server() -> Iterator[Callable[..., str]]:
    """http_server(folder) -> base URL of a real server on 127.0.0.1 for `folder`; with
    `pages=True` it serves the site's 404.html for a missing page, as GitLab Pages does."""
    servers: list[ThreadingHTTPServer] = []

    def start(folder: Path, pages: bool = False) -> str:
        handler = _LikeGitLabPages if pages else _Quiet
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory) -> Path:
    """The demo repo built once, at a pinned time."""
    out = tmp_path_factory.mktemp("demo") / "public"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", DEMO_NOW)
        build(PROJECT_ROOT, out)
    return out

"""Serving a live preview of a site on a local address (`LiveSite`, `serve_live`).

The live preview, like `mkdocs serve`: builds into a temporary folder, watches the status repo's
content, settings and templates (watchdog), waits for a burst of file events to settle, rebuilds
incrementally, and reloads open browsers. When a rebuild fails it keeps serving the last good
build and shows the errors on every page; when the file is fixed it recovers by itself.

Browsers learn of a new build by long polling `/__tidings/wait?after=N` (the injected script does
it); `/__tidings/status` says what the server knows. Both exist only in the preview: the script is
injected into pages as they are served, never written into the built site.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from tidings.content.diagnostics import Diagnostic
from tidings.content.urls import NOT_FOUND
from tidings.errors import UsageError
from tidings.generator.problems import BuildFailed

log = logging.getLogger(__name__)

# What a change to rebuilds for: everything else in the repo (.git, caches, outputs) is ignored.
WATCHED = ("content", ".gitlab", "site_templates")
SETTLE = 0.2  # seconds without events before a rebuild starts
LONG_POLL = 25.0
EMPTY_PAGE = '<!DOCTYPE html><html lang="en"><title>Tidings preview</title><body></body></html>'

RELOAD_SCRIPT = """<script>
(function () {
  var version = %d;
  function wait() {
    fetch("/__tidings/wait?after=" + version, {cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (s) { if (s.version !== version) { location.reload(); } else { wait(); } })
      .catch(function () { setTimeout(wait, 1000); });
  }
  wait();
})();
</script>"""


class CannotListen(UsageError):
    """The address is taken (or not ours to bind)."""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        log.info("%s - %s", self.address_string(), format % args)


def error_panel(diagnostics: list[Diagnostic]) -> str:
    """The errors of a failed rebuild, as a block shown at the top of every page."""
    items = "".join(f"<li><code>{html.escape(d.as_text())}</code></li>" for d in diagnostics[:50])
    more = f"<li>and {len(diagnostics) - 50} more</li>" if len(diagnostics) > 50 else ""
    return (
        '<div role="alert" id="tidings-build-errors" style="background:#8b0000;color:#fff;padding:1rem;'
        'font:14px/1.4 system-ui,sans-serif;position:relative;z-index:1000">'
        "<strong>The last change did not build; this is the last good build.</strong>"
        f"<ul>{items}{more}</ul></div>"
    )


class LiveSite:
    """A site that rebuilds itself: `build()` is called on start and after every settled change."""

    def __init__(
        self, root: Path, build: Callable[[], None], folder: Path, watched: tuple[str, ...] = WATCHED
    ):
        self.root = root.resolve()
        self.folder = folder  # where `build` writes: what is served
        self._build = build
        self.watched = watched
        self.version = 0  # good builds so far
        self.builds = 0  # attempts
        self.errors: list[Diagnostic] = []
        self._changed = threading.Event()
        self._last_event = 0.0
        self._state = threading.Condition()
        self._stop = threading.Event()

    def rebuild(self) -> None:
        started = time.perf_counter()
        try:
            self._build()
        except BuildFailed as exc:
            errors = exc.diagnostics
        except Exception as exc:  # a bug or an odd file: keep serving, say what happened
            log.exception("rebuild failed")
            errors = [Diagnostic("(build)", 1, 1, "", f"{type(exc).__name__}: {exc}", code="build")]
        else:
            errors = []
        with self._state:
            self.builds += 1
            self.errors = errors
            if not errors:
                self.version += 1
            self._state.notify_all()
        took = time.perf_counter() - started
        if errors:
            log.warning("rebuilt in %.2f s: %d error(s), serving the last good build", took, len(errors))
        else:
            log.info("rebuilt in %.2f s", took)

    def wait(self, after: int, timeout: float = LONG_POLL) -> dict[str, Any]:
        """Block until a build newer than `after` (or a failed one) happens, or `timeout` passes."""
        with self._state:
            builds = self.builds
            self._state.wait_for(lambda: self.version != after or self.builds != builds, timeout)
            return self.status()

    def status(self) -> dict[str, Any]:
        errors = [d.as_text() for d in self.errors]
        return {"version": self.version, "builds": self.builds, "errors": errors, "folder": str(self.folder)}

    # --- watching -------------------------------------------------------------------------------

    def relevant(self, path: str) -> bool:
        try:
            rel = Path(path).resolve().relative_to(self.root)
        except ValueError:
            return False
        return bool(rel.parts) and rel.parts[0] in self.watched

    def notice(self, path: str) -> None:
        if self.relevant(path):
            self._last_event = time.monotonic()
            self._changed.set()

    def _rebuild_loop(self) -> None:
        while not self._stop.is_set():
            if not self._changed.wait(timeout=0.5):
                continue
            # Debounce: an editor's save, a git checkout or a burst of writes is one rebuild.
            while time.monotonic() - self._last_event < SETTLE:
                time.sleep(SETTLE / 4)
            self._changed.clear()
            self.rebuild()

    def watch(self) -> Callable[[], None]:
        """Start watching (and rebuilding); returns a function that stops it."""
        site = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                site.notice(str(event.src_path))
                if getattr(event, "dest_path", ""):
                    site.notice(str(event.dest_path))

        observer = Observer()
        # The repo root itself, recursively: folders such as site_templates/ may appear later.
        observer.schedule(Handler(), str(self.root), recursive=True)
        observer.start()
        worker = threading.Thread(target=self._rebuild_loop, name="tidings-rebuild", daemon=True)
        worker.start()

        def stop() -> None:
            self._stop.set()
            observer.stop()
            observer.join(timeout=5)
            worker.join(timeout=5)

        return stop


def _live_handler(site: LiveSite) -> type[SimpleHTTPRequestHandler]:
    folder = site.folder

    class Handler(_QuietHandler):
        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/__tidings/status":
                return self._json(site.status())
            if parts.path == "/__tidings/wait":
                after = parse_qs(parts.query).get("after", ["-1"])[0]
                return self._json(site.wait(int(after) if after.lstrip("-").isdigit() else -1))
            target = Path(self.translate_path(parts.path))
            if target.is_dir():
                target = target / "index.html"
            if target.suffix == ".html" and target.is_file():
                return self._page(target)
            if not target.exists() and site.errors:
                return self._page(None)  # nothing built yet: the errors are the page
            missing = folder / NOT_FOUND
            if not target.exists() and missing.is_file():
                return self._page(missing, status=404)  # as GitLab Pages answers a missing page
            return super().do_GET()

        def _json(self, data: dict[str, Any]) -> None:
            body = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _page(self, path: Path | None, status: int = 200) -> None:
            text = (
                path.read_text(encoding="utf-8")
                if path
                else "<!DOCTYPE html><title>Tidings</title><body></body>"
            )
            text = text.replace("</body>", RELOAD_SCRIPT % site.version + "</body>", 1)
            if site.errors:  # right after <body ...>, above everything else on the page
                start = text.find("<body")
                end = text.find(">", start) + 1 if start >= 0 else 0
                text = text[:end] + error_panel(site.errors) + text[end:]
            body = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def serve_live(
    site: LiveSite,
    host: str = "127.0.0.1",
    port: int = 8000,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Build, then serve the site's folder while watching and rebuilding, until interrupted.

    The port is taken first: a port in use fails at once (OSError), not after a whole build.
    """
    try:
        server = ThreadingHTTPServer((host, port), _live_handler(site))
    except OSError as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror} (try another --port)") from None
    server.daemon_threads = True
    try:
        site.rebuild()
        stop = site.watch()
        try:
            bound_host, bound_port = server.server_address[:2]
            if on_ready:
                on_ready(f"http://{bound_host!s}:{bound_port}/")
            with contextlib.suppress(KeyboardInterrupt):
                server.serve_forever()
        finally:
            stop()
    finally:
        server.server_close()

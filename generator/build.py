"""`tidings build`: load -> validate -> public view -> render -> write."""

from __future__ import annotations

import gc
import hashlib
import os
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from jinja2 import TemplateError

from tidings import clock
from tidings import public as public_module
from tidings.cache import ParseCache
from tidings.diagnostics import Diagnostic
from tidings.layout import SITE_FILE
from tidings.load import load
from tidings.public import public_view
from tidings.site_templates import TEMPLATE_DIR

from .api import render_api
from .badges import render_badges
from .calendar import render_calendar
from .feeds import render_feeds
from .pages import Output, render_pages
from .site import Site
from .templates import environment
from .write import Manifest, Progress, check_output, write_site

STATIC_ASSETS = ("style.css", "localtime.js")


class BuildFailed(Exception):
    """The status repo has errors; nothing was written."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(f"{len(diagnostics)} error(s) in the status repo")
        self.diagnostics = diagnostics


@dataclass(frozen=True)
class BuildResult:
    out: Path
    files: int
    warnings: list[Diagnostic]
    rendered: int = 0  # files rendered this time
    reused: int = 0  # files taken over unchanged from the previous build


def template_diagnostic(exc: TemplateError) -> Diagnostic:
    """A template's mistake as a diagnostic naming the template file and line, not a traceback."""
    name, line = getattr(exc, "filename", None) or getattr(exc, "name", None), getattr(exc, "lineno", None)
    if name is None:  # a runtime error: the innermost template frame says where
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename.endswith((".html", ".xml", ".txt")):
                name, line = frame.filename, frame.lineno
    where = str(name or "site_templates")
    if Path(where).is_absolute():
        where = Path(where).name
    return Diagnostic(where, line or 1, 1, "", f"template error: {exc.message or exc}", code="template")


def context_key(root: Path) -> str:
    """What every keyed page depends on besides its own item: code, templates, site settings, libraries."""
    digest = hashlib.blake2b(digest_size=20)
    here = Path(__file__).parent
    sources = [*sorted(here.glob("*.py")), Path(public_module.__file__ or "")]
    for folder in (TEMPLATE_DIR, root / "site_templates"):
        if folder.is_dir():
            sources += sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    sources.append(root / SITE_FILE)
    for path in sources:
        digest.update(str(path).encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"-")
    for package in ("jinja2", "markdown", "nh3", "tidings"):
        digest.update(f"{package}={version(package)}".encode())
    return digest.hexdigest()


def build(
    root: Path,
    out: Path,
    now: datetime | None = None,
    cache: bool = True,
    workers: int = 1,
    progress: Progress | None = None,
) -> BuildResult:
    """Build the public site of the status repo at `root` into `out`; refuse (writing nothing) on errors.

    With `cache`, parsed files are kept in ROOT/.tidings-cache/ and pages whose inputs did not change
    are taken over from the previous build in `out` (hard links) instead of being rendered again:
    the result is byte for byte what a cold build writes. `workers` > 1 renders in that many processes;
    0 means one a CPU core.
    """
    workers = workers or os.cpu_count() or 1
    check_output(out, root)
    # A build makes hundreds of thousands of objects that all live to the end: the cyclic garbage
    # collector would walk them again and again for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(root, out, now, cache, workers, progress)
    finally:
        if collecting:
            gc.enable()


def _build(
    root: Path, out: Path, now: datetime | None, cache: bool, workers: int, progress: Progress | None
) -> BuildResult:
    parse_cache = ParseCache(root) if cache else None
    result = load(root, parse_cache)
    if result.errors:
        raise BuildFailed(result.errors)
    site = Site(repo=public_view(result.repo), now=now or clock.now())
    env = environment(site.repo.root, site.repo.site.timezone)
    key = context_key(root)

    def whole(items: Iterator[tuple[str, bytes]]) -> Iterator[Output]:
        for path, data in items:
            yield Output(path, lambda data=data: data)  # type: ignore[misc]

    def outputs() -> Iterator[Output]:
        yield from render_pages(site, env, key)
        yield from whole(render_feeds(site))
        yield from whole(render_api(site))
        yield from whole(render_badges(site))
        yield from whole(render_calendar(site))
        for name in STATIC_ASSETS:
            source = env.loader.get_source(env, name)[0].encode()  # type: ignore[union-attr]
            yield Output(f"static/{name}", lambda source=source: source)  # type: ignore[misc]

    manifest = Manifest(root, out) if cache else None
    try:
        written = write_site(outputs(), out, manifest, workers, progress)
    except TemplateError as exc:
        raise BuildFailed([template_diagnostic(exc)]) from exc
    if parse_cache is not None:
        parse_cache.save()
    return BuildResult(
        out=out,
        files=written.files,
        warnings=result.warnings,
        rendered=written.rendered,
        reused=written.reused,
    )

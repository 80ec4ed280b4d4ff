"""`tidings build`: load -> validate -> public view -> render -> write."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import TemplateError

from tidings import clock
from tidings.diagnostics import Diagnostic
from tidings.load import load
from tidings.public import public_view

from .api import render_api
from .badges import render_badges
from .calendar import render_calendar
from .feeds import render_feeds
from .pages import render_pages
from .site import Site
from .templates import environment
from .write import check_output, write_site

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


def build(root: Path, out: Path, now: datetime | None = None) -> BuildResult:
    """Build the public site of the status repo at `root` into `out`; refuse (writing nothing) on errors."""
    check_output(out, root)
    result = load(root)
    if result.errors:
        raise BuildFailed(result.errors)
    site = Site(repo=public_view(result.repo), now=now or clock.now())
    env = environment(site.repo.root, site.repo.site.timezone)

    def outputs() -> Iterator[tuple[str, bytes]]:
        yield from render_pages(site, env)
        yield from render_feeds(site)
        yield from render_api(site)
        yield from render_badges(site)
        yield from render_calendar(site)
        for name in STATIC_ASSETS:
            yield f"static/{name}", env.loader.get_source(env, name)[0].encode()  # type: ignore[union-attr]

    try:
        files = write_site(outputs(), out)
    except TemplateError as exc:
        raise BuildFailed([template_diagnostic(exc)]) from exc
    return BuildResult(out=out, files=files, warnings=result.warnings)

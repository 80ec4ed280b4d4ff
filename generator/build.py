"""`tidings build`: load -> validate -> public view -> render -> write."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

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
from .write import write_site

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


def build(root: Path, out: Path, now: datetime | None = None) -> BuildResult:
    """Build the public site of the status repo at `root` into `out`; refuse (writing nothing) on errors."""
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

    files = write_site(outputs(), out)
    return BuildResult(out=out, files=files, warnings=result.warnings)

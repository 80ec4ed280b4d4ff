"""`tidings build`: load -> validate -> public view -> render -> write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tidings import clock
from tidings.diagnostics import Diagnostic
from tidings.load import load
from tidings.public import public_view

from .pages import render_pages
from .templates import environment
from .write import write_site

STATIC_ASSETS = ("style.css",)


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
    repo = public_view(result.repo)
    env = environment(repo.root, repo.site.timezone)
    now = now or clock.now()

    def outputs():  # type: ignore[no-untyped-def]
        yield from render_pages(repo, env, now)
        for name in STATIC_ASSETS:
            yield f"static/{name}", env.loader.get_source(env, name)[0].encode()  # type: ignore[union-attr]

    files = write_site(outputs(), out)
    return BuildResult(out=out, files=files, warnings=result.warnings)

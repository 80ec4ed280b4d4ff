"""What metrics can be counted over in a status repo with errors: its valid incidents and alert records.

An error in a runbook or in people.yml says nothing about how fast the team answered its incidents,
so it must not stop `tidings metrics`. An incident or alert record whose file has an error is left
out (its figures cannot be trusted, and an invalid file is not in the model at all), and the report
says which and why. The site file is different: every figure is counted in its timezone and over
its components, so an error there still stops the metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from tidings.content.diagnostics import Diagnostic
from tidings.content.layout import ALERTS_DIR, FOLDERS, SITE_FILE
from tidings.content.load import LoadResult
from tidings.content.model import StatusRepo
from tidings.errors import TidingsError

INCIDENTS_DIR = next(f.path for f in FOLDERS if f.kind == "incident")


class SiteFileInvalid(TidingsError):
    """The site file has errors: there is no timezone or component list to count metrics in."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__(
            f"{len(self.diagnostics)} error(s) in {SITE_FILE}: "
            "metrics are counted in its timezone and over its components",
            hint="run 'tidings validate'",
        )


@dataclass(frozen=True)
class Scope:
    """The repo metrics count over, and the errors that shaped it."""

    repo: StatusRepo  # without the incidents and alert records whose files have errors
    left_out: tuple[Diagnostic, ...]  # errors of incident and alert files: those files are not counted
    ignored: tuple[Diagnostic, ...]  # errors in files metrics do not read

    @property
    def left_out_files(self) -> list[str]:
        return sorted({d.path for d in self.left_out})


def _counted(path: str) -> bool:
    """Whether metrics count the file at `path` (an incident or an alert record)."""
    return path.startswith((INCIDENTS_DIR + "/", ALERTS_DIR + "/"))


def scope(result: LoadResult) -> Scope:
    """The valid part of a loaded repo for metrics; SiteFileInvalid when the site file has errors."""
    errors: Sequence[Diagnostic] = result.errors
    site = [d for d in errors if d.path == SITE_FILE]
    if site:
        raise SiteFileInvalid(site)
    left_out = tuple(d for d in errors if _counted(d.path))
    bad = {d.path for d in left_out}
    repo = result.repo
    if bad:
        # A file that did not validate is not in the model; one whose references are wrong (an unknown
        # component) is, and goes now.
        repo = replace(
            repo,
            incidents=tuple(i for i in repo.incidents if i.path not in bad),
            alerts=tuple(a for a in repo.alerts if a.path not in bad),
            _index={},
        )
    return Scope(repo, left_out, tuple(d for d in errors if not _counted(d.path)))

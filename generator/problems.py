"""What can go wrong in a build that a person fixes: errors in the repo, mistakes in templates."""

from __future__ import annotations

import traceback
from pathlib import Path

from tidings.content.diagnostics import Diagnostic
from tidings.errors import TidingsError
from tidings.site_templates import TEMPLATE_DIR


class BuildFailed(TidingsError):
    """The status repo has errors; nothing was written."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(
            f"{len(diagnostics)} error(s) in the status repo",
            hint="nothing was written; run 'tidings validate' for details",
        )
        self.diagnostics = diagnostics


def template_diagnostic(exc: Exception) -> Diagnostic:
    """A template's mistake as a diagnostic naming the template file and line, not a traceback."""
    from jinja2 import TemplateNotFound

    if isinstance(exc, RecursionError):  # {% extends "base.html" %} in an override of base.html, say
        message = (
            "template error: a template extends or includes itself; to build on a shipped template "
            'write {% extends "default:NAME.html" %}'
        )
        return Diagnostic("site_templates", 1, 1, "", message, code="template")
    name, line = getattr(exc, "filename", None) or getattr(exc, "name", None), getattr(exc, "lineno", None)
    if name is None:  # a runtime error: the innermost template frame says where
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename.endswith((".html", ".xml", ".txt")):
                name, line = frame.filename, frame.lineno
    where = str(name or "site_templates")
    if Path(where).is_absolute():
        path = Path(where)
        where = (
            f"(shipped) {path.relative_to(TEMPLATE_DIR)}"
            if path.is_relative_to(TEMPLATE_DIR)
            else "site_templates/" + where.rsplit("/site_templates/", 1)[-1]
        )
    text = f"no template named {exc.name!r}" if isinstance(exc, TemplateNotFound) else str(exc)
    return Diagnostic(where, line or 1, 1, "", f"template error: {text}", code="template")

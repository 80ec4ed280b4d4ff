"""Diagnostics: every problem found in a status repo, with where it is and what to do about it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in one file: file:line:column, the field path, and a message a person can act on."""

    path: str  # relative to the repo root, with forward slashes
    line: int  # 1-based; 1 when the whole file is meant
    column: int  # 1-based
    field: str  # e.g. "updates[2].status"; "" for the file as a whole
    message: str
    severity: Severity = "error"
    code: str = "invalid"
    hint: str = ""  # e.g. "did you mean 'severity'?"

    def as_text(self) -> str:
        """`path:line:col: severity: field: message (hint) [code]`, like a compiler."""
        where = f"{self.field}: " if self.field else ""
        hint = f" ({self.hint})" if self.hint else ""
        at = f"{self.path}:{self.line}:{self.column}"
        return f"{at}: {self.severity}: {where}{self.message}{hint} [{self.code}]"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """A hint naming the closest choice to a misspelt word, or "" when nothing is close."""
    if not isinstance(word, str):
        return ""
    options = list(choices)
    # Case slips ("API" for "api") are common and difflib scores them low, so check them first.
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f"did you mean '{lowered[word.lower()]}'?"
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[c] for c in close]
    if not close:
        # A shortened word ("degraded" for "degraded_performance"): one choice that starts with it.
        starting = [c for c in options if len(word) >= 3 and c.lower().startswith(word.lower())]
        close = starting if len(starting) == 1 else []
    return f"did you mean '{close[0]}'?" if close else ""


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.path, d.line, d.column, d.field)

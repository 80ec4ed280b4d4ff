"""Diagnostics as text for people, JSON for tools, and GitLab Code Quality JSON for merge requests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from tidings.content.diagnostics import Diagnostic

FORMATS = ("text", "json", "codequality")


def as_text(diagnostics: Sequence[Diagnostic]) -> str:
    lines = [d.as_text() for d in diagnostics]
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    lines.append(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    return "\n".join(lines) + "\n"


def as_json(diagnostics: Sequence[Diagnostic]) -> str:
    errors = sum(d.severity == "error" for d in diagnostics)
    doc = {
        "errors": errors,
        "warnings": len(diagnostics) - errors,
        "diagnostics": [d.as_dict() for d in diagnostics],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def as_codequality(diagnostics: Sequence[Diagnostic]) -> str:
    """GitLab's Code Quality report: a list of issues with a stable fingerprint, path and begin line."""
    issues = []
    for d in diagnostics:
        description = f"{d.field}: {d.message}" if d.field else d.message
        if d.hint:
            description += f" ({d.hint})"
        # Stable across runs and unaffected by line moves elsewhere, so GitLab can diff MR vs target.
        fingerprint = hashlib.md5(f"{d.path}|{d.field}|{d.code}|{d.message}".encode(), usedforsecurity=False)
        issues.append(
            {
                "description": description,
                "check_name": d.code,
                "fingerprint": fingerprint.hexdigest(),
                "severity": "major" if d.severity == "error" else "minor",
                "location": {"path": d.path, "lines": {"begin": d.line}},
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


def render(diagnostics: Sequence[Diagnostic], fmt: str) -> str:
    return {"text": as_text, "json": as_json, "codequality": as_codequality}[fmt](diagnostics)

"""Shared fixtures: real little status repos written into tmp_path."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"


def pytest_configure(config: pytest.Config) -> None:
    """Git as on a fresh CI machine, whatever this one's ~/.gitconfig says: one known person, nothing else.

    Tests commit as people (and check who), so they need an identity; taking it from the machine would
    let a run pass here and fail on a clean runner, or pick up someone's signing or hook settings.
    """
    folder = Path(tempfile.mkdtemp(prefix="tidings-tests-git-"))
    atexit.register(shutil.rmtree, folder, True)
    (folder / "gitconfig").write_text(
        "[user]\n\tname = Test Person\n\temail = test.person@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
    )
    os.environ["GIT_CONFIG_GLOBAL"] = str(folder / "gitconfig")
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"


MINIMAL_SITE = """\
title: Example Status
timezone: Europe/Berlin
base_url: https://status.example.com/
groups:
  - id: core
    name: Core
services:
  - name: API
    url: https://api.example.com
    group: core
  - name: Web App
    id: web
    group: core
incidents:
  publish: true
  limit: 50
"""

MINIMAL_INCIDENT = """\
---
title: API errors
severity: high
status: resolved
published: true
started_at: 2026-03-14T09:00:00Z
resolved_at: 2026-03-14T10:00:00Z
components:
  api: major_outage
updates:
  - at: 2026-03-14T09:05:00Z
    status: investigating
    body: We are looking into errors on the API.
  - at: 2026-03-14T10:00:00Z
    status: resolved
    body: Fixed.
---
The API returned errors for an hour.
"""

RepoFactory = Callable[..., Path]


def write_repo(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path -> text, dedented) under `root`."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture
def make_repo(tmp_path: Path) -> RepoFactory:
    """make_repo({path: text}): a status repo in tmp_path; minimal=True adds a valid site and incident."""

    def factory(files: dict[str, str] | None = None, minimal: bool = True, name: str = "repo") -> Path:
        base: dict[str, str] = {}
        if minimal:
            base = {
                ".gitlab/status-page.yml": MINIMAL_SITE,
                "content/incidents/2026-03-14-api-errors.md": MINIMAL_INCIDENT,
            }
        base.update(files or {})
        return write_repo(tmp_path / name, base)

    return factory


@pytest.fixture
def project_root() -> Path:
    return PROJECT_ROOT

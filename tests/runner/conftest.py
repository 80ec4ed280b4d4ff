"""Fixtures for runner tests: a clone of a bare remote holding the demo repo."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, SHARED

RAW = SHARED / "data" / "alertmanager" / "payloads" / "raw"


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of a bare remote holding the demo repo, as the runner would have it."""
    remote = tmp_path / "remote.git"
    _run("git", "init", "--quiet", "--bare", "--initial-branch=main", str(remote), cwd=tmp_path)
    work = tmp_path / "work"
    _run("git", "clone", "--quiet", str(remote), str(work), cwd=tmp_path)
    shutil.copytree(PROJECT_ROOT / ".gitlab", work / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", work / "content")
    _run("git", "add", "-A", cwd=work)
    _run("git", "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "commit", "-qm", "Start", cwd=work)
    _run("git", "push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=work)
    return work

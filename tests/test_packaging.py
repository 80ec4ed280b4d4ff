"""The distribution: a non-editable wheel installs everything under `tidings.`, and works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT

SKIP = shutil.ignore_patterns(
    ".venv",
    ".git",
    "public",
    "internal",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".tidings-cache",
    ".*_cache",
    ".hypothesis",
)


def test_wheel_installs_only_under_the_tidings_name(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(PROJECT_ROOT, source, ignore=SKIP)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            wheels,
            source,
        ],
        check=True,
    )
    (wheel,) = wheels.glob("tidings-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, wheel],
        check=True,
    )

    top_level = sorted(p.name for p in target.iterdir() if p.name != "bin")
    assert top_level == ["tidings", "tidings-0.1.0.dist-info"]
    assert (target / "tidings" / "site_templates" / "base.html").is_file()
    assert (target / "bin" / "tidings").is_file()

    # Outside the repo, with only the installed copy on the path, every part imports from it.
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = (
        "import tidings, tidings.generator.build, tidings.runner, tidings.site_templates, tidings.cli.main;"
        "print(tidings.__file__); print(tidings.generator.build.__file__)"
    )
    run = subprocess.run(
        [sys.executable, "-P", "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    for line in run.stdout.splitlines():
        assert line.startswith(str(target)), run.stdout
    for generic in ("generator", "runner", "site_templates"):
        missing = subprocess.run(
            [sys.executable, "-P", "-c", f"import {generic}"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            check=False,
        )
        assert missing.returncode != 0, f"'{generic}' is importable at the top level"

    # The installed command validates and builds the demo.
    demo = tmp_path / "demo"
    shutil.copytree(source / "content", demo / "content")
    shutil.copytree(source / ".gitlab", demo / ".gitlab")
    cli = [sys.executable, "-P", "-c", "from tidings.cli.main import main; main()"]
    run = subprocess.run(
        [*cli, "validate", demo], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    run = subprocess.run(
        [*cli, "build", demo, "--out", tmp_path / "out"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "out" / "index.html").is_file()

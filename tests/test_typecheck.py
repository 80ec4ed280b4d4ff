"""mypy sees every call between the packages: a wrong call from the CLI into the generator or the
runner is an error, not an `Any` (the development install once hid both packages from it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT

PROBE = """\
from pathlib import Path

from tidings.generator.build import build
from tidings.runner.remote import Clone

build(Path("."), out=42)
Clone.open(Path("."), do_push="yes")
"""


def test_mypy_reports_wrong_calls_into_the_generator_and_the_runner(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(PROJECT_ROOT / "pyproject.toml"), str(probe)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "MYPYPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "import-not-found" not in out and "import-untyped" not in out, out
    assert 'probe.py:6: error: Argument "out" to "build" has incompatible type "int"' in out, out
    assert 'probe.py:7: error: Argument "do_push" to "open" of "Clone" has incompatible type "str"' in out, (
        out
    )

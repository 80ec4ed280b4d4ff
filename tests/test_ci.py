"""The GitLab pipelines, run for real by gitlab-ci-local in shell mode on a copy of this repo.

Jobs run on this machine with the `tidings` of this venv: TIDINGS_PIP_SPEC is set empty, so the
jobs' before_script uses the one on PATH instead of installing from the network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from .conftest import PROJECT_ROOT

GITLAB_CI_LOCAL = PROJECT_ROOT / ".tools" / "node_modules" / ".bin" / "gitlab-ci-local"
VENV_BIN = PROJECT_ROOT / ".venv" / "bin"
# The same pin as script/test-tools.
GITLAB_CI_LOCAL_SPEC = "gitlab-ci-local@4.65.0"
REMOTE = "https://gitlab.example.com/acme/status.git"
BROKEN_FILE = "content/incidents/2026-11-24-postgres-replica-lag.md"


def _ensure_gitlab_ci_local() -> str | None:
    """None when gitlab-ci-local runs here, else why not."""
    if shutil.which("rsync") is None:
        return "gitlab-ci-local needs rsync (script/test-tools installs it)"
    if not GITLAB_CI_LOCAL.exists():
        if shutil.which("npm") is None:
            return "gitlab-ci-local is not installed and there is no npm to install it"
        subprocess.run(
            ["npm", "install", "--prefix", str(PROJECT_ROOT / ".tools"), "--no-audit", "--no-fund",
             "--silent", "--save-exact", GITLAB_CI_LOCAL_SPEC],
            capture_output=True, check=False, timeout=300,
        )  # fmt: skip
        if not GITLAB_CI_LOCAL.exists():
            return f"gitlab-ci-local could not be installed ({GITLAB_CI_LOCAL_SPEC} from npm)"
    return None


@pytest.fixture(scope="module")
def gcl_ready() -> None:
    why = _ensure_gitlab_ci_local()
    if why:
        pytest.skip(why)


def _git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}  # fmt: skip
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, env=env
    ).stdout


def copy_committed_files(dest: Path) -> Path:
    """The project's tracked files (as they are in the work tree) in a fresh git repo at dest."""
    tracked = _git(PROJECT_ROOT, "ls-files", "-z").split("\0")
    for rel in filter(None, tracked):
        src = PROJECT_ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "Status repo")
    _git(dest, "remote", "add", "origin", REMOTE)
    return dest


@pytest.fixture(scope="module")
def project_copy(gcl_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_committed_files(tmp_path_factory.mktemp("ci") / "project")


@pytest.fixture
def repo(project_copy: Path, tmp_path: Path) -> Path:
    """A fresh copy of the project for one test (jobs write public/ and reports into it)."""
    dest = tmp_path / "repo"
    shutil.copytree(project_copy, dest, symlinks=True)
    return dest


@dataclass
class Run:
    returncode: int
    output: str
    seconds: float


PIPELINES = {
    "push": {},
    "merge_request_event": {"CI_MERGE_REQUEST_IID": "7"},
    "schedule": {},
    "trigger": {},
}


def _args(root: Path, source: str, variables: dict[str, str]) -> list[str]:
    args = [str(GITLAB_CI_LOCAL), "--force-shell-executor", "--no-color",
            "--home", str(root.parent / "gcl-home"), "--ignore-predefined-vars",
            "CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH,CI_MERGE_REQUEST_IID,CI_PAGES_DOMAIN"]  # fmt: skip
    if source != "push":
        args += ["--variable", f"CI_PIPELINE_SOURCE={source}"]
    if source == "merge_request_event":  # merge request pipelines have no CI_COMMIT_BRANCH
        args += ["--unset-variable", "CI_COMMIT_BRANCH"]
    for key, value in {"TIDINGS_PIP_SPEC": "", **PIPELINES[source], **variables}.items():
        args += ["--variable", f"{key}={value}"]
    return args


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def run_job(root: Path, job: str, source: str = "push", **variables: str) -> Run:
    """Run one job as gitlab-ci-local does in a pipeline of that source; prints how long it took."""
    started = time.monotonic()
    proc = subprocess.run(
        [*_args(root, source, variables), job],
        cwd=root, capture_output=True, text=True, env=_env(), timeout=180, check=False,
    )  # fmt: skip
    run = Run(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started)
    print(f"gitlab-ci-local {job} ({source}): exit {run.returncode} in {run.seconds:.1f} s")
    return run


def jobs_in(root: Path, source: str, **variables: str) -> dict[str, str]:
    """Job name -> when ('never' when its rules exclude it) for a pipeline of that source."""
    proc = subprocess.run(
        [*_args(root, source, variables), "--list-json"],
        cwd=root, capture_output=True, text=True, env=_env(), timeout=120, check=True,
    )  # fmt: skip
    listing = json.loads(proc.stdout[proc.stdout.index("[") :])
    return {job["name"]: job["when"] for job in listing}


def test_validate_job_passes_on_the_demo(repo: Path) -> None:
    run = run_job(repo, "tidings:validate", "merge_request_event")
    assert run.returncode == 0, run.output
    assert "PASS  tidings:validate" in run.output
    # The demo's one warning, on purpose: its review's overdue action item.
    report = json.loads((repo / "gl-code-quality-report.json").read_text())
    assert [issue["check_name"] for issue in report] == ["overdue-action-item"]
    artifact = repo / ".gitlab-ci-local/artifacts/tidingsOgvalidate/gl-code-quality-report.json"
    assert artifact.is_file()


def test_validate_job_fails_on_a_broken_repo_and_reports_the_file(repo: Path) -> None:
    broken = repo / BROKEN_FILE
    broken.write_text(broken.read_text().replace("severity: unknown", "severity: hihg"))
    _git(repo, "commit", "-q", "-am", "Break it")
    run = run_job(repo, "tidings:validate", "merge_request_event")
    assert run.returncode != 0
    assert "FAIL  tidings:validate" in run.output
    assert f"{BROKEN_FILE}:4:11: error: severity: 'hihg'" in run.output
    report = json.loads((repo / "gl-code-quality-report.json").read_text())
    # The error, and the demo's one warning (its review's overdue action item, there on purpose).
    found = sorted((r["location"]["path"], r["location"]["lines"]["begin"], r["severity"]) for r in report)
    assert found == [(BROKEN_FILE, 4, "major"), ("content/reviews/2026-07-08-api-errors.md", 26, "minor")]
    error = next(r for r in report if r["location"]["path"] == BROKEN_FILE)
    assert "did you mean 'high'" in error["description"]


def test_pages_job_builds_the_site_into_public(repo: Path) -> None:
    run = run_job(repo, "pages")
    assert run.returncode == 0, run.output
    index = repo / "public/index.html"
    assert "Lumen Cloud Status" in index.read_text()
    assert (repo / ".gitlab-ci-local/artifacts/pages/public/index.html").is_file()
    assert (repo / "public/api/v2/summary.json").is_file()


def test_review_job_builds_a_preview_and_names_its_url(repo: Path) -> None:
    run = run_job(repo, "tidings:review", "merge_request_event", CI_PAGES_DOMAIN="pages.example.com")
    assert run.returncode == 0, run.output
    assert (repo / "public/index.html").is_file()
    env = (repo / "review.env").read_text()
    assert env.startswith("TIDINGS_REVIEW_URL=https://acme.pages.example.com/-/status/-/jobs/")
    assert env.rstrip().endswith("/artifacts/public/index.html")


def test_alert_job_commits_as_the_runner_signs_and_pushes(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(remote)], check=True)
    key = tmp_path / "signing-key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "runner", "-f", str(key)], check=True
    )
    payload = {"title": "Checkout is down", "start_time": "2026-11-30T10:00:00Z", "service": "api",
               "fingerprint": "checkout-1"}  # fmt: skip
    run = run_job(
        repo, "tidings:alert", "trigger",
        TIDINGS_ALERT_PAYLOAD=json.dumps(payload), TIDINGS_ALERT_SOURCE="generic",
        TIDINGS_PUSH_URL=str(remote), TIDINGS_SIGNING_KEY=str(key),
    )  # fmt: skip
    assert run.returncode == 0, run.output
    assert "opened 2026-11-30-checkout-is-down" in run.output
    pushed = _git(remote, "log", "-1", "--format=%an <%ae>%n%B", "main")
    assert pushed.startswith("Tidings runner <runner@tidings.invalid>")
    assert "Tidings-Source: generic/uptime-checks" in pushed
    signers = tmp_path / "allowed-signers"
    signers.write_text(f"runner@tidings.invalid {key.with_suffix('.pub').read_text()}")
    verified = _git(
        remote, "-c", f"gpg.ssh.allowedSignersFile={signers}", "log", "-1", "--format=%G?", "main"
    )
    assert verified.strip() == "G"  # a good signature by the runner's key


def test_alert_job_without_a_token_fails_before_changing_anything(repo: Path) -> None:
    run = run_job(repo, "tidings:alert", "trigger", TIDINGS_ALERT_PAYLOAD="{}")
    assert run.returncode != 0
    assert "set TIDINGS_PUSH_TOKEN" in run.output
    assert _git(repo, "rev-list", "--count", "HEAD").strip() == "1"


def test_deployed_job_tells_the_runner_which_commit_is_live(repo: Path) -> None:
    from tests.runner.receivers import HttpReceiver

    runner = HttpReceiver().start()
    try:
        run = run_job(
            repo, "tidings:deployed", TIDINGS_RUNNER_URL=f"{runner.url}/", TIDINGS_DEPLOY_TOKEN="s3cret"
        )
        assert run.returncode == 0, run.output
        (told,) = runner.at("/deployed")
    finally:
        runner.stop()
    assert told.headers["Authorization"] == "Bearer s3cret"
    assert told.json() == {"commit": _git(repo, "rev-parse", "HEAD").strip()}


RuleCase = tuple[str, dict[str, str], set[str]]
RULE_CASES: list[RuleCase] = [
    ("push", {}, {"test", "tidings:validate", "pages"}),
    (
        "push",
        {"TIDINGS_RUNNER_URL": "https://runner.example.com", "TIDINGS_DEPLOY_TOKEN": "t"},
        {"test", "tidings:validate", "pages", "tidings:deployed"},
    ),
    ("merge_request_event", {}, {"test", "tidings:validate", "tidings:review"}),
    ("merge_request_event", {"TIDINGS_REVIEW": "pages"}, {"test", "tidings:validate", "pages:review"}),
    ("schedule", {"TIDINGS_TICK": "1"}, {"tidings:tick"}),
    ("schedule", {}, {"test", "tidings:validate", "pages"}),  # a plain schedule rebuilds the page
    ("trigger", {"TIDINGS_ALERT_PAYLOAD": "{}"}, {"tidings:alert"}),
]


@pytest.mark.parametrize(("source", "variables", "expected"), RULE_CASES)
def test_each_pipeline_runs_only_its_jobs(
    project_copy: Path, source: str, variables: dict[str, str], expected: set[str]
) -> None:
    when = jobs_in(project_copy, source, **variables)
    assert {name for name, w in when.items() if w != "never"} == expected


def test_tick_job_definition(project_copy: Path) -> None:
    """The tick job as GitLab would see it (includes, extends and !reference expanded); not run here."""
    proc = subprocess.run(
        [*_args(project_copy, "push", {}), "--preview"],
        cwd=project_copy, capture_output=True, text=True, env=_env(), timeout=120, check=True,
    )  # fmt: skip
    expanded = yaml.safe_load(proc.stdout[proc.stdout.index("---") :])
    tick = expanded["tidings:tick"]
    assert tick["script"] == ['tidings runner tick "$TIDINGS_ROOT"']
    assert tick["resource_group"] == "tidings-runner"
    assert [r["if"] for r in tick["rules"]] == [
        '$CI_PIPELINE_SOURCE == "schedule" && $TIDINGS_TICK && $CI_COMMIT_REF_NAME == $CI_DEFAULT_BRANCH'
    ]
    setup = "\n".join(tick["before_script"])
    assert "${TIDINGS_PUSH_TOKEN}@" in setup and "git checkout -B" in setup
    # Nothing secret in the file: the token is only ever a variable.
    assert "TIDINGS_PUSH_TOKEN" not in expanded.get("variables", {})


def test_a_repo_from_tidings_init_passes_the_template_jobs(gcl_ready: None, tmp_path: Path) -> None:
    """The include that `tidings init` writes, pointed at this checkout's template (no network here)."""
    root = tmp_path / "status"
    init = subprocess.run(
        [str(VENV_BIN / "tidings"), "init", str(root), "--yes", "--title", "Acme Status"],
        capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    ci = (root / ".gitlab-ci.yml").read_text()
    assert "  - remote: https://gitlab.com/tidings/tidings/-/raw/main/.gitlab/ci/tidings.gitlab-ci.yml" in ci
    (root / ".gitlab/ci").mkdir()
    shutil.copy2(PROJECT_ROOT / ".gitlab/ci/tidings.gitlab-ci.yml", root / ".gitlab/ci/")
    (root / ".gitlab-ci.yml").write_text("include:\n  - local: .gitlab/ci/tidings.gitlab-ci.yml\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "New status repo")
    _git(root, "remote", "add", "origin", REMOTE)
    assert {n for n, w in jobs_in(root, "merge_request_event").items() if w != "never"} == {
        "tidings:validate",
        "tidings:review",
    }
    assert run_job(root, "tidings:validate", "merge_request_event").returncode == 0
    pages = run_job(root, "pages")
    assert pages.returncode == 0, pages.output
    assert "Acme Status" in (root / "public/index.html").read_text()

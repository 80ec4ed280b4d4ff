"""Fixtures for runner tests: a clone of a bare remote holding the demo repo."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, SHARED
from tidings.store.git import git

RAW = SHARED / "data" / "alertmanager" / "payloads" / "raw"


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of a bare remote holding the demo repo, as the runner would have it.

    Without the demo's alert records: the tests count the records the runner writes.
    """
    remote = tmp_path / "remote.git"
    _run("git", "init", "--quiet", "--bare", "--initial-branch=main", str(remote), cwd=tmp_path)
    work = tmp_path / "work"
    _run("git", "clone", "--quiet", str(remote), str(work), cwd=tmp_path)
    shutil.copytree(PROJECT_ROOT / ".gitlab", work / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", work / "content", ignore=shutil.ignore_patterns("alerts"))
    _run("git", "add", "-A", cwd=work)
    _run("git", "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "commit", "-qm", "Start", cwd=work)
    _run("git", "push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=work)
    return work


TOKEN = "s3cret-token"  # what the captured Alertmanager sent
ENV = {"TIDINGS_TOKEN_PROMETHEUS": TOKEN}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runner:
    # The alert tests run without the escalation tick, so their commits are only the alerts'.
    def __init__(
        self,
        root: Path,
        args: tuple[str, ...] = ("--tick-seconds", "0"),
        env: dict | None = None,
        wrap: tuple[str, ...] = (),
        log: Path | None = None,
    ):
        """`wrap`: a command the runner is started under (it must exec the rest), e.g. `unshare`.
        `log`: keep the runner's log there, at debug level (`tidings -v`)."""
        self.root = root
        self.wrap = wrap
        self.log = log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.args = args
        self.env = env or {}

    def start(self) -> None:
        tidings = str(Path(sys.executable).parent / "tidings")
        self.process = subprocess.Popen(
            [*self.wrap, tidings, *(["-v"] if self.log else []), "runner", "serve", str(self.root),
             "--port", str(self.port), *self.args],
            env={**os.environ, **ENV, **self.env},
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab") if self.log else subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(
            "runner did not start: " + (self.process.stderr.read().decode() if self.process.stderr else "")
        )

    def post(self, body: bytes, token: str = TOKEN, path: str = "/alerts/alertmanager/prometheus") -> int:
        request = urllib.request.Request(
            self.url + path,
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        return {
            line.split(" ")[0]: float(line.split(" ")[1])
            for line in text.splitlines()
            if not line.startswith("#")
        }

    def wait_idle(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.metrics()["tidings_runner_journal_depth"] == 0:
                return
            time.sleep(0.05)
        raise AssertionError("the runner never caught up")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=10)


@pytest.fixture
def runner(clone):
    r = Runner(clone)
    r.start()
    yield r
    if r.process and r.process.poll() is None:
        r.kill(signal.SIGTERM)


def remote_log(clone: Path) -> list[str]:
    return git(clone.parent / "remote.git", "log", "--format=%s", "main").splitlines()


def wait_for(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


# --- escalation and notifications ----------------------------------------------------------------

ACK_SECRET = "a-test-ack-secret-of-some-length"
HOOK_SECRET = "a-test-webhook-secret"


@pytest.fixture
def http_receiver():
    from tests.runner.receivers import HttpReceiver

    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def smtp_receiver():
    from tests.runner.receivers import SmtpReceiver

    receiver = SmtpReceiver().start()
    yield receiver
    receiver.stop()


def commit_all(work: Path, message: str) -> None:
    """Commit every change in `work` as a person would, and push it."""
    _run("git", "add", "-A", cwd=work)
    _run("git", "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "commit", "-qm", message, cwd=work)
    _run("git", "push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=work)


@pytest.fixture
def paging(clone, http_receiver, smtp_receiver, monkeypatch):
    """The clone with .gitlab/notifications.yml pointing at the local receivers, and their secrets set."""
    (clone / ".gitlab" / "notifications.yml").write_text(
        "runner_url: https://runner.test/\n"
        "ack_expires_minutes: 60\n"
        "retry: {attempts: 3, backoff_seconds: 0.01, timeout_seconds: 5}\n"
        "allow_networks: [127.0.0.0/8]\n"  # the receivers are on loopback: allowed on purpose
        "channels:\n"
        "  - {id: slack, kind: slack, url_env: TEST_SLACK_URL}\n"
        f"  - {{id: hook, kind: webhook, url: '{http_receiver.url}/hook', secret_env: TEST_HOOK_SECRET}}\n"
        f"  - {{id: mail, kind: email, host: 127.0.0.1, port: {smtp_receiver.port}, security: none,"
        " from: 'Tidings <oncall@example.com>'}\n"
    )
    commit_all(clone, "Page through the test receivers")
    env = {"TEST_SLACK_URL": f"{http_receiver.url}/slack", "TEST_HOOK_SECRET": HOOK_SECRET,
           "TIDINGS_ACK_SECRET": ACK_SECRET}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env

"""`tidings runner serve`: a real server on 127.0.0.1, real bodies, a bare remote, and kill -9."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.runner.conftest import RAW
from tidings.gitstore import git
from tidings.load import load
from tidings.runner.app import create_app

TOKEN = "s3cret-token"  # what the captured Alertmanager sent
ENV = {"TIDINGS_TOKEN_PROMETHEUS": TOKEN}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runner:
    def __init__(self, root: Path):
        self.root = root
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        tidings = str(Path(sys.executable).parent / "tidings")
        self.process = subprocess.Popen(
            [tidings, "runner", "serve", str(self.root), "--port", str(self.port)],
            env={**os.environ, **ENV},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
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


def _remote_log(clone: Path) -> list[str]:
    return git(clone.parent / "remote.git", "log", "--format=%s", "main").splitlines()


def test_fire_and_resolve_over_http_are_committed_and_pushed(runner, clone):
    for name in ("single_1", "single_1", "single_2"):
        assert runner.post((RAW / f"{name}.body").read_bytes()) == 200
    runner.wait_idle()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any("resolved" in s for s in _remote_log(clone)):
        time.sleep(0.1)
    remote = _remote_log(clone)
    assert any("resolved" in s for s in remote), remote
    metrics = runner.metrics()
    assert metrics["tidings_runner_received_total"] == 3
    assert metrics["tidings_runner_duplicates_total"] >= 1
    (incident,) = [i for i in load(clone).repo.incidents if i.id.startswith("2026-11-22-apidown")]
    assert incident.status == "resolved"


def test_a_storm_then_kill_9_then_restart_loses_and_doubles_nothing(runner, clone):
    bodies = []
    for n in range(40):
        payload = json.loads((RAW / "single_1.body").read_bytes())
        payload["groupKey"] = f'{{}}:{{alertname="Storm", n="{n}"}}'
        payload["groupLabels"] = {"alertname": "Storm", "n": str(n)}
        payload["commonAnnotations"] = {"summary": f"Storm alert {n}"}
        payload["alerts"][0]["fingerprint"] = f"storm{n:04d}"
        bodies.append(json.dumps(payload).encode())
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(runner.post, bodies[:30]))
    assert statuses == [200] * 30
    runner.kill()  # mid-apply: the worker may be anywhere
    runner.start()
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(runner.post, bodies[25:]))  # five re-sent, ten new
    assert statuses == [200] * 15
    runner.wait_idle()
    storms = [i for i in load(clone).repo.incidents if i.title.startswith("Storm alert")]
    assert sorted(i.title for i in storms) == sorted(f"Storm alert {n}" for n in range(40))
    assert all(len(i.updates) == 1 for i in storms)  # nothing applied twice
    git(clone, "fsck", "--strict")
    assert git(clone, "status", "--porcelain") == ""


@pytest.fixture
def client(clone, monkeypatch):
    monkeypatch.setenv("TIDINGS_TOKEN_PROMETHEUS", TOKEN)
    with TestClient(create_app(clone, do_push=False)) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "headers", "body", "status"),
    [
        ("/alerts/alertmanager/nope", {"Authorization": f"Bearer {TOKEN}"}, b"{}", 404),
        ("/alerts/generic/prometheus", {"Authorization": f"Bearer {TOKEN}"}, b"{}", 404),
        ("/alerts/alertmanager/prometheus", {}, b"{}", 401),
        ("/alerts/alertmanager/prometheus", {"Authorization": "Bearer wrong"}, b"{}", 401),
        (
            "/alerts/alertmanager/prometheus",
            {"Authorization": f"Bearer {TOKEN}"},
            b"x" * (1024 * 1024 + 1),
            413,
        ),
        ("/alerts/alertmanager/prometheus", {"Authorization": f"Bearer {TOKEN}"}, b"{oops", 400),
        ("/alerts/alertmanager/prometheus", {"Authorization": f"Bearer {TOKEN}"}, b'{"version": "4"}', 422),
    ],
)
def test_bad_requests_are_refused_and_journal_nothing(client, clone, path, headers, body, status):
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == status, response.text
    journal = clone / ".git" / "tidings-runner" / "journal.jsonl"
    assert not journal.exists() or journal.read_bytes() == b""
    if status == 422:
        assert response.json()["field"] == "groupKey"


def test_the_token_is_never_logged(client, caplog):
    client.post(
        "/alerts/alertmanager/prometheus", content=b"{}", headers={"Authorization": "Bearer leaked-token"}
    )
    assert "leaked-token" not in caplog.text and TOKEN not in caplog.text

"""A real Alertmanager (Debian's prometheus-alertmanager) sends to a real runner with a bare remote.

Alerts are injected through Alertmanager's own API, as Prometheus would; what reaches the runner
is whatever Alertmanager decides to send: grouping, group_wait, resolved notifications, retries.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.runner.conftest import TOKEN, Runner, _free_port, remote_log, wait_for
from tidings.content.load import load
from tidings.store.git import git

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = pytest.mark.skipif(BINARY is None, reason="script/test installs prometheus-alertmanager")

CONFIG = """
route:
  receiver: tidings
  group_by: ['alertname', 'service']
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: tidings
    webhook_configs:
      - url: {url}/alerts/alertmanager/prometheus
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


class Alertmanager:
    def __init__(self, tmp: Path, runner_url: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp / "alertmanager.yml"
        config.write_text(CONFIG.format(url=runner_url, token=TOKEN))
        assert BINARY is not None
        self.process = subprocess.Popen(
            [
                BINARY,
                f"--config.file={config}",
                f"--storage.path={tmp / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # one instance, no gossip
            ],
            stdout=subprocess.DEVNULL,
            stderr=(tmp / "alertmanager.log").open("wb"),
        )
        wait_for(self._ready, what="Alertmanager to start")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def send(self, alerts: list[dict]) -> None:
        """What Prometheus does: post the alerts' current state to Alertmanager's API."""
        request = urllib.request.Request(
            self.url + "/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as r:
            assert r.status == 200

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def alert(name: str, service: str, resolved: bool = False, **labels: str) -> dict:
    now = datetime.now(UTC)
    body = {
        "labels": {"alertname": name, "service": service, "severity": "critical", **labels},
        "annotations": {"summary": f"{name} on {service}", "description": f"{service} is failing"},
        "startsAt": (now - timedelta(minutes=5)).isoformat(),
    }
    if resolved:
        body["endsAt"] = now.isoformat()  # an end in the past is how Prometheus resolves an alert
    return body


@pytest.fixture
def alertmanager(runner, tmp_path):
    am = Alertmanager(tmp_path, runner.url)
    yield am
    am.stop()


def _incidents(clone: Path, prefix: str):
    return [i for i in load(clone).repo.incidents if i.title.startswith(prefix)]


def test_fire_then_resolve_through_a_real_alertmanager(alertmanager, runner, clone):
    firing = alert("DiskFull", "postgres", instance="db-1")
    alertmanager.send([firing])
    wait_for(lambda: any("opened" in s for s in remote_log(clone)), what="the incident to open")
    (opened,) = _incidents(clone, "DiskFull on postgres")
    assert opened.status == "investigating" and opened.components == {"postgres": "partial_outage"}
    assert opened.severity == "critical" and not opened.published
    alertmanager.send([{**firing, "endsAt": datetime.now(UTC).isoformat()}])
    wait_for(lambda: "resolved" in remote_log(clone)[0], what="the incident to resolve")
    (resolved,) = _incidents(clone, "DiskFull on postgres")
    assert resolved.id == opened.id and resolved.status == "resolved"
    assert [u.status for u in resolved.updates] == ["investigating", "resolved"]
    # Its alert, as a record: fired, linked to the incident, resolved; Alertmanager's re-sends of
    # the group (group_interval) changed nothing.
    (record,) = [a for a in load(clone).repo.alerts if a.title.startswith("DiskFull on postgres")]
    assert record.status == "resolved" and record.incident == opened.id and record.fired == 1
    assert [e.event for e in record.events] == ["fired", "linked", "resolved"]
    # It fires again within reopen_minutes: the same record and the same incident come back.
    alertmanager.send([{**firing, "startsAt": datetime.now(UTC).isoformat()}])
    wait_for(lambda: "reopened" in remote_log(clone)[0], what="the incident to reopen")
    (again,) = [a for a in load(clone).repo.alerts if a.title.startswith("DiskFull on postgres")]
    assert again.status == "triggered" and again.fired == 2 and again.events[-1].event == "reopened"
    git(clone, "fsck", "--strict")


def test_a_storm_of_40_groups_becomes_40_incidents_in_few_commits(alertmanager, runner, clone):
    before = len(remote_log(clone))
    alertmanager.send([alert(f"Storm{n:02d}", "api", instance=f"api-{n}") for n in range(40)])
    wait_for(lambda: len(_incidents(clone, "Storm")) == 40, what="40 incidents")
    runner.wait_idle()
    wait_for(lambda: not json.loads(urllib.request.urlopen(runner.url + "/healthz").read())["unpushed"])
    storms = _incidents(clone, "Storm")
    assert all(len(i.updates) == 1 for i in storms)
    runner_commits = len(remote_log(clone)) - before
    assert 1 <= runner_commits < 40, runner_commits  # batched, not one commit an alert
    assert runner.metrics()["tidings_runner_received_total"] == 40


def test_kill_9_while_alertmanager_delivers_then_restart(alertmanager, runner: Runner, clone):
    alertmanager.send([alert(f"Crash{n:02d}", "web", instance=f"web-{n}") for n in range(20)])
    wait_for(lambda: runner.metrics()["tidings_runner_received_total"] >= 3, what="deliveries to begin")
    runner.kill()  # mid-delivery: Alertmanager sees refused connections and retries
    time.sleep(0.5)
    runner.start()
    wait_for(lambda: len(_incidents(clone, "Crash")) == 20, timeout=60, what="all 20 incidents")
    runner.wait_idle()
    crashes = _incidents(clone, "Crash")
    assert all(len(i.updates) == 1 for i in crashes)  # nothing applied twice
    assert len({i.id for i in crashes}) == 20
    git(clone, "fsck", "--strict")
    assert git(clone, "status", "--porcelain") == ""

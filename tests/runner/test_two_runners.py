"""The supported two-runner deployment, end to end with real parts: two clustered Alertmanagers
(Debian's prometheus-alertmanager, gossiping on loopback) whose receiver posts to two `tidings
runner serve` processes, each with its own clone of one bare remote, both ticking.

One runner is killed with -9 mid-storm and the other carries on; then the killed one comes back.
Each alert group must be one incident with one update, each page must go out once, an ack link
followed on one runner and a Slack command taken by the other must each be applied once, and every
group's recovery must resolve its incident once.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from tests.runner.conftest import TOKEN, Runner, _free_port, wait_for
from tests.runner.test_alertmanager import BINARY, alert
from tests.runner.test_shared_remote import second_clone
from tests.runner.test_slack import SECRET, signed
from tidings.content.load import load
from tidings.runner import slack
from tidings.store.git import git

pytestmark = pytest.mark.skipif(BINARY is None, reason="script/test installs prometheus-alertmanager")

GROUPS = 16
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
{hooks}
"""
HOOK = """      - url: {url}/alerts/alertmanager/prometheus
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


class ClusteredAlertmanager:
    """One replica of an Alertmanager pair: gossip with its peer decides which of them notifies."""

    def __init__(self, folder: Path, runner_urls: list[str], cluster_port: int, peer_port: int):
        folder.mkdir()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        hooks = "".join(HOOK.format(url=url, token=TOKEN) for url in runner_urls)
        (folder / "alertmanager.yml").write_text(CONFIG.format(hooks=hooks))
        assert BINARY is not None
        self.process = subprocess.Popen(
            [
                BINARY,
                f"--config.file={folder / 'alertmanager.yml'}",
                f"--storage.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--cluster.listen-address=127.0.0.1:{cluster_port}",
                f"--cluster.peer=127.0.0.1:{peer_port}",
                "--cluster.gossip-interval=100ms",
                "--cluster.peer-timeout=3s",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "alertmanager.log").open("wb"),
        )

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def peers(self) -> int:
        with urllib.request.urlopen(self.url + "/api/v2/status", timeout=5) as r:
            return len(json.loads(r.read())["cluster"].get("peers") or [])

    def send(self, alerts: list[dict]) -> None:
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


def remote_view(clone: Path):
    view = clone.parent / "view"
    if not view.exists():
        git(clone.parent, "clone", "--quiet", str(clone.parent / "remote.git"), str(view))
    git(view, "pull", "--quiet", "--ff-only")
    return load(view, alerts=False).repo


def pair_incidents(clone: Path) -> list:
    return [i for i in remote_view(clone).incidents if i.title.startswith("Pair")]


def test_two_runners_behind_an_alertmanager_pair_one_killed_mid_storm(clone, paging, http_receiver, tmp_path):
    env = {**paging, slack.SECRET_ENV: SECRET}
    a = Runner(clone, args=("--tick-seconds", "0.5"), env=env)
    b = Runner(second_clone(clone, "work-b"), args=("--tick-seconds", "0.5"), env=env)
    a.start()
    b.start()
    p1, p2 = _free_port(), _free_port()
    ams = [
        ClusteredAlertmanager(tmp_path / "am1", [a.url, b.url], p1, p2),
        ClusteredAlertmanager(tmp_path / "am2", [a.url, b.url], p2, p1),
    ]
    try:
        for am in ams:
            wait_for(am.ready, what="Alertmanager to start")
        wait_for(lambda: all(am.peers() == 2 for am in ams), what="the Alertmanagers to form a cluster")
        alerts = [alert(f"Pair{n:02d}", "api", instance="api-1:8080") for n in range(GROUPS)]
        for am in ams:  # Prometheus sends every alert to every replica
            am.send(alerts[: GROUPS // 2])
        # A dies once it has acknowledged part of the storm; the rest of it reaches B alone.
        wait_for(lambda: a.metrics()["tidings_runner_received_total"] >= 3, what="A to take part")
        a.kill()
        for am in ams:
            am.send(alerts[GROUPS // 2 :])

        def every_group_paged():
            found = pair_incidents(clone)
            done = len(found) == GROUPS and all(i.pages and i.pages[0].state == "sent" for i in found)
            return found if done else None

        found = wait_for(every_group_paged, timeout=120, what="B to open and page every group")
        assert sorted(i.title.split(" ")[0] for i in found) == [f"Pair{n:02d}" for n in range(GROUPS)]
        a.start()  # back: what A had acknowledged is already on the remote, through B
        for r in (a, b):
            r.wait_idle(timeout=60)
        found = pair_incidents(clone)
        assert len(found) == GROUPS and all(len(i.updates) == 1 for i in found)  # nothing twice

        # An ack link followed on A, a Slack comment taken by B: each applied once.
        acked, commented = found[0], found[1]
        (page,) = [
            r for r in http_receiver.at("/slack") if r.headers["Idempotency-Key"] == acked.pages[0].key
        ]
        link = page.json()["blocks"][-1]["elements"][0]["url"].replace("https://runner.test", a.url)
        with urllib.request.urlopen(urllib.request.Request(link, data=b"", method="POST"), timeout=30) as r:
            assert b"Acknowledged incident" in r.read()
        body, headers = signed(f"comment {commented.id} Failing over to the standby.")
        request = urllib.request.Request(b.url + "/slack/commands", data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.status == 200

        # Recovery: every group resolves, once.
        for am in ams:
            am.send(
                [alert(f"Pair{n:02d}", "api", resolved=True, instance="api-1:8080") for n in range(GROUPS)]
            )

        def all_resolved():
            found = pair_incidents(clone)
            return found if all(i.status == "resolved" for i in found) else None

        found = wait_for(all_resolved, timeout=120, what="every group resolved on the remote")
        for r in (a, b):
            r.wait_idle(timeout=60)
        found = {i.id: i for i in pair_incidents(clone)}
        assert len(found) == GROUPS
        for incident in found.values():
            statuses = [u.status for u in incident.updates]
            assert statuses.count("resolved") == 1, (incident.id, statuses)
        assert found[acked.id].acknowledged_at is not None
        assert sum(u.body.startswith("Acknowledged") for u in found[acked.id].updates) == 1
        comments = [u for u in found[commented.id].updates if "Failing over to the standby." in u.body]
        assert len(comments) == 1
        # Each page went out once (one Slack message per page key), though both runners tick.
        # (The demo's own open incidents are paged too.)
        keys = [p.key for i in remote_view(clone).incidents for p in i.pages]
        assert {p.key for i in found.values() for p in i.pages} <= set(keys)
        sent = Counter(r.headers["Idempotency-Key"] for r in http_receiver.at("/slack"))
        assert set(sent) == set(keys) and all(sent[k] == 1 for k in keys), sent
        for r in (a, b):
            git(r.root, "fsck", "--strict")
            assert git(r.root, "status", "--porcelain") == ""
    finally:
        for am in ams:
            am.stop()
        for r in (a, b):
            if r.process and r.process.poll() is None:
                r.kill()

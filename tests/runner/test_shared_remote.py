"""Several `tidings runner serve` processes on one bare remote, each with its own clone and journal.

Two deployments: behind a load balancer (each alert reaches one runner) and as an HA pair (each alert
reaches every runner). Crashes are timed right after an acknowledgement: kill -9 as soon as the 200
arrives, restart on the same clone and journal, and every acknowledged post must reach the remote
exactly once, whatever the other runner committed meanwhile.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.runner.conftest import RAW, Runner, commit_all, wait_for
from tidings.content.load import load
from tidings.store.git import git

ROUNDS = 4


def group(name: str) -> bytes:
    """One Alertmanager group with one firing alert; its title is `name`."""
    payload = json.loads((RAW / "single_1.body").read_bytes())
    payload["groupKey"] = f'{{}}:{{alertname="{name}"}}'
    payload["groupLabels"] = {"alertname": name}
    payload["commonLabels"] = {**payload.get("commonLabels", {}), "alertname": name}
    payload["commonAnnotations"] = {"summary": name}
    payload["alerts"][0]["fingerprint"] = f"fp-{name.lower()}"
    payload["alerts"][0]["labels"] = {**payload["alerts"][0]["labels"], "alertname": name}
    return json.dumps(payload).encode()


def second_clone(clone: Path, name: str) -> Path:
    remote = clone.parent / "remote.git"
    other = clone.parent / name
    subprocess.run(["git", "clone", "--quiet", str(remote), str(other)], check=True, capture_output=True)
    return other


def remote_incidents(clone: Path, prefix: str) -> dict[str, int]:
    """Title -> number of updates, for the incidents on the remote's main whose title starts with `prefix`."""
    remote = clone.parent / "remote.git"
    view = clone.parent / "remote-view"
    if view.exists():
        git(view, "fetch", "--quiet", "origin")
        git(view, "reset", "--quiet", "--hard", "origin/main")
    else:
        subprocess.run(["git", "clone", "--quiet", str(remote), str(view)], check=True, capture_output=True)
    found: dict[str, int] = {}
    for incident in load(view).repo.incidents:
        if incident.title.startswith(prefix):
            assert incident.title not in found, f"{incident.title} opened twice"
            found[incident.title] = len(incident.updates)
    return found


def holds(clone: Path, remote: Path) -> bool:
    """`clone`'s HEAD contains the remote's main as it is now (its tick or worker fetched it)."""
    tip = git(remote, "rev-parse", "main").strip()
    check = ["git", "-C", str(clone), "merge-base", "--is-ancestor", tip, "HEAD"]
    return subprocess.run(check, capture_output=True).returncode == 0


@pytest.fixture
def pair(clone):
    """Runners A and B, ticking every second, each with its own clone of the one bare remote.

    Pages go to the demo's channels, which fail here (no such hosts); one try each, so a tick is
    quick and syncs with the remote every second, as a tick whose pages go out does."""
    notifications = clone / ".gitlab" / "notifications.yml"
    text = notifications.read_text()
    notifications.write_text(
        re.sub(r"retry:\n(?:  .*\n)+", "retry: {attempts: 1, timeout_seconds: 2}\n", text)
    )
    commit_all(clone, "One try a page")
    a = Runner(clone, args=("--tick-seconds", "1"))
    # B keeps its state outside its clone, as an operator with a volume for it would.
    state = clone.parent / "state-b"
    b = Runner(second_clone(clone, "work-b"), args=("--tick-seconds", "1", "--state-dir", str(state)))
    a.start()
    b.start()
    yield a, b
    for r in (a, b):
        if r.process and r.process.poll() is None:
            r.kill(signal.SIGTERM)


def test_load_balancer_a_crash_right_after_an_ack_loses_nothing(pair, clone):
    a, b = pair
    remote = clone.parent / "remote.git"
    expected: set[str] = set()
    for round_ in range(ROUNDS):
        # B takes a handful of groups and pushes them; A's tick brings B's commit into A's clone.
        for n in range(5):
            name = f"Balanced B{round_}x{n}"
            assert b.post(group(name)) == 200
            expected.add(name)
        wait_for(lambda: expected <= set(remote_incidents(clone, "Balanced")), what="B's groups pushed")
        wait_for(lambda: holds(a.root, remote), what="A to fetch B's commits")
        # One group reaches A only; A acknowledges it and dies at once.
        name = f"Balanced A{round_}"
        assert a.post(group(name)) == 200
        expected.add(name)
        a.kill()
        a.start()
        wait_for(lambda n=name: n in remote_incidents(clone, "Balanced"), what=f"{name} (A's) pushed")
    wait_for(lambda: set(remote_incidents(clone, "Balanced")) == expected, timeout=60, what="every group")
    found = remote_incidents(clone, "Balanced")
    assert set(found) == expected
    assert all(n == 1 for n in found.values()), found  # nothing applied twice
    for r in (a, b):
        r.wait_idle()
        git(r.root, "fsck", "--strict")
    assert (clone.parent / "state-b" / "journal.jsonl").is_file()
    assert not (b.root / ".git" / "tidings-runner").exists()


def resolved(body: bytes) -> bytes:
    payload = json.loads(body)
    payload["status"] = "resolved"
    for alert in payload["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2026-11-22T16:49:41.692Z"
    return json.dumps(payload).encode()


def test_ha_pair_both_receive_everything_one_crashing_after_each_ack(pair, clone):
    """Every group goes to both runners (as an HA Alertmanager pair sends it); one of them dies
    right after acknowledging, by turns. Each group is one incident, fired once and resolved once."""
    a, b = pair
    names = []
    for round_ in range(ROUNDS):
        first, second = (a, b) if round_ % 2 == 0 else (b, a)
        name = f"Paired {round_}"
        names.append(name)
        assert first.post(group(name)) == 200
        first.kill()  # acknowledged, then gone before it could apply or push
        assert second.post(group(name)) == 200
        first.start()
        wait_for(lambda n=name: n in remote_incidents(clone, "Paired"), what=f"{name} on the remote")
    for round_, name in enumerate(names):
        first, second = (b, a) if round_ % 2 == 0 else (a, b)
        assert first.post(resolved(group(name))) == 200
        first.kill()
        assert second.post(resolved(group(name))) == 200
        first.start()
    view = clone.parent / "remote-view"

    def all_resolved() -> bool:
        remote_incidents(clone, "Paired")  # refreshes the view
        found = [i for i in load(view).repo.incidents if i.title.startswith("Paired")]
        return len(found) == ROUNDS and all(i.status == "resolved" for i in found)

    wait_for(all_resolved, timeout=60, what="every group resolved on the remote")
    for r in (a, b):
        r.wait_idle()
    remote_incidents(clone, "Paired")
    for incident in (i for i in load(view).repo.incidents if i.title.startswith("Paired")):
        texts = [u.body for u in incident.updates]
        assert len(texts) == 2, (incident.id, texts)  # fired once, resolved once: nothing twice
    for r in (a, b):
        git(r.root, "fsck", "--strict")
        assert git(r.root, "status", "--porcelain") == ""

"""A real runner whose state folder is on a full filesystem: 503 with Retry-After, never 500.

The runner runs in a mount namespace of its own (`unshare`) with a small tmpfs over its state folder,
named by $TIDINGS_RUNNER_STATE; the test fills and frees that tmpfs through /proc/PID/root, so the
disk is really full (ENOSPC from the kernel), not a patched function.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from tests.runner.conftest import RAW, TOKEN, Runner, remote_log, wait_for
from tidings.content.load import load
from tidings.runner.journal import read_entries
from tidings.store.git import git

MOUNT = 'mount -t tmpfs -o size=256k,mode=0700 tidings-state "$0" && exec "$@"'


def _unshare() -> tuple[str, ...] | None:
    """How to start a process with a private mount namespace here (as root, or in a user namespace)."""
    if shutil.which("unshare") is None:
        return None
    for prefix in (("unshare", "--mount"), ("unshare", "--user", "--map-root-user", "--mount")):
        probe = subprocess.run([*prefix, "sh", "-c", "mount -t tmpfs none /mnt"], capture_output=True)
        if probe.returncode == 0:
            return (*prefix, "--propagation", "private")
    return None


UNSHARE = _unshare()
pytestmark = pytest.mark.skipif(UNSHARE is None, reason="needs unshare with mount namespaces (util-linux)")


def post(url: str, body: bytes) -> tuple[int, Message, dict]:
    request = urllib.request.Request(
        url + "/alerts/alertmanager/prometheus",
        data=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.headers, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read())


def padded(path: Path) -> bytes:
    """The captured body with a 40 KB description: more than a page of the filesystem."""
    payload = json.loads(path.read_bytes())
    payload["commonAnnotations"]["description"] = "x" * 40_000
    return json.dumps(payload).encode()


def fill(folder: Path) -> Path:
    """Write a ballast file until the filesystem says it is full."""
    ballast = folder / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return ballast


def test_a_full_journal_disk_answers_503_then_recovers_by_itself(clone, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    assert UNSHARE is not None
    wrap = (*UNSHARE, "sh", "-c", MOUNT, str(state))
    runner = Runner(clone, env={"TIDINGS_RUNNER_STATE": str(state)}, wrap=wrap)
    runner.start()
    try:
        assert runner.process is not None
        # The state folder as the runner sees it: its tmpfs, not the empty folder underneath.
        seen = Path(f"/proc/{runner.process.pid}/root") / str(state).lstrip("/")
        assert (seen / "journal.jsonl").is_file() and not (state / "journal.jsonl").exists()

        ballast = fill(seen)
        before = (seen / "journal.jsonl").read_bytes()
        # Bodies larger than the slack at the end of the journal's last page, which a small one fits.
        for name in ("single_1", "single_1", "single_2"):
            status, headers, answer = post(runner.url, padded(RAW / f"{name}.body"))
            assert status == 503, answer
            assert int(headers["Retry-After"]) > 0
            assert "retry" in answer["error"]
        assert (seen / "journal.jsonl").read_bytes() == before  # nothing half-written, nothing taken
        with urllib.request.urlopen(runner.url + "/healthz", timeout=5) as r:
            assert json.loads(r.read())["journal_depth"] == 0

        os.unlink(ballast)  # space returns: the sender's retry is taken at once
        status, _, answer = post(runner.url, padded(RAW / "single_1.body"))
        assert status == 200, answer
        wait_for(lambda: any("opened" in s for s in remote_log(clone)), what="the retried alert pushed")
        runner.wait_idle()
        entries, _ = read_entries(seen / "journal.jsonl")
        assert [e.record.get("kind") for e in entries if not e.record.get("mark")] in ([], ["alertmanager"])
    finally:
        runner.kill()
    opened = [i for i in load(clone).repo.incidents if i.id.startswith("2026-11-22-apidown")]
    assert len(opened) == 1 and len(opened[0].updates) == 1
    assert git(clone, "status", "--porcelain") == ""


CLONE_ON_TMPFS = 'mount -t tmpfs -o size=8m tidings-clone "$0" && cp -a "$1/." "$0/" && shift && exec "$@"'


def test_a_full_disk_under_the_clone_holds_alerts_and_loses_none(clone, tmp_path):
    """The clone's own filesystem fills while alerts arrive: they are acknowledged (the journal is
    elsewhere), applying fails and is retried from the commits (no half-written edit stays, no
    entry is given up as failed), and once there is room each lands on the remote exactly once."""
    assert UNSHARE is not None
    mount = tmp_path / "mounted"
    mount.mkdir()
    state = tmp_path / "state"
    wrap = (*UNSHARE, "sh", "-c", CLONE_ON_TMPFS, str(mount), str(clone))
    runner = Runner(mount, env={"TIDINGS_RUNNER_STATE": str(state)}, wrap=wrap)
    runner.start()
    try:
        assert runner.process is not None
        inside = Path(f"/proc/{runner.process.pid}/root") / str(mount).lstrip("/")
        ballast = fill(inside)
        assert post(runner.url, padded(RAW / "single_1.body"))[0] == 200  # journalled on another disk

        def reason() -> str:
            with urllib.request.urlopen(runner.url + "/healthz", timeout=5) as r:
                return str(json.loads(r.read())["reason"])

        assert "No space left" in wait_for(reason, what="the worker to meet the full disk")
        assert not (state / "failed.jsonl").exists()  # not the alert's fault: nothing given up
        assert not any("opened" in s for s in remote_log(clone))
        os.unlink(ballast)
        wait_for(lambda: any("opened" in s for s in remote_log(clone)), what="the held alert pushed")
        runner.wait_idle()
        # (git cannot be run on the clone from outside its mount namespace: it resolves
        # /proc/PID/root to this side's empty folder. The remote's copy, below, tells instead.)
        with urllib.request.urlopen(runner.url + "/healthz", timeout=5) as r:
            assert json.loads(r.read()) == {
                "status": "ok",
                "reason": "",
                "journal_depth": 0,
                "unpushed": False,
            }
    finally:
        runner.kill()
    view = tmp_path / "view"
    subprocess.run(["git", "clone", "-q", str(clone.parent / "remote.git"), str(view)], check=True)
    (opened,) = [i for i in load(view).repo.incidents if i.id.startswith("2026-11-22-apidown")]
    assert len(opened.updates) == 1  # applied once, though tried while the disk was full

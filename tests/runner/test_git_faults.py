"""Git failing under a real runner: a stale index lock, a remote that rejects pushes, a remote that
dies mid-push, a remote that hangs, SIGTERM during a push and during a rebase.

Every fault is made for real: hooks in the bare remote (or the clone) that refuse, block or are
killed, the remote's folder moved away. After each: every alert group is one incident with one
update, the remote and the clone pass `git fsck --strict`, nothing is left uncommitted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.runner.conftest import RAW, Runner, remote_log, wait_for
from tidings.content.load import load
from tidings.store.git import git


def storm(name: str, count: int) -> list[bytes]:
    """`count` alert groups, each its own incident titled '<name> alert <n>'."""
    bodies = []
    for n in range(count):
        payload = json.loads((RAW / "single_1.body").read_bytes())
        payload["groupKey"] = f'{{}}:{{alertname="{name}", n="{n}"}}'
        payload["groupLabels"] = {"alertname": name, "n": str(n)}
        payload["commonAnnotations"] = {"summary": f"{name} alert {n}"}
        payload["alerts"][0]["fingerprint"] = f"{name.lower()}{n:04d}"
        bodies.append(json.dumps(payload).encode())
    return bodies


def post_all(runner: Runner, bodies: list[bytes]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(runner.post, bodies)) == [200] * len(bodies)


def hook(repo: Path, name: str, script: str) -> Path:
    path = (repo if repo.name.endswith(".git") else repo / ".git") / "hooks" / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


def on_remote(clone: Path, name: str) -> list:
    """The incidents titled '<name> alert ...' as the remote holds them."""
    remote = clone.parent / "remote.git"
    check = clone.parent / "check"
    if not check.exists():
        subprocess.run(["git", "clone", "--quiet", str(remote), str(check)], check=True, capture_output=True)
    else:
        git(check, "pull", "--quiet", "--ff-only")
    return [i for i in load(check, alerts=False).repo.incidents if i.title.startswith(f"{name} alert")]


def all_once(clone: Path, name: str, count: int) -> None:
    """Every group of the storm is on the remote, as one incident with one update; git is sound."""
    incidents = on_remote(clone, name)
    assert sorted(i.title for i in incidents) == sorted(f"{name} alert {n}" for n in range(count))
    assert all(len(i.updates) == 1 for i in incidents)  # nothing applied twice
    git(clone.parent / "remote.git", "fsck", "--strict")
    git(clone, "fsck", "--strict")
    assert git(clone, "status", "--porcelain") == ""


def test_a_stale_index_lock_is_cleared_and_the_alerts_land(runner, clone):
    # Left by a git that crashed in the runner's clone (a person's, or the runner's own).
    (clone / ".git" / "index.lock").write_text("")
    post_all(runner, storm("Locked", 3))
    wait_for(lambda: len(on_remote(clone, "Locked")) == 3, what="the alerts on the remote", timeout=60)
    runner.wait_idle()
    all_once(clone, "Locked", 3)
    assert not (clone / ".git" / "index.lock").exists()


def test_a_remote_that_rejects_pushes_for_a_while_gets_everything_once_after(runner, clone, tmp_path):
    remote = tmp_path / "remote.git"
    before = remote_log(clone)
    closed = hook(remote, "pre-receive", "echo 'pushes are closed for maintenance' >&2\nexit 1\n")
    bodies = storm("Closed", 8)
    post_all(runner, bodies[:4])
    wait_for(lambda: runner.metrics()["tidings_runner_push_failures_total"] >= 2, what="refused pushes")
    post_all(runner, bodies[4:])  # alerts keep coming while the remote refuses
    failures = runner.metrics()["tidings_runner_push_failures_total"]
    wait_for(
        lambda: runner.metrics()["tidings_runner_push_failures_total"] >= failures + 3,
        what="the runner to keep trying",
        timeout=60,
    )
    assert remote_log(clone) == before  # nothing got through
    assert int(git(clone, "rev-list", "--count", "origin/main..HEAD")) >= 1  # but all is committed
    closed.unlink()  # the remote opens again
    wait_for(lambda: len(on_remote(clone, "Closed")) == 8, what="everything on the remote", timeout=60)
    runner.wait_idle()
    all_once(clone, "Closed", 8)


def gone(pid: int) -> bool:
    """The process has ended (a zombie counts: it runs nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_a_remote_that_dies_mid_push_then_comes_back_gets_everything_once(runner, clone, tmp_path):
    remote, away = tmp_path / "remote.git", tmp_path / "remote-away.git"
    held = tmp_path / "held"
    # The first push's receive-pack (the hook's parent) says who it is, then takes its time.
    hook(
        remote,
        "pre-receive",
        f'[ -e "{held}" ] && exit 0\necho "$$ $PPID" > "{held}"\nwhile true; do sleep 0.05; done\n',
    )
    bodies = storm("Dying", 6)
    post_all(runner, bodies[:3])
    pids = wait_for(lambda: held.exists() and held.read_text().split(), what="a push in progress")
    remote.rename(away)  # the server goes away mid-push...
    for pid in map(int, reversed(pids)):
        os.kill(pid, signal.SIGKILL)  # ...its receive-pack dies, and the hook with it
    wait_for(lambda: runner.metrics()["tidings_runner_push_failures_total"] >= 2, what="failed pushes")
    post_all(runner, bodies[3:])
    away.rename(remote)
    wait_for(lambda: len(on_remote(clone, "Dying")) == 6, what="everything on the remote", timeout=60)
    runner.wait_idle()
    all_once(clone, "Dying", 6)


def test_sigterm_while_the_remote_hangs_mid_push_stops_in_bounded_time(clone, tmp_path):
    """A push to a remote that never answers is killed after TIDINGS_GIT_TIMEOUT; a SIGTERM then
    stops the runner with exit 0, the commits kept locally and pushed by the next start."""
    remote = tmp_path / "remote.git"
    held = tmp_path / "held"
    hanging = hook(remote, "pre-receive", f'echo $$ > "{held}"\nwhile true; do sleep 0.05; done\n')
    runner = Runner(clone, env={"TIDINGS_GIT_TIMEOUT": "3"})
    runner.start()
    try:
        post_all(runner, storm("Hung", 4))
        pid = int(wait_for(lambda: held.exists() and held.read_text().strip(), what="a push in progress"))
        assert runner.process is not None
        runner.process.send_signal(signal.SIGTERM)
        # Bounded: the push in hand (3 s), one more try on the way out (3 s), and slack for a busy machine.
        assert runner.process.wait(timeout=90) == 0
        # The push was stopped with all it started: the remote's receive-pack and its hook.
        wait_for(lambda: gone(pid), what="the hung hook to be stopped")
        assert int(git(clone, "rev-list", "--count", "origin/main..HEAD")) >= 1
        hanging.unlink()
        runner.start()
        wait_for(lambda: len(on_remote(clone, "Hung")) == 4, what="everything on the remote", timeout=60)
        runner.wait_idle()
        all_once(clone, "Hung", 4)
    finally:
        if runner.process and runner.process.poll() is None:
            runner.kill()


def test_sigterm_during_a_rebase_finishes_it_and_pushes(runner, clone, tmp_path):
    """A person pushed first, so the runner's push is rejected and it rebases; SIGTERM arrives while
    the rebase is under way: it is finished, pushed, and the runner exits 0."""
    remote = tmp_path / "remote.git"
    person = tmp_path / "person"
    subprocess.run(["git", "clone", "--quiet", str(remote), str(person)], check=True, capture_output=True)
    # The remote holds the runner's first push until the person's commit is in, then refuses it, so
    # the runner fetches and rebases; the clone's pre-rebase hook holds the rebase until SIGTERM.
    gate, opened, rebasing, release = (tmp_path / n for n in ("gate", "opened", "rebasing", "release"))
    hook(
        remote,
        "pre-receive",
        "read old new ref\n"
        f'if [ "$(git log -1 --format=%an $new)" = "Tidings runner" ] && [ ! -e "{opened}" ]; then\n'
        f'  touch "{gate}"; while [ ! -e "{opened}" ]; do sleep 0.05; done; exit 1\n'
        "fi\n",
    )
    hook(clone, "pre-rebase", f'touch "{rebasing}"\nwhile [ ! -e "{release}" ]; do sleep 0.05; done\n')
    (person / "content" / "runbooks" / "note.md").write_text("# A note\n\nWritten by a person.\n")
    subprocess.run(["git", "add", "-A"], cwd=person, check=True)
    ident = ["-c", "user.name=Bo", "-c", "user.email=bo@example.com"]
    subprocess.run(["git", *ident, "commit", "-qm", "A runbook note"], cwd=person, check=True)
    post_all(runner, storm("Rebased", 3))
    wait_for(gate.exists, what="the runner's push, held")
    subprocess.run(["git", "push", "--quiet", "origin", "HEAD:main"], cwd=person, check=True)
    opened.touch()  # the runner's push is refused now: the person's commit came first
    wait_for(rebasing.exists, what="the runner to rebase onto the person's commit", timeout=60)
    assert runner.process is not None
    runner.process.send_signal(signal.SIGTERM)
    release.touch()
    assert runner.process.wait(timeout=90) == 0
    log = remote_log(clone)
    assert "A runbook note" in log and log[0].startswith("runner:"), log
    assert (clone / "content" / "runbooks" / "note.md").exists()
    all_once(clone, "Rebased", 3)

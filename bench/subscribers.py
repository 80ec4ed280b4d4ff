"""Subscriber benchmark, run by hand: `.venv/bin/python bench/subscribers.py [100000]`. Prints a table.

1. Queue: N subscribers (60% every component, 40% choosing postgres and up to two others); a
   person publishes the demo's postgres incident; timed from reading that commit (`find`) to every
   outbox row written (`queue`; issue 18: under 2 s).
2. Send-out: those rows to an aiosmtpd server in a process of its own, over the default two SMTP
   connections, by the runner's sender in a process of its own: messages a second, and that
   process's peak RSS; the same for N/10, to show memory does not grow with N.
3. Pace: 2,000 subscribers and a server that takes 20 ms to accept each message: the rate follows
   the server (two connections: at most 100 a second).
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAG = "2026-11-24-postgres-replica-lag"
COMPONENTS = ["web", "api", "graphql", "git", "ci", "webhooks", "storage", "postgres"]


def run(*args: str, cwd: Path) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def notifications(port: int) -> str:
    return (
        "subscribers:\n"
        f"  email: {{host: 127.0.0.1, port: {port}, security: none, from: 'Bench <status@example.com>'}}\n"
        "  release: pushed\n"
    )


def make_repo(tmp: Path, port: int) -> Path:
    work = tmp / "status"
    work.mkdir()
    shutil.copytree(ROOT / ".gitlab", work / ".gitlab")
    shutil.copytree(ROOT / "content", work / "content")
    (work / ".gitlab" / "notifications.yml").write_text(notifications(port))
    run("git", "init", "-q", "-b", "main", cwd=work)
    run("git", "add", "-A", cwd=work)
    run("git", "-c", "user.name=Bench", "-c", "user.email=b@example.com", "commit", "-qm", "Start", cwd=work)
    return work


def prepare(tmp: Path, n: int, port: int) -> tuple[Path, Path, dict[str, float]]:
    """A repo, N subscribers, and the update queued; how long each step took."""
    from tidings.runner.subscribers.service import Service
    from tidings.runner.subscribers.store import Store

    work = make_repo(tmp, port)
    state = tmp / "state"
    rng = random.Random(18)
    # Everyone hears of the update: 60% take every component, the rest chose postgres among others.
    others = [c for c in COMPONENTS if c != "postgres"]
    rows = [
        (
            "email",
            f"reader{i}@example.com",
            [] if rng.random() < 0.6 else ["postgres", *rng.sample(others, rng.randint(0, 2))],
        )
        for i in range(n)
    ]
    started = time.perf_counter()
    Store.open(state).add_subscribers(rows, time.time())
    figures = {"insert_s": time.perf_counter() - started}
    service = Service(work, state, pushing=False)
    settings = service.reader.get()
    assert settings is not None
    service.plan(settings, time.time())  # the first look notes where the branch is
    tidings = str(Path(sys.executable).parent / "tidings")
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com"}  # fmt: skip
    subprocess.run([tidings, "incident", "publish", LAG, "--body", "Reads may be stale.", str(work)],
                   check=True, capture_output=True, env=env)  # fmt: skip
    started = time.perf_counter()
    found = service.plan(settings, time.time())
    planned = time.perf_counter()
    queued = service.release(settings, time.time())
    done = time.perf_counter()
    assert found == 1, found
    figures.update(plan_s=planned - started, release_s=done - planned, queue_s=done - started, queued=queued)
    service.close()
    return work, state, figures


def smtp_sink(port: int, delay: float, counter: Path) -> subprocess.Popen[bytes]:
    code = f"""
import asyncio, time
from pathlib import Path
from aiosmtpd.controller import Controller
count = 0
class Sink:
    async def handle_DATA(self, server, session, envelope):
        global count
        if {delay}:
            await asyncio.sleep({delay})
        count += 1
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port={port})
c.start()
while True:
    Path({str(counter)!r}).write_text(str(count))
    time.sleep(0.2)
"""
    process = subprocess.Popen([sys.executable, "-c", code])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the SMTP sink did not start")


def send(work: Path, state: Path) -> dict[str, float]:
    """The runner's sender in a process of its own until the outbox is empty: its time and peak RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--send", str(work), str(state)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _send_child(work: Path, state: Path) -> None:
    from tidings.runner.subscribers.service import Service

    service = Service(work, state, pushing=False)
    settings = service.reader.get()
    assert settings is not None
    started = time.perf_counter()
    sent = 0
    while service.store.pending():
        sent += service.sender.send_due(settings)
    seconds = time.perf_counter() - started
    service.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(json.dumps({"seconds": seconds, "tried": sent, "rss_mb": rss}))


def one(n: int, delay: float = 0.0) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="tidings-bench-subscribers-"))
    port = free_port()
    counter = tmp / "count"
    try:
        work, state, figures = prepare(tmp, n, port)
        sink = smtp_sink(port, delay, counter)
        try:
            sent = send(work, state)
            time.sleep(0.5)  # the sink writes its count every 0.2 s
            received = int(counter.read_text())
        finally:
            sink.terminate()
            sink.wait()
        return {**figures, **sent, "received": received, "rate": received / sent["seconds"]}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    machine = platform.processor() or platform.machine()
    print(f"{machine}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    columns = ("queued", "find s", "queue s", "sent", "send s", "msg/s", "peak RSS")
    print(f"{'subscribers':>13} " + " ".join(f"{c:>8}" for c in columns))
    for size, delay in ((n, 0.0), (n // 10, 0.0), (2000, 0.02)):
        r = one(size, delay)
        label = f"{size:,}" + (f" ({delay * 1000:.0f} ms)" if delay else "")
        print(
            f"{label:>13} {int(r['queued']):>8,} {r['plan_s']:>8.2f} {r['release_s']:>8.2f} "
            f"{int(r['received']):>8,} {r['seconds']:>8.1f} {r['rate']:>8.0f} {r['rss_mb']:>5.0f} MB"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--send"]:
        _send_child(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()

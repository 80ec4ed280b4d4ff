"""Runner benchmark, run by hand: `.venv/bin/python bench/runner.py`. Prints a table.

1. Acknowledge latency: 200 concurrent posts of distinct alert groups to a real `tidings runner
   serve` on 127.0.0.1 (journal fsync included); p50, p99, max as the client measures them.
2. Storm: 1,000 alerts in 100 groups (one post per group, as Alertmanager sends them), timed from
   the first post until the bare remote holds every incident; the number of commits it took.

Targets (issue 6): p99 under 20 ms; the storm applied, committed and pushed within 10 s in a
handful of commits.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT.parent / "shared" / "data" / "alertmanager" / "payloads" / "raw" / "single_1.body"
TOKEN = "bench-token"


def run(*args: str, cwd: Path) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_clone(tmp: Path) -> Path:
    remote, work = tmp / "remote.git", tmp / "work"
    run("git", "init", "--quiet", "--bare", "--initial-branch=main", str(remote), cwd=tmp)
    run("git", "clone", "--quiet", str(remote), str(work), cwd=tmp)
    shutil.copytree(ROOT / ".gitlab", work / ".gitlab")
    shutil.copytree(ROOT / "content", work / "content")
    run("git", "add", "-A", cwd=work)
    run("git", "-c", "user.name=Bench", "-c", "user.email=b@example.com", "commit", "-qm", "Start", cwd=work)
    run("git", "push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=work)
    return work


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group(name: str, alerts: int) -> bytes:
    payload = json.loads(SAMPLE.read_bytes())
    template = payload["alerts"][0]
    payload["groupKey"] = f'{{}}:{{alertname="{name}"}}'
    payload["groupLabels"] = {"alertname": name}
    payload["commonLabels"] = {"alertname": name, "severity": "critical", "service": "api"}
    payload["commonAnnotations"] = {"summary": f"{name} is failing"}
    payload["alerts"] = [
        {**template, "fingerprint": f"{name}-{n:03d}".lower(), "labels": {**template["labels"], "n": str(n)}}
        for n in range(alerts)
    ]
    return json.dumps(payload).encode()


class Server:
    def __init__(self, clone: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        tidings = str(Path(sys.executable).parent / "tidings")
        self.process = subprocess.Popen(
            [tidings, "runner", "serve", str(clone), "--port", str(self.port)],
            env={**os.environ, "TIDINGS_TOKEN_PROMETHEUS": TOKEN},
        )
        for _ in range(300):
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("the runner did not start")

    def health(self) -> dict:
        with urllib.request.urlopen(self.url + "/healthz", timeout=5) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, body: bytes) -> int:
    """One HTTP/1.1 request on a kept-alive connection; a bare client, so the figures are the server's."""
    method = "POST" if body else "GET"
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    response = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in response.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    await reader.readexactly(length)
    return int(response.split(b" ")[1])


async def post_all(port: int, bodies: list[bytes]) -> list[float]:
    """Open a connection per body, then post every body at once; each request's latency in seconds."""
    connections = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in bodies))
    # Warm each connection first, so the figures are the runner's, not TCP setup's.
    await asyncio.gather(*(_request(r, w, "/healthz", b"") for r, w in connections))

    async def one(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], body: bytes) -> float:
        start = time.perf_counter()
        status = await _request(*connection, "/alerts/alertmanager/prometheus", body)
        if status != 200:
            raise SystemExit(f"the runner answered {status}")
        return time.perf_counter() - start

    try:
        return await asyncio.gather(*(one(c, b) for c, b in zip(connections, bodies, strict=True)))
    finally:
        for _, writer in connections:
            writer.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def wait_pushed(server: Server, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = server.health()
        if health["journal_depth"] == 0 and not health["unpushed"]:
            return
        time.sleep(0.02)
    raise SystemExit("the runner did not catch up")


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        clone = make_clone(tmp)
        server = Server(clone)
        try:
            latencies = asyncio.run(post_all(server.port, [group(f"Ack{n:03d}", 1) for n in range(200)]))
            rows += [
                ("ack latency p50, 200 concurrent", f"{pct(latencies, 0.5) * 1000:.1f} ms"),
                ("ack latency p99, 200 concurrent", f"{pct(latencies, 0.99) * 1000:.1f} ms"),
                ("ack latency max, 200 concurrent", f"{max(latencies) * 1000:.1f} ms"),
            ]
            wait_pushed(server)
            before = int(run("git", "rev-list", "--count", "main", cwd=tmp / "remote.git"))
            storm = [group(f"Storm{n:03d}", 10) for n in range(100)]
            start = time.perf_counter()
            asyncio.run(post_all(server.port, storm))
            acked = time.perf_counter() - start
            wait_pushed(server)
            pushed = time.perf_counter() - start
            after = int(run("git", "rev-list", "--count", "main", cwd=tmp / "remote.git"))
            files = run("git", "ls-tree", "--name-only", "main", "content/incidents/", cwd=tmp / "remote.git")
            storms = [f for f in files.splitlines() if "storm" in f]
            rows += [
                ("storm: 1,000 alerts in 100 groups, all acknowledged", f"{acked:.2f} s"),
                ("storm: applied, committed and pushed", f"{pushed:.2f} s"),
                ("storm: commits", str(after - before)),
                ("storm: incidents on the remote", str(len(storms))),
            ]
        finally:
            server.stop()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>10}")


if __name__ == "__main__":
    main()

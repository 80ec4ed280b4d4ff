"""Soak, run by hand: `.venv/bin/python bench/soak.py [MINUTES]` (default 10). Prints a table.

A real `tidings runner serve` on loopback with a bare remote, ticking every minute, under a steady
mixed load: Alertmanager groups firing, re-sent and resolving; generic alerts; Slack commands
(signed); ack links; every second, from a handful of senders. Each minute it reports the runner's
RSS, the acknowledge latency (p50, p99) of that minute's posts, the journal file's size, the
journal depth, and how many commits reached the remote.

Targets (issue 21): RSS flat, journal bounded (compaction keeps up), p99 steady, commits keep up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from runner import TOKEN, free_port, group, make_clone

SLACK_SECRET = "soak-slack-secret"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    start = time.perf_counter()
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, time.perf_counter() - start


def resolved(body: bytes) -> bytes:
    payload = json.loads(body)
    payload["status"] = "resolved"
    for alert in payload["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2026-11-22T17:19:41.692Z"
    return json.dumps(payload).encode()


def quantile(sorted_values: list[float], q: float) -> float:
    """In milliseconds; 0 for no values."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))] * 1000


HEADER = ("minute", "RSS MB", "posts", "p50 ms", "p99 ms", "journal KB", "depth", "commits")


def main() -> None:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    with tempfile.TemporaryDirectory(prefix="tidings-soak-") as name:
        tmp = Path(name)
        clone = make_clone(tmp)
        state = tmp / "state"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        tidings = str(Path(sys.executable).parent / "tidings")
        env = {
            **os.environ,
            "TIDINGS_TOKEN_PROMETHEUS": TOKEN,
            "TIDINGS_TOKEN_UPTIME": TOKEN,
            "TIDINGS_SLACK_SIGNING_SECRET": SLACK_SECRET,
            "TIDINGS_ACK_SECRET": "soak-ack-secret-of-some-length",
        }
        process = subprocess.Popen(
            [tidings, "runner", "serve", str(clone), "--port", str(port), "--tick-seconds", "60",
             "--state-dir", str(state)],
            env=env, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        latencies: list[tuple[float, float]] = []  # (when, seconds)
        statuses: dict[int, int] = {}
        stop = time.monotonic() + minutes * 60
        lock = threading.Lock()

        def sender(seed: int) -> None:
            rng = random.Random(seed)
            bearer = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
            n = 0
            while time.monotonic() < stop:
                n += 1
                pick = rng.random()
                if pick < 0.5:  # an Alertmanager group: fire, re-send or resolve
                    body = group(f"Soak{seed}x{rng.randrange(40)}", rng.randrange(1, 5))
                    body = resolved(body) if rng.random() < 0.3 else body
                    result = post(url + "/alerts/alertmanager/prometheus", body, bearer)
                elif pick < 0.8:  # a generic alert
                    alert = {"title": f"Probe {seed}-{rng.randrange(50)} slow", "service": "api",
                             "fingerprint": f"probe-{seed}-{rng.randrange(50)}"}  # fmt: skip
                    result = post(url + "/alerts/generic/uptime-checks", json.dumps(alert).encode(), bearer)
                else:  # a Slack command that only reads (answered at once, journals nothing)
                    form = urllib.parse.urlencode(
                        {"command": "/incident", "text": "help", "user_id": "U1", "user_name": "soak"}
                    ).encode()
                    stamp = str(int(time.time()))
                    mac = hmac.new(SLACK_SECRET.encode(), f"v0:{stamp}:".encode() + form, hashlib.sha256)
                    slack = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + mac.hexdigest()}
                    result = post(url + "/slack/commands", form, slack)
                with lock:
                    latencies.append((time.monotonic(), result[1]))
                    statuses[result[0]] = statuses.get(result[0], 0) + 1
                time.sleep(rng.uniform(0.1, 0.4))

        threads = [threading.Thread(target=sender, args=(seed,)) for seed in range(4)]
        began = time.monotonic()
        for t in threads:
            t.start()
        rows = []
        for minute in range(1, int(minutes) + 1):
            time.sleep(max(0.0, began + minute * 60 - time.monotonic()))
            with lock:
                window = sorted(
                    s for at, s in latencies if began + (minute - 1) * 60 <= at < began + minute * 60
                )
            journal = state / "journal.jsonl"
            with urllib.request.urlopen(url + "/healthz", timeout=10) as r:
                depth = json.loads(r.read())["journal_depth"]
            commits = len(subprocess.run(["git", "-C", str(tmp / "remote.git"), "log", "--format=%H", "main"],
                                         capture_output=True, text=True).stdout.split())  # fmt: skip
            p50, p99 = (quantile(window, q) for q in (0.5, 0.99))
            size = journal.stat().st_size / 1024 if journal.exists() else 0
            rows.append((minute, rss_mb(process.pid), len(window), p50, p99, size, depth, commits))
            print(f"minute {minute}: {rows[-1]}", flush=True)
        for t in threads:
            t.join()
        process.terminate()
        process.wait(timeout=300)  # a graceful stop: the tick in hand finishes its sends first
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"statuses: {dict(sorted(statuses.items()))}")
    print(" ".join(f"{h:>10}" for h in HEADER))
    for row in rows:
        print(" ".join(f"{v:>10.1f}" if isinstance(v, float) else f"{v:>10}" for v in row))


if __name__ == "__main__":
    main()

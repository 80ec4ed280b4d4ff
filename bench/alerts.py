"""Alert records at volume, run by hand: `.venv/bin/python bench/alerts.py [20000]`. Prints a table.

A year of a noisy team: N alert records (default 20,000) written into a copy of the demo the way the
runner writes them (tidings.store.alert_file), spread over a year, most resolved, some ignored,
some acknowledged. Then, each as its own process (`tidings ...`), with and without the records:
`tidings validate`, a cold public build, a public build with nothing changed, and the internal build.

Target (issue 16): the records must not make `validate` or a public build noticeably slower.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tidings.store.alert_file import alert_key, event_entry, new_record  # noqa: E402
from tidings.store.incident_file import stamp  # noqa: E402

TIDINGS = str(Path(sys.executable).parent / "tidings")
EPOCH = 1796155200  # 2026-12-01T20:00:00Z: builds at a pinned clock
COMPONENTS = ["api", "web", "ci-runners", "postgres", "storage", "webhooks"]


def timed(*args: str) -> float:
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH)}
    start = time.perf_counter()
    subprocess.run(
        [TIDINGS, *args], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    return time.perf_counter() - start


def fill(root: Path, count: int) -> float:
    """Write `count` alert records; the seconds it took."""
    start = time.perf_counter()
    first = datetime(2025, 12, 1, tzinfo=UTC)
    for n in range(count):
        at = first + timedelta(minutes=26 * n)
        fingerprint = f"{n:016x}"
        status = "resolved" if n % 10 < 7 else "ignored" if n % 10 < 9 else "acknowledged"
        events = [event_entry(at, "fired")]
        if status == "acknowledged":
            events.append(event_entry(at + timedelta(minutes=4), "acknowledged", by="amara"))
        if status == "resolved":
            events.append(event_entry(at + timedelta(minutes=30), "resolved"))
        if status == "ignored":
            events.append(
                event_entry(at + timedelta(minutes=9), "ignored", by="jonas", reason="flapping probe")
            )
        component = COMPONENTS[n % len(COMPONENTS)]
        fields = {
            "title": f"HighLatency on {component}-{n % 7}",
            "status": status,
            "integration": "prometheus",
            "source": "alertmanager",
            "fingerprint": fingerprint,
            "group": f"am-{n % 400:016x}",
            "severity": ["critical", "high", "medium", "low"][n % 4],
            "component": component,
            "hosts": [f"{component}-{n % 7}:9100"],
            "monitoring_tool": "Prometheus",
            "links": {
                "source": f"http://prometheus.example:9090/graph?g0.expr=latency{{instance=%22{n}%22}}"
            },
            "description": f"p99 latency of {component} above 2 s for 5 minutes",
            "first_seen": stamp(at, exact=True),
            "last_seen": stamp(at, exact=True),
            "starts_at": stamp(at, exact=True),
            "fired": 1 + n % 3,
        }
        new_record(root, alert_key("prometheus", fingerprint), fields, events)
    return time.perf_counter() - start


def measure(root: Path, tmp: Path) -> dict[str, float]:
    out = tmp / "public"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(root / ".tidings-cache", ignore_errors=True)
    return {
        "validate": timed("validate", str(root)),
        "public build, cold": timed("build", str(root), "--out", str(out), "--no-cache"),
        "public build, cached": timed("build", str(root), "--out", str(out)),
        "public build, no change": timed("build", str(root), "--out", str(out)),
        "internal build": timed("build", str(root), "--internal", "--out", str(tmp / "internal")),
    }


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory(prefix="tidings-alerts-bench-") as name:
        tmp = Path(name)
        root = tmp / "repo"
        shutil.copytree(ROOT / ".gitlab", root / ".gitlab")
        shutil.copytree(ROOT / "content", root / "content")
        without = measure(root, tmp)
        wrote = fill(root, count)
        with_records = measure(root, tmp)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"wrote {count:,} alert records in {wrote:.1f} s ({wrote / count * 1000:.2f} ms each)")
    print(f"{'':26}{'no records':>12}{f'{count:,} records':>16}")
    for key in without:
        print(f"{key:26}{without[key]:>11.2f}s{with_records[key]:>15.2f}s")


if __name__ == "__main__":
    main()

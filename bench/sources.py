"""Alert sources benchmark, run by hand: `.venv/bin/python bench/sources.py`. Prints a table.

1. Mapping cost: one documented payload per source (tests/fixtures/sources) read into an alert
   event, as the endpoint and the worker each do (JSON decoding included), in µs per alert; and
   checking a signature (PagerDuty, Sentry) or a token.
2. Storm: 1,000 alerts as Grafana posts (100 groups of 10, one post per group, as Grafana's
   Alertmanager sends them) to a real `tidings runner serve` with a bare remote, timed from the
   first post until the remote holds every incident; the number of commits it took.

Targets (issue 17): the storm acknowledged, applied, committed and pushed within 10 s in a handful
of commits, as bench/runner.py's Alertmanager storm.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import importlib.util
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tidings.content.model import Integration
from tidings.runner.sources import parse, verify

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "sources"
TOKEN = "bench-token"
SECRET = "bench-secret"

# bench/runner.py's clone, server and timing helpers (a script, not a package: loaded by path).
_spec = importlib.util.spec_from_file_location("bench_runner", Path(__file__).with_name("runner.py"))
assert _spec is not None and _spec.loader is not None
bench_runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_runner)

INTEGRATIONS = {
    "grafana": Integration(id="grafana", kind="grafana", token_env="TIDINGS_TOKEN_PROMETHEUS"),
    "pagerduty": Integration(id="pagerduty", kind="pagerduty", secret_env="BENCH_SECRET"),
    "datadog": Integration(id="datadog", kind="datadog", token_env="TIDINGS_TOKEN_PROMETHEUS"),
    "sentry": Integration(id="sentry", kind="sentry", secret_env="BENCH_SECRET"),
    "azure": Integration.model_validate(
        {
            "id": "azure",
            "kind": "generic",
            "token_env": "TIDINGS_TOKEN_PROMETHEUS",
            "mapping": {
                "title": "data.essentials.alertRule",
                "start_time": "data.essentials.firedDateTime",
                "severity": {"path": "data.essentials.severity", "values": {"Sev3": "low"}},
                "hosts": "data.essentials.configurationItems",
                "fingerprint": "data.essentials.alertId",
                "resolved": {"path": "data.essentials.monitorCondition", "values": ["Resolved"]},
            },
        }
    ),
}
EVENT_ALERT = {"sentry-hook-resource": "event_alert"}
ISSUE = {"sentry-hook-resource": "issue"}
METRIC_ALERT = {"sentry-hook-resource": "metric_alert"}
# (row, integration, fixture, headers the parser reads)
PAYLOADS = [
    ("Datadog (the README's template)", "datadog", "datadog/triggered.json", {}),
    ("Sentry issue alert (event_alert, 8 KB)", "sentry", "sentry/event_alert.json", EVENT_ALERT),
    ("Sentry issue (issue)", "sentry", "sentry/issue_created.json", ISSUE),
    ("Sentry metric alert", "sentry", "sentry/metric_alert_critical.json", METRIC_ALERT),
    ("PagerDuty incident.triggered", "pagerduty", "pagerduty/triggered.json", {}),
    ("Grafana group of 2 (per alert)", "grafana", "grafana/firing.json", {}),
    ("custom mapping, Azure Monitor", "azure", "custom/azure_fired.json", {}),
]  # fmt: skip


def per_call(fn: Callable[[], object], seconds: float = 1.0) -> float:
    """Seconds per call of `fn`, the best of 5 runs of about `seconds`/5 each."""
    fn()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < 0.02:
        fn()
        n += 1
    batch = max(1, int(n * seconds / 5 / 0.02))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        best = min(best, (time.perf_counter() - start) / batch)
    return best


def mapping_costs() -> list[tuple[str, str]]:
    rows = []
    now = datetime.now(UTC)
    env = {"BENCH_SECRET": SECRET, "TIDINGS_TOKEN_PROMETHEUS": TOKEN}
    for name, key, fixture, headers in PAYLOADS:
        body = (FIXTURES / fixture).read_bytes()
        integration = INTEGRATIONS[key]
        alerts = len(parse(integration.kind, body, integration, now, headers).alerts)
        cost = per_call(lambda b=body, i=integration, h=headers: parse(i.kind, b, i, now, h)) / alerts
        rows.append((f"map per alert: {name}", f"{cost * 1e6:.0f} µs"))
    sentry_body = (FIXTURES / "sentry/event_alert.json").read_bytes()
    signature = hmac.new(SECRET.encode(), sentry_body, hashlib.sha256).hexdigest()
    signed = {"sentry-hook-signature": signature}
    sentry = INTEGRATIONS["sentry"]
    cost = per_call(lambda: verify("sentry", sentry, signed, sentry_body, env))
    rows.append(("verify: Sentry signature (8 KB body)", f"{cost * 1e6:.0f} µs"))
    bearer = {"authorization": f"Bearer {TOKEN}"}
    cost = per_call(lambda: verify("grafana", INTEGRATIONS["grafana"], bearer, b"", env))
    rows.append(("verify: bearer token", f"{cost * 1e6:.1f} µs"))
    return rows


def grafana_group(n: int, alerts: int) -> bytes:
    """A Grafana post of one group of `alerts` firing alerts, from Grafana's documented payload."""
    payload = json.loads((FIXTURES / "grafana/firing.json").read_bytes())
    template = payload["alerts"][0]
    name = f"Storm{n:03d}"
    payload["groupKey"] = f'{{}}/{{}}:{{alertname="{name}"}}'
    payload["groupLabels"] = {"alertname": name}
    payload["commonLabels"] = {"alertname": name, "team": "blue"}
    payload["commonAnnotations"] = {"summary": f"{name} is failing"}
    payload["alerts"] = []
    for a in range(alerts):
        alert = copy.deepcopy(template)
        alert["labels"] = {"alertname": name, "team": "blue", "zone": f"zone-{a}"}
        alert["fingerprint"] = hashlib.sha256(f"{name}/{a}".encode()).hexdigest()[:16]
        payload["alerts"].append(alert)
    return json.dumps(payload).encode()


async def _post(port: int, path: str, body: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()
        status = await reader.readline()
        await reader.read()
        return int(status.split(b" ")[1])
    finally:
        writer.close()


async def post_all(port: int, path: str, bodies: list[bytes]) -> None:
    statuses = await asyncio.gather(*(_post(port, path, b) for b in bodies))
    if set(statuses) != {200}:
        raise SystemExit(f"the runner answered {sorted(set(statuses))}")


def storm() -> list[tuple[str, str]]:
    run = bench_runner.run
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        clone = bench_runner.make_clone(tmp)
        config = clone / ".gitlab" / "integrations.yml"
        config.write_text(
            config.read_text()
            + "  - id: grafana\n    kind: grafana\n    token_env: TIDINGS_TOKEN_PROMETHEUS\n"
        )
        run("git", "add", "-A", cwd=clone)
        run(
            "git",
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=b@example.com",
            "commit",
            "-qm",
            "Grafana",
            cwd=clone,
        )
        run("git", "push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=clone)
        server = bench_runner.Server(clone)
        try:
            before = int(run("git", "rev-list", "--count", "main", cwd=tmp / "remote.git"))
            bodies = [grafana_group(n, 10) for n in range(100)]
            start = time.perf_counter()
            asyncio.run(post_all(server.port, "/alerts/grafana/grafana", bodies))
            acked = time.perf_counter() - start
            bench_runner.wait_pushed(server)
            pushed = time.perf_counter() - start
            after = int(run("git", "rev-list", "--count", "main", cwd=tmp / "remote.git"))
            files = run("git", "ls-tree", "--name-only", "main", "content/incidents/", cwd=tmp / "remote.git")
            incidents = [f for f in files.splitlines() if "storm" in f]
        finally:
            server.stop()
    return [
        ("Grafana storm: 1,000 alerts in 100 posts, all acknowledged", f"{acked:.2f} s"),
        ("Grafana storm: applied, committed and pushed", f"{pushed:.2f} s"),
        ("Grafana storm: commits", str(after - before)),
        ("Grafana storm: incidents on the remote", str(len(incidents))),
    ]


def main() -> None:
    rows = mapping_costs() + storm()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>10}")


if __name__ == "__main__":
    main()

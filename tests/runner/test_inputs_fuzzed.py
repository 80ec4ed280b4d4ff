"""Every input the runner takes, fuzzed: never a traceback, never a 5xx, never a write on a refusal.

Hypothesis mutates real payloads (the captured Alertmanager bodies, the vendors' documented
examples in tests/fixtures/sources): values swapped for other JSON types, keys dropped, lists
emptied or nested, strings made huge, odd or binary, whole bodies cut or replaced by noise. Each
goes to the runner's app (in process, through Starlette's test client: the same ASGI app
`runner serve` runs) properly authenticated, so the parsers see it. Slack form bodies and ack
links the same way. The suite runs a short budget per target (FUZZ_EXAMPLES); bench/fuzz.py runs
long. Anything found once goes into REGRESSIONS below and is checked on every run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.runner.conftest import RAW, TOKEN
from tests.runner.sources_setup import (
    FIXTURES,
    SECRETS,
    add_integrations,
    bearer,
    pagerduty_signed,
    sentry_signed,
)
from tidings.runner import slack
from tidings.runner.app import create_app
from tidings.runner.journal import read_entries

FUZZ_EXAMPLES = int(os.environ.get("TIDINGS_FUZZ_EXAMPLES", "60"))
ALLOWED = {200, 202, 400, 401, 404, 413, 422}

# (kind, integration, fixtures, headers for a body)
SOURCES: list[tuple[str, str, list[Path], Any]] = [
    ("alertmanager", "prometheus", sorted(RAW.glob("*.body"))[:6], lambda b: bearer(TOKEN)),
    ("generic", "uptime-checks", [], lambda b: bearer("uptime-token")),
    ("grafana", "grafana", sorted((FIXTURES / "grafana").glob("*.json")),
     lambda b: bearer(SECRETS["TEST_GRAFANA_TOKEN"])),
    ("pagerduty", "pagerduty", sorted((FIXTURES / "pagerduty").glob("*.json")),
     lambda b: pagerduty_signed(b, SECRETS["TEST_PD_SECRET"])),
    ("datadog", "datadog", sorted((FIXTURES / "datadog").glob("*.json")),
     lambda b: bearer(SECRETS["TEST_DD_TOKEN"])),
    ("sentry", "sentry", sorted((FIXTURES / "sentry").glob("*.json")), lambda b: sentry_signed(b, "issue")),
    ("generic", "azure", sorted((FIXTURES / "custom").glob("*.json")),
     lambda b: bearer(SECRETS["TEST_AZURE_TOKEN"])),
]  # fmt: skip
GENERIC = {"title": "Disk full", "description": "sda1 at 99%", "service": "storage", "severity": "critical",
           "start_time": "2026-11-01T10:00:00Z", "fingerprint": "disk-1", "hosts": ["db-1"]}  # fmt: skip


def _changed(fixture: str, change: Any) -> bytes:
    data = json.loads((FIXTURES / fixture).read_bytes())
    change(data)
    return json.dumps(data).encode()


# Found by fuzzing once (a 500 each, before the fix); kept so they are tried on every run.
REGRESSIONS: list[tuple[str, str, bytes]] = [
    (
        "pagerduty",
        "pagerduty",
        _changed("pagerduty/acknowledged.json", lambda d: d["event"]["data"].update(service=1)),
    ),
    (
        "pagerduty",
        "pagerduty",
        _changed("pagerduty/resolved.json", lambda d: d["event"]["data"].update(status=[])),
    ),
    ("sentry", "sentry", _changed("sentry/issue_created.json", lambda d: d.update(action=[]))),
    ("generic", "uptime-checks", b'{"title": "x", "start_time": "9999-99-99"}'),
    ("generic", "uptime-checks", b'{"title": "x", "hosts": {"a": 1}}'),
    ("alertmanager", "prometheus", b'{"version": "4", "groupKey": "k", "alerts": [{"status": "firing"}]}'),
    ("generic", "uptime-checks", b'{"title": "x", "fingerprint": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
]

ODD = ["", " ", "\x00", "\u202e", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-02-30T10:00:00Z",
       "x" * 5000, "{{", "$ID", "resolved", "firing"]  # fmt: skip
scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=30) | st.sampled_from(ODD)
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated(draw: st.DrawFn, original: Any) -> bytes:
    """A body: the original JSON with some values replaced or dropped, or something else entirely."""
    how = draw(st.sampled_from(["values", "values", "values", "drop", "noise", "cut"]))
    text = json.dumps(original)
    if how == "noise":
        return draw(st.binary(max_size=200))
    if how == "cut":
        return text.encode()[: draw(st.integers(0, len(text)))]
    data = json.loads(text)
    paths: list[list[Any]] = []

    def walk(node: Any, path: list[Any]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, [*path, k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, [*path, i])

    walk(data, [])
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths))
        if not path:
            data = draw(json_values) if how == "values" else data
            continue
        parent = data
        try:
            for step in path[:-1]:
                parent = parent[step]
            if how == "drop" and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue
    return json.dumps(data).encode()


@pytest.fixture
def app(clone, monkeypatch):
    add_integrations(clone)
    for name, value in {**SECRETS, "TIDINGS_TOKEN_PROMETHEUS": TOKEN, "TIDINGS_TOKEN_UPTIME": "uptime-token",
                        slack.SECRET_ENV: "slack-secret"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    with TestClient(
        create_app(clone, do_push=False, tick_seconds=None), raise_server_exceptions=False
    ) as client:
        yield client, clone / ".git" / "tidings-runner" / "journal.jsonl"


def journalled(path: Path) -> int:
    return len([e for e in read_entries(path)[0] if not e.record.get("mark")])


def _post(
    client: TestClient, journal: Path, kind: str, integration: str, body: bytes, headers: dict[str, str]
) -> None:
    before = journalled(journal)
    response = client.post(f"/alerts/{kind}/{integration}", content=body, headers=headers)
    if response.status_code >= 500 and os.environ.get("TIDINGS_FUZZ_DUMP"):
        Path(os.environ["TIDINGS_FUZZ_DUMP"]).write_bytes(body)
    assert response.status_code in ALLOWED, (kind, body[:300], response.status_code, response.text[:300])
    if response.status_code not in (200,):
        assert journalled(journal) == before, (
            kind,
            body[:300],
            response.status_code,
        )  # a refusal writes nothing


@pytest.mark.parametrize(("kind", "integration", "fixtures", "headers"), SOURCES, ids=[s[1] for s in SOURCES])
def test_webhook_bodies(app, kind, integration, fixtures, headers):
    client, journal = app
    originals = [json.loads(p.read_bytes()) for p in fixtures] or [GENERIC]

    @settings(
        max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        body = data.draw(mutated(data.draw(st.sampled_from(originals))))
        hdrs = headers(body)
        if kind == "sentry":
            hdrs = sentry_signed(
                body, data.draw(st.sampled_from(["issue", "event_alert", "metric_alert", "odd"]))
            )
        _post(client, journal, kind, integration, body, hdrs)

    run()


def test_regressions_found_by_fuzzing(app):
    client, journal = app
    signers = {integration: headers for _, integration, _, headers in SOURCES}
    for kind, integration, body in REGRESSIONS:
        _post(client, journal, kind, integration, body, signers[integration](body))


def test_slack_forms_and_ack_links(app):
    client, _ = app
    form = st.dictionaries(
        st.sampled_from(["command", "text", "user_id", "user_name", "response_url", "team_id", "x"]),
        st.text(max_size=80)
        | st.sampled_from(["/incident", "declare x sev:oops", "ack", "close nope", "alert ack x"]),
        max_size=6,
    )

    @settings(
        max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(fields=form, token=st.text(max_size=120))
    def run(fields: dict[str, str], token: str) -> None:
        body = "&".join(f"{k}={v}" for k, v in fields.items()).encode("utf-8", "surrogatepass")
        stamp = str(int(time.time()))
        signature = (
            "v0=" + hmac.new(b"slack-secret", f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        )
        headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
        answer = client.post("/slack/commands", content=body, headers=headers)
        assert answer.status_code < 500 or answer.status_code == 503, (fields, answer.text[:300])
        quoted = urllib.parse.quote(token, safe="")
        link = client.get(f"/ack/{quoted}") if quoted not in ("", ".", "..") else None
        assert link is None or link.status_code < 500, (token, link.text[:300])

    run()

"""Every source through a real `tidings runner serve` over real HTTP, with a bare remote: signed and
authenticated posts are journalled, applied, committed and pushed; refusals write nothing."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request

import pytest

from tests.runner.conftest import Runner, remote_log, wait_for
from tests.runner.sources_setup import (
    SECRETS,
    add_integrations,
    basic,
    bearer,
    body,
    pagerduty_signed,
    sentry_signed,
)
from tidings.content.load import load
from tidings.runner.journal import read_entries

PD_SECRET = SECRETS["TEST_PD_SECRET"]
SOURCES = {"grafana", "grafana-basic", "pagerduty", "datadog", "sentry", "azure"}


def incidents(clone) -> dict[tuple[str, str], str]:
    """(integration, title) -> status, of the incidents the test's integrations opened."""
    repo = load(clone).repo
    return {
        (i.alerts[0].source, i.title): i.status
        for i in repo.incidents
        if i.alerts and i.alerts[0].source in SOURCES
    }


@pytest.fixture
def runner(clone):
    add_integrations(clone)
    r = Runner(clone, env=SECRETS)
    r.start()
    yield r
    if r.process and r.process.poll() is None:
        r.kill(signal.SIGTERM)


def send(runner: Runner, path: str, payload: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(
        runner.url + path, data=payload, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def grafana(name: str) -> tuple[str, bytes, dict[str, str]]:
    return "/alerts/grafana/grafana", body(name), bearer(SECRETS["TEST_GRAFANA_TOKEN"])


def pagerduty(name: str) -> tuple[str, bytes, dict[str, str]]:
    payload = body(name)
    return "/alerts/pagerduty/pagerduty", payload, pagerduty_signed(payload, "rotated-out-secret", PD_SECRET)


def sentry(name: str, resource: str) -> tuple[str, bytes, dict[str, str]]:
    payload = body(name)
    return "/alerts/sentry/sentry", payload, sentry_signed(payload, resource)


def test_every_source_is_applied_committed_and_pushed_and_replays_change_nothing(runner, clone):
    posts = [
        grafana("grafana/firing.json"),
        ("/alerts/grafana/grafana-basic", body("grafana/dashboard.json"),
         basic("grafana", SECRETS["TEST_GRAFANA_PASSWORD"])),
        pagerduty("pagerduty/triggered.json"),
        pagerduty("pagerduty/acknowledged.json"),
        ("/alerts/datadog/datadog", body("datadog/triggered.json"), bearer(SECRETS["TEST_DD_TOKEN"])),
        sentry("sentry/issue_created.json", "issue"),
        sentry("sentry/metric_alert_critical.json", "metric_alert"),
        ("/alerts/generic/azure", body("custom/azure_fired.json"), bearer(SECRETS["TEST_AZURE_TOKEN"])),
    ]  # fmt: skip
    for path, payload, headers in posts:
        status, answer = send(runner, path, payload, headers)
        assert (status, answer["status"]) == (200, "accepted"), (path, answer)
    runner.wait_idle()
    wait_for(lambda: runner.metrics()["tidings_runner_pushes_total"] >= 1, what="the first push")
    opened = incidents(clone)
    assert {source for source, _ in opened} == SOURCES and len(
        opened
    ) == 7  # Sentry: an issue, a metric alert
    assert set(opened.values()) == {"investigating"}

    resolves = [
        grafana("grafana/resolved.json"),
        pagerduty("pagerduty/resolved.json"),
        ("/alerts/datadog/datadog", body("datadog/recovered.json"), bearer(SECRETS["TEST_DD_TOKEN"])),
        sentry("sentry/issue_resolved.json", "issue"),
        sentry("sentry/metric_alert_resolved.json", "metric_alert"),
        ("/alerts/generic/azure", body("custom/azure_resolved.json"), bearer(SECRETS["TEST_AZURE_TOKEN"])),
    ]
    for path, payload, headers in resolves:
        assert send(runner, path, payload, headers)[0] == 200, path
    runner.wait_idle()

    def all_resolved() -> bool:
        # Grafana's basic-auth group was left firing.
        return sorted(incidents(clone).values()) == ["investigating"] + ["resolved"] * 6

    wait_for(all_resolved, what="every source's incident to resolve")
    wait_for(
        lambda: runner.metrics()["tidings_runner_journal_depth"] == 0 and _pushed(clone), what="the push"
    )
    log_before = remote_log(clone)

    # Replays of signed requests, and of everything else, change nothing: no commit, counted as duplicates.
    duplicates = runner.metrics()["tidings_runner_duplicates_total"]
    for path, payload, headers in [*posts, *resolves]:
        assert send(runner, path, payload, headers)[0] == 200
    runner.wait_idle()
    wait_for(
        lambda: (
            runner.metrics()["tidings_runner_duplicates_total"] == duplicates + len(posts) + len(resolves)
        ),
        what="the replays to be applied",
    )
    assert remote_log(clone) == log_before

    # The Sentry posts kept their resource header in the journal; the others keep none.
    journal = clone / ".git" / "tidings-runner" / "journal.jsonl"
    records = [e.record for e in read_entries(journal)[0] if "kind" in e.record]
    assert all(r.get("headers", {}).get("sentry-hook-resource") for r in records if r["kind"] == "sentry")
    assert not any("headers" in r for r in records if r["kind"] != "sentry")


def _pushed(clone) -> bool:
    from tidings.store.git import git

    return (
        git(clone, "rev-parse", "HEAD").strip()
        == git(clone.parent / "remote.git", "rev-parse", "main").strip()
    )


def test_refusals_write_nothing_and_known_events_we_ignore_get_202(runner, clone):
    triggered = body("pagerduty/triggered.json")
    bad_shape = json.dumps(
        {"event": {"event_type": "incident.triggered", "data": {"id": "P1", "status": "x"}}}
    ).encode()
    azure = bearer(SECRETS["TEST_AZURE_TOKEN"])

    def pd_signed(payload: bytes) -> dict[str, str]:
        return pagerduty_signed(payload, PD_SECRET)

    cases = [
        # (path, body, headers, status, field)
        ("/alerts/pagerduty/pagerduty", triggered, {}, 401, None),
        ("/alerts/pagerduty/pagerduty", triggered, pagerduty_signed(triggered, "not-the-secret"), 401, None),
        ("/alerts/pagerduty/pagerduty", triggered, bearer(PD_SECRET), 401, None),  # a token is no signature
        ("/alerts/sentry/sentry", triggered, sentry_signed(triggered, "issue", "not-the-secret"), 401, None),
        ("/alerts/grafana/grafana", body("grafana/firing.json"), bearer("guess"), 401, None),
        ("/alerts/grafana/grafana-basic", body("grafana/firing.json"), basic("grafana", "guess"), 401, None),
        ("/alerts/datadog/datadog", body("datadog/triggered.json"), {}, 401, None),
        ("/alerts/pagerduty/pagerduty", b"{oops", pagerduty_signed(b"{oops", PD_SECRET), 400, "(body)"),
        ("/alerts/pagerduty/pagerduty", bad_shape, pd_signed(bad_shape), 422, "event.data.status"),
        ("/alerts/generic/azure", b'{"data": {}}', azure, 422, "data.essentials.alertRule"),
        ("/alerts/pagerduty/grafana", triggered, pagerduty_signed(triggered, PD_SECRET), 404, None),
    ]  # fmt: skip
    for path, payload, headers, status, field in cases:
        code, answer = send(runner, path, payload, headers)
        assert code == status, (path, status, answer)
        if field is not None:
            assert answer["field"] == field
    ignored = [
        pagerduty("pagerduty/service_updated.json"),
        pagerduty("pagerduty/annotated.json"),
        pagerduty("pagerduty/service_updated.json"),
        sentry("sentry/installation.json", "installation"),
    ]
    for path, payload, headers in ignored:
        code, answer = send(runner, path, payload, headers)
        assert (code, answer["status"]) == (202, "ignored"), answer
    metrics = runner.metrics()
    assert metrics['tidings_runner_ignored_total{kind="pagerduty",event="service.updated"}'] == 2
    assert metrics['tidings_runner_ignored_total{kind="pagerduty",event="incident.annotated"}'] == 1
    assert metrics['tidings_runner_ignored_total{kind="sentry",event="installation"}'] == 1
    assert metrics["tidings_runner_received_total"] == 0
    journal = clone / ".git" / "tidings-runner" / "journal.jsonl"
    assert [e.record for e in read_entries(journal)[0] if "kind" in e.record] == []
    runner.kill(signal.SIGTERM)
    assert runner.process is not None and runner.process.stderr is not None
    log = runner.process.stderr.read().decode()
    assert "pagerduty event 'service.updated' ignored" in log
    for secret in SECRETS.values():
        assert secret not in log


def test_a_signed_body_over_a_mebibyte_is_413_before_any_check(clone, monkeypatch):
    """Over real HTTP the runner answers before the client has sent it all (a broken pipe for
    urllib), so this one goes through the app in-process."""
    from starlette.testclient import TestClient

    from tidings.runner.app import create_app

    add_integrations(clone)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    big = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    with TestClient(create_app(clone, do_push=False)) as client:
        answer = client.post("/alerts/sentry/sentry", content=big, headers=sentry_signed(big, "issue"))
        assert answer.status_code == 413
        unsigned = client.post("/alerts/pagerduty/pagerduty", content=big)
        assert unsigned.status_code == 413
    journal = clone / ".git" / "tidings-runner" / "journal.jsonl"
    assert [e.record for e in read_entries(journal)[0] if "kind" in e.record] == []

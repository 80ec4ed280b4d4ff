"""`tidings runner map`: what a sample payload would become, every problem at once, nothing written."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.runner.sources_setup import FIXTURES, add_integrations
from tidings.cli.main import main
from tidings.store.git import git


@pytest.fixture
def repo(clone):
    add_integrations(clone)
    return clone


def tidings(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(main, list(args), input=stdin)


def test_a_mapping_shows_the_alert_and_notes_what_this_payload_lacks(repo):
    head = git(repo, "rev-parse", "HEAD")
    run = tidings("runner", "map", "azure", str(FIXTURES / "custom/azure_fired.json"), str(repo))
    assert run.exit_code == 0, run.output
    out = run.output
    assert "integration azure (generic, custom mapping)" in out
    assert "  title              WCUS-R2-Gen2" in out
    assert "  severity           low" in out  # Sev3 through the mapping's values
    assert "    started          2019-03-22T13:58:24.371321+00:00" in out
    assert "    hosts            wcus-r2-gen2" in out
    assert "    monitoring tool  Platform" in out
    # The fired payload has no resolvedDateTime: a note, not an error.
    assert "note: data.essentials.resolvedDateTime (end_time): not in this payload: " in out
    assert "error:" not in out
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == ""


def test_every_problem_of_a_payload_is_listed_and_it_exits_1(repo):
    payload = {
        "data": {"essentials": {"severity": "Sev1", "firedDateTime": "yesterday", "configurationItems": [{}]}}
    }
    run = tidings("runner", "map", "azure", "-", str(repo), stdin=json.dumps(payload).encode())
    assert run.exit_code == 1
    errors = [line for line in run.output.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: data.essentials.alertRule (title): required, but not in the payload: "
        "data.essentials has no key 'alertRule'",
        "error: data.essentials.firedDateTime (start_time): 'yesterday' is not an RFC 3339 time",
        "error: data.essentials.configurationItems (hosts): expected text or a list of text",
        "error: data.essentials.alertId (fingerprint): required, but not in the payload: "
        "data.essentials has no key 'alertId'",
    ], run.output


def test_any_kind_can_be_previewed_with_its_headers_as_json(repo):
    sample = str(FIXTURES / "sentry/issue_archived.json")
    run = tidings(
        "runner", "map", "sentry", sample, str(repo), "-H", "Sentry-Hook-Resource: issue", "--format", "json"
    )
    assert run.exit_code == 0, run.output
    shown = json.loads(run.output)
    assert shown["ok"] and shown["kind"] == "sentry"
    (alert,) = shown["event"]["alerts"]
    assert (alert["fingerprint"], alert["triage"], alert["triage_by"]) == (
        "1170820242",
        "ignored",
        "Meredith Heller",
    )
    assert alert["starts_at"] == "2019-08-19T20:58:37.391000+00:00"

    missing = tidings("runner", "map", "sentry", sample, str(repo))
    assert missing.exit_code == 1
    assert (
        "error: Sentry-Hook-Resource (the alert): missing: the header saying what the post is about"
        in missing.output
    )

    ignored = tidings(
        "runner", "map", "pagerduty", str(FIXTURES / "pagerduty/service_updated.json"), str(repo)
    )
    assert ignored.exit_code == 0
    assert (
        "ignored (the runner answers 202 and changes nothing): pagerduty event 'service.updated'"
        in ignored.output
    )


def test_an_unknown_integration_is_a_usage_error_with_a_suggestion(repo):
    run = tidings("runner", "map", "grafna", str(FIXTURES / "grafana/firing.json"), str(repo))
    assert run.exit_code == 2
    assert "no integration 'grafna'" in run.output and "did you mean 'grafana'?" in run.output
    bad = tidings(
        "runner", "map", "sentry", str(FIXTURES / "grafana/firing.json"), str(repo), "-H", "nocolon"
    )
    assert bad.exit_code == 2 and "is not 'Name: value'" in bad.output


def test_runner_apply_takes_every_source_and_its_headers(repo):
    sample = str(FIXTURES / "sentry/issue_created.json")
    run = tidings(
        "runner", "apply", sample, str(repo), "--source", "sentry", "-H", "Sentry-Hook-Resource: issue"
    )
    assert run.exit_code == 0, run.output
    assert run.output.startswith("opened 2019-08-19-referenceerror-blooopy-is-not-defined")
    installation = str(FIXTURES / "sentry/installation.json")
    header = "Sentry-Hook-Resource: installation"
    ignored = tidings("runner", "apply", installation, str(repo), "--source", "sentry", "-H", header)
    assert ignored.exit_code == 0 and ignored.output.startswith(
        "ignored: sentry event 'installation' ignored"
    )

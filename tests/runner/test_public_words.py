"""Publishing an incident the runner opened from an alert warns while its public text is the alert's:
`tidings incident publish`, `/publish` from the command line and from Slack, and `runner apply`'s
own mistakes (an unknown integration is a usage error with a did-you-mean)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient

from tests.runner.conftest import TOKEN
from tests.runner.test_slack import SECRET, post
from tidings.cli.main import main
from tidings.content.load import load
from tidings.runner import slack
from tidings.runner.app import create_app
from tidings.store.git import git

ALERT = {
    "title": "CPU usage > 90%",
    "description": "node_cpu_seconds_total on web-1 at 97% for 10 minutes",
    "service": "web",
    "severity": "high",
    "fingerprint": "cpu-web-1",
    "start_time": "2026-11-24T10:00:00Z",
}


def tidings(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def opened_from_an_alert(clone: Path, tmp_path: Path, *push: str) -> str:
    """The runner's incident for ALERT, through `tidings runner apply` (the runner's own path)."""
    payload = tmp_path / "cpu.json"
    payload.write_text(json.dumps(ALERT))
    run = tidings(
        "runner", "apply", payload, clone, "--source", "generic", "--integration", "uptime-checks", *push
    )
    assert run.exit_code == 0, run.output
    action, incident_id = run.stdout.split()[:2]
    assert action == "opened"
    return incident_id


def in_own_words(clone: Path, incident_id: str) -> None:
    """What the README says to do: a title and a summary for customers, in the file, committed."""
    path = clone / f"content/incidents/{incident_id}.md"
    front, _, _ = path.read_text().rpartition("---\n")
    front = front.replace('title: "CPU usage > 90%"', "title: Slow pages on the website").replace(
        "title: CPU usage > 90%", "title: Slow pages on the website"
    )
    path.write_text(front + "---\nSome pages of the website load slowly.\n")
    git(clone, "commit", "-qam", "Public words")


def test_incident_publish_warns_while_the_title_and_summary_are_the_alert_s(clone, tmp_path):
    incident_id = opened_from_an_alert(clone, tmp_path)
    found = load(clone).repo.get("incidents", incident_id)
    assert found.title == "CPU usage > 90%" and found.body.strip() == ALERT["description"]  # type: ignore[union-attr]

    run = tidings("incident", "publish", incident_id, clone, "--body", "We are looking into slow pages.")
    assert run.exit_code == 0, run.output
    assert run.stdout.startswith(f"published incident {incident_id}")  # done all the same
    (warning,) = run.stderr.splitlines()
    assert warning.startswith(f"warning: incident {incident_id} is published with its alert's words: ")
    assert "the title 'CPU usage > 90%' is the alert's" in warning
    assert "the summary (the Markdown below the front matter) is the alert's description" in warning
    assert f"Write what customers should read in content/incidents/{incident_id}.md" in warning
    assert "README 'Public words'" in warning

    # In words of its own, publishing again (after taking it off) says nothing.
    assert tidings("incident", "unpublish", incident_id, clone).exit_code == 0
    in_own_words(clone, incident_id)
    again = tidings("incident", "publish", incident_id, clone)
    assert again.exit_code == 0 and again.stderr == "", again.output


def test_the_publish_quick_action_warns_too_naming_only_what_is_left(clone, tmp_path):
    incident_id = opened_from_an_alert(clone, tmp_path)
    path = clone / f"content/incidents/{incident_id}.md"
    front, _, _ = path.read_text().rpartition("---\n")
    path.write_text(front + "---\nSome pages of the website load slowly.\n")  # the summary rewritten
    git(clone, "commit", "-qam", "Summary")
    run = tidings("incident", "update", incident_id, clone, "--body", "We are looking into it.\n/publish")
    assert run.exit_code == 0, run.output
    assert "the title 'CPU usage > 90%' is the alert's" in run.stderr
    assert "alert's description" not in run.stderr


def test_publish_from_a_commit_message_warns(clone, tmp_path):
    incident_id = opened_from_an_alert(clone, tmp_path)
    path = clone / f"content/incidents/{incident_id}.md"
    # The runner's update made public by hand: the one public update, and still the alert's text.
    path.write_text(path.read_text().replace("internal: true\n    author: runner", "author: runner", 1))
    git(
        clone,
        "commit",
        "-qam",
        f"Identified\n\nWe found the cause.\n/publish\n\nTidings-Incident: {incident_id}",
    )
    run = tidings("incident", "quick-actions", "HEAD", clone)
    assert run.exit_code == 0, run.output
    assert f"warning: incident {incident_id} is published with its alert's words: " in run.stderr
    assert "is the runner's alert text" in run.stderr and "the title 'CPU usage > 90%'" in run.stderr
    assert load(clone).repo.get("incidents", incident_id).published  # type: ignore[union-attr]


def test_an_incident_a_person_opened_never_warns(clone):
    run = tidings(
        "incident", "open", clone, "--title", "CPU usage > 90%", "--published", "--body", "Looking."
    )
    assert run.exit_code == 0 and run.stderr == "", run.output


@pytest.fixture
def slack_client(clone, monkeypatch):
    monkeypatch.setenv("TIDINGS_TOKEN_PROMETHEUS", TOKEN)
    monkeypatch.setenv(slack.SECRET_ENV, SECRET)

    def start() -> TestClient:
        return TestClient(create_app(clone, do_push=True))

    return start


def test_slack_publish_warns_in_the_channel_and_names_the_incident_once(clone, tmp_path, slack_client):
    incident_id = opened_from_an_alert(clone, tmp_path, "--push")
    with slack_client() as client:
        status, answer = post(client, f"comment {incident_id} We are looking into slow pages.\n/publish")
    assert status == 200 and answer["response_type"] == "in_channel", answer
    assert answer["text"] == f":speech_balloon: Comment on `{incident_id}`"  # the id once, not twice
    sections = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]
    warnings = [text for text in sections if text.startswith(":warning:")]
    assert len(warnings) == 1 and "the title 'CPU usage &gt; 90%' is the alert's" in warnings[0]
    assert load(clone).repo.get("incidents", incident_id).published  # type: ignore[union-attr]


def test_slack_declare_names_the_incident_once(clone, slack_client):
    before = {i.id for i in load(clone).repo.incidents}
    with slack_client() as client:
        status, answer = post(client, "declare template:database-outage")  # no title: the template's
    assert status == 200 and answer["response_type"] == "in_channel", answer
    (declared,) = {i.id for i in load(clone).repo.incidents} - before
    assert answer["blocks"][0]["text"]["text"].count(declared) == 1, answer
    assert answer["text"].count(declared) == 1, answer


def test_runner_apply_with_an_unknown_integration_is_a_usage_error_with_a_did_you_mean(clone, tmp_path):
    payload = tmp_path / "cpu.json"
    payload.write_text(json.dumps(ALERT))
    head = git(clone, "rev-parse", "HEAD")
    run = tidings("runner", "apply", payload, clone, "--source", "generic", "--integration", "uptime-check")
    assert run.exit_code == 2, run.output
    assert "no generic integration 'uptime-check' in .gitlab/integrations.yml" in run.stderr
    assert "did you mean 'uptime-checks'?" in run.stderr
    nope = tidings("runner", "apply", payload, clone, "--source", "generic", "--integration", "nope")
    assert nope.exit_code == 2 and "its generic integrations: uptime-checks, synthetics" in nope.stderr
    kind = tidings("runner", "apply", payload, clone, "--source", "generic", "--integration", "prometheus")
    assert (
        kind.exit_code == 2
        and "integration 'prometheus' takes alertmanager payloads, not generic" in kind.stderr
    )
    assert git(clone, "rev-parse", "HEAD") == head  # nothing applied

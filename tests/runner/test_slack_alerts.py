"""Slack's alert commands: `/incident alerts <incident>`, `/incident alert ack|resolve|ignore <id>`, and
alert quick actions in a comment, signed and sent to a real `tidings runner serve` with a bare remote.

The alerts come in as they do in production: Alertmanager's captured group of three, posted to the
same runner.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.runner.conftest import RAW, Runner, remote_log, wait_for
from tests.runner.test_slack import AMARA, SECRET, _send, form, signed
from tidings.content.load import parse_content
from tidings.content.model import AlertRecord, Incident
from tidings.runner import slack
from tidings.runner.slack import CommandError, parse_command
from tidings.store.git import git

INCIDENT = "2026-11-22-highlatency-service-web"


def on_remote(clone: Path, rel: str) -> str:
    return git(clone.parent / "remote.git", "show", f"main:{rel}")


def remote_alerts(clone: Path) -> dict[str, AlertRecord]:
    """The alert records the remote holds, by id (what the runner pushed, not its working tree)."""
    names = git(clone.parent / "remote.git", "ls-tree", "--name-only", "main", "content/alerts/").split()
    found = {}
    for rel in names:
        record = parse_content(rel, on_remote(clone, rel)).domain
        assert isinstance(record, AlertRecord)
        found[record.id] = record
    return found


def remote_incident(clone: Path) -> Incident:
    rel = f"content/incidents/{INCIDENT}.md"
    incident = parse_content(rel, on_remote(clone, rel)).domain
    assert isinstance(incident, Incident)
    return incident


def changed_on_remote(clone: Path) -> list[str]:
    return sorted(git(clone.parent / "remote.git", "show", "--name-only", "--format=", "main").split())


@pytest.fixture
def served(clone):
    """A real runner with Slack on, and Alertmanager's group of three applied and pushed."""
    runner = Runner(clone, env={slack.SECRET_ENV: SECRET})
    runner.start()
    try:
        assert runner.post((RAW / "group_1.body").read_bytes()) == 200
        wait_for(lambda: len(remote_alerts(clone)) == 3, what="the three alert records on the remote")
        yield runner
    finally:
        runner.kill()


def test_alerts_then_ack_one_then_the_rest_from_a_comment(served, clone):
    first, second, third = sorted(remote_alerts(clone))
    status, answer = _send(served, *signed(f"alerts {INCIDENT}"))
    assert status == 200 and answer["response_type"] == "ephemeral", answer
    assert answer["text"] == f"{INCIDENT}: 3 alerts (3 triggered)"
    shown = json.dumps(answer["blocks"])
    assert all(f"*triggered* `{i}` critical: HighLatency on web-" in shown for i in (first, second, third))
    assert remote_log(clone)[0].startswith("runner: ")  # reading changed nothing

    status, answer = _send(served, *signed(f"alert ack {first} looking at web-1"))
    assert status == 200 and answer["response_type"] == "in_channel", answer
    assert f":eyes: Alert `{first}` acknowledged (incident `{INCIDENT}`) by <@{AMARA}>" in json.dumps(
        answer["blocks"]
    )
    wait_for(lambda: remote_log(clone)[0] == f"Acknowledge alert {first} by amara", what="the pushed ack")
    record = remote_alerts(clone)[first]
    assert record.status == "acknowledged"
    assert (record.events[-1].by, record.events[-1].reason) == ("amara", "looking at web-1")
    message = git(clone.parent / "remote.git", "log", "-1", "--format=%an%n%B", "main")
    assert message.startswith("Tidings runner\n")
    for trailer in (
        f"Tidings-Alert: {first}",
        "Tidings-Person: amara",
        f"Tidings-Slack-User: {AMARA} (amara)",
    ):
        assert trailer in message
    assert "Tidings-Journal-Seq: " in message
    assert remote_incident(clone).acknowledged_at is None  # two alerts still trigger it

    status, answer = _send(served, *signed(f"comment {INCIDENT} Rolling back the deploy.\n/ack-alerts"))
    assert status == 200 and answer["response_type"] == "in_channel", answer
    wait_for(lambda: remote_log(clone)[0] == f"Comment on incident {INCIDENT} by amara", what="the comment")
    assert [remote_alerts(clone)[i].status for i in (first, second, third)] == ["acknowledged"] * 3
    incident = remote_incident(clone)
    assert incident.acknowledged_at is not None and incident.updates[-1].body == "Rolling back the deploy."
    assert changed_on_remote(clone) == sorted(
        [f"content/incidents/{INCIDENT}.md", f"content/alerts/{second}.yml", f"content/alerts/{third}.yml"]
    )

    # Nonsense and typos answer only the sender, with the reason or a did-you-mean, and change nothing.
    before = remote_log(clone)
    for text, error in [
        (f"alert ack {first}", f"cannot acknowledge alert {first}: it is acknowledged already"),
        (
            f"alert resolve {first[:-1]}x",
            f"no alert '{first[:-1]}x' in content/alerts/ (did you mean '{first}'?)",
        ),
        (f"comment {INCIDENT} /ack-alerts", "no alert of incident"),
        (f"alerts {INCIDENT[:-1]}", f"(did you mean '{INCIDENT}'?)"),
    ]:
        status, answer = _send(served, *signed(text))
        assert status == 200 and answer["response_type"] == "ephemeral", answer
        assert error in answer["text"], answer["text"]
    assert remote_log(clone) == before
    assert git(clone, "status", "--porcelain") == ""

    status, answer = _send(served, *signed(f"alert ignore {second} the probe on web-2 was down"))
    assert status == 200 and answer["response_type"] == "in_channel", answer
    wait_for(lambda: remote_log(clone)[0] == f"Ignore alert {second} by amara", what="the ignore")
    status, answer = _send(served, *signed(f"alerts {INCIDENT}"))
    assert answer["text"] == f"{INCIDENT}: 3 alerts (2 acknowledged, 1 ignored)"


def test_an_unknown_slack_user_is_named_by_their_slack_name(served, clone):
    first = sorted(remote_alerts(clone))[0]
    status, answer = _send(
        served, *signed(f"alert resolve {first}", user_id="U2CERLKJA", user_name="roadrunner")
    )
    assert status == 200 and answer["response_type"] == "in_channel", answer
    wait_for(lambda: remote_log(clone)[0] == f"Resolve alert {first} by @roadrunner", what="the resolve")
    assert remote_alerts(clone)[first].events[-1].by == "@roadrunner"
    message = git(clone.parent / "remote.git", "log", "-1", "--format=%B", "main")
    assert "Tidings-Slack-User: U2CERLKJA (roadrunner)" in message and "Tidings-Person" not in message


def test_alert_command_syntax():
    command = parse_command(form("alert ACK prometheus-0a065a0f43b1 the probe,  again\nand more"))
    assert (command.action, command.alert_action, command.alert_id, command.text) == (
        "alert",
        "acknowledge",
        "prometheus-0a065a0f43b1",
        "the probe, again and more",  # one line in the alert's events
    )
    assert parse_command(form("alert unack x-1")).alert_action == "unacknowledge"
    assert parse_command(form(f"alerts {INCIDENT}")).incident_id == INCIDENT


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("alert", "`/incident alert` needs what to do and an alert id"),
        (
            "alert ak x-1",
            "`/incident alert ak`: say ack, acknowledge, unack, resolve, ignore (did you mean 'ack'?)",
        ),
        ("alert ignore", "`/incident alert ignore` needs an alert id"),
        ("alerts", "`/incident alerts` needs an incident id"),
        (f"alerts {INCIDENT} more", "`/incident alerts <id>` takes nothing after the id"),
        ("alrts x", "(did you mean 'alerts'?)"),
    ],
)
def test_alert_command_errors(text, error):
    with pytest.raises(CommandError) as caught:
        parse_command(form(text))
    assert error in str(caught.value)


def test_the_readme_alert_examples_parse():
    from tests.conftest import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Slack\n", 1)[1].split("\nAlerts from Slack", 1)[1]
    commands: list[str] = []
    for line in section.splitlines():
        if line.startswith("    /incident "):
            commands.append(line.strip().removeprefix("/incident "))
        elif line.startswith("    /") and commands:
            commands[-1] += "\n" + line.strip()
        elif commands and not line.startswith("    "):
            break
    parsed = [parse_command(form(text)) for text in commands]
    assert [(c.action, c.alert_action) for c in parsed] == [
        ("alerts", ""),
        ("alert", "acknowledge"),
        ("alert", "ignore"),
        ("comment", ""),
    ]
    assert parsed[2].text == "the probe on web-3 was down"
    assert parsed[3].text == "Rolled back the deploy.\n/resolve-alerts"

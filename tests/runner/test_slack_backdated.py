"""Slack's `at:TIME` (a backdated comment or close) and the quick actions that change what
responders used to edit by hand (`/title`, `/component`, `/started-at`), through the runner's
real endpoint on a clone of a bare remote, and through `run_command` at a fixed time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.runner.conftest import TOKEN, remote_log
from tests.runner.test_slack import LAG, SECRET, form, incident, post
from tidings.content.load import load
from tidings.runner import slack
from tidings.runner.app import create_app
from tidings.runner.slack import CommandError, parse_command, run_command
from tidings.store.git import git


@pytest.fixture
def client(clone: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("TIDINGS_TOKEN_PROMETHEUS", TOKEN)
    monkeypatch.setenv(slack.SECRET_ENV, SECRET)
    with TestClient(create_app(clone, do_push=True)) as test_client:
        yield test_client


def test_at_goes_right_after_the_id_of_a_comment_or_a_close() -> None:
    command = parse_command(form(f"comment {LAG} at:09:12 The replica stopped.\n/severity high"))
    assert (command.at, command.text) == ("09:12", "The replica stopped.\n/severity high")
    command = parse_command(form(f"close {LAG} AT:2026-11-24T09:12:00Z Caught up."))
    assert (command.action, command.at, command.text) == ("close", "2026-11-24T09:12:00Z", "Caught up.")
    assert parse_command(form(f"close {LAG} at:09:12")).text == ""
    # Anywhere else it is text, as it always was.
    assert parse_command(form(f"comment {LAG} Seen at:09:12 first.")).at == ""


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (f"comment {LAG} at:soon Hi.", "`at:soon`: 'soon' is not a time"),
        (f"comment {LAG} at:2026-11-24T09:12 Hi.", "has no timezone offset"),
        (f"comment {LAG} at:09:12", "what should the comment say?"),
        (f"ack {LAG} at:09:12", "takes nothing after the id"),
    ],
)
def test_at_mistakes(text: str, error: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(form(text))
    assert error in str(caught.value)


def test_a_backdated_comment_and_close_through_the_endpoint(client, clone: Path) -> None:
    status, answer = post(
        client, f"comment {LAG} at:2026-11-24T03:00:00+01:00 The replica stopped replaying."
    )
    assert status == 200 and answer["response_type"] == "in_channel", answer
    updates = incident(clone, LAG).updates
    assert [(u.at, u.body.strip()) for u in updates[:2]] == [
        (datetime(2026, 11, 24, 1, 41, 30, tzinfo=UTC), updates[0].body.strip()),
        (datetime(2026, 11, 24, 2, 0, tzinfo=UTC), "The replica stopped replaying."),
    ]
    assert updates[1].internal and updates[1].author == "amara"
    assert "dated 2026-11-24T02:00:00Z" in answer["blocks"][1]["elements"][0]["text"]
    assert "- dated 2026-11-24T02:00:00Z\n" in git(clone, "log", "-1", "--format=%B")

    status, answer = post(client, f"close {LAG} at:2026-11-24T06:10:00Z Caught up.")
    assert status == 200 and answer["response_type"] == "in_channel", answer
    found = incident(clone, LAG)
    assert (found.status, found.resolved_at) == ("resolved", datetime(2026, 11, 24, 6, 10, tzinfo=UTC))
    assert remote_log(clone)[:2] == [
        f"Resolve incident {LAG} by amara",
        f"Comment on incident {LAG} by amara",
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (f"comment {LAG} at:2026-11-24T00:30:00Z Early.", f"incident {LAG} started at 2026-11-24T01:41:00Z"),
        (f"comment {LAG} at:2999-01-01T00:00:00Z Later.", "that is in the future"),
        (f"comment {LAG} at:<!channel> Hi.", "is not a time"),
        ("declare DB down sev:<!channel>", "the severity is one of"),
        ("declare DB down status:<!channel>", "the status is one of"),
        ("<!channel> hi", "no subcommand"),
        ("alert <!channel> x", ""),
        (f"comment {LAG} /component postgress=major_outage", "unknown component 'postgress' (did you mean"),
        (f"comment {LAG} /started-at 2026-11-24T05:00:00Z", "the incident cannot start then"),
    ],
)
def test_mistakes_are_answered_privately_escaped_and_change_nothing(client, clone: Path, text, error) -> None:
    head, remote = git(clone, "rev-parse", "HEAD"), remote_log(clone)
    status, answer = post(client, text)
    assert status == 200 and answer["response_type"] == "ephemeral", answer
    assert error in answer["text"] and "<!channel>" not in json.dumps(answer)
    assert git(clone, "rev-parse", "HEAD") == head and remote_log(clone) == remote
    assert git(clone, "status", "--porcelain") == ""


def test_a_comment_changes_title_components_and_start(client, clone: Path) -> None:
    text = (
        f"comment {LAG} Failing over.\n/title Replica lag <on> db-cluster-07\n"
        "/component postgres=major_outage api=degraded_performance\n/started-at 2026-11-24T01:30:00Z"
    )
    status, answer = post(client, text)
    assert status == 200 and answer["response_type"] == "in_channel", answer
    found = incident(clone, LAG)
    assert found.title == "Replica lag <on> db-cluster-07"
    assert dict(found.components) == {"postgres": "major_outage", "api": "degraded_performance"}
    assert found.started_at == datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
    details = answer["blocks"][1]["elements"][0]["text"]
    assert 'title changed to "Replica lag &lt;on&gt; db-cluster-07"' in details  # escaped for Slack
    assert "postgres degraded_performance → major_outage, api added (degraded_performance)" in details
    message = git(clone, "log", "-1", "--format=%B")
    assert "Tidings-Person: amara" in message and "Tidings-Slack-User: U04AMARA01 (amara)" in message


def test_at_as_a_time_of_day_is_today_in_the_site_s_timezone(clone: Path) -> None:
    """`at:09:12` with the clock at 09:30Z on 2026-11-24: 09:12 in Europe/Berlin, 08:12Z."""
    now = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    repo = load(clone).repo
    reply = run_command(clone, repo, parse_command(form(f"comment {LAG} at:09:12 Lag is back down.")), now)
    assert reply.response_type == "in_channel", reply
    assert incident(clone, LAG).updates[-1].at == datetime(2026, 11, 24, 8, 12, tzinfo=UTC)
    # A time of day the clocks skip cannot be placed without guessing.
    head = git(clone, "rev-parse", "HEAD")
    spring = datetime(2026, 3, 29, 12, tzinfo=UTC)
    reply = run_command(clone, repo, parse_command(form(f"comment {LAG} at:02:30 Hi.")), spring)
    assert reply.response_type == "ephemeral"
    assert "at:02:30: 02:30 does not exist on 2026-03-29 in Europe/Berlin" in reply.text
    assert git(clone, "rev-parse", "HEAD") == head

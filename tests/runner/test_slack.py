"""Slack slash commands: Slack's own signature example, command parsing, the endpoint in process,
and signed requests against the real runner server on 127.0.0.1 (a clone of a bare remote)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.runner.conftest import TOKEN, Runner, remote_log, wait_for
from tidings.content.load import load
from tidings.content.model import Incident
from tidings.runner import slack
from tidings.runner.app import create_app
from tidings.runner.slack import CommandError, check_signature, parse_command, sign
from tidings.store.git import git

# https://api.slack.com/authentication/verifying-requests-from-slack
EXAMPLE_SECRET = b"8f742231b10e8888abcd99yyyzzz85a5"
EXAMPLE_TIMESTAMP = "1531420618"
EXAMPLE_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
    b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
    b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXAMPLE_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

SECRET = "a-slack-signing-secret-for-tests"
LAG = "2026-11-24-postgres-replica-lag"
AMARA = "U04AMARA01"  # content/people.yml: amara's chat.slack


# --- signatures ------------------------------------------------------------------------------------


def test_slacks_published_example_verifies_with_the_clock_at_its_timestamp(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EXAMPLE_TIMESTAMP)
    from tidings import clock

    now = clock.now()
    assert now == datetime.fromtimestamp(int(EXAMPLE_TIMESTAMP), UTC)
    assert sign(EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, EXAMPLE_BODY) == EXAMPLE_SIGNATURE
    assert check_signature(EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, EXAMPLE_BODY, EXAMPLE_SIGNATURE, now) == ""
    # Five minutes either way is still fresh; a second more is a replay.
    for seconds in (-300, 300):
        later = now + timedelta(seconds=seconds)
        assert (
            check_signature(EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, EXAMPLE_BODY, EXAMPLE_SIGNATURE, later) == ""
        )
    stale = now + timedelta(seconds=301)
    assert "five minutes" in check_signature(
        EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, EXAMPLE_BODY, EXAMPLE_SIGNATURE, stale
    )
    # Anything changed fails: the body, the timestamp, the secret, the signature's case or version.
    assert check_signature(EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, EXAMPLE_BODY + b"&x=1", EXAMPLE_SIGNATURE, now)
    assert check_signature(EXAMPLE_SECRET, "1531420619", EXAMPLE_BODY, EXAMPLE_SIGNATURE, now)
    assert check_signature(b"another-secret", EXAMPLE_TIMESTAMP, EXAMPLE_BODY, EXAMPLE_SIGNATURE, now)
    assert check_signature(EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, EXAMPLE_BODY, EXAMPLE_SIGNATURE.upper(), now)
    assert check_signature(EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, EXAMPLE_BODY, "v1" + EXAMPLE_SIGNATURE[2:], now)
    assert check_signature(EXAMPLE_SECRET, "", EXAMPLE_BODY, EXAMPLE_SIGNATURE, now)
    # The example's form, as the endpoint reads it: an empty text is the help.
    assert parse_command(slack.form_of(EXAMPLE_BODY)).action == "help"


# --- parsing commands ------------------------------------------------------------------------------


def form(text: str, user_id: str = AMARA, user_name: str = "amara") -> dict[str, str]:
    return {
        "text": text,
        "user_id": user_id,
        "user_name": user_name,
        "response_url": "https://hooks.example/r",
    }


def test_declare_syntax():
    command = parse_command(
        form('declare "DB down" sev:HIGH comp:postgres comp:storage=degraded_performance')
    )
    assert (command.action, command.title, command.severity) == ("declare", "DB down", "high")
    assert command.components == ("postgres", "storage=degraded_performance")
    command = parse_command(form("declare Can't log in to the dashboard severity:critical component:web"))
    assert command.title == "Can't log in to the dashboard" and command.severity == "critical"
    command = parse_command(form("declare “Smart quotes” status:identified template:database-outage"))
    assert (command.title, command.status, command.template) == (
        "Smart quotes",
        "identified",
        "database-outage",
    )
    assert parse_command(form("declare template:database-outage")).title == ""


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("declare", "needs a title"),
        ("declare DB down sev:hihg", "(did you mean 'high'?)"),
        ("declare DB down status:fixed", "the status is one of"),
        ("declair DB down", "no subcommand `declair` (did you mean 'declare'?)"),
        ("comment", "needs an incident id"),
        ("comment 2026-11-24-x", "what should the comment say?"),
        ("timeline 2026-11-24-x more", "takes nothing after the id"),
    ],
)
def test_command_errors(text, error):
    with pytest.raises(CommandError) as caught:
        parse_command(form(text))
    assert error in str(caught.value)


def test_comment_keeps_its_lines_for_quick_actions():
    command = parse_command(
        form(f"comment {LAG} Replica rebuilt.\n/severity critical\n/assign <@U04JONAS02>")
    )
    assert (command.incident_id, command.text) == (
        LAG,
        "Replica rebuilt.\n/severity critical\n/assign <@U04JONAS02>",
    )
    command = parse_command(form(f"comment {LAG}\n/severity low"))
    assert command.text == "/severity low"


# --- the endpoint, in process ----------------------------------------------------------------------


def signed(text: str, when: float | None = None, secret: str = SECRET, **fields: str) -> tuple[bytes, dict]:
    data = {
        "token": "legacy-ignored",
        "team_id": "T1",
        "channel_id": "C1",
        "command": "/incident",
        "trigger_id": "1.2.3",
        **form(text),
        **fields,
    }
    body = urllib.parse.urlencode(data).encode()
    timestamp = str(int(time.time() if when is None else when))
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(secret.encode(), timestamp, body),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return body, headers


@pytest.fixture
def client(clone, monkeypatch):
    monkeypatch.setenv("TIDINGS_TOKEN_PROMETHEUS", TOKEN)
    monkeypatch.setenv(slack.SECRET_ENV, SECRET)
    with TestClient(create_app(clone, do_push=True)) as test_client:
        yield test_client


def incident(root: Path, incident_id: str) -> Incident:
    result = load(root)
    assert [d.as_text() for d in result.errors] == []
    found = result.repo.get("incidents", incident_id)
    assert isinstance(found, Incident)
    return found


def post(client, text: str, **options) -> tuple[int, dict]:
    body, headers = signed(text, **options)
    response = client.post("/slack/commands", content=body, headers=headers)
    return response.status_code, response.json()


def test_declare_comment_timeline_close(client, clone):
    today = datetime.now(UTC).date().isoformat()
    status, answer = post(client, 'declare "Checkout down" sev:high comp:api=major_outage')
    new_id = f"{today}-checkout-down"
    assert status == 200 and answer["response_type"] == "in_channel", answer
    assert f"(`{new_id}`) by <@{AMARA}>" in answer["blocks"][0]["text"]["text"]
    inc = incident(clone, new_id)
    assert (inc.title, inc.severity, dict(inc.components)) == (
        "Checkout down",
        "high",
        {"api": "major_outage"},
    )
    assert inc.updates[0].author == "amara" and inc.updates[0].body == "Opened by amara (via Slack)."
    message = git(clone, "log", "-1", "--format=%an%n%B")
    assert message.startswith(f"Tidings runner\nOpen incident {new_id} by amara\n")
    assert (
        f"Tidings-Incident: {new_id}\nTidings-Person: amara\nTidings-Slack-User: {AMARA} (amara)\n" in message
    )
    assert "Tidings-Journal-Seq: 1" in message
    assert remote_log(clone)[0] == f"Open incident {new_id} by amara"  # pushed

    status, answer = post(
        client, f"comment {new_id} Rolling back the deploy.\n/severity critical\n/assign @jonas"
    )
    assert status == 200 and answer["response_type"] == "in_channel", answer
    inc = incident(clone, new_id)
    assert (inc.severity, inc.assignees) == ("critical", ["jonas"])
    last = inc.updates[-1]
    assert (last.body, last.internal, last.author) == ("Rolling back the deploy.", True, "amara")
    assert "severity high → critical; assigned jonas" in answer["blocks"][1]["elements"][0]["text"]

    status, answer = post(client, f"timeline {new_id}")
    assert status == 200 and answer["response_type"] == "ephemeral"
    shown = json.dumps(answer["blocks"])
    assert "Rolling back the deploy." in shown and "_internal_" in shown

    status, answer = post(client, f"close {new_id} Deploy rolled back; checkout works again.")
    assert status == 200 and answer["response_type"] == "in_channel"
    inc = incident(clone, new_id)
    assert inc.status == "resolved" and inc.updates[-1].body == "Deploy rolled back; checkout works again."
    assert remote_log(clone)[:3] == [
        f"Resolve incident {new_id} by amara",
        f"Comment on incident {new_id} by amara",
        f"Open incident {new_id} by amara",
    ]
    assert git(clone, "status", "--porcelain") == ""


def test_a_comment_that_publishes_is_the_public_update(client, clone):
    status, answer = post(client, f"comment {LAG} Some database reads are slow.\n/publish")
    assert status == 200, answer
    inc = incident(clone, LAG)
    assert inc.published and inc.public_updates[-1].body == "Some database reads are slow."


def test_unknown_slack_users_act_under_their_slack_name(client, clone):
    status, answer = post(client, f"ack {LAG}", user_id="U2CERLKJA", user_name="roadrunner")
    assert status == 200 and answer["response_type"] == "in_channel", answer
    inc = incident(clone, LAG)
    assert inc.acknowledged_at is not None and inc.updates[-1].author == "@roadrunner"
    message = git(clone, "log", "-1", "--format=%B")
    assert "Tidings-Slack-User: U2CERLKJA (roadrunner)" in message and "Tidings-Person" not in message


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (f"comment {LAG.replace('replica', 'replca')} hi", f"(did you mean '{LAG}'?)"),
        (f"comment {LAG} /sevrity high", "unknown quick action '/sevrity' (did you mean '/severity'?)"),
        (f"comment {LAG} /assign @nobody", "unknown person 'nobody'"),
        ("declare X comp:postgress", "unknown component 'postgress' (did you mean 'postgres'?)"),
        ("declair X", "no subcommand `declair`"),
        (f"timeline {LAG}x", "no incident"),
    ],
)
def test_mistakes_are_answered_privately_and_change_nothing(client, clone, text, error):
    head, remote = git(clone, "rev-parse", "HEAD"), remote_log(clone)
    status, answer = post(client, text)
    assert status == 200 and answer["response_type"] == "ephemeral"
    assert error in answer["text"]
    assert git(clone, "rev-parse", "HEAD") == head and remote_log(clone) == remote
    assert git(clone, "status", "--porcelain") == ""


def test_help(client):
    status, answer = post(client, "help")
    assert status == 200 and "/incident declare" in answer["text"] and answer["response_type"] == "ephemeral"


def _journal(clone: Path) -> str:
    path = clone / ".git/tidings-runner/journal.jsonl"
    return path.read_text() if path.exists() else ""


def test_bad_requests_get_401_and_change_nothing(client, clone, monkeypatch):
    head, journal = git(clone, "rev-parse", "HEAD"), _journal(clone)
    text = 'declare "Forged" sev:critical'
    forged = signed(text, secret="not-the-secret")
    # Well past the five minutes either way: a whole-second timestamp 301 s ahead could round into them.
    stale = signed(text, when=time.time() - 330)
    future = signed(text, when=time.time() + 330)
    body, headers = signed(text)
    tampered = (body.replace(b"Forged", b"Tampered"), headers)
    unsigned = (body, {"X-Slack-Request-Timestamp": headers["X-Slack-Request-Timestamp"]})
    for request_body, request_headers in (forged, stale, future, tampered, unsigned, (body, {})):
        response = client.post("/slack/commands", content=request_body, headers=request_headers)
        assert response.status_code == 401 and response.json() == {"error": "request not verified"}
    assert git(clone, "rev-parse", "HEAD") == head and _journal(clone) == journal
    # A good one goes through once; the same request again is a replay.
    good = signed(f"comment {LAG} once")
    assert client.post("/slack/commands", content=good[0], headers=good[1]).status_code == 200
    after = git(clone, "rev-parse", "HEAD")
    assert after != head
    replay = client.post("/slack/commands", content=good[0], headers=good[1])
    assert replay.status_code == 401
    assert git(clone, "rev-parse", "HEAD") == after
    # Without a secret configured, nothing is verified, so nothing is accepted.
    monkeypatch.delenv(slack.SECRET_ENV)
    response = client.post("/slack/commands", content=signed(text)[0], headers=signed(text)[1])
    assert response.status_code == 401


def test_a_slow_answer_goes_to_the_response_url(client, clone, http_receiver, monkeypatch):
    monkeypatch.setattr(slack, "REPLY_WAIT", 0.0)
    notifications = clone / ".gitlab" / "notifications.yml"  # the stand-in is on loopback: allowed on purpose
    notifications.write_text(notifications.read_text() + "allow_networks: [127.0.0.0/8]\n")
    status, answer = post(client, f"comment {LAG} Slow one.", response_url=f"{http_receiver.url}/response")
    assert status == 200 and answer["response_type"] == "ephemeral" and "Working on it" in answer["text"]
    late = wait_for(lambda: http_receiver.at("/response"), what="the late answer")
    assert late[0].json()["response_type"] == "in_channel"
    assert late[0].json()["replace_original"] is False
    assert incident(clone, LAG).updates[-1].body == "Slow one."


# --- the real server -------------------------------------------------------------------------------


def _send(runner: Runner, body: bytes, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(runner.url + "/slack/commands", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_signed_commands_against_the_real_server(clone):
    runner = Runner(clone, env={slack.SECRET_ENV: SECRET})
    runner.start()
    try:
        today = datetime.now(UTC).date().isoformat()
        status, answer = _send(runner, *signed('declare "Postgres primary down" sev:high comp:postgres'))
        assert status == 200 and answer["response_type"] == "in_channel", answer
        new_id = f"{today}-postgres-primary-down"
        remote = clone.parent / "remote.git"
        wait_for(
            lambda: remote_log(clone)[0] == f"Open incident {new_id} by amara", what="the pushed declare"
        )
        shown = git(remote, "show", f"main:content/incidents/{new_id}.md")
        assert "severity: high\n" in shown and "postgres: partial_outage" in shown

        request = signed(f"comment {new_id} Failing over.\n/severity critical")
        status, answer = _send(runner, *request)
        assert status == 200, answer
        wait_for(lambda: remote_log(clone)[0] == f"Comment on incident {new_id} by amara", what="the comment")
        assert "severity: critical\n" in git(remote, "show", f"main:content/incidents/{new_id}.md")

        before = remote_log(clone)
        replayed = _send(runner, *request)
        forged = _send(runner, *signed(f"close {new_id}", secret="guessed"))
        stale = _send(runner, *signed(f"close {new_id}", when=time.time() - 600))
        assert [r[0] for r in (replayed, forged, stale)] == [401, 401, 401]
        time.sleep(0.3)
        assert remote_log(clone) == before
        assert git(clone, "log", "-1", "--format=%s").strip() == f"Comment on incident {new_id} by amara"
        assert "status: investigating" in git(remote, "show", f"main:content/incidents/{new_id}.md")
    finally:
        runner.kill()


def test_the_readme_examples_parse():
    from tests.conftest import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Slack\n", 1)[1]
    commands: list[str] = []
    for line in section.splitlines():
        if line.startswith("    /incident "):
            commands.append(line.strip().removeprefix("/incident "))
        elif line.startswith("    /") and commands:
            commands[-1] += "\n" + line.strip()
        elif commands and not line.startswith("    "):
            break
    parsed = [parse_command(form(text)) for text in commands]
    assert [c.action for c in parsed] == ["declare", "comment", "comment", "timeline", "close", "ack", "help"]
    assert parsed[0].components == ("postgres", "storage=degraded_performance")
    assert parsed[1].text == "Failing over.\n/severity critical\n/component postgres=major_outage"
    assert (parsed[2].at, parsed[2].text) == ("09:12", "The replica stopped replicating.")

"""Notifiers against real local servers: an HTTP receiver that checks signatures, and aiosmtpd."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import PROJECT_ROOT
from tests.runner.receivers import HttpReceiver, SmtpReceiver
from tidings.content.documents import make_yaml, plain
from tidings.content.model import (
    EmailChannel,
    NotificationsFile,
    Person,
    RetrySettings,
    SlackChannel,
    WebhookChannel,
)
from tidings.runner.escalation.notifiers import Message, deliver, slack_payload, verify_signature
from tidings.runner.outbound import networks

NOW = datetime(2026, 11, 17, 15, 50, tzinfo=UTC)
SECRET = "whsec-test-secret"
FAST = RetrySettings(attempts=3, backoff_seconds=0.01, timeout_seconds=5)
PRIYA = Person(id="priya", name="Priya Raman", email="priya.raman@example.com", timezone="America/New_York",
               chat={"slack": "U04PRIYA03"})  # fmt: skip

# The receivers here are on loopback, which the runner calls only where the repo allows it.
LOOPBACK = networks(["127.0.0.0/8"])


def message(**fields: object) -> Message:
    values: dict[str, object] = {
        "key": "0123456789abcdef0123456789abcdef",
        "at": NOW,
        "site": "Lumen Cloud Status",
        "incident_id": "2026-11-17-db",
        "title": "Database <down> & out",
        "severity": "critical",
        "status": "investigating",
        "started_at": NOW,
        "components": {"postgres": "major_outage"},
        "policy_id": "default",
        "policy_name": "Default escalation",
        "round": 1,
        "rule": 2,
        "schedule": "database",
        "person": PRIYA,
        "ack_url": "https://runner.example.com/ack/abc.def",
        **fields,
    }
    return Message(**values)  # type: ignore[arg-type]


@pytest.fixture
def receiver():
    r = HttpReceiver().start()
    yield r
    r.stop()


def receiver_verifies(headers: dict[str, str], body: bytes, secret: str, now: float) -> bool:
    """What the README tells a receiver to do, written from the README, not from our code."""
    timestamp = headers["X-Tidings-Timestamp"]
    expected = "v1=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs(now - int(timestamp)) <= 300
    return fresh and hmac.compare_digest(expected, headers["X-Tidings-Signature"])


def test_the_webhook_is_signed_as_documented(receiver):
    channel = WebhookChannel(id="hook", kind="webhook", url=f"{receiver.url}/hook", secret_env="HOOK_SECRET")
    got = deliver(
        channel, message(), FAST, time.sleep, lambda: NOW, env={"HOOK_SECRET": SECRET}, allowed=LOOPBACK
    )
    assert (got.state, got.attempts) == ("sent", 1)
    (request,) = receiver.received
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["Idempotency-Key"] == message().key
    assert headers["X-Tidings-Timestamp"] == str(int(NOW.timestamp()))
    assert receiver_verifies(headers, request.body, SECRET, NOW.timestamp())
    assert not receiver_verifies(headers, request.body + b" ", SECRET, NOW.timestamp())  # body changed
    assert not receiver_verifies(headers, request.body, "another-secret", NOW.timestamp())
    assert not receiver_verifies(headers, request.body, SECRET, NOW.timestamp() + 301)  # a replay, later
    # The library's own verifier agrees.
    signature = headers["X-Tidings-Signature"]
    assert verify_signature(SECRET.encode(), headers["X-Tidings-Timestamp"], request.body, signature, NOW)
    assert not verify_signature(b"nope", headers["X-Tidings-Timestamp"], request.body, signature, NOW)
    late = NOW + timedelta(minutes=6)
    assert not verify_signature(
        SECRET.encode(), headers["X-Tidings-Timestamp"], request.body, signature, late
    )
    body = request.json()
    assert body["type"] == "page" and body["idempotency_key"] == message().key
    assert body["person"]["id"] == "priya" and body["schedule"] == "database" and body["rule"] == 2
    assert body["incident"]["title"] == "Database <down> & out"


def test_slack_messages_mention_the_person_and_escape_alert_text(receiver):
    channel = SlackChannel(id="slack", kind="slack", url_env="SLACK_URL")
    got = deliver(
        channel,
        message(),
        FAST,
        time.sleep,
        lambda: NOW,
        env={"SLACK_URL": f"{receiver.url}/x"},
        allowed=LOOPBACK,
    )
    assert got.state == "sent"
    payload = receiver.received[0].json()
    assert payload["text"] == "<@U04PRIYA03> paged: Database &lt;down&gt; &amp; out (2026-11-17-db)"
    headline = payload["blocks"][0]["text"]["text"]
    assert "<@U04PRIYA03>" in headline and "*Database &lt;down&gt; &amp; out*" in headline
    assert payload["blocks"][-1]["elements"][0]["url"] == "https://runner.example.com/ack/abc.def"
    no_chat = slack_payload(message(person=PRIYA.model_copy(update={"chat": {}}), ack_url=None))
    assert no_chat["text"].startswith("Priya Raman paged:")
    assert all(block["type"] != "actions" for block in no_chat["blocks"])  # no link, no button


def test_retries_back_off_then_give_up_with_the_reason(receiver):
    receiver.plan = [503, 503, 503]
    waits: list[float] = []
    channel = SlackChannel(id="slack", kind="slack", url_env="SLACK_URL")
    got = deliver(
        channel,
        message(),
        FAST,
        waits.append,
        lambda: NOW,
        env={"SLACK_URL": f"{receiver.url}/x"},
        allowed=LOOPBACK,
    )
    assert (got.state, got.attempts, got.error) == ("failed", 3, "HTTP 503 Service Unavailable")
    assert waits == [0.01, 0.02]
    assert len(receiver.received) == 3
    assert len({r.headers["Idempotency-Key"] for r in receiver.received}) == 1  # the same page each time


def test_an_unreachable_receiver_is_retried_and_the_url_stays_out_of_the_error():
    channel = SlackChannel(id="slack", kind="slack", url_env="SLACK_URL")
    secret_url = "http://127.0.0.1:9/services/T000/B000/XXXXSECRET"
    got = deliver(
        channel, message(), FAST, lambda s: None, lambda: NOW, env={"SLACK_URL": secret_url}, allowed=LOOPBACK
    )
    assert got.state == "failed" and got.attempts == 3
    assert "could not reach" in str(got.error) and "SECRET" not in str(got.error)


@pytest.fixture
def smtp():
    r = SmtpReceiver().start()
    yield r
    r.stop()


def test_email_over_smtp(smtp):
    channel = EmailChannel.model_validate(
        {
            "id": "mail",
            "kind": "email",
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "none",
            "from": "Lumen on-call <oncall@lumen.example>",
        }
    )
    title = "Database down\r\nBcc: everyone@example.com"  # a header injection attempt, from an alert
    got = deliver(channel, message(title=title), FAST, time.sleep, lambda: NOW, env={})
    assert got.state == "sent", got.error
    (mail,) = smtp.messages
    assert smtp.recipients == [["priya.raman@example.com"]]
    assert mail["To"] == "Priya Raman <priya.raman@example.com>"
    assert mail["Subject"] == "[Lumen Cloud Status] Page: Database down Bcc: everyone@example.com (critical)"
    assert mail["Bcc"] is None
    assert mail["Message-ID"] == "<0123456789abcdef0123456789abcdef.mail@lumen.example>"
    assert mail["Idempotency-Key"] == message().key
    text = mail.get_payload(decode=True).decode()
    assert "Tue 2026-11-17 10:50 EST" in text  # in Priya's timezone
    assert "Acknowledge: https://runner.example.com/ack/abc.def" in text


def test_a_name_with_a_comma_or_quotes_is_one_recipient(smtp):
    channel = EmailChannel.model_validate(
        {"id": "mail", "kind": "email", "host": "127.0.0.1", "port": smtp.port, "security": "none",
         "from": "oncall@lumen.example"}
    )  # fmt: skip
    person = PRIYA.model_copy(update={"name": 'Raman, Priya "P" <ops>'})
    got = deliver(channel, message(person=person), FAST, time.sleep, lambda: NOW, env={})
    assert got.state == "sent", got.error
    assert smtp.recipients == [["priya.raman@example.com"]]
    (mail,) = smtp.messages
    assert [a.addr_spec for a in mail["To"].addresses] == ["priya.raman@example.com"]
    assert mail["To"].addresses[0].display_name == 'Raman, Priya "P" <ops>'


def test_smtp_temporary_failures_are_retried_and_permanent_ones_are_not(smtp):
    channel = EmailChannel.model_validate(
        {
            "id": "mail",
            "kind": "email",
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "none",
            "from": "oncall@lumen.example",
        }
    )
    smtp.plan = ["451 4.3.0 mailbox busy"]
    got = deliver(channel, message(), FAST, lambda s: None, lambda: NOW, env={})
    assert (got.state, got.attempts) == ("sent", 2)
    smtp.plan = ["550 5.1.1 no such user"]
    got = deliver(channel, message(), FAST, lambda s: None, lambda: NOW, env={})
    assert (got.state, got.attempts) == ("failed", 1) and "550" in str(got.error)
    nobody = PRIYA.model_copy(update={"email": None})
    got = deliver(channel, message(person=nobody), FAST, lambda s: None, lambda: NOW, env={})
    assert (got.state, got.attempts) == ("failed", 1) and "no email" in str(got.error)


def test_a_bug_in_a_notifier_is_a_recorded_failure():
    def broken(*args: object) -> None:
        raise KeyError("oops")

    channel = SlackChannel(id="slack", kind="slack", url_env="SLACK_URL")
    got = deliver(channel, message(), FAST, lambda s: None, lambda: NOW, env={}, sender=broken)
    assert got.state == "failed" and "KeyError" in str(got.error)


def test_a_malformed_webhook_url_fails_without_quoting_it(caplog):
    channel = SlackChannel(id="slack", kind="slack", url_env="SLACK_URL")
    secret = "hooks.slack.com/services/T0/B0/XOXSECRET"
    got = deliver(channel, message(), FAST, lambda s: None, lambda: NOW, env={"SLACK_URL": secret})
    assert got.state == "failed" and got.attempts == 1  # permanent: no retries
    assert "XOXSECRET" not in str(got.error) and "XOXSECRET" not in caplog.text


def _readme_block(start: str, fence: str) -> str:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split(f"```{fence}\n")[1:]]
    return next(b for b in blocks if start in b)


def test_the_readme_verifier_accepts_what_we_send_and_nothing_else(receiver):
    namespace: dict[str, object] = {}
    exec(_readme_block("def verify(", "python"), namespace)
    verify = namespace["verify"]
    channel = WebhookChannel(id="hook", kind="webhook", url=f"{receiver.url}/hook", secret_env="HOOK_SECRET")
    sent_at = datetime.now(UTC)  # the README's check reads the real clock
    deliver(
        channel,
        message(at=sent_at),
        FAST,
        time.sleep,
        lambda: sent_at,
        env={"HOOK_SECRET": SECRET},
        allowed=LOOPBACK,
    )
    (request,) = receiver.received
    assert verify(SECRET.encode(), request.headers, request.body)  # type: ignore[operator]
    assert not verify(SECRET.encode(), request.headers, request.body.replace(b"critical", b"low"))  # type: ignore[operator]
    assert not verify(b"wrong", request.headers, request.body)  # type: ignore[operator]


def test_the_readme_notifications_example_is_valid():
    text = _readme_block("$schema=schemas/notifications.schema.json", "yaml")
    config = NotificationsFile.model_validate(plain(make_yaml().load(text)))
    assert [c.kind for c in config.channels] == ["slack", "webhook", "email"]


def test_private_destinations_are_refused_unless_allowed_and_redirects_never_followed(http_receiver):
    """A webhook URL comes from the repo: the runner's own network is off limits by default."""
    channel = WebhookChannel(
        id="hook", kind="webhook", url=f"{http_receiver.url}/hook", secret_env="HOOK_SECRET"
    )
    env = {"HOOK_SECRET": SECRET}
    refused = deliver(channel, message(), FAST, lambda s: None, lambda: NOW, env=env)
    assert refused.state == "failed" and refused.attempts == 1  # permanent: no retry can help
    assert "127.0.0.1 is a private, loopback or link-local address" in (refused.error or "")
    assert http_receiver.received == []  # nothing left the runner
    metadata = WebhookChannel(
        id="m", kind="webhook", url="http://169.254.169.254/latest", secret_env="HOOK_SECRET"
    )
    got = deliver(metadata, message(), FAST, lambda s: None, lambda: NOW, env=env, allowed=LOOPBACK)
    assert got.state == "failed" and "link-local" in (got.error or "")
    http_receiver.plan = [302]  # a receiver that answers with a redirect: a failure, never followed
    moved = deliver(channel, message(), FAST, lambda s: None, lambda: NOW, env=env, allowed=LOOPBACK)
    assert moved.state == "failed" and "HTTP 302" in (moved.error or "")
    assert len(http_receiver.received) == 1

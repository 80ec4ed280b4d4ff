"""Sending to subscribers through a real SMTP server (aiosmtpd) and a real HTTP receiver."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.runner.receivers import HttpReceiver, Received, SmtpReceiver
from tests.runner.subscribers.conftest import settings
from tidings.runner.escalation.notifiers import verify_signature
from tidings.runner.subscribers.sender import Sender
from tidings.runner.subscribers.store import Store, Update
from tidings.runner.subscribers.tokens import read_confirmation

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PAYLOAD = {
    "event": "update",
    "type": "incident",
    "id": "2026-11-24-postgres-replica-lag",
    "title": "Replica lag on db-cluster-07",
    "status": "identified",
    "severity": "high",
    "impact": "partial_outage",
    "components": [{"id": "postgres", "name": "Postgres", "impact": "partial_outage"}],
    "started_at": "2026-11-24T01:41:00+00:00",
    "resolved_at": None,
    "update": {
        "at": "2026-11-24T08:40:00+00:00",
        "status": "identified",
        "body": "Failing over to the standby.",
    },
    "url": "https://status.example.com/incidents/2026-11-24-postgres-replica-lag.html",
}


def queue(store: Store, key: str = "k1", components: tuple[str, ...] = ("postgres",)) -> None:
    store.record(
        [Update(key, PAYLOAD["id"], "update", "c0ffee", components, PAYLOAD, NOW.timestamp())], "c0ffee"
    )
    store.release(key, components, NOW.timestamp())


@pytest.fixture
def store(state: Path) -> Store:
    return Store.open(state)


def test_a_notification_mail_says_what_happened_and_how_to_unsubscribe_in_one_click(
    store: Store, smtp_receiver: SmtpReceiver
) -> None:
    store.add_subscribers([("email", "ann@example.com", ["postgres"])], NOW.timestamp())
    subscriber = store.subscribers()[0]
    queue(store)
    assert Sender(store, now=lambda: NOW).send_due(settings(smtp_receiver.port)) == 1
    (mail,) = smtp_receiver.messages
    assert smtp_receiver.recipients == [["ann@example.com"]]
    assert mail["Subject"] == "[Lumen Cloud Status] Replica lag on db-cluster-07 (Identified)"
    assert mail["From"] == "Lumen Cloud Status <status@example.com>"
    link = f"https://subscribe.example.com/unsubscribe/{subscriber.id}-{subscriber.token}"
    assert mail["List-Unsubscribe"] == f"<{link}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"] == f"<k1-{subscriber.id}@example.com>"
    body = mail.get_content().replace("\r\n", "\n")
    for said in (
        "Replica lag on db-cluster-07",
        "Incident status: Identified; impact: Partial outage; severity: high.",
        "Affected: Postgres (Partial outage).",
        "Identified, Tue 2026-11-24 09:40 CET:\nFailing over to the standby.",
        "Details: https://status.example.com/incidents/2026-11-24-postgres-replica-lag.html",
        f"Choose components: https://subscribe.example.com/manage/{subscriber.id}-{subscriber.token}",
        f"Unsubscribe (one click): {link}",
    ):
        assert said in body
    assert store.counts()["deliveries"]["sent"] == 1


def test_a_webhook_notification_is_signed_json_with_its_own_secret(
    store: Store, http_receiver: HttpReceiver
) -> None:
    url = f"{http_receiver.url}/hook"
    store.add_subscribers([("webhook", url, [])], NOW.timestamp())
    subscriber = store.subscribers()[0]
    queue(store)
    Sender(store, now=lambda: NOW).send_due(settings(1))
    (got,) = http_receiver.at("/hook")
    assert verify_signature(
        (subscriber.secret or "").encode(), got.headers["X-Tidings-Timestamp"], got.body,
        got.headers["X-Tidings-Signature"], NOW,
    )  # fmt: skip
    assert got.headers["Idempotency-Key"] == f"k1-{subscriber.id}"
    data = got.json()
    assert data["type"] == "incident" and data["event"] == "update"
    assert data["incident"]["status"] == "identified" and data["incident"]["impact"] == "partial_outage"
    assert data["update"]["body"] == "Failing over to the standby."
    assert data["subscription"]["unsubscribe_url"].endswith(
        f"/unsubscribe/{subscriber.id}-{subscriber.token}"
    )


def test_a_temporary_failure_is_tried_again_and_sent_once(store: Store, smtp_receiver: SmtpReceiver) -> None:
    smtp_receiver.plan = ["451 4.3.0 try later"]
    store.add_subscribers([("email", "ann@example.com", [])], NOW.timestamp())
    queue(store)
    sender = Sender(store, now=lambda: NOW)
    given = settings(smtp_receiver.port)
    sender.send_due(given)
    assert smtp_receiver.messages == [] and store.counts()["deliveries"]["pending"] == 1
    sender.send_due(given)  # due again at once: backoff_seconds is 0 here
    assert len(smtp_receiver.messages) == 1
    assert store.counts()["deliveries"] == {"pending": 0, "sent": 1, "failed": 0, "skipped": 0}


def test_hard_bounces_suspend_a_mail_subscriber_and_a_refusing_server_does_not(
    store: Store, smtp_receiver: SmtpReceiver
) -> None:
    smtp_receiver.refuse["gone@example.com"] = "550 5.1.1 no such user"
    store.add_subscribers(
        [("email", "gone@example.com", []), ("email", "ann@example.com", [])], NOW.timestamp()
    )
    sender = Sender(store, now=lambda: NOW)
    given = settings(smtp_receiver.port)
    for n in range(3):
        queue(store, f"k{n}", ())
        sender.send_due(given)
    counts = store.counts()
    assert counts["suspended"] == 1 and counts["active"] == 1  # suspend_after: 2 hard bounces
    assert len(smtp_receiver.messages) == 3  # ann got all three
    # A server refusing every message (5xx to DATA) says nothing of the subscriber: nobody is suspended.
    smtp_receiver.plan = ["554 5.7.1 message refused"]
    queue(store, "k9", ())
    sender.send_due(given)
    assert store.counts()["active"] == 1


def test_webhook_failures_suspend_and_410_unsubscribes(store: Store, http_receiver: HttpReceiver) -> None:
    hooks = [("webhook", f"{http_receiver.url}/broken", []), ("webhook", f"{http_receiver.url}/gone", [])]
    store.add_subscribers(hooks, NOW.timestamp())
    http_receiver.answer = lambda got: (410, b"gone") if got.path == "/gone" else (500, b"no")
    sender = Sender(store, now=lambda: NOW)
    given = settings(1)
    queue(store, "k1", ())
    for _ in range(3):  # three tries each (retry.attempts), then failed for good
        sender.send_due(given)
    assert [s.address.rsplit("/", 1)[1] for s in store.subscribers()] == ["broken"]  # 410: unsubscribed
    assert len(http_receiver.at("/broken")) == 3 and len(http_receiver.at("/gone")) == 1
    queue(store, "k2", ())
    for _ in range(3):
        sender.send_due(given)
    assert store.counts()["suspended"] == 1


def test_a_webhook_at_a_private_address_is_refused_at_delivery_too(
    store: Store, http_receiver: HttpReceiver
) -> None:
    store.add_subscribers([("webhook", f"{http_receiver.url}/hook", [])], NOW.timestamp())
    queue(store)
    Sender(store, now=lambda: NOW).send_due(settings(1, allow_private_webhooks=False))
    assert http_receiver.received == []
    assert store.counts()["deliveries"]["failed"] == 1


def test_a_confirmation_mail_links_a_signed_expiring_token(store: Store, smtp_receiver: SmtpReceiver) -> None:
    request = store.add_request("email", "ann@example.com", ["api"], NOW.timestamp(), NOW.timestamp() + 3600)
    assert request is not None
    Sender(store, now=lambda: NOW).send_requests(settings(smtp_receiver.port))
    (mail,) = smtp_receiver.messages
    assert mail["Subject"] == "[Lumen Cloud Status] Confirm your subscription"
    assert mail["List-Unsubscribe"] is None
    body = mail.get_content().replace("\r\n", "\n")
    assert "for REST API." in body and "works until Tue 2026-11-24 11:00 CET" in body
    link = next(
        line for line in body.splitlines() if line.startswith("https://subscribe.example.com/confirm/")
    )
    claim = read_confirmation(store.key, link.rsplit("/", 1)[1], NOW.timestamp())
    assert (claim.request, claim.nonce) == (request.id, request.nonce)
    assert store.subscribers() == []  # nothing until it is confirmed


def test_a_webhook_confirms_by_echoing_the_challenge(store: Store, http_receiver: HttpReceiver) -> None:
    def echo(got: Received) -> tuple[int, bytes]:
        data = json.loads(got.body)
        if got.path == "/echo":
            return 200, json.dumps({"challenge": data["challenge"]}).encode()
        return 200, b"ok"

    http_receiver.answer = echo
    for path in ("/echo", "/ignores"):
        store.add_request(
            "webhook", http_receiver.url + path, [], NOW.timestamp(), NOW.timestamp() + 3600, "s3cret-s3cret"
        )
    Sender(store, now=lambda: NOW).send_requests(settings(1))
    challenge = http_receiver.at("/echo")[0]
    assert (
        challenge.json()["type"] == "subscription.challenge" and challenge.json()["secret"] == "s3cret-s3cret"
    )
    assert verify_signature(b"s3cret-s3cret", challenge.headers["X-Tidings-Timestamp"], challenge.body,
                            challenge.headers["X-Tidings-Signature"], NOW)  # fmt: skip
    (subscriber,) = store.subscribers()
    assert subscriber.address.endswith("/echo") and subscriber.secret == "s3cret-s3cret"


def test_a_mail_in_other_scripts_reads_back_whole(store: Store, smtp_receiver: SmtpReceiver) -> None:
    given = settings(smtp_receiver.port)
    site = given.site.model_copy(update={"title": "Lümen Status"})
    given = type(given)(site, given.subscribers, given.names)
    payload = {**PAYLOAD, "title": "Störung der API — 50 % Fehler " + "x" * 120}
    payload["update"] = {**PAYLOAD["update"], "body": "Wir prüfen das.\n. A line with a dot.\n" + "ü" * 200}
    store.record([Update("k1", "x", "update", "c0ffee", (), payload, NOW.timestamp())], "c0ffee")
    store.add_subscribers([("email", "ann@example.com", [])], NOW.timestamp())
    store.release("k1", (), NOW.timestamp())
    Sender(store, now=lambda: NOW).send_due(given)
    (mail,) = smtp_receiver.messages
    assert mail["Subject"] == f"[Lümen Status] Störung der API — 50 % Fehler {'x' * 120} (Identified)"
    body = mail.get_content().replace("\r\n", "\n")
    assert "Wir prüfen das.\n. A line with a dot.\n" + "ü" * 200 in body
    assert "updates of Lümen Status (every component)" in body

"""Notifiers: one page, sent to Slack, to a signed webhook, or by e-mail, with retries and backoff.

Each page carries its idempotency key everywhere it goes: the `Idempotency-Key` header on HTTP,
`idempotency_key` in the webhook's JSON, a `Message-ID` made from it on e-mail, and the text of
every message. A page sent twice (a runner that crashed between sending and recording that it
sent) is therefore the same page twice, which a receiver can drop.

The generic webhook is signed so a receiver can check it came from us and was not replayed:

    X-Tidings-Timestamp: <unix seconds>
    X-Tidings-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>

`verify_signature` is the receiver's side of that, usable as it is from Python.

A delivery is tried `retry.attempts` times, waiting `backoff_seconds`, then twice that, and so on.
Errors that trying again cannot fix (a 4xx answer, a missing secret, a person without an e-mail
address) fail at once. Either way the result is returned to be recorded, never dropped.
"""

from __future__ import annotations

import email.errors
import email.policy
import functools
import hashlib
import hmac
import json
import logging
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from tidings.content.model import Channel, EmailChannel, Person, RetrySettings, SlackChannel, WebhookChannel
from tidings.errors import TidingsError
from tidings.runner.outbound import Network, Refused, open_url

log = logging.getLogger(__name__)
SIGNATURE_VERSION = "v1"
SIGNATURE_TOLERANCE_SECONDS = 300
USER_AGENT = "tidings-runner"
# HTTP answers worth trying again: the receiver is busy or briefly broken.
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class DeliveryError(TidingsError):
    """One try failed; `permanent` when trying again cannot help."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Message:
    """What a page says, the same for every channel."""

    key: str
    at: datetime
    site: str
    incident_id: str
    title: str
    severity: str
    status: str
    started_at: datetime
    components: Mapping[str, str]
    policy_id: str
    policy_name: str
    round: int
    rule: int
    schedule: str | None
    person: Person
    ack_url: str | None = None
    incident_url: str | None = None
    links: Mapping[str, str] = field(default_factory=dict)  # the incident's related links: text -> URL
    step: int | None = None  # of the person's contact rules
    due_at: datetime | None = None  # a late page: when its rule fell due
    late_minutes: int | None = None

    def local(self, when: datetime) -> str:
        """A time in the paged person's own timezone, with its offset."""
        return when.astimezone(ZoneInfo(self.person.timezone)).strftime("%a %Y-%m-%d %H:%M %Z")

    @property
    def subject(self) -> str:
        return f"[{self.site}] Page: {one_line(self.title)[:200]} ({self.severity})"

    @property
    def why(self) -> str:
        via = f", on call in schedule '{self.schedule}'" if self.schedule else ""
        return f"rule {self.rule} of policy '{self.policy_name}' (round {self.round}){via}"

    def text(self) -> str:
        """The message as plain text (e-mail body; the Slack fallback)."""
        lines = [
            f"{self.person.name}, you are paged for incident {self.incident_id}: {one_line(self.title)}",
            f"Severity {self.severity}, status {self.status}, since {self.local(self.started_at)}.",
        ]
        if self.components:
            lines.append("Components: " + ", ".join(f"{c} ({i})" for c, i in self.components.items()) + ".")
        lines.append(f"Paged by {self.why}.")
        if self.step is not None and self.step > 1:
            lines.append(f"Not acknowledged yet: step {self.step} of your contact rules.")
        if self.late_minutes is not None and self.due_at is not None:
            lines.append(
                f"This page is {self.late_minutes} minutes late: its rule fell due at "
                f"{self.local(self.due_at)}, while the runner was not running, so it goes to whoever is "
                "on call now."
            )
        if self.ack_url:
            lines.append(f"Acknowledge: {self.ack_url}")
        lines.append(f"Or run: tidings incident ack {self.incident_id}")
        for name, url in self.links.items():  # a link without a text is named by its URL
            lines.append(f"{name}: {url}" if name != url else f"Link: {url}")
        if self.incident_url:
            lines.append(f"Status page: {self.incident_url}")
        lines.append(f"Idempotency key: {self.key}")
        return "\n".join(lines) + "\n"


def one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Attempted:
    """How a delivery ended: sent or failed, after how many tries, and the last error."""

    state: str  # "sent" or "failed"
    attempts: int
    error: str | None = None


# --- Slack -----------------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Slack's mrkdwn gives &, < and > meaning (links, mentions); text from alerts must not."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_link(url: str, label: str) -> str:
    """A mrkdwn link `<url|label>` that says only that, whatever the URL and label hold.

    In the URL `|` would end it and start the label, and `<`, `>` would open or close a link or a
    mention (`<!channel>`): they are percent-encoded, and `&` is written `&amp;` as Slack asks.
    """
    safe = url.replace("&", "&amp;").replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    return f"<{safe}|{slack_escape(label)}>"


def slack_payload(message: Message) -> dict[str, Any]:
    """An incoming-webhook message: `text` (the notification and fallback) and Block Kit blocks."""
    person = message.person
    slack_id = person.chat.get("slack")
    who = f"<@{slack_escape(slack_id)}>" if slack_id else slack_escape(person.name)
    title = slack_escape(one_line(message.title))
    headline = f"{who} you are paged: *{title}* ({message.severity}, {message.status})"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": slack_escape(
                        f"Incident {message.incident_id} since {message.local(message.started_at)}; "
                        f"{message.why}. Key {message.key}"
                    ),
                }
            ],
        },
    ]
    if message.ack_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Acknowledge"},
                        "url": message.ack_url,
                        "style": "danger",
                    }
                ],
            }
        )
    text = f"{who} paged: {title} ({message.incident_id})"
    # unfurl_links off: Slack fetching the ack link to preview it must not be what acknowledges.
    return {"text": text, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


# --- generic webhook ---------------------------------------------------------------------------------


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The X-Tidings-Signature value: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={mac}"


def verify_signature(
    secret: bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    now: datetime,
    tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """A receiver's check: the signature matches (in constant time) and the timestamp is recent."""
    if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode())


def webhook_body(message: Message) -> bytes:
    """The webhook's JSON (documented in the README): compact, keys sorted, UTF-8."""
    person = message.person
    payload = {
        "type": "page",
        "idempotency_key": message.key,
        "at": message.at.isoformat(),
        "site": message.site,
        "incident": {
            "id": message.incident_id,
            "title": message.title,
            "severity": message.severity,
            "status": message.status,
            "started_at": message.started_at.isoformat(),
            "components": dict(message.components),
            "url": message.incident_url,
            "links": dict(message.links),
        },
        "policy": {"id": message.policy_id, "name": message.policy_name},
        "round": message.round,
        "rule": message.rule,
        "schedule": message.schedule,
        "person": {
            "id": person.id,
            "name": person.name,
            "email": person.email,
            "timezone": person.timezone,
            "chat": dict(person.chat),
            "phone": person.phone,
        },
        "ack_url": message.ack_url,
        "step": message.step,
        "late_minutes": message.late_minutes,
        "text": message.text(),
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- HTTP and SMTP ---------------------------------------------------------------------------------


def _env(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise DeliveryError(f"the variable {name} is not set", permanent=True)
    return value


def _post(
    url: str, body: bytes, headers: Mapping[str, str], timeout: float, allowed: Sequence[Network] = ()
) -> None:
    """POST through runner/outbound.py: never to a private address the repo did not allow, never
    following a redirect."""
    try:
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"User-Agent": USER_AGENT, **headers}
        )
    except ValueError:  # not a URL at all; its text (a webhook URL is a secret) stays out of the error
        raise DeliveryError("the receiver's URL is not a valid http(s) URL", permanent=True) from None
    if request.type not in ("http", "https"):
        raise DeliveryError("the receiver's URL is not an http(s) URL", permanent=True)
    try:
        open_url(request, timeout, allowed)
    except Refused as exc:
        raise DeliveryError(str(exc), permanent=True) from None
    except urllib.error.HTTPError as exc:
        # Only the status: the URL (a Slack webhook's is a secret) and the body stay out of logs.
        raise DeliveryError(
            f"HTTP {exc.code} {exc.reason}", permanent=exc.code not in RETRYABLE_STATUS
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise DeliveryError(f"could not reach the receiver: {reason}") from None


def email_message(channel: EmailChannel, message: Message) -> EmailMessage:
    if not message.person.email:
        raise DeliveryError(f"{message.person.id} has no email in content/people.yml", permanent=True)
    # Long headers stay on one line (RFC 5322 allows 998 characters): a folded Subject is read back
    # with a leading space by some clients.
    mail = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
    mail["From"] = channel.from_
    # An Address, not "name <email>" text: a name such as "Weber, Jonas" would be two recipients.
    try:
        to = Address(display_name=one_line(message.person.name), addr_spec=message.person.email)
    except (ValueError, email.errors.MessageError) as exc:
        raise DeliveryError(f"{message.person.id}'s email is not an address: {exc}", permanent=True) from None
    mail["To"] = to
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.at)
    domain = parseaddr(channel.from_)[1].rpartition("@")[2] or "tidings.invalid"
    # The same page gets the same Message-ID, so a resend is recognisably the same message.
    mail["Message-ID"] = f"<{message.key}.{channel.id}@{domain}>"
    mail["Idempotency-Key"] = message.key
    mail["X-Tidings-Incident"] = message.incident_id
    mail.set_content(message.text())
    return mail


def _smtp(channel: EmailChannel, mail: EmailMessage, env: Mapping[str, str], timeout: float) -> None:
    try:
        client: smtplib.SMTP
        if channel.security == "ssl":
            client = smtplib.SMTP_SSL(
                channel.host, channel.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(channel.host, channel.port, timeout=timeout)
        with client:
            if channel.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if channel.username_env:
                password = _env(env, channel.password_env) if channel.password_env else ""
                client.login(_env(env, channel.username_env), password)
            client.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise DeliveryError(
            f"SMTP {exc.smtp_code} {one_line(text)}", permanent=exc.smtp_code >= 500
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise DeliveryError(
            f"SMTP recipient refused ({codes})", permanent=all(c >= 500 for c in codes)
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP: {exc}") from None


def send_once(
    channel: Channel,
    message: Message,
    timeout: float,
    env: Mapping[str, str],
    now: datetime,
    allowed: Sequence[Network] = (),
) -> None:
    """One try on one channel at `now`; raises DeliveryError. `allowed`: private networks it may call."""
    headers = {"Content-Type": "application/json", "Idempotency-Key": message.key}
    if isinstance(channel, SlackChannel):
        body = json.dumps(slack_payload(message), ensure_ascii=False).encode()
        _post(_env(env, channel.url_env), body, headers, timeout, allowed)
    elif isinstance(channel, WebhookChannel):
        secret = _env(env, channel.secret_env).encode()
        url = channel.url or _env(env, str(channel.url_env))
        body = webhook_body(message)
        # Signed at each try, so a retry after a long backoff is still within the receiver's window.
        timestamp = str(int(now.timestamp()))
        signed = {
            **headers,
            "X-Tidings-Timestamp": timestamp,
            "X-Tidings-Signature": sign(secret, timestamp, body),
        }
        _post(url, body, signed, timeout, allowed)
    else:
        _smtp(channel, email_message(channel, message), env, timeout)


Sender = Callable[[Channel, Message, float, Mapping[str, str], datetime], None]


def deliver(
    channel: Channel,
    message: Message,
    retry: RetrySettings,
    sleep: Callable[[float], None],
    clock: Callable[[], datetime],
    env: Mapping[str, str] | None = None,
    sender: Sender | None = None,
    allowed: Sequence[Network] = (),
) -> Attempted:
    """Try a channel until it works or the tries run out, backing off exponentially between them."""
    env = os.environ if env is None else env
    send = sender or functools.partial(send_once, allowed=allowed)
    delay = retry.backoff_seconds
    error = ""
    for attempt in range(1, retry.attempts + 1):
        try:
            send(channel, message, retry.timeout_seconds, env, clock())
            log.info("page %s sent on %s (try %d)", message.key, channel.id, attempt)
            return Attempted("sent", attempt)
        except DeliveryError as exc:
            error, permanent = str(exc), exc.permanent
        except Exception as exc:  # a bug in a notifier: recorded as a failure, never lost
            # The type only, in what is recorded: the message may quote a secret URL or a token.
            log.error("notifier %s raised %s", channel.id, type(exc).__name__)
            error, permanent = f"unexpected error in the notifier ({type(exc).__name__})", True
        log.warning(
            "page %s on %s, try %d of %d: %s", message.key, channel.id, attempt, retry.attempts, error
        )
        if permanent or attempt == retry.attempts:
            return Attempted("failed", attempt, error)
        sleep(delay)
        delay *= 2
    return Attempted("failed", retry.attempts, error)

"""What subscribers are sent: notifications, confirmation mails and webhook challenges.

Every notification names the incident (or maintenance), its status and impact, the update's text
and the public page; e-mail carries a one-click unsubscribe link in its text and the RFC 8058
headers (`List-Unsubscribe: <https://...>` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`),
and a link to change the chosen components. A notification's Message-ID and Idempotency-Key are
made from the update and the subscriber, so a message sent again (see store.py) is the same one.
Times are in the site's timezone: a subscriber tells us no zone of their own.
"""

from __future__ import annotations

import binascii
import email.policy
import json
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from tidings.content import urls
from tidings.content.model import SiteFile
from tidings.runner.escalation.notifiers import one_line
from tidings.runner.subscribers.store import Request, Subscriber
from tidings.runner.subscribers.tokens import confirmation_token, link_token

# Long headers stay on one line (RFC 5322 allows 998 characters), as the pages' mail does.
POLICY = email.policy.SMTP.clone(max_line_length=998)
USER_AGENT = "tidings-runner"
CRLF = "\r\n"


def label(value: str | None) -> str:
    return str(value or "").replace("_", " ").capitalize()


def local(site: SiteFile, iso: str) -> str:
    when = datetime.fromisoformat(iso).astimezone(ZoneInfo(site.timezone))
    return when.strftime("%a %Y-%m-%d %H:%M %Z")


@dataclass(frozen=True)
class Links:
    unsubscribe: str
    manage: str


def links(site: SiteFile, subscriber: Subscriber) -> Links:
    token = link_token(subscriber.id, subscriber.token)
    return Links(
        unsubscribe=urls.subscription_url(site, urls.UNSUBSCRIBE, token) or "",
        manage=urls.subscription_url(site, urls.MANAGE, token) or "",
    )


def message_key(update_key: str, subscriber: Subscriber) -> str:
    """The same for every try of one notification to one subscriber."""
    return f"{update_key}-{subscriber.id}"


def _domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "tidings.invalid"


def subject(site: SiteFile, payload: dict[str, Any]) -> str:
    what = "Maintenance: " if payload.get("type") == "maintenance" else ""
    return (
        f"[{one_line(site.title)}] {what}{one_line(str(payload['title']))[:200]} ({label(payload['status'])})"
    )


def text(site: SiteFile, payload: dict[str, Any]) -> str:
    """The notification as plain text, the same for every subscriber."""
    kind = "Maintenance" if payload.get("type") == "maintenance" else "Incident"
    facts = [f"{kind} status: {label(payload['status'])}", f"impact: {label(payload.get('impact'))}"]
    if payload.get("severity"):
        facts.append(f"severity: {payload['severity']}")
    lines = [one_line(str(payload["title"])), "; ".join(facts) + "."]
    components = payload.get("components") or []
    if components:
        affected = ", ".join(f"{c['name']} ({label(c['impact'])})" for c in components)
        lines.append(f"Affected: {affected}.")
    if payload.get("scheduled_for"):
        span = f"{local(site, payload['scheduled_for'])} to {local(site, payload['scheduled_until'])}"
        lines.append(f"Scheduled: {span}.")
    lines.append("")
    update = payload.get("update")
    if update:
        lines.append(f"{label(update['status'])}, {local(site, update['at'])}:")
        lines.append(str(update["body"]).strip())
    else:
        lines.append(f"The status is now {label(payload['status'])}.")
    lines.append("")
    if payload.get("url"):
        lines.append(f"Details: {payload['url']}")
    return "\n".join(lines) + "\n"


def footer(site: SiteFile, subscriber: Subscriber, to: Links) -> str:
    which = "every component" if not subscriber.components else "the components you chose"
    return (
        f"\n-- \nYou get this because you subscribed to updates of {one_line(site.title)} ({which}).\n"
        f"Choose components: {to.manage}\nUnsubscribe (one click): {to.unsubscribe}\n"
    )


@dataclass(frozen=True)
class RawMail:
    """A message ready for SMTP: the envelope and the bytes, headers included."""

    envelope_from: str
    to: str
    data: bytes


def _qp(text: str) -> bytes:
    """UTF-8 text as quoted-printable lines ending in CRLF."""
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def _header(name: str, value: str) -> bytes:
    if any(c in value for c in "\r\n"):
        raise ValueError(f"a line break in the {name} header")
    if value.isascii():
        return f"{name}: {value}\r\n".encode()
    encoded = Header(value, "utf-8").encode(linesep=CRLF)  # RFC 2047 words, folded
    return f"{name}: {encoded}\r\n".encode()


class NotificationMail:
    """One update's mail, composed and encoded once; `to()` adds what differs per subscriber.

    A send-out to a hundred thousand goes at the server's pace only if the sender does little per
    message: composing each with the email package's header parsing would cost milliseconds.
    """

    def __init__(self, site: SiteFile, sender: str, payload: dict[str, Any], update_key: str):
        name, address = parseaddr(sender)
        self.site = site
        self.update_key = update_key
        self.envelope_from = address
        self.domain = _domain(sender)
        self.head = b"".join(
            (
                _header("From", formataddr((name, address), charset="utf-8")),
                _header("Subject", subject(site, payload)),
                b"MIME-Version: 1.0\r\n",
                b"Content-Type: text/plain; charset=utf-8\r\n",
                b"Content-Transfer-Encoding: quoted-printable\r\n",
                b"Auto-Submitted: auto-generated\r\n",  # RFC 3834: no vacation replies to a status mail
                _header("X-Tidings-Item", str(payload["id"])),
            )
        )
        self.body = _qp(text(site, payload))

    def to(self, subscriber: Subscriber, at: datetime) -> RawMail:
        if any(c in subscriber.address for c in "\r\n<>,"):
            raise ValueError(f"subscriber {subscriber.id}'s address cannot be a recipient")
        links_ = links(self.site, subscriber)
        key = message_key(self.update_key, subscriber)
        head = (
            f"To: {subscriber.address}\r\nDate: {format_datetime(at)}\r\n"
            f"Message-ID: <{key}@{self.domain}>\r\nIdempotency-Key: {key}\r\n"
            f"List-Unsubscribe: <{links_.unsubscribe}>\r\n"
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n"
        ).encode()
        data = self.head + head + self.body + _qp(footer(self.site, subscriber, links_))
        return RawMail(self.envelope_from, subscriber.address, data)


def notification_body(
    site: SiteFile, payload: dict[str, Any], update_key: str, subscriber: Subscriber
) -> bytes:
    """A webhook notification: compact JSON, keys sorted, the same bytes on every try."""
    to = links(site, subscriber)
    kind = str(payload.get("type", "incident"))
    item = {k: v for k, v in payload.items() if k not in ("event", "type", "update")}
    data = {
        "type": kind,
        "event": payload["event"],
        "idempotency_key": message_key(update_key, subscriber),
        "site": {"title": site.title, "url": site.base_url},
        kind: item,
        "update": payload.get("update"),
        "text": text(site, payload),
        "subscription": {
            "components": list(subscriber.components) or None,
            "manage_url": to.manage,
            "unsubscribe_url": to.unsubscribe,
        },
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _chosen(site: SiteFile, names: dict[str, str], components: tuple[str, ...]) -> str:
    if not components:
        return "every component"
    return ", ".join(names.get(c, c) for c in components)


def confirmation_mail(
    site: SiteFile, sender: str, key: bytes, request: Request, names: dict[str, str], at: datetime
) -> EmailMessage:
    """The opt-in mail: a link to a page with a Confirm button (a GET confirms nothing: mail
    scanners follow links)."""
    token = confirmation_token(key, request.id, request.nonce, request.expires_at)
    url = urls.subscription_url(site, urls.CONFIRM, token) or ""
    until = local(site, datetime.fromtimestamp(request.expires_at, at.tzinfo).isoformat())
    mail = EmailMessage(policy=POLICY)
    mail["From"] = sender
    mail["To"] = request.address
    mail["Subject"] = f"[{one_line(site.title)}] Confirm your subscription"
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = f"<confirm-{request.id}-{request.nonce[:8]}@{_domain(sender)}>"
    mail["Auto-Submitted"] = "auto-generated"
    body = [
        f"Someone, hopefully you, asked for updates of {one_line(site.title)} at this address,",
        f"for {_chosen(site, names, request.components)}.",
        "",
        f"To confirm, open this link and press Confirm (it works until {until}):",
        url,
        "",
        "If it was not you, ignore this mail: nothing more will be sent.",
    ]
    mail.set_content("\n".join(body) + "\n")
    return mail


def challenge_body(site: SiteFile, request: Request, challenge: str, names: dict[str, str]) -> bytes:
    """The webhook opt-in: echo `challenge` to confirm; `secret` signs every later notification."""
    data = {
        "type": "subscription.challenge",
        "challenge": challenge,
        "secret": request.secret,
        "site": {"title": site.title, "url": site.base_url},
        "components": list(request.components) or None,
        "text": f'Answer 200 with the challenge as the body (or as {{"challenge": ...}}) to get updates '
        f"of {site.title} for {_chosen(site, names, request.components)}.",
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def echoed(body: bytes, challenge: str) -> bool:
    """Whether a webhook's answer echoes the challenge: as the whole body, or as JSON {"challenge"}."""
    answer = body.strip()
    if answer == challenge.encode():
        return True
    try:
        data = json.loads(answer)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("challenge") == challenge

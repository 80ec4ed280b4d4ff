"""Ack links: signed, expiring URLs in each page that acknowledge the incident when followed.

A token is `<payload>.<signature>`, both base64url without padding: the payload is compact JSON
`{"v": 1, "i": incident id, "p": person id, "e": expiry in unix seconds}` and the signature is
HMAC-SHA256 over `tidings-ack-v1.` + the payload text, keyed by the secret in TIDINGS_ACK_SECRET
(at least 16 characters; without it pages carry no link and every link is refused). A forged,
altered or expired token gets 403 and changes nothing; signatures are compared in constant time.

`GET /ack/{token}` shows what would be acknowledged with a button; the button's `POST` does it.
Link scanners in mail and chat clients fetch links (GET) on their own: an ack on GET would let a
scanner acknowledge a page nobody has read, and stop the escalation.

An ack is written to a small queue (`acks.jsonl` in the runner's state folder) before it is
applied, and stays there until the remote holds it, so a conflict or a remote that is down never
loses it: the next tick applies it again (with the time of the click), and `runner serve` without
a tick tries every RETRY_SECONDS (`retry_queued`), so the remote learns of it once it is back.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from tidings import clock
from tidings.content.load import parse_content
from tidings.content.model import Incident
from tidings.errors import TidingsError
from tidings.ops.incidents import AckResult, IncidentError, acknowledge, incident_path
from tidings.runner.remote import RUNNER_TRAILER, Clone, Published
from tidings.store.edit import write_atomic
from tidings.store.git import RUNNER_EMAIL, RUNNER_NAME
from tidings.store.incident_file import stamp

log = logging.getLogger(__name__)
SECRET_ENV = "TIDINGS_ACK_SECRET"
MIN_SECRET_LENGTH = 16
CONTEXT = b"tidings-ack-v1."
VIA = "an ack link"
RETRY_SECONDS = 2.0  # how often `runner serve` without a tick pushes acks the remote lacks


class BadToken(TidingsError):
    """A link that is not ours, was changed, or has expired."""


@dataclass(frozen=True)
class AckClaim:
    incident: str
    person: str | None
    expires: datetime


def ack_secret(env: dict[str, str] | None = None) -> bytes | None:
    """The signing secret, or None (with a warning) when it is unset or too short to be safe."""
    value = (os.environ if env is None else env).get(SECRET_ENV, "")
    if len(value) < MIN_SECRET_LENGTH:
        if value:
            log.warning("%s is shorter than %d characters: ack links are off", SECRET_ENV, MIN_SECRET_LENGTH)
        return None
    return value.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, CONTEXT + payload.encode(), hashlib.sha256).digest())


def make_token(secret: bytes, incident: str, person: str | None, expires: datetime) -> str:
    data = {"v": 1, "i": incident, "p": person, "e": int(expires.timestamp())}
    payload = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_mac(secret, payload)}"


def read_token(secret: bytes, token: str, now: datetime) -> AckClaim:
    """The claim a token makes, if its signature holds and it has not expired; else BadToken."""
    payload, _, signature = token.partition(".")
    if not payload or not signature:
        raise BadToken("not an ack link")
    if not hmac.compare_digest(_mac(secret, payload).encode(), signature.encode()):
        raise BadToken("this link is not valid: it was not made by this runner, or it was changed")
    try:
        data: Any = json.loads(_unb64(payload))
        incident, person, expires = data["i"], data["p"], datetime.fromtimestamp(int(data["e"]), UTC)
    except (ValueError, KeyError, TypeError) as exc:  # signed but unreadable: a different version
        raise BadToken("this link is not valid") from exc
    if not isinstance(incident, str) or not (person is None or isinstance(person, str)):
        raise BadToken("this link is not valid")
    if now >= expires:
        raise BadToken(f"this link expired at {stamp(expires)}")
    return AckClaim(incident, person, expires)


def ack_url(runner_url: str, token: str) -> str:
    return f"{runner_url.rstrip('/')}/ack/{token}"


# --- the queue: acks that the remote does not hold yet ----------------------------------------------


class AckQueue:
    def __init__(self, state: Path):
        self.path = state / "acks.jsonl"

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # torn by a crash mid-write: that ack was never answered
        return out

    def _write(self, entries: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, text)

    def add(self, incident: str, person: str | None, at: datetime) -> None:
        self._write([*self.entries(), {"incident": incident, "person": person, "at": stamp(at)}])

    def remove(self, done: list[dict[str, Any]]) -> None:
        if done:
            self._write([e for e in self.entries() if e not in done])


def _settled(clone: Clone, rel: str) -> bool:
    """Whether the remote's copy of the incident is acknowledged or resolved (or there is no remote)."""
    if not clone.pushing:
        return True
    text = clone.remote_text(rel)
    incident = parse_content(rel, text, clone.root).domain if text else None
    return isinstance(incident, Incident) and (
        incident.acknowledged_at is not None or incident.status == "resolved"
    )


def _apply(clone: Clone, entry: dict[str, Any]) -> AckResult:
    return acknowledge(
        clone.root,
        entry["incident"],
        datetime.fromisoformat(entry["at"].replace("Z", "+00:00")),
        by=entry.get("person"),
        via=VIA,
        author=(RUNNER_NAME, RUNNER_EMAIL),
        trailers={RUNNER_TRAILER: "ack"},
    )


def apply_queued(clone: Clone) -> None:
    """Apply every queued ack (the caller holds the clone's lock and publishes afterwards)."""
    queue = AckQueue(clone.state)
    gone = []
    for entry in queue.entries():
        try:
            _apply(clone, entry)
        except IncidentError as exc:  # the incident file was deleted or renamed since the click
            log.warning("dropping a queued ack: %s", exc)
            gone.append(entry)
    queue.remove(gone)


def settle_queued(clone: Clone) -> None:
    """Forget queued acks that the remote now holds."""
    queue = AckQueue(clone.state)
    done = []
    for entry in queue.entries():
        try:
            rel, _ = incident_path(clone.root, entry["incident"])
        except IncidentError:
            done.append(entry)
            continue
        if _settled(clone, rel):
            done.append(entry)
    queue.remove(done)


def push_queued(clone: Clone) -> bool:
    """Apply and push the queued acks the remote does not hold yet; True when none is left."""
    queue = AckQueue(clone.state)
    if not queue.entries():
        return True
    with clone.lock:
        for _ in range(3):
            clone.sync()
            apply_queued(clone)
            if clone.publish() is not Published.CONFLICT:
                break
        settle_queued(clone)
        return not queue.entries()


async def retry_queued(clone: Clone, every: float | None = None) -> None:
    """Push queued acks every `every` seconds (RETRY_SECONDS), until cancelled.

    For `runner serve` without the escalation tick, which otherwise does it: an ack taken while the
    remote was down is committed in the clone, and nothing else would push it unless an alert came.
    """
    while True:
        await asyncio.sleep(RETRY_SECONDS if every is None else every)
        try:
            await asyncio.to_thread(push_queued, clone)
        except Exception:  # git or the disk failing: said, and tried again
            log.exception("pushing queued acks failed; trying again")


def acknowledge_link(clone: Clone, claim: AckClaim, now: datetime) -> AckResult:
    """An ack link followed: queue it, apply it, commit and push; a conflict re-applies it on fresh files."""
    entry = {"incident": claim.incident, "person": claim.person, "at": stamp(now)}
    with clone.lock:
        incident_path(clone.root, claim.incident)  # IncidentError before anything is queued
        queue = AckQueue(clone.state)
        queue.add(claim.incident, claim.person, now)
        for _ in range(3):
            clone.sync()
            result = _apply(clone, entry)  # after a conflict: on the remote's files, told truthfully
            if clone.publish() is not Published.CONFLICT:
                break
        settle_queued(clone)
        return result


# --- HTTP -----------------------------------------------------------------------------------------

STYLE = "body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}"


def _page(title: str, text: str, form: bool = False) -> str:
    button = (
        '<form method="post"><button type="submit" style="font-size:1.1rem;padding:.5rem 1rem">'
        "Acknowledge</button></form>"
        if form
        else ""
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
        f"{button}</body></html>"
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _respond(title: str, text: str, status: int = 200, form: bool = False) -> Response:
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(_page(title, text, form), status_code=status, headers=headers)


def ack_endpoint(clone: Callable[[], Clone]) -> Callable[[Request], Any]:
    """GET /ack/{token}: confirm; POST: acknowledge. `clone` gives the runner's clone once it runs."""

    async def endpoint(request: Request) -> Response:
        now = clock.now()
        secret = ack_secret()
        try:
            if secret is None:
                raise BadToken("ack links are not enabled on this runner")
            claim = read_token(secret, request.path_params["token"], now)
        except BadToken as exc:
            return _respond("Link not valid", f"{_sentence(str(exc))} Nothing was changed.", 403)
        who = f" as {claim.person}" if claim.person else ""
        if request.method == "GET":
            return _respond(
                f"Acknowledge {claim.incident}?", f"Acknowledge incident {claim.incident}{who}.", form=True
            )
        try:
            result = await asyncio.to_thread(acknowledge_link, clone(), claim, now)
        except IncidentError as exc:
            return _respond("No such incident", str(exc), 404)
        except OSError as exc:  # a full disk, say: the queue is written atomically, so nothing was taken
            log.error("could not take an ack (answered 503): %s", exc)
            why = "The runner cannot store it now. Try the link again shortly."
            response = _respond("Not acknowledged", why, 503)
            response.headers["Retry-After"] = "10"
            return response
        return _respond("Acknowledged" if result.changed else "Nothing to do", _sentence(result.message))

    return endpoint

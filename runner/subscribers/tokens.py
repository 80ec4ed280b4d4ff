"""The tokens in subscribers' links.

A confirmation link's token is `<payload>.<signature>`, both base64url without padding: the
payload is compact JSON `{"v": 1, "r": request id, "n": the request's nonce, "e": expiry in unix
seconds}`, the signature HMAC-SHA256 over `tidings-subscribe-v1.` + the payload, keyed by a key
kept in the subscriber database (made there once, so a restored backup's links still work). The
address is not in it: a link in a URL ends up in proxies' logs. A forged, altered or expired one
is refused before the database is asked.

Unsubscribe and manage links carry `<subscriber id>-<token>`, the token 128 random bits made for
that subscriber and compared in constant time: they must keep working for as long as the
subscription does (RFC 8058), so they do not expire; unsubscribing deletes the token with the rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

CONTEXT = b"tidings-subscribe-v1."


class BadToken(ValueError):
    """A link that is not ours, was changed, or has expired; the message says which, for people."""


@dataclass(frozen=True)
class Confirmation:
    request: int
    nonce: str
    expires: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, CONTEXT + payload.encode(), hashlib.sha256).digest())


def confirmation_token(key: bytes, request: int, nonce: str, expires: float) -> str:
    data = {"v": 1, "r": request, "n": nonce, "e": int(expires)}
    payload = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_mac(key, payload)}"


def read_confirmation(key: bytes, token: str, now: float) -> Confirmation:
    """What a confirmation token names, if its signature holds and it has not expired; else BadToken."""
    payload, _, signature = token.partition(".")
    if not payload or not signature or len(token) > 512:
        raise BadToken("This is not a confirmation link of ours.")
    if not hmac.compare_digest(_mac(key, payload).encode(), signature.encode()):
        raise BadToken("This link is not valid: it was not made here, or it was changed on the way.")
    try:
        data: Any = json.loads(_unb64(payload))
        claim = Confirmation(int(data["r"]), str(data["n"]), float(data["e"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise BadToken("This link is not valid.") from exc
    if now >= claim.expires:
        raise BadToken("This link has expired.")
    return claim


def link_token(subscriber: int, token: str) -> str:
    return f"{subscriber}-{token}"


def read_link(text: str) -> tuple[int, str]:
    """(subscriber id, token) of an unsubscribe or manage link; BadToken when it has not that form."""
    number, _, token = text.partition("-")
    if not number.isdigit() or len(number) > 18 or not token or len(token) > 64:
        raise BadToken("This is not a link of ours.")
    return int(number), token

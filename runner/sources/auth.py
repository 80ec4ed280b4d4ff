"""Is a post from the sender it claims? Shared pieces of each source's `verify`.

Every source has one: given the integration, the request's headers (names in lower case), the raw
body and the environment, it accepts or refuses with why. Secrets come from the environment
variables the integration names; a variable that is unset or empty never matches anything, not
even an empty credential. Comparisons are constant-time. A refusal's reason is safe to log and to
answer with: it never holds a secret, nor what the sender presented.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from tidings.content.model import Integration


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""  # why it was refused
    unset: str = ""  # the variable that is not set, when that is why (the runner says so in its log)


ACCEPTED = Verdict(True)


def secret(environ: Mapping[str, str], name: str | None) -> bytes | None:
    """The value of variable `name` as bytes; None when it is unset or empty."""
    value = environ.get(name, "") if name else ""
    return value.encode() if value else None


def same(given: str | bytes, expected: bytes) -> bool:
    """Constant-time equality."""
    return hmac.compare_digest(given.encode() if isinstance(given, str) else given, expected)


def hmac_sha256_hex(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _basic(header: str) -> tuple[str, str] | None:
    """(user, password) from `Basic base64(user:password)`; None when it is not that."""
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def token(
    integration: Integration, headers: Mapping[str, str], body: bytes, environ: Mapping[str, str]
) -> Verdict:
    """`Authorization: Bearer <token_env>`, or Basic with `username` and token_env as the password."""
    expected = secret(environ, integration.token_env)
    given = headers.get("authorization", "")
    if integration.auth == "basic":
        pair = _basic(given) or ("", "")
        # Both compared, always, so the time taken says nothing about which one was wrong.
        user_ok = same(pair[0], (integration.username or "").encode())
        password_ok = expected is not None and same(pair[1], expected)
        if user_ok and password_ok:
            return ACCEPTED
        reason = "missing or wrong basic authentication"
    else:
        presented = given[7:] if given.lower().startswith("bearer ") else ""
        if expected is not None and same(presented, expected):
            return ACCEPTED
        reason = "missing or wrong bearer token"
    return Verdict(False, reason, "" if expected is not None else str(integration.token_env))

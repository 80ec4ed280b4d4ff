"""A POST to a subscriber's webhook: to the address its host was checked at, never redirected.

The host is resolved and checked (addresses.resolve) at each try, and the connection goes to that
address (with the host name kept for the Host header and TLS), so a DNS answer cannot turn public
between the check and the connection. A redirect is not followed: it would be a request to a URL
nobody checked. Signed as the runner's other webhooks are (X-Tidings-Timestamp and
X-Tidings-Signature: HMAC-SHA256 keyed by the subscriber's own secret, tidings.runner.escalation
.notifiers.sign), with the Idempotency-Key header.

What an answer means: 2xx sent; 410 gone (the subscriber is removed); 408, 425, 429, 5xx, no
connection or a timeout: try again later; anything else (a 3xx, a 4xx, an address that is not
allowed): failed for good, counting towards suspending the subscriber.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Mapping

from tidings.runner.escalation.notifiers import RETRYABLE_STATUS, USER_AGENT, sign
from tidings.runner.subscribers.addresses import AddressError, Target, resolve
from tidings.runner.subscribers.outcome import Outcome

MAX_ANSWER = 64 * 1024


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self.ip = target.ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self.ip, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        self.context = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self.context)
        self.ip = target.ip

    def connect(self) -> None:
        sock = socket.create_connection((self.ip, self.port), self.timeout)
        self.sock = self.context.wrap_socket(sock, server_hostname=self.host)


def signed_headers(secret: str, body: bytes, key: str, now: float) -> dict[str, str]:
    timestamp = str(int(now))
    return {
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        "X-Tidings-Timestamp": timestamp,
        "X-Tidings-Signature": sign(secret.encode(), timestamp, body),
    }


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float, allow_private: bool) -> Outcome:
    """POST `body` to `url`; what happened, never an exception."""
    try:
        target = resolve(url, allow_private)
    except AddressError as exc:
        return Outcome.bounced(str(exc))
    conn: http.client.HTTPConnection = (
        _PinnedHTTPS(target, timeout) if target.scheme == "https" else _PinnedHTTP(target, timeout)
    )
    try:
        conn.request("POST", target.path, body=body, headers={"User-Agent": USER_AGENT, **headers})
        response = conn.getresponse()
        answer = response.read(MAX_ANSWER)
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        return Outcome.retry(f"could not reach the webhook ({type(exc).__name__}: {exc})")
    finally:
        conn.close()
    if 200 <= status < 300:
        return Outcome.sent(answer)
    if status == 410:
        return Outcome.gone()
    if status in RETRYABLE_STATUS:
        return Outcome.retry(f"HTTP {status}")
    return Outcome.bounced(f"HTTP {status}")

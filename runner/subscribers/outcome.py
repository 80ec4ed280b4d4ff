"""How one try to tell a subscriber (or to send an opt-in) ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["sent", "retry", "failed", "bounced", "gone"]


@dataclass(frozen=True)
class Outcome:
    """`sent`; `retry` later; `failed` for good but not the subscriber's doing; `bounced`: failed
    for good because of the subscriber's address (it counts towards suspending them); `gone`: the
    webhook answered 410, unsubscribe it. `error` is for the database, never for a log line (it
    may quote the address)."""

    kind: Kind
    error: str | None = None
    body: bytes = b""  # what a webhook answered (a challenge's echo)

    @classmethod
    def sent(cls, body: bytes = b"") -> Outcome:
        return cls("sent", None, body)

    @classmethod
    def retry(cls, error: str) -> Outcome:
        return cls("retry", error)

    @classmethod
    def failed(cls, error: str) -> Outcome:
        return cls("failed", error)

    @classmethod
    def bounced(cls, error: str) -> Outcome:
        return cls("bounced", error)

    @classmethod
    def gone(cls) -> Outcome:
        return cls("gone", "HTTP 410 Gone")

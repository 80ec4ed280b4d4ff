"""The one place "now" comes from, so output can be pinned with SOURCE_DATE_EPOCH."""

from __future__ import annotations

import os
from datetime import UTC, datetime


def now() -> datetime:
    """The current time in UTC, or SOURCE_DATE_EPOCH when it is set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC)
        except ValueError as exc:
            raise ValueError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, not {epoch!r}") from exc
    return datetime.now(tz=UTC)

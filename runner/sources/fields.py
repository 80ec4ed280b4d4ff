"""Reading a payload's values the same way in every source: times, strings, severities, ids.

Each reader names the field it was reading in the PayloadError it raises, so a 422 says where.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tidings.content.model import SEVERITIES, Integration
from tidings.runner.sources.events import PayloadError

# Times outside these years are a sender's bug; they would not survive arithmetic (or a page) anyway.
EARLIEST_YEAR, LATEST_YEAR = 1970, 9000
# Unix times above this are milliseconds (it is the year 5138 in seconds).
MILLISECONDS_FROM = 10**11
# An id from a sender used as it is in a group id; anything else is hashed (it lands in files and trailers).
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$")

# What monitoring tools commonly call their levels, in GitLab's five severities.
LEVELS: Mapping[str, str] = {
    **{s: s for s in SEVERITIES},
    "p1": "critical", "p2": "high", "p3": "medium", "p4": "low", "p5": "low",
    "fatal": "critical", "error": "high", "warning": "medium", "warn": "medium",
    "info": "low", "debug": "low",
}  # fmt: skip


def in_range(parsed: datetime, value: Any, where: str) -> datetime:
    try:
        year = parsed.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise PayloadError(where, f"{value!r} is out of range ({EARLIEST_YEAR} to {LATEST_YEAR})")
    return parsed


def rfc3339(value: Any, where: str) -> datetime:
    """An RFC 3339 time with its offset (PayloadError naming `where` otherwise)."""
    if not isinstance(value, str):
        raise PayloadError(where, "expected an RFC 3339 time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadError(where, f"{value!r} is not an RFC 3339 time") from exc
    if parsed.tzinfo is None:
        raise PayloadError(where, f"{value!r} has no timezone")
    return in_range(parsed, value, where)


def any_time(value: Any, where: str) -> datetime:
    """RFC 3339 text, or Unix seconds or milliseconds (a number, or digits as text)."""
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    digits = isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value.strip()) is not None
    if not (numeric or digits):
        return rfc3339(value, where)
    number = float(value)
    seconds = number / 1000 if number >= MILLISECONDS_FROM else number
    try:
        parsed = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise PayloadError(where, f"{value!r} is out of range ({EARLIEST_YEAR} to {LATEST_YEAR})") from None
    return in_range(parsed, value, where)


def strings(value: Any, where: str) -> dict[str, str]:
    """A mapping of strings (labels, annotations)."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise PayloadError(where, "expected a mapping of strings")
    return value


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(where, "expected an object")
    return value


def text(value: Any, where: str, required: bool = False) -> str:
    """A string (numbers are taken as their text); "" for null, or a PayloadError when `required`."""
    if value is None or value == "":
        if required:
            raise PayloadError(where, "required, a non-empty string")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PayloadError(where, "expected a string")
    return str(value)


def severity_of(integration: Integration, *values: str) -> str:
    """The first value that means a severity: through severity_map (as written, then in any case),
    then the common level names (LEVELS); "unknown" when none does."""
    lowered = {k.lower(): v for k, v in integration.severity_map.items()}
    for value in values:
        if not value:
            continue
        mapped = (
            integration.severity_map.get(value) or lowered.get(value.lower()) or LEVELS.get(value.lower())
        )
        if mapped:
            return mapped
    return "unknown"


def group_id(prefix: str, key: str) -> str:
    """`prefix-key` for a sender's plain id, `prefix-<hash>` for anything else."""
    if SAFE_ID.match(key):
        return f"{prefix}-{key}"
    return f"{prefix}-" + hashlib.sha256(key.encode()).hexdigest()[:16]

"""Alert sources: each turns a posted payload into an AlertEvent (or a PayloadError naming the field).

`parse` is the one entry: the HTTP endpoint checks a post with it before journalling, the worker
applies journalled posts with it, and `runner apply` reads a payload file with it.
"""

from __future__ import annotations

import json
from datetime import datetime

from tidings.content.model import Integration
from tidings.runner.sources import alertmanager, generic
from tidings.runner.sources.events import AlertEvent, PayloadError


def parse(kind: str, body: bytes, integration: Integration, received_at: datetime) -> AlertEvent:
    """The event a posted body of source `kind` says (PayloadError when it is not one)."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError("(body)", f"not JSON: {exc}") from exc
    except RecursionError:
        raise PayloadError("(body)", "not JSON we read: nested too deeply") from None
    if kind == "generic":
        return generic.parse(payload, integration, received_at)
    return alertmanager.parse(payload, integration)

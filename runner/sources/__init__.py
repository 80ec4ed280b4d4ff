"""Alert sources: each turns a posted payload into an AlertEvent (or a PayloadError naming the field).

`parse` is the one entry: the HTTP endpoint checks a post with it before journalling, the worker
applies journalled posts with it, and `runner apply` reads a payload file with it. `verify` is the
endpoint's check that a post comes from its sender (runner/sources/auth.py). A source whose parser
needs request headers lists them in HEADERS; the endpoint keeps those in the journal with the body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tidings.content.model import Integration
from tidings.runner.sources import alertmanager, auth, datadog, generic, grafana, pagerduty, sentry
from tidings.runner.sources.auth import Verdict
from tidings.runner.sources.events import AlertEvent, PayloadError

Parser = Callable[[Any, Integration, datetime, Mapping[str, str]], AlertEvent]
Verifier = Callable[[Integration, Mapping[str, str], bytes, Mapping[str, str]], Verdict]


@dataclass(frozen=True)
class Source:
    parse: Parser
    verify: Verifier
    headers: tuple[str, ...] = ()  # request headers (lower case) the parser reads


SOURCES: dict[str, Source] = {
    "generic": Source(lambda p, i, at, h: generic.parse(p, i, at), auth.token),
    "alertmanager": Source(lambda p, i, at, h: alertmanager.parse(p, i), auth.token),
    "grafana": Source(lambda p, i, at, h: grafana.parse(p, i), auth.token),
    "pagerduty": Source(lambda p, i, at, h: pagerduty.parse(p, i), pagerduty.verify),
    "datadog": Source(lambda p, i, at, h: datadog.parse(p, i, at), auth.token),
    "sentry": Source(sentry.parse, sentry.verify, sentry.HEADERS),
}


def load_json(body: bytes) -> Any:
    """The posted body as JSON (PayloadError on `(body)` when it is not JSON)."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError("(body)", f"not JSON: {exc}") from exc
    except RecursionError:
        raise PayloadError("(body)", "not JSON we read: nested too deeply") from None


def parse(
    kind: str,
    body: bytes,
    integration: Integration,
    received_at: datetime,
    headers: Mapping[str, str] | None = None,
) -> AlertEvent:
    """The event a posted body of source `kind` says (PayloadError when it is not one; IgnoredEvent
    when it is a known event that changes no alert). `headers`: the request's, names in lower case
    (for the sources that read some)."""
    return SOURCES[kind].parse(load_json(body), integration, received_at, headers or {})


def verify(
    kind: str, integration: Integration, headers: Mapping[str, str], body: bytes, environ: Mapping[str, str]
) -> Verdict:
    """Whether a post to integration `integration` comes from its sender, and if not why."""
    return SOURCES[kind].verify(integration, headers, body, environ)


def kept_headers(kind: str, headers: Mapping[str, str]) -> dict[str, str]:
    """The request headers source `kind` reads, to keep in the journal with the body."""
    return {name: headers[name] for name in SOURCES[kind].headers if name in headers}

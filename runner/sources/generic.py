"""GitLab's generic alert format: one alert per post, grouped by its fingerprint."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from tidings import clock
from tidings.content.model import Integration
from tidings.runner.sources.alertmanager import _time
from tidings.runner.sources.events import Alert, AlertEvent, PayloadError

# GitLab's own severities, and the alert levels monitoring tools commonly send.
SEVERITIES = {"critical": "critical", "high": "high", "medium": "medium", "low": "low", "info": "low",
              "unknown": "unknown"}  # fmt: skip


def parse(payload: Any, integration: Integration, received_at: datetime | None = None) -> AlertEvent:
    if not isinstance(payload, dict):
        raise PayloadError("(body)", "expected a JSON object")
    title = payload.get("title")
    if not isinstance(title, str) or not title.strip():
        raise PayloadError("title", "required, a non-empty string")
    for key in ("description", "service", "monitoring_tool", "gitlab_environment_name", "fingerprint"):
        if key in payload and not isinstance(payload[key], str | int | float):
            raise PayloadError(key, "expected a string")
    hosts = payload.get("hosts", [])
    if isinstance(hosts, str):
        hosts = [hosts]
    if not isinstance(hosts, list):
        raise PayloadError("hosts", "expected a list of strings")
    starts = (
        _time(payload["start_time"], "start_time")
        if "start_time" in payload
        else (received_at or clock.now())
    )
    ends = _time(payload["end_time"], "end_time") if payload.get("end_time") else None
    if ends is not None and "start_time" in payload and ends < starts:
        raise PayloadError("end_time", f"{payload['end_time']!r} is before start_time")
    # GitLab: without a fingerprint, the payload itself identifies the alert.
    raw_fingerprint = payload.get("fingerprint")
    if raw_fingerprint is None:
        identity = {k: v for k, v in payload.items() if k not in ("start_time", "end_time")}
        raw_fingerprint = json.dumps(identity, sort_keys=True)
    fingerprint = hashlib.sha1(str(raw_fingerprint).encode()).hexdigest()[:16]
    service = str(payload.get("service", ""))
    severity = str(payload.get("severity", "")).lower()
    alert = Alert(
        fingerprint=fingerprint,
        state="resolved" if ends else "firing",
        starts_at=starts,
        ends_at=ends,
        labels={
            k: str(payload[k])
            for k in ("service", "monitoring_tool", "gitlab_environment_name")
            if k in payload
        },
        annotations={"description": str(payload.get("description", "")), "hosts": ", ".join(map(str, hosts))},
        starts_known="start_time" in payload,
        title=title.strip(),
        description=str(payload.get("description", "")),
        severity=integration.severity_map.get(severity) or SEVERITIES.get(severity, "unknown"),
        component=service,
        hosts=tuple(str(h) for h in hosts),
        monitoring_tool=str(payload.get("monitoring_tool", "")),
        environment=str(payload.get("gitlab_environment_name", "")),
    )
    return AlertEvent(
        source=integration.id,
        kind="generic",
        group="gen-" + fingerprint,
        title=title.strip(),
        description=str(payload.get("description", "")),
        alerts=(alert,),
        severity=integration.severity_map.get(severity) or SEVERITIES.get(severity, "unknown"),
        components=(service,) if service else (),
    )

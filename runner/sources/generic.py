"""GitLab's generic alert format: one alert per post, grouped by its fingerprint.

An integration with a `mapping:` (GitLab's "customizable payload") reads the same fields from any
JSON through the mapping's paths instead (runner/sources/mapping.py); what follows is the same.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tidings import clock
from tidings.content.model import Integration
from tidings.runner.sources import mapping as custom
from tidings.runner.sources.events import Alert, AlertEvent, PayloadError
from tidings.runner.sources.fields import rfc3339, severity_of

# GitLab's own severities, and the alert levels monitoring tools commonly send.
SEVERITIES = {"critical": "critical", "high": "high", "medium": "medium", "low": "low", "info": "low",
              "unknown": "unknown"}  # fmt: skip


@dataclass(frozen=True)
class Fields:
    """One generic alert, read from GitLab's format or through a mapping."""

    title: str
    description: str
    starts: datetime | None  # None: the sender gave no start
    ends: datetime | None
    resolved: bool
    severity: str  # one of GitLab's five
    service: str
    hosts: tuple[str, ...]
    monitoring_tool: str
    environment: str
    runbook: str
    identity: str  # what identifies the alert: the fingerprint the sender gave, or the payload
    labels: dict[str, str]


def _severity(integration: Integration, value: str) -> str:
    value = value.lower()
    return integration.severity_map.get(value) or SEVERITIES.get(value, "unknown")


def _gitlab_fields(payload: dict[str, Any], integration: Integration) -> Fields:
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
    starts = rfc3339(payload["start_time"], "start_time") if "start_time" in payload else None
    ends = rfc3339(payload["end_time"], "end_time") if payload.get("end_time") else None
    if ends is not None and starts is not None and ends < starts:
        raise PayloadError("end_time", f"{payload['end_time']!r} is before start_time")
    # GitLab: without a fingerprint, the payload itself identifies the alert.
    identity = payload.get("fingerprint")
    if identity is None:
        identity = json.dumps({k: v for k, v in payload.items() if k not in ("start_time", "end_time")},
                              sort_keys=True)  # fmt: skip
    return Fields(
        title=title.strip(),
        description=str(payload.get("description", "")),
        starts=starts,
        ends=ends,
        resolved=ends is not None,
        severity=_severity(integration, str(payload.get("severity", ""))),
        service=str(payload.get("service", "")),
        hosts=tuple(str(h) for h in hosts),
        monitoring_tool=str(payload.get("monitoring_tool", "")),
        environment=str(payload.get("gitlab_environment_name", "")),
        runbook="",
        identity=str(identity),
        labels={
            k: str(payload[k])
            for k in ("service", "monitoring_tool", "gitlab_environment_name")
            if k in payload
        },
    )


def mapped_fields(payload: Any, integration: Integration) -> tuple[Fields | None, custom.Mapped]:
    """The fields through the integration's mapping (None when a problem is an error), and what
    the mapping found, problems included."""
    assert integration.mapping is not None
    found = custom.read(payload, integration.mapping)
    if found.errors:
        return None, found
    resolved = found.resolved if found.resolved is not None else found.end_time is not None
    # Without mapped fingerprint paths, what a person would call "the same alert" identifies it:
    # never its times or changing text, so its resolve finds it.
    identity = found.fingerprint
    if identity is None:
        who = [found.title, found.service, found.environment, list(found.hosts), found.monitoring_tool]
        identity = json.dumps(who)
    labels = {"service": found.service, "monitoring_tool": found.monitoring_tool,
              "environment": found.environment}  # fmt: skip
    return (
        Fields(
            title=found.title,
            description=found.description,
            starts=found.start_time,
            ends=found.end_time,
            resolved=resolved,
            severity=found.severity_mapped or severity_of(integration, found.severity),
            service=found.service,
            hosts=found.hosts,
            monitoring_tool=found.monitoring_tool,
            environment=found.environment,
            runbook=found.runbook,
            identity=identity,
            labels={k: v for k, v in labels.items() if v},
        ),
        found,
    )


def event_of(fields: Fields, integration: Integration, received_at: datetime | None) -> AlertEvent:
    """The AlertEvent of one generic alert."""
    starts = fields.starts or received_at or clock.now()
    ends = fields.ends
    if fields.resolved and ends is None:
        ends = received_at or clock.now()
    fingerprint = hashlib.sha1(fields.identity.encode()).hexdigest()[:16]
    alert = Alert(
        fingerprint=fingerprint,
        state="resolved" if fields.resolved else "firing",
        starts_at=starts,
        ends_at=ends,
        labels=fields.labels,
        annotations={"description": fields.description, "hosts": ", ".join(fields.hosts)},
        starts_known=fields.starts is not None,
        title=fields.title,
        description=fields.description,
        severity=fields.severity,
        component=fields.service,
        hosts=fields.hosts,
        monitoring_tool=fields.monitoring_tool,
        environment=fields.environment,
        runbook=fields.runbook,
    )
    return AlertEvent(
        source=integration.id,
        kind="generic",
        group="gen-" + fingerprint,
        title=fields.title,
        description=fields.description,
        alerts=(alert,),
        severity=fields.severity,
        components=(fields.service,) if fields.service else (),
        runbooks=(fields.runbook,) if fields.runbook else (),
    )


def parse(payload: Any, integration: Integration, received_at: datetime | None = None) -> AlertEvent:
    if integration.mapping is not None:
        fields, found = mapped_fields(payload, integration)
        if fields is None:
            raise found.errors[0].as_payload_error()
        return event_of(fields, integration, received_at)
    if not isinstance(payload, dict):
        raise PayloadError("(body)", "expected a JSON object")
    return event_of(_gitlab_fields(payload, integration), integration, received_at)

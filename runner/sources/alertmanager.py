"""Prometheus Alertmanager webhooks (version 4): each post is the whole state of one alert group."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from tidings.content.model import Integration
from tidings.runner.sources.events import Alert, AlertEvent, PayloadError

# A firing alert's endsAt is Go's zero time.
ZERO_TIME = "0001-01-01T00:00:00Z"
# Times outside these years are a sender's bug; they would not survive arithmetic (or a page) anyway.
EARLIEST_YEAR, LATEST_YEAR = 1970, 9000


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise PayloadError(where, "expected an RFC 3339 time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadError(where, f"{value!r} is not an RFC 3339 time") from exc
    if parsed.tzinfo is None:
        raise PayloadError(where, f"{value!r} has no timezone")
    try:
        year = parsed.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise PayloadError(where, f"{value!r} is out of range ({EARLIEST_YEAR} to {LATEST_YEAR})")
    return parsed


def _strings(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise PayloadError(where, "expected a mapping of strings")
    return value


def _severity(integration: Integration, value: str) -> str:
    """The label's value through severity_map, as written or in any case ("Critical" is critical)."""
    mapped = integration.severity_map.get(value)
    if mapped is None:
        lowered = {k.lower(): v for k, v in integration.severity_map.items()}
        mapped = lowered.get(value.lower(), "unknown")
    return mapped


def group_id(group_key: str) -> str:
    """A short stable id for a groupKey (which holds braces and quotes)."""
    return "am-" + hashlib.sha256(group_key.encode()).hexdigest()[:16]


def parse(payload: Any, integration: Integration) -> AlertEvent:
    """One AlertEvent for the group in the payload; PayloadError names the first field that is wrong."""
    if not isinstance(payload, dict):
        raise PayloadError("(body)", "expected a JSON object")
    if str(payload.get("version")) != "4":
        raise PayloadError("version", "only Alertmanager webhook version 4 is understood")
    group_key = payload.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        raise PayloadError("groupKey", "missing")
    raw_alerts = payload.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        raise PayloadError("alerts", "expected a non-empty list")
    alerts = []
    for n, raw in enumerate(raw_alerts):
        where = f"alerts[{n}]"
        if not isinstance(raw, dict):
            raise PayloadError(where, "expected an object")
        state = raw.get("status")
        if state not in ("firing", "resolved"):
            raise PayloadError(f"{where}.status", "expected 'firing' or 'resolved'")
        fingerprint = raw.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint:
            raise PayloadError(f"{where}.fingerprint", "missing")
        ends = raw.get("endsAt")
        labels = _strings(raw.get("labels", {}), f"{where}.labels")
        notes = _strings(raw.get("annotations", {}), f"{where}.annotations")
        generator = raw.get("generatorURL")
        runbook_key = integration.runbook_annotation
        alerts.append(
            Alert(
                fingerprint=fingerprint,
                state=state,
                starts_at=_time(raw.get("startsAt"), f"{where}.startsAt"),
                ends_at=None if ends in (None, ZERO_TIME) else _time(ends, f"{where}.endsAt"),
                labels=labels,
                annotations=notes,
                title=notes.get("summary") or labels.get("alertname", "Alert"),
                description=notes.get("description", ""),
                severity=_severity(integration, labels.get(integration.severity_label, "")),
                component=labels.get(integration.component_label, ""),
                hosts=(labels["instance"],) if labels.get("instance") else (),
                monitoring_tool="Prometheus",
                environment=labels.get("environment") or labels.get("env", ""),
                runbook=notes.get(runbook_key) or labels.get(runbook_key, ""),
                links=(("source", generator),) if isinstance(generator, str) and generator else (),
            )
        )
    common = _strings(payload.get("commonLabels", {}), "commonLabels")
    common_notes = _strings(payload.get("commonAnnotations", {}), "commonAnnotations")
    group_labels = _strings(payload.get("groupLabels", {}), "groupLabels")
    name = group_labels.get("alertname") or common.get("alertname") or "Alert"
    scope = ", ".join(f"{k}={v}" for k, v in sorted(group_labels.items()) if k != "alertname")
    title = common_notes.get("summary") or (f"{name} ({scope})" if scope else name)
    components = sorted(
        {a.labels[integration.component_label] for a in alerts if integration.component_label in a.labels}
    )
    severity_value = common.get(integration.severity_label) or next(
        (a.labels[integration.severity_label] for a in alerts if integration.severity_label in a.labels), ""
    )
    runbooks = sorted(
        {
            a.annotations.get(integration.runbook_annotation)
            or a.labels.get(integration.runbook_annotation, "")
            for a in alerts
        }
        - {""}
    )
    truncated = payload.get("truncatedAlerts", 0)
    return AlertEvent(
        source=integration.id,
        kind="alertmanager",
        group=group_id(group_key),
        title=title,
        description=common_notes.get("description", ""),
        alerts=tuple(alerts),
        severity=_severity(integration, severity_value),
        components=tuple(components),
        runbooks=tuple(runbooks),
        truncated=truncated if isinstance(truncated, int) else 0,
    )

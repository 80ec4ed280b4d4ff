"""Prometheus Alertmanager webhooks (version 4): each post is the whole state of one alert group.

Grafana's webhook contact point posts the same shape (its alerting is Alertmanager inside), so
`parse_group` reads both; runner/sources/grafana.py adds what Grafana sends besides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from tidings.content.model import Integration
from tidings.runner.sources.events import Alert, AlertEvent, PayloadError
from tidings.runner.sources.fields import rfc3339, strings

# A firing alert's endsAt is Go's zero time.
ZERO_TIME = "0001-01-01T00:00:00Z"
# Per alert: (label, URL) pairs for the links the source gives besides generatorURL.
Links = Callable[[dict[str, Any]], tuple[tuple[str, str], ...]]


def _severity(integration: Integration, value: str) -> str:
    """The label's value through severity_map, as written or in any case ("Critical" is critical)."""
    mapped = integration.severity_map.get(value)
    if mapped is None:
        lowered = {k.lower(): v for k, v in integration.severity_map.items()}
        mapped = lowered.get(value.lower(), "unknown")
    return mapped


def group_id(group_key: str, prefix: str = "am") -> str:
    """A short stable id for a groupKey (which holds braces and quotes)."""
    return f"{prefix}-" + hashlib.sha256(group_key.encode()).hexdigest()[:16]


def _no_links(raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return ()


def parse_group(
    payload: dict[str, Any],
    integration: Integration,
    kind: str = "alertmanager",
    prefix: str = "am",
    tool: str = "Prometheus",
    links: Links = _no_links,
    runbook_keys: tuple[str, ...] = (),
) -> AlertEvent:
    """The group of an Alertmanager-shaped payload (version already checked by the caller).

    `runbook_keys`: annotations read for the runbook after the integration's own.
    """
    group_key = payload.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        raise PayloadError("groupKey", "missing")
    raw_alerts = payload.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        raise PayloadError("alerts", "expected a non-empty list")
    runbook_key = integration.runbook_annotation
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
        labels = strings(raw.get("labels", {}), f"{where}.labels")
        notes = strings(raw.get("annotations", {}), f"{where}.annotations")
        generator = raw.get("generatorURL")
        source = (("source", generator),) if isinstance(generator, str) and generator else ()
        runbook = notes.get(runbook_key) or labels.get(runbook_key, "")
        runbook = runbook or next((notes[k] for k in runbook_keys if notes.get(k)), "")
        alerts.append(
            Alert(
                fingerprint=fingerprint,
                state=state,
                starts_at=rfc3339(raw.get("startsAt"), f"{where}.startsAt"),
                ends_at=None if ends in (None, ZERO_TIME) else rfc3339(ends, f"{where}.endsAt"),
                labels=labels,
                annotations=notes,
                title=notes.get("summary") or labels.get("alertname", "Alert"),
                description=notes.get("description", ""),
                severity=_severity(integration, labels.get(integration.severity_label, "")),
                component=labels.get(integration.component_label, ""),
                hosts=(labels["instance"],) if labels.get("instance") else (),
                monitoring_tool=tool,
                environment=labels.get("environment") or labels.get("env", ""),
                runbook=runbook,
                links=source + links(raw),
            )
        )
    common = strings(payload.get("commonLabels", {}), "commonLabels")
    common_notes = strings(payload.get("commonAnnotations", {}), "commonAnnotations")
    group_labels = strings(payload.get("groupLabels", {}), "groupLabels")
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
        kind=kind,
        group=group_id(group_key, prefix),
        title=title,
        description=common_notes.get("description", ""),
        alerts=tuple(alerts),
        severity=_severity(integration, severity_value),
        components=tuple(components),
        runbooks=tuple(runbooks),
        truncated=truncated if isinstance(truncated, int) else 0,
    )


def parse(payload: Any, integration: Integration) -> AlertEvent:
    """One AlertEvent for the group in the payload; PayloadError names the first field that is wrong."""
    if not isinstance(payload, dict):
        raise PayloadError("(body)", "expected a JSON object")
    if str(payload.get("version")) != "4":
        raise PayloadError("version", "only Alertmanager webhook version 4 is understood")
    return parse_group(payload, integration)

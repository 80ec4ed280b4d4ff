"""Grafana Alerting's webhook contact point (payload version "1").

Grafana's notifications go through an Alertmanager inside Grafana, so a post has Alertmanager's
shape and meaning: the whole current state of one group (`groupKey`), alerts with `fingerprint`,
`startsAt` and `endsAt` (Go's zero time while firing). Grafana adds per alert the links a responder
wants (dashboard, panel, silence, image) and the query `values` that fired it; the top-level
`title`, `state` and `message` are deprecated there and left alone here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tidings.content.model import Integration
from tidings.runner.sources.alertmanager import parse_group
from tidings.runner.sources.events import AlertEvent, PayloadError

LINKS = (
    ("dashboardURL", "dashboard"),
    ("panelURL", "panel"),
    ("silenceURL", "silence"),
    ("imageURL", "image"),
)


def _links(raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((label, raw[key]) for key, label in LINKS if isinstance(raw.get(key), str) and raw[key])


def _values(raw: dict[str, Any]) -> str:
    """The query values that fired the alert, as text: `B=44.24, C=1`."""
    values = raw.get("values")
    if not isinstance(values, dict):
        return ""
    return ", ".join(
        f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(values.items())
    )


def parse(payload: Any, integration: Integration) -> AlertEvent:
    """One AlertEvent for the group in a Grafana webhook post."""
    if not isinstance(payload, dict):
        raise PayloadError("(body)", "expected a JSON object")
    if str(payload.get("version")) != "1":
        raise PayloadError("version", 'expected Grafana\'s webhook payload, version "1"')
    event = parse_group(
        payload, integration, kind="grafana", prefix="gf", tool="Grafana", links=_links,
        runbook_keys=("runbook_url",),
    )  # fmt: skip
    raw_alerts = payload["alerts"]
    alerts = []
    for alert, raw in zip(event.alerts, raw_alerts, strict=True):
        values = _values(raw)
        if values:
            alert = dataclasses.replace(alert, annotations={**alert.annotations, "values": values})
        alerts.append(alert)
    return dataclasses.replace(event, alerts=tuple(alerts), title=_title(event, payload))


def _title(event: AlertEvent, payload: dict[str, Any]) -> str:
    """Alertmanager's title, or, where the group names no alert (Grafana groups by folder, or by
    nothing), the names of its alert rules and the labels they share."""
    grouped = {**payload.get("commonLabels", {}), **payload.get("groupLabels", {})}
    if event.title != "Alert" or "alertname" in grouped:
        return event.title
    names = [n for n in dict.fromkeys(a.labels.get("alertname", "") for a in event.alerts) if n]
    if not names:
        return event.title
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    scope = ", ".join(f"{k}={v}" for k, v in sorted(grouped.items()) if k != "grafana_folder")
    return f"{shown} ({scope})" if scope else shown

"""What every alert source is turned into: one event per alert group, the same shape for all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tidings.errors import TidingsError


class PayloadError(TidingsError, ValueError):
    """Valid JSON of the wrong shape; `field` names where."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class IgnoredEvent(TidingsError):
    """A known source's event that says nothing we act on (PagerDuty's `service.updated`, Sentry's
    `installation`, ...): answered 202, so the sender never retries it, logged and counted."""

    def __init__(self, source: str, event: str, why: str = "not an event the runner acts on"):
        super().__init__(f"{source} event {event!r} ignored: {why}")
        self.source = source
        self.event = event
        self.why = why


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    state: str  # "firing" or "resolved"
    starts_at: datetime
    ends_at: datetime | None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    # False when the sender gave no start (a generic alert without start_time): starts_at is then
    # when the post arrived, and a re-post of a firing alert is not a new firing.
    starts_known: bool = True
    # What an alert record shows (every source fills what it knows; the rest stays empty).
    title: str = ""
    description: str = ""
    severity: str = "unknown"  # through the integration's severity_map
    component: str = ""  # the service/component it names, known to the page or not
    hosts: tuple[str, ...] = ()
    monitoring_tool: str = ""
    environment: str = ""
    runbook: str = ""  # a runbook id of the repo, or a URL
    links: tuple[tuple[str, str], ...] = ()  # (label, URL): source, dashboard, panel, silence...
    # A triage state the source itself reports (PagerDuty's acknowledged, Sentry's ignored), and who
    # set it there; "" when the source says nothing of triage (Alertmanager, generic).
    triage: str = ""  # "", "acknowledged", "unacknowledged" or "ignored"
    triage_by: str = ""


@dataclass(frozen=True)
class AlertEvent:
    """The whole current state of one alert group from one integration."""

    source: str  # the integration id
    kind: str  # the source: "alertmanager", "generic", ...
    group: str  # one group maps to one incident
    title: str
    description: str
    alerts: tuple[Alert, ...]
    severity: str = "unknown"
    components: tuple[str, ...] = ()
    runbooks: tuple[str, ...] = ()
    truncated: int = 0

    @property
    def firing(self) -> bool:
        return any(a.state == "firing" for a in self.alerts)

    @property
    def started_at(self) -> datetime:
        return min(a.starts_at for a in self.alerts)

    @property
    def resolved_at(self) -> datetime | None:
        ends = [a.ends_at for a in self.alerts if a.ends_at is not None]
        return max(ends) if ends and not self.firing else None

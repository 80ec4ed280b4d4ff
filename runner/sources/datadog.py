"""Datadog monitor notifications through Datadog's Webhooks integration.

Datadog posts whatever JSON its webhook's payload template says, with `$VARIABLES` filled in; the
README gives the template to paste (TEMPLATE below, tested), and this reads it. One post is one
notification of one monitor group:

- `aggreg_key` ($AGGREG_KEY) groups the notifications of one monitor group: it is the alert's
  fingerprint and its group (one incident).
- `transition` ($ALERT_TRANSITION) decides: Triggered, Warn and No Data fire at `date` ($DATE,
  Unix milliseconds); Recovered resolves; the re-notifications (Re-Triggered, Re-Warn, Re-No Data,
  Renotify) say it still fires, which is no new firing (they fire it only when it was not firing).
  Any other transition is ignored (202).
- `tags` ($TAGS, "key:value, ...") give the component (the integration's component_label, by
  default the `service` tag), `env`, and the runbook; `priority` ($ALERT_PRIORITY, P1 to P5) the
  severity, unless a tag named by severity_label says it.

Datadog signs nothing: the integration's token comes in a custom header (`Authorization: Bearer`)
or as Basic authentication in the webhook's URL.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tidings.content.model import Integration
from tidings.runner.sources.events import Alert, AlertEvent, IgnoredEvent
from tidings.runner.sources.fields import any_time, group_id, obj, severity_of, text

KIND = "datadog"
FIRING = {"triggered", "warn", "no data"}
RENOTIFY = {"re-triggered", "re-warn", "re-no data", "renotify"}
RESOLVED = {"recovered"}
# Datadog puts the transition in front of titles ("[Triggered on {host:web-1}] High CPU"); it would
# stay in the incident's title long after it stopped being true.
_TRANSITION_PREFIX = re.compile(
    r"^\[(re-)?(triggered|recovered|warn|no data|renotify)\b[^\]]*\]\s*", re.IGNORECASE
)

# The webhook payload to paste into Datadog (the README shows it; a test checks they agree).
TEMPLATE = """{
  "id": "$ID",
  "alert_id": "$ALERT_ID",
  "aggreg_key": "$AGGREG_KEY",
  "transition": "$ALERT_TRANSITION",
  "title": "$ALERT_TITLE",
  "message": "$EVENT_MSG",
  "priority": "$ALERT_PRIORITY",
  "link": "$LINK",
  "date": "$DATE",
  "tags": "$TAGS",
  "scope": "$ALERT_SCOPE",
  "hostname": "$HOSTNAME"
}"""


def tags_of(value: str) -> dict[str, str]:
    """`monitor, name:myService, role:computing-node` -> {"monitor": "", "name": "myService", ...}."""
    tags = {}
    for item in value.split(","):
        key, _, tag_value = item.strip().partition(":")
        if key:
            tags[key] = tag_value
    return tags


def _message(value: str) -> str:
    """$EVENT_MSG without Datadog's `%%%` markdown fences."""
    return value.strip().removeprefix("%%%").removesuffix("%%%").strip()


def parse(payload: Any, integration: Integration, received_at: datetime) -> AlertEvent:
    """The alert one notification says; IgnoredEvent for a transition that is none of ours."""
    payload = obj(payload, "(body)")
    transition = text(payload.get("transition"), "transition")
    lowered = transition.lower()
    if lowered not in FIRING | RENOTIFY | RESOLVED:
        raise IgnoredEvent(
            KIND, transition or "(no transition)", "not a monitor transition the runner acts on"
        )
    key = text(payload.get("aggreg_key"), "aggreg_key", required=True)
    date = payload.get("date")
    when = any_time(date, "date") if date not in (None, "") else received_at
    tags = tags_of(text(payload.get("tags"), "tags"))
    monitor = text(payload.get("alert_id"), "alert_id")
    raw_title = text(payload.get("title"), "title")
    title = _TRANSITION_PREFIX.sub("", raw_title).strip() or f"Datadog monitor {monitor or key}"
    message = _message(text(payload.get("message"), "message"))
    priority = text(payload.get("priority"), "priority")
    hostname = text(payload.get("hostname"), "hostname")
    scope = text(payload.get("scope"), "scope")
    warn = "warning" if "warn" in lowered else ""
    severity = severity_of(integration, tags.get(integration.severity_label, ""), priority, warn)
    resolved = lowered in RESOLVED
    link = text(payload.get("link"), "link")
    labels = {k: v for k, v in tags.items() if v}
    alert = Alert(
        fingerprint=key,
        state="resolved" if resolved else "firing",
        starts_at=when,
        ends_at=when if resolved else None,
        labels=labels,
        annotations={
            "description": message,
            "transition": transition,
            "monitor": monitor,
            "scope": scope,
            "event_id": text(payload.get("id"), "id"),
        },
        # A re-notification carries the time it was sent, not when the alert started.
        starts_known=lowered not in RENOTIFY and date not in (None, ""),
        title=title,
        description=message,
        severity=severity,
        component=tags.get(integration.component_label, ""),
        hosts=(hostname,) if hostname else (),
        monitoring_tool="Datadog",
        environment=tags.get("env") or tags.get("environment", ""),
        runbook=tags.get(integration.runbook_annotation, ""),
        links=(("Datadog event", link),) if link else (),
    )
    return AlertEvent(
        source=integration.id,
        kind=KIND,
        group=group_id("dd", key),
        title=title,
        description=message,
        alerts=(alert,),
        severity=severity,
        components=(alert.component,) if alert.component else (),
        runbooks=(alert.runbook,) if alert.runbook else (),
    )

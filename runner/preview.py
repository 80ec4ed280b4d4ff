"""What a payload would become, without writing anything: `tidings runner map`.

A person writing an integration's `mapping:` in a merge request runs it against a sample payload:
it reads the payload exactly as the endpoint would (the same `parse`, the same mapping), and lists
every problem at once rather than the first only. It works for every kind of integration, so a
Grafana, PagerDuty, Datadog or Sentry sample can be checked the same way. Signatures and tokens
are the endpoint's business and are not checked here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tidings.content.diagnostics import did_you_mean
from tidings.content.load import load
from tidings.content.model import Integration
from tidings.errors import UsageError
from tidings.runner.sources import generic, load_json, parse
from tidings.runner.sources.events import AlertEvent, IgnoredEvent, PayloadError
from tidings.runner.sources.mapping import Problem


@dataclass(frozen=True)
class Preview:
    integration: Integration
    event: AlertEvent | None  # None when an error stops it
    problems: list[Problem] = field(default_factory=list)
    ignored: str = ""  # why, when the payload is an event the runner answers 202 and ignores

    @property
    def ok(self) -> bool:
        """Whether the runner would take the post (or ignore it, which is no error either)."""
        return not any(p.error for p in self.problems)


class NoSuchIntegration(UsageError, LookupError):
    pass


def find_integration(root: Path, integration_id: str) -> Integration:
    """The integration `integration_id` of the repo at `root` (NoSuchIntegration, with a hint)."""
    integrations = {i.id: i for i in load(root).repo.integrations}
    if integration_id not in integrations:
        hint = did_you_mean(integration_id, integrations) or (
            f"its integrations: {', '.join(sorted(integrations))}"
            if integrations
            else "it has none that are valid; run 'tidings validate'"
        )
        raise NoSuchIntegration(f"no integration {integration_id!r} in .gitlab/integrations.yml", hint)
    return integrations[integration_id]


def preview(
    integration: Integration, body: bytes, received_at: datetime, headers: Mapping[str, str] | None = None
) -> Preview:
    """The alert event `body` would become through `integration`, and every problem on the way."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    try:
        if integration.mapping is not None:
            fields, found = generic.mapped_fields(load_json(body), integration)
            event = generic.event_of(fields, integration, received_at) if fields is not None else None
            return Preview(integration, event, found.problems)
        return Preview(integration, parse(integration.kind, body, integration, received_at, headers))
    except IgnoredEvent as exc:
        return Preview(integration, None, ignored=str(exc))
    except PayloadError as exc:
        message = str(exc).removeprefix(f"{exc.field}: ")
        return Preview(integration, None, [Problem(exc.field, "the alert", message)])

"""Current state derived from the model and a clock: component states and the page's overall status."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from tidings.content.model import IMPACTS, Component, StatusRepo

# Statuspage's page indicator for the worst component state.
INDICATOR = {
    "operational": "none",
    "under_maintenance": "maintenance",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
DESCRIPTION = {
    "operational": "All Systems Operational",
    "under_maintenance": "Service Under Maintenance",
    "degraded_performance": "Degraded Performance",
    "partial_outage": "Partial System Outage",
    "major_outage": "Major System Outage",
}


def worst(impacts: Iterable[str]) -> str:
    """The worst of these impacts (IMPACTS orders them, best first); operational when there are none.

    The one ordering of impacts: a component's state, the page's, an incident's in the API, a day's
    on the uptime bar, the downtime counted at each moment, and what an import keeps.
    """
    return max(impacts, key=IMPACTS.index, default="operational")


def component_states(repo: StatusRepo, now: datetime) -> dict[str, str]:
    """Each component's state now: the worst impact of its unresolved incidents and active maintenance."""
    states: dict[str, list[str]] = {c.id: [] for c in repo.components}
    for incident in repo.incidents:
        if incident.status == "resolved" or incident.started_at > now:
            continue
        for component, impact in incident.components.items():
            states.setdefault(component, []).append(impact)
    for maintenance in repo.maintenance:
        if maintenance.status_at(now) in ("in_progress", "verifying"):
            for component in maintenance.components:
                states.setdefault(component, []).append("under_maintenance")
    return {cid: worst(found) for cid, found in states.items()}


def overall(repo: StatusRepo, now: datetime) -> str:
    states = component_states(repo, now)
    return worst([states[c.id] for c in repo.components])


def by_group(repo: StatusRepo) -> list[tuple[str | None, list[Component]]]:
    """Components in their groups, in the order the site file lists them; ungrouped ones first."""
    order: list[str | None] = [None] + [g.id for g in repo.groups]
    return [
        (g, [c for c in repo.components if c.group == g])
        for g in order
        if any(c.group == g for c in repo.components)
    ]

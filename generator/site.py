"""What every renderer reads: the public view of the repo, the clock, and what follows from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TypeVar
from zoneinfo import ZoneInfo

from tidings.content import urls
from tidings.content.model import Component, Incident, Maintenance, StatusRepo
from tidings.generator.uptime import Uptime, uptime_by_component
from tidings.ops import status

UPTIME_DAYS = 90
U = TypeVar("U")


@dataclass(frozen=True)
class Site:
    """A public view of a status repo at one moment. Renderers read this and nothing else."""

    repo: StatusRepo  # already the public view: see tidings.public
    now: datetime

    @property
    def config(self):  # type: ignore[no-untyped-def]
        return self.repo.site

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.repo.site.timezone)

    @cached_property
    def states(self) -> dict[str, str]:
        """Component id -> current state."""
        return status.component_states(self.repo, self.now)

    @cached_property
    def overall(self) -> str:
        return status.worst([self.states[c.id] for c in self.repo.components])

    @cached_property
    def uptime(self) -> dict[str, Uptime]:
        return uptime_by_component(self.repo, self.now, self.zone, UPTIME_DAYS)

    @cached_property
    def last_changed(self) -> datetime:
        """The newest update of any incident or maintenance (the page's updated_at)."""
        return max(self.newest_updates.values(), default=self.now)

    @cached_property
    def newest_updates(self) -> dict[int, datetime]:
        """id(item) -> the time of its newest update, for every incident and maintenance with updates:
        one pass over every update, which the API, the feeds and the page's date all need."""
        newest = {}
        items: list[Incident | Maintenance] = [*self.repo.incidents, *self.repo.maintenance]
        for item in items:
            last = item.last_update_at  # (an incident's summary has it: see tidings.content.lazy)
            if last is not None:
                newest[id(item)] = last
        return newest

    @cached_property
    def component_spans(self) -> dict[str, tuple[datetime, datetime]]:
        """Component id -> (first, last) time any of its incidents started or was updated."""
        spans: dict[str, tuple[datetime, datetime]] = {}
        newest = self.newest_updates
        for incident in self.repo.incidents:
            first_update = incident.first_update_at
            if first_update is not None:
                low = min(incident.started_at, first_update)
                high = max(incident.started_at, newest[id(incident)])
            else:
                low = high = incident.started_at
            for component in incident.components:
                first, last = spans.get(component, (low, high))
                spans[component] = (min(first, low), max(last, high))
        return spans

    @cached_property
    def active_incidents(self) -> list[Incident]:
        """Unresolved incidents, newest first."""
        active = [i for i in self.repo.incidents if i.status != "resolved" and i.started_at <= self.now]
        return sorted(active, key=lambda i: i.started_at, reverse=True)

    @cached_property
    def incidents_newest_first(self) -> list[Incident]:
        return sorted(self.repo.incidents, key=lambda i: (i.started_at, i.id), reverse=True)

    @cached_property
    def active_maintenance(self) -> list[Maintenance]:
        return [m for m in self.repo.maintenance if m.status_at(self.now) in ("in_progress", "verifying")]

    @cached_property
    def upcoming_maintenance(self) -> list[Maintenance]:
        return [m for m in self.repo.maintenance if m.status_at(self.now) == "scheduled"]

    def component(self, component_id: str) -> Component | None:
        return next((c for c in self.repo.components if c.id == component_id), None)

    @cached_property
    def _incidents_by_component(self) -> dict[str, list[Incident]]:
        found: dict[str, list[Incident]] = {}
        for incident in self.incidents_newest_first:
            for component_id in dict.fromkeys(incident.components):
                found.setdefault(component_id, []).append(incident)
        return found

    def incidents_of(self, component_id: str) -> list[Incident]:
        """The component's incidents, newest first (one pass over the history for all components)."""
        return list(self._incidents_by_component.get(component_id, []))

    def absolute(self, path: str) -> str:
        """An absolute URL for feeds and the API; a root-relative path when no base_url is set."""
        return urls.absolute(self.repo.site.base_url, path)


def update_anchor(at: datetime) -> str:
    """The fragment naming an update on its page, from its time: stable when updates are inserted."""
    return f"update-{int(at.timestamp())}"


def with_anchors(updates: Sequence[U]) -> list[tuple[U, str]]:
    """Each update with its anchor; updates in the same second get -2, -3... in order, so ids stay unique."""
    seen: dict[str, int] = {}
    out = []
    for update in updates:
        anchor = update_anchor(update.at)  # type: ignore[attr-defined]
        seen[anchor] = seen.get(anchor, 0) + 1
        out.append((update, anchor if seen[anchor] == 1 else f"{anchor}-{seen[anchor]}"))
    return out

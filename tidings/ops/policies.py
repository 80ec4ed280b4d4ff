"""Which escalation policies apply to an incident: the one rule the tick pages by, the internal site
shows, and the runner writes into the incidents it opens.

An incident's own `policy:` wins; without one, every distinct policy of its components applies, in
the order its components are listed (an incident on the database and the API pages both teams).
An incident the runner opens gets its integration's `policy:` written into its file only when its
components give none, so a critical alert on a service the page does not list still pages someone.

Policies a repo does not define are left out: validation reports them, and a page to nobody's
rules would be a page to nobody.

And whether an alert pages at all: an alert on components that are all inside a published
maintenance window is quiet while the window lasts, unless its integration says
`page_during_maintenance: true` (`maintenance_quiet`, the one rule for incidents and alerts alike).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tidings.content.model import Component, Incident, Integration, Maintenance, Policy, StatusRepo


def _defined(repo: StatusRepo, policy_id: str | None) -> Policy | None:
    found = repo.get("policies", policy_id) if policy_id else None
    return found if isinstance(found, Policy) else None


def component_policies(repo: StatusRepo, components: Iterable[str]) -> list[Policy]:
    """The distinct policies the components name, in the components' order."""
    found: dict[str, Policy] = {}
    for component_id in components:
        component = repo.get("components", component_id)
        policy = _defined(repo, component.policy) if isinstance(component, Component) else None
        if policy is not None:
            found.setdefault(policy.id, policy)
    return list(found.values())


def policies_for(repo: StatusRepo, incident: Incident) -> list[Policy]:
    """The policies an incident pages by: its own `policy`, or else its components' policies."""
    if incident.policy:
        own = _defined(repo, incident.policy)
        return [own] if own is not None else []
    return component_policies(repo, incident.components)


def fallback_policy(
    repo: StatusRepo, components: Iterable[str], integration_policy: str | None
) -> str | None:
    """The `policy:` to write into a new incident on `components`: the integration's, only when no
    component gives one (an unknown component, or none labelled); None when it names no defined one."""
    if component_policies(repo, components):
        return None
    policy = _defined(repo, integration_policy)
    return policy.id if policy is not None else None


# --- maintenance quiets paging ----------------------------------------------------------------------

WORKING = ("in_progress", "verifying")


def maintenance_window(maintenance: Maintenance, now: datetime) -> tuple[datetime, datetime | None] | None:
    """[start, end) of a published maintenance as its file tells at `now`; end None while it goes on
    past its schedule (a status set to in_progress or verifying); None when it never covers anything.

    Without a `status` the window is the schedule, as the page shows it. A window set `completed`
    ends at its first `completed` update, or, with none, at its last update (never later: a file that
    does not say when the work ended must not keep paging quiet until the schedule's end).
    """
    if not maintenance.published or maintenance.status == "scheduled":
        return None
    start = min([maintenance.scheduled_for, *(u.at for u in maintenance.updates if u.status in WORKING)])
    if maintenance.status is None:
        return maintenance.scheduled_for, maintenance.scheduled_until
    if maintenance.status in WORKING:
        return start, None
    done = [u.at for u in maintenance.updates if u.status == "completed"]
    end = min(done) if done else max((u.at for u in maintenance.updates), default=start)
    return (start, end) if end > start else None


@dataclass(frozen=True)
class Quiet:
    """Why an alert does not page: the maintenance windows covering all its components, and until when."""

    maintenance: tuple[str, ...]  # ids, in the order they took over
    components: tuple[str, ...]
    until: datetime | None  # when the cover ends (or ended); None: until someone completes the work

    def holds(self, now: datetime) -> bool:
        """Whether paging is still quiet at `now`."""
        return self.until is None or now < self.until

    @property
    def reason(self) -> str:
        windows = ", ".join(f"'{m}'" for m in self.maintenance)
        parts = ", ".join(self.components)
        label = "component" if len(self.components) == 1 else "components"
        return f"its {label} {parts} {'is' if len(self.components) == 1 else 'are'} in maintenance {windows}"


def _cover(repo: StatusRepo, components: list[str], at: datetime, now: datetime) -> Quiet | None:
    """The published maintenance covering every component from `at` on, without a gap, and its end."""
    windows = [(m, w) for m in repo.maintenance if (w := maintenance_window(m, now)) is not None]
    used: list[str] = []
    t = at
    # Each pass moves to where the first component's cover ends; windows may hand over to each other.
    for _ in range(len(windows) + 1):
        reaches: list[datetime | None] = []
        for component in components:
            covering = [
                (m.id, end)
                for m, (start, end) in windows
                if component in m.components and start <= t and (end is None or t < end)
            ]
            if not covering:
                return Quiet(tuple(used), tuple(components), t) if used else None
            used += [m for m, _ in covering if m not in used]
            ends = [end for _, end in covering]
            reaches.append(None if None in ends else max(e for e in ends if e is not None))
        finite = [r for r in reaches if r is not None]
        if not finite:
            return Quiet(tuple(used), tuple(components), None)
        t = min(finite)
    return Quiet(tuple(used), tuple(components), t)


def maintenance_quiet(
    repo: StatusRepo,
    components: Iterable[str],
    integrations: Iterable[Integration | None],
    fired_at: datetime,
    now: datetime,
) -> Quiet | None:
    """Whether an alert that fired at `fired_at` on `components`, from `integrations`, is quiet: every
    component was inside a published maintenance window when it fired, and no integration says
    `page_during_maintenance`. The answer says until when (`holds(now)`: still quiet at `now`); None
    when it pages as usual. An alert that names no component of the page is never quiet: nobody can
    tell it is the maintenance's doing. An integration that is no longer configured counts with the
    default (quiet)."""
    parts = list(dict.fromkeys(components))
    if not parts or any(i is not None and i.page_during_maintenance for i in integrations):
        return None
    return _cover(repo, parts, fired_at, now)

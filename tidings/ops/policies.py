"""Which escalation policies apply to an incident: the one rule the tick pages by, the internal site
shows, and the runner writes into the incidents it opens.

An incident's own `policy:` wins; without one, every distinct policy of its components applies, in
the order its components are listed (an incident on the database and the API pages both teams).
An incident the runner opens gets its integration's `policy:` written into its file only when its
components give none, so a critical alert on a service the page does not list still pages someone.

Policies a repo does not define are left out: validation reports them, and a page to nobody's
rules would be a page to nobody.
"""

from __future__ import annotations

from collections.abc import Iterable

from tidings.content.model import Component, Incident, Policy, StatusRepo


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

"""Which escalation policies apply (tidings.ops.policies): the incident's own, else every distinct one
of its components; the integration's only for a new incident no component gives one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tidings.content.load import load
from tidings.content.model import Incident, IncidentFile, StatusRepo
from tidings.ops.policies import component_policies, fallback_policy, policies_for

# Three services with a policy each (two of them the same) and one without.
SITE = """\
title: Example Status
base_url: https://status.example.com/
services:
  - {name: Web, id: web, policy: web-team}
  - {name: API, id: api, policy: api-team}
  - {name: Edge, id: edge, policy: web-team}
  - {name: Docs, id: docs}
"""
PEOPLE = "people:\n  - {id: alice, name: Alice}\n  - {id: bob, name: Bob}\n"


def policy(name: str, person: str) -> str:
    return f"name: {name}\nrules:\n  - {{after_minutes: 0, person: {person}}}\n"


@pytest.fixture
def repo(make_repo) -> StatusRepo:
    root: Path = make_repo(
        {
            ".gitlab/status-page.yml": SITE,
            "content/people.yml": PEOPLE,
            "content/oncall/policies/web-team.yml": policy("Web team", "alice"),
            "content/oncall/policies/api-team.yml": policy("API team", "bob"),
            "content/oncall/policies/lead.yml": policy("Lead", "alice"),
        },
        minimal=False,
    )
    result = load(root)
    assert result.errors == []
    return result.repo


def incident(components: list[str], policy: str | None = None) -> Incident:
    data = {
        "title": "Down",
        "status": "investigating",
        "started_at": "2026-11-17T15:50:00Z",
        "components": dict.fromkeys(components, "major_outage"),
        **({"policy": policy} if policy else {}),
    }
    return Incident.from_file(IncidentFile.model_validate(data), id="down", path="content/incidents/down.md")


def ids(policies: list) -> list[str]:
    return [p.id for p in policies]


def test_every_distinct_policy_of_the_components_in_their_order(repo):
    assert ids(policies_for(repo, incident(["api", "web"]))) == ["api-team", "web-team"]
    assert ids(policies_for(repo, incident(["web", "api"]))) == ["web-team", "api-team"]
    # Two components on the same policy page it once; a component without one adds nothing.
    assert ids(policies_for(repo, incident(["web", "docs", "edge", "api"]))) == ["web-team", "api-team"]
    assert policies_for(repo, incident(["docs"])) == []
    assert policies_for(repo, incident([])) == []
    assert ids(component_policies(repo, ["edge", "unknown", "web"])) == ["web-team"]


def test_the_incidents_own_policy_wins_over_its_components(repo):
    assert ids(policies_for(repo, incident(["web", "api"], policy="lead"))) == ["lead"]
    assert ids(policies_for(repo, incident([], policy="api-team"))) == ["api-team"]


def test_the_integrations_policy_only_when_no_component_gives_one(repo):
    assert fallback_policy(repo, ["web"], "lead") is None  # web's own policy applies
    assert fallback_policy(repo, ["docs", "api"], "lead") is None
    assert fallback_policy(repo, ["docs"], "lead") == "lead"
    assert fallback_policy(repo, [], "lead") == "lead"  # the alert named no component of the page
    assert fallback_policy(repo, [], None) is None
    assert fallback_policy(repo, [], "nobody") is None  # not defined: nothing to page by

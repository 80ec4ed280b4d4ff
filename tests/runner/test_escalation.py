"""The escalation engine, pure: the demo's schedules and policies, one incident, explicit times."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import PROJECT_ROOT
from tidings.content.load import load
from tidings.content.model import Incident, IncidentFile, Page, Policy, PolicyFile, StatusRepo
from tidings.ops.policies import policies_for
from tidings.runner.escalation.rules import DuePage, due_pages, escalations, page_key

# Tuesday 2026-11-17, 16:50 in Berlin: ten minutes before the business-hours layer of the primary
# schedule ends (17:00 CET = 16:00 UTC) and the weekly layer takes over.
START = datetime(2026, 11, 17, 15, 50, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return START + timedelta(minutes=n)


@pytest.fixture(scope="module")
def demo() -> StatusRepo:
    result = load(PROJECT_ROOT)
    assert result.errors == []
    return result.repo


def incident(**fields: object) -> Incident:
    data: dict[str, object] = {
        "title": "Checkout is down",
        "status": "investigating",
        "started_at": START,
        "components": {"api": "major_outage"},
        **fields,
    }
    return Incident.from_file(
        IncidentFile.model_validate(data), id="checkout", path="content/incidents/checkout.md"
    )


def with_incident(repo: StatusRepo, inc: Incident, *policies: Policy) -> StatusRepo:
    return dataclasses.replace(repo, incidents=(inc,), policies=repo.policies + policies, _index={})


def recording(inc: Incident, pages: list[DuePage]) -> Incident:
    """The incident with these pages recorded, as a tick writes them."""
    records = [
        Page(
            key=p.key, at=p.fires_at, policy=p.policy, round=p.round, rule=p.rule, person=p.person, by="test"
        )
        for p in pages
    ]
    return inc.model_copy(update={"pages": records})


def walk(repo: StatusRepo, inc: Incident, until: float, step: float = 1) -> list[DuePage]:
    """Every page a tick each `step` minutes would record up to `until`, recording them as it goes."""
    recorded: list[DuePage] = []
    t = 0.0
    while t <= until:
        recorded += escalations(with_incident(repo, recording(inc, recorded)), minutes(t))
        t += step
    return recorded


def summary(pages: list[DuePage]) -> list[tuple[int, int, str | None, datetime]]:
    return [(p.round, p.rule, p.person, p.fires_at) for p in pages]


def test_the_demo_policy_walks_three_rules_and_repeats_once(demo):
    pages = walk(demo, incident(), until=120)
    assert summary(pages) == [
        (1, 1, "amara", minutes(0)),  # primary, business-hours layer
        (1, 2, "liam", minutes(15)),  # database schedule
        (1, 3, "amara", minutes(30)),  # the lead, by name
        (2, 1, "jonas", minutes(45)),  # primary again, after the 17:00 hand-off to the weekly layer
        (2, 2, "liam", minutes(60)),
        (2, 3, "amara", minutes(75)),
    ]
    assert [p.schedule for p in pages[:3]] == ["primary", "database", None]
    assert len({p.key for p in pages}) == 6


def test_rule_1_now_rule_2_only_after_its_delay(demo):
    repo = with_incident(demo, incident())
    assert summary(escalations(repo, minutes(0))) == [(1, 1, "amara", minutes(0))]
    assert escalations(repo, minutes(-1)) == []
    at_14 = escalations(repo, minutes(14.99))
    assert [p.rule for p in at_14] == [1]


def test_an_acknowledgement_stops_the_rules_that_say_so(demo):
    acked = incident(acknowledged_at=minutes(10))
    pages = walk(demo, acked, until=120)
    # Rule 1 fired before the ack. Rule 2 (unless acknowledged) never fires; rule 3 (unless
    # resolved) still pages the lead, in both rounds; round 2's rule 1 stops too.
    assert summary(pages) == [
        (1, 1, "amara", minutes(0)),
        (1, 3, "amara", minutes(30)),
        (2, 3, "amara", minutes(75)),
    ]


def test_a_resolution_stops_every_rule(demo):
    resolved = incident(status="resolved", resolved_at=minutes(20))
    assert walk(demo, resolved, until=120) == []
    # Resolved in the future of `now` (a file written ahead): rules before that still fire.
    later = incident(resolved_at=minutes(20))
    assert summary(escalations(with_incident(demo, later), minutes(16))) == [
        (1, 1, "amara", minutes(0)),
        (1, 2, "liam", minutes(15)),
    ]


def test_three_rules_to_the_third_level_then_stop_at_the_ack(demo):
    strict = Policy.from_file(
        PolicyFile.model_validate(
            {
                "name": "Strict",
                "rules": [
                    {"after_minutes": 0, "schedule": "primary"},
                    {"after_minutes": 5, "schedule": "database"},
                    {"after_minutes": 10, "person": "chloe"},
                ],
                "repeat": 2,
                "repeat_after_minutes": 5,
            }
        ),
        id="strict",
        path="content/oncall/policies/strict.yml",
    )
    repo = dataclasses.replace(demo, policies=(*demo.policies, strict), _index={})
    walked = walk(repo, incident(policy="strict"), until=16)
    assert [(p.round, p.rule, p.person) for p in walked] == [
        (1, 1, "amara"),
        (1, 2, "liam"),
        (1, 3, "chloe"),
        (2, 1, "jonas"),  # round 2, 5 minutes after rule 3: past the 17:00 hand-off
    ]
    acked = incident(policy="strict", acknowledged_at=minutes(16))
    assert walk(repo, acked, until=120) == walked


def test_a_late_tick_pages_who_was_on_call_when_the_rule_fired(demo):
    # Nobody ticked between 16:50 and 17:05 Berlin: the hand-off at 17:00 does not change who rule 1 paged.
    (first, second) = escalations(with_incident(demo, incident()), minutes(15))
    assert (first.rule, first.person, first.fires_at) == (1, "amara", minutes(0))
    assert (second.rule, second.person) == (2, "liam")


def test_catching_up_pages_each_rule_once_for_its_latest_round(demo):
    # A runner that was down for two hours: one page a rule, the latest round, not six at once.
    pages = escalations(with_incident(demo, incident()), minutes(120))
    assert summary(pages) == [
        (2, 1, "jonas", minutes(45)),
        (2, 2, "liam", minutes(60)),
        (2, 3, "amara", minutes(75)),
    ]


def test_recorded_pages_are_never_due_again(demo):
    first = escalations(with_incident(demo, incident()), minutes(0))
    assert escalations(with_incident(demo, recording(incident(), first)), minutes(1)) == []


def test_idempotency_keys_are_stable_and_distinct():
    key = page_key("checkout", "default", 1, 1)
    assert key == page_key("checkout", "default", 1, 1)
    assert len(key) == 32 and int(key, 16) >= 0
    others = {page_key("checkout", "default", 1, 2), page_key("checkout", "default", 2, 1),
              page_key("checkout", "other", 1, 1), page_key("checkout2", "default", 1, 1)}  # fmt: skip
    assert key not in others and len(others) == 4


def test_the_policy_comes_from_the_incident_or_its_components(demo):
    assert [p.id for p in policies_for(demo, incident())] == ["default"]
    assert policies_for(demo, incident(components={})) == []
    assert [p.id for p in policies_for(demo, incident(components={}, policy="default"))] == ["default"]


def test_nobody_on_call_is_a_page_to_nobody(demo):
    gap = Policy.from_file(
        PolicyFile.model_validate({"name": "Gap", "rules": [{"after_minutes": 0, "schedule": "primary"}]}),
        id="gap",
        path="content/oncall/policies/gap.yml",
    )
    before_any_rotation = incident(policy="gap", started_at=datetime(2025, 6, 1, tzinfo=UTC))
    repo = with_incident(demo, before_any_rotation, gap)
    (page,) = due_pages(repo, before_any_rotation, gap, datetime(2025, 6, 1, tzinfo=UTC))
    assert page.schedule == "primary" and page.person is None

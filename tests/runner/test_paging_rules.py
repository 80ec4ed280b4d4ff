"""The paging rules real teams need, in the pure engine: late pages, contact steps, maintenance quiet.

The demo's schedules and policy; explicit times, never the clock.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import PROJECT_ROOT
from tests.runner.test_escalation import incident, minutes, recording, with_incident
from tidings.content.load import load
from tidings.content.model import (
    AlertLink,
    ContactMethod,
    Incident,
    Integration,
    Maintenance,
    MaintenanceFile,
    NotificationsFile,
    Page,
    StatusRepo,
)
from tidings.ops.oncall import person_on_call
from tidings.ops.policies import maintenance_quiet, maintenance_window
from tidings.runner.escalation.rules import (
    contact_steps,
    escalation_start,
    escalations,
    page_key,
    step_key,
)


@pytest.fixture(scope="module")
def demo() -> StatusRepo:
    result = load(PROJECT_ROOT)
    assert result.errors == []
    return result.repo


# --- late pages ------------------------------------------------------------------------------------


def test_a_page_within_the_grace_goes_to_who_was_on_call_when_it_fell_due(demo):
    (page,) = escalations(with_incident(demo, incident()), minutes(30))[:1]
    assert (page.rule, page.person, page.late) == (
        1,
        "amara",
        None,
    )  # 30 minutes late: the grace, not past it


def test_a_page_past_the_grace_goes_to_who_is_on_call_now_and_says_how_late(demo):
    # The runner was down from before the incident until 16:21 Berlin; rule 1 fell due at 15:50,
    # when amara was on call (business hours); jonas has been on call since 17:00 Berlin.
    primary = demo.get("schedules", "primary")
    assert person_on_call(primary, minutes(0)) == "amara" and person_on_call(primary, minutes(31)) == "jonas"
    first, second, third = escalations(with_incident(demo, incident()), minutes(31))
    assert (first.rule, first.fires_at, first.person, first.late) == (
        1,
        minutes(0),
        "jonas",
        timedelta(minutes=31),
    )
    assert first.paged_at == minutes(31)
    assert (second.rule, second.person, second.late) == (2, "liam", None)  # 16 minutes: within the grace
    assert (third.rule, third.person, third.late) == (3, "amara", None)  # on time
    assert first.key == page_key("checkout", "default", 1, 1)  # the page is the same page, wherever it goes


def test_an_eleven_day_late_tick_pages_who_is_on_call_now(demo):
    eleven_days = minutes(11 * 24 * 60)  # Saturday 2026-11-28, 16:50 Berlin: mateo's week
    pages = escalations(with_incident(demo, incident()), eleven_days)
    assert [(p.round, p.rule, p.person) for p in pages] == [(2, 1, "mateo"), (2, 2, "mateo"), (2, 3, "amara")]
    assert [p.fires_at for p in pages] == [minutes(45), minutes(60), minutes(75)]
    assert pages[0].late == eleven_days - minutes(45)
    assert pages[2].late == eleven_days - minutes(75)  # late, but a rule naming a person pages that person


def test_the_grace_is_configurable(demo):
    patient = dataclasses.replace(demo, notifications=NotificationsFile(late_grace_minutes=60), _index={})
    (first, *_) = escalations(with_incident(patient, incident()), minutes(31))
    assert (first.person, first.late) == ("amara", None)
    strict = dataclasses.replace(demo, notifications=NotificationsFile(late_grace_minutes=0), _index={})
    (first, *_) = escalations(with_incident(strict, incident()), minutes(0.5))
    assert (first.person, first.late) == ("amara", timedelta(seconds=30))


# --- contact rules ---------------------------------------------------------------------------------


def with_contact(repo: StatusRepo, person: str, *rules: tuple[str, int]) -> StatusRepo:
    people = tuple(
        p.model_copy(update={"contact": [ContactMethod(channel=c, after_minutes=m) for c, m in rules]})
        if p.id == person
        else p
        for p in repo.people
    )
    return dataclasses.replace(repo, people=people, _index={})


def test_contact_steps_group_rules_by_delay():
    repo = load(PROJECT_ROOT).repo
    amara = with_contact(repo, "amara", ("oncall-slack", 0), ("email", 5), ("pager-bridge", 5), ("email", 15))
    assert contact_steps(amara.get("people", "amara")) == [  # type: ignore[arg-type]
        (0, ("oncall-slack",)),
        (5, ("email", "pager-bridge")),
        (15, ("email",)),
    ]
    assert contact_steps(repo.get("people", "amara")) == []  # type: ignore[arg-type]


def _recorded(inc: Incident, *pages: Page) -> Incident:
    return inc.model_copy(update={"pages": [*inc.pages, *pages]})


def test_a_page_to_a_person_with_contact_rules_steps_through_them(demo):
    repo = with_contact(demo, "amara", ("oncall-slack", 0), ("email", 5))
    (first,) = escalations(with_incident(repo, incident()), minutes(0))
    assert (first.person, first.step, first.channels) == ("amara", 1, ("oncall-slack",))
    paged = recording(incident(), [first])
    paged = paged.model_copy(update={"pages": [p.model_copy(update={"step": 1}) for p in paged.pages]})
    assert escalations(with_incident(repo, paged), minutes(4.9)) == []
    (second,) = escalations(with_incident(repo, paged), minutes(5))
    assert (second.step, second.channels, second.person, second.follows) == (
        2,
        ("email",),
        "amara",
        first.key,
    )
    assert second.key == step_key(first.key, 2) and second.fires_at == minutes(5)
    assert (second.policy, second.round, second.rule) == ("default", 1, 1)
    step_two = Page(
        key=second.key, at=minutes(5), policy="default", round=1, rule=1, person="amara", by="t", step=2
    )
    assert escalations(with_incident(repo, _recorded(paged, step_two)), minutes(6)) == []


def test_contact_steps_stop_at_an_acknowledgement_or_a_resolution(demo):
    repo = with_contact(demo, "amara", ("oncall-slack", 0), ("email", 5))
    page = Page(key=page_key("checkout", "default", 1, 1), at=minutes(0), policy="default", round=1, rule=1,
                person="amara", by="t", step=1)  # fmt: skip
    for stopped in (
        incident(acknowledged_at=minutes(3)),
        incident(status="resolved", resolved_at=minutes(3)),
    ):
        assert escalations(with_incident(repo, _recorded(stopped, page)), minutes(10)) == []
    # A page called off (cancelled) has no later steps; nor has one recorded without contact rules.
    for quiet in (page.model_copy(update={"state": "cancelled"}), page.model_copy(update={"step": None})):
        due = escalations(with_incident(repo, _recorded(incident(), quiet)), minutes(16))
        assert [(p.rule, p.step) for p in due] == [(2, None)]  # only rule 2 (liam has no contact rules)


def test_steps_count_from_when_the_page_was_recorded(demo):
    repo = with_contact(demo, "amara", ("oncall-slack", 0), ("email", 5), ("pager-bridge", 20))
    late = Page(key=page_key("checkout", "default", 1, 1), at=minutes(40), policy="default", round=1, rule=1,
                person="amara", by="t", step=1)  # fmt: skip
    inc = _recorded(incident(), late)
    assert [p.step for p in escalations(with_incident(repo, inc), minutes(44)) if p.step and p.step > 1] == []
    due = [p for p in escalations(with_incident(repo, inc), minutes(61)) if p.step and p.step > 1]
    assert [(p.step, p.fires_at) for p in due] == [
        (2, minutes(45)),
        (3, minutes(60)),
    ]  # a late tick: both, once


# --- maintenance quiets paging ---------------------------------------------------------------------

WINDOW = (datetime(2026, 11, 17, 15, 0, tzinfo=UTC), datetime(2026, 11, 17, 17, 0, tzinfo=UTC))


def maintenance(id: str = "db-upgrade", components=("api",), **fields: object) -> Maintenance:
    data: dict[str, object] = {
        "title": "Upgrade",
        "scheduled_for": WINDOW[0],
        "scheduled_until": WINDOW[1],
        "components": list(components),
        "published": True,
        **fields,
    }
    return Maintenance.from_file(
        MaintenanceFile.model_validate(data), id=id, path=f"content/maintenance/{id}.md"
    )


def from_alert(**fields: object) -> Incident:
    """The checkout incident as the runner opens it from an uptime-checks alert at 15:50."""
    alerts = [AlertLink(source="uptime-checks", fingerprint="f1", group="gen-f1", state="firing")]
    return incident(alerts=alerts, **fields)


def repo_with(demo: StatusRepo, inc: Incident, *windows: Maintenance, **integration: object) -> StatusRepo:
    integrations = tuple(
        i.model_copy(update=integration) if i.id == "uptime-checks" else i for i in demo.integrations
    )
    return dataclasses.replace(
        demo, incidents=(inc,), maintenance=windows, integrations=integrations, _index={}
    )


def test_an_alert_in_maintenance_pages_nobody_until_the_window_ends(demo):
    repo = repo_with(demo, from_alert(), maintenance())
    for t in (0, 30, 69):
        assert escalations(repo, minutes(t)) == []  # the window ends at 17:00 UTC, minute 70
    assert escalation_start(repo, repo.incidents[0], minutes(70)) == WINDOW[1]
    (first,) = escalations(repo, minutes(70))
    assert (first.rule, first.fires_at, first.late) == (1, WINDOW[1], None)  # counted from the window's end
    assert [p.rule for p in escalations(repo, minutes(85))] == [1, 2]


def test_what_does_not_quiet_paging(demo):
    cases = {
        "a person declared it": repo_with(demo, incident(), maintenance()),
        "the integration pages during maintenance": repo_with(
            demo, from_alert(), maintenance(), page_during_maintenance=True
        ),
        "it fired before the window": repo_with(
            demo, from_alert(started_at=WINDOW[0] - timedelta(minutes=1)), maintenance()
        ),
        "a component outside the window": repo_with(
            demo, from_alert(components={"api": "major_outage", "web": "major_outage"}), maintenance()
        ),
        "an unpublished window": repo_with(demo, from_alert(), maintenance(published=False)),
        "a window on another component": repo_with(demo, from_alert(), maintenance(components=("web",))),
        "no component": repo_with(demo, from_alert(components={}, policy="default"), maintenance()),
    }
    for why, repo in cases.items():
        assert [p.rule for p in escalations(repo, repo.incidents[0].started_at)] == [1], why


def test_windows_that_hand_over_and_windows_set_by_hand(demo):
    later = maintenance("second", scheduled_for=WINDOW[1], scheduled_until=WINDOW[1] + timedelta(hours=1))
    both = maintenance_quiet(demo, ["api"], [None], minutes(0), minutes(0))
    assert both is None  # the demo has no window then
    chained = repo_with(demo, from_alert(), maintenance(), later)
    held = maintenance_quiet(chained, ["api"], [None], minutes(0), minutes(0))
    assert held is not None and held.maintenance == ("db-upgrade", "second")
    assert held.until == WINDOW[1] + timedelta(hours=1) and held.holds(minutes(129))
    # Running late: set in progress by hand, it stays quiet past its schedule until someone completes it.
    overrun = repo_with(demo, from_alert(), maintenance(status="in_progress"))
    assert escalations(overrun, minutes(500)) == []
    # Completed early by hand: paging counts from its `completed` update.
    done_at = datetime(2026, 11, 17, 16, 0, tzinfo=UTC)
    update = {"at": done_at, "status": "completed", "body": "Done."}
    early = repo_with(demo, from_alert(), maintenance(status="completed", updates=[update]))
    assert escalation_start(early, early.incidents[0], minutes(20)) == done_at
    assert [p.fires_at for p in escalations(early, minutes(20))] == [done_at]
    # Completed without saying when: it never covered anything beyond its last word.
    silent = maintenance(status="completed")
    assert maintenance_window(silent, minutes(0)) is None


def test_the_quiet_says_why(demo):
    repo = repo_with(demo, from_alert(), maintenance())
    held = maintenance_quiet(repo, ["api"], repo.integrations, minutes(0), minutes(0))
    assert held is not None and held.reason == "its component api is in maintenance 'db-upgrade'"
    assert maintenance_quiet(repo, ["api"], [Integration(id="x", kind="generic", token_env="T",
                             page_during_maintenance=True)], minutes(0), minutes(0)) is None  # fmt: skip

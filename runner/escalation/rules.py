"""The escalation engine: which pages are due for an incident at a given time. Pure: no I/O, no clock.

A policy's rules fire `after_minutes` after the incident's `started_at`: rule 1 (usually after 0
minutes) at once, rule 2 after its delay, and so on, each unless the incident is by then
acknowledged or resolved, as the rule's `unless` says (`acknowledged`: stop at an acknowledgement
or a resolution; `resolved`: stop only at a resolution). `repeat: N` runs the rules N more times;
each round starts `repeat_after_minutes` after the previous round's last rule.

A reopened incident escalates afresh: rounds count from its `reopened_at` instead, an
acknowledgement from before it no longer counts, and its pages' keys carry that time, so the pages
of its first opening never stand for the pages of the next.

A schedule target is resolved to the person on call *when the rule fires*, not when the tick that
notices it runs, so a late tick after a hand-off still pages the person whose turn it was.

Each page has an idempotency key, a hash of (incident id, policy, round, rule): the same page has
the same key in every clone and every run, which is what makes ticks idempotent (a page whose key
the incident already records is never due again) and what receivers can de-duplicate on.

Catching up (a runner that was down for an hour) pages each rule's target once, for the latest
round of that rule that is due, instead of replaying every missed round at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tidings.content.model import Incident, Page, Policy, Rule, Schedule, StatusRepo
from tidings.ops.oncall import person_on_call
from tidings.ops.policies import policies_for

KEY_HEX_DIGITS = 32


@dataclass(frozen=True)
class DuePage:
    """A page that is due: who to page for which rule of which round, and its idempotency key."""

    incident: str
    policy: str
    round: int  # 1 is the first run of the rules
    rule: int  # from 1
    fires_at: datetime
    schedule: str | None
    person: str | None  # None when the schedule has nobody on call at fires_at
    key: str


def page_key(
    incident_id: str,
    policy_id: str,
    round_number: int,
    rule_number: int,
    reopened_at: datetime | None = None,
) -> str:
    """The idempotency key of one page: the same in every clone, run and retry.

    The pages of a reopened incident add the time it was reopened (UTC, whole seconds), so each
    opening has keys of its own; an incident never reopened keeps the keys it always had.
    """
    parts = ["tidings-page-v1", incident_id, policy_id, str(round_number), str(rule_number)]
    if reopened_at is not None:
        parts.append(reopened_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:KEY_HEX_DIGITS]


def since(incident: Incident) -> datetime:
    """When the incident's current opening began: when it was last reopened, else when it started."""
    reopened = incident.reopened_at
    return reopened if reopened is not None and reopened > incident.started_at else incident.started_at


def _epoch(incident: Incident) -> datetime | None:
    return None if since(incident) == incident.started_at else since(incident)


def round_length(policy: Policy) -> timedelta:
    """From the start of one round to the start of the next."""
    last = max(rule.after_minutes for rule in policy.rules)
    return timedelta(minutes=last + policy.repeat_after_minutes)


def fires_at(incident: Incident, policy: Policy, round_number: int, rule: Rule) -> datetime:
    return since(incident) + (round_number - 1) * round_length(policy) + timedelta(minutes=rule.after_minutes)


def is_resolved(incident: Incident, now: datetime) -> bool:
    return incident.status == "resolved" or (incident.resolved_at is not None and incident.resolved_at <= now)


def stops(incident: Incident, rule: Rule, now: datetime) -> bool:
    """Whether the rule no longer fires at `now`, as its `unless` says."""
    if is_resolved(incident, now):
        return True
    ack = incident.acknowledged_at
    acknowledged = ack is not None and since(incident) <= ack <= now  # not an ack of an earlier opening
    return rule.unless == "acknowledged" and acknowledged


def target(repo: StatusRepo, rule: Rule, when: datetime) -> tuple[str | None, str | None]:
    """(schedule id, person id) the rule pages at `when`; the person is None if nobody is on call."""
    if rule.person is not None:
        return None, rule.person
    schedule = repo.get("schedules", str(rule.schedule))
    if not isinstance(schedule, Schedule):
        return rule.schedule, None
    return schedule.id, person_on_call(schedule, when)


def due_pages(repo: StatusRepo, incident: Incident, policy: Policy, now: datetime) -> list[DuePage]:
    """The pages of `policy` for `incident` that are due at `now` and not yet recorded in it."""
    recorded = {page.key for page in incident.pages}
    due = []
    for number, rule in enumerate(policy.rules, start=1):
        if stops(incident, rule, now):
            continue
        latest = None
        for round_number in range(1, policy.repeat + 2):
            when = fires_at(incident, policy, round_number, rule)
            if when > now:
                break
            latest = round_number, when
        if latest is None:
            continue
        round_number, when = latest
        key = page_key(incident.id, policy.id, round_number, number, _epoch(incident))
        if key in recorded:
            continue
        schedule, person = target(repo, rule, when)
        due.append(DuePage(incident.id, policy.id, round_number, number, when, schedule, person, key))
    return sorted(due, key=lambda p: (p.fires_at, p.round, p.rule))


def escalations(repo: StatusRepo, now: datetime) -> list[DuePage]:
    """Every page due at `now`, over every incident that is not resolved, by each policy that applies."""
    due = []
    for incident in repo.incidents:
        if is_resolved(incident, now) or since(incident) > now:
            continue
        for policy in policies_for(repo, incident):
            due.extend(due_pages(repo, incident, policy, now))
    return due


def owner(incident: Incident, key: str) -> Page | None:
    """The record of a page: its first entry (two clones racing can at worst both append one)."""
    return next((page for page in incident.pages if page.key == key), None)

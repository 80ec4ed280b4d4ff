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
notices it runs, so a tick a little late after a hand-off still pages the person whose turn it was.
A page recorded more than `late_grace_minutes` (notifications.yml, 30) after its rule fell due (the
runner was down for hours) goes to whoever is on call *now* instead: the person whose turn it was
may be asleep by then. Its record says when it fell due and how late it is.

Maintenance quiets paging: an incident the runner opened from alerts whose components were all in
a published maintenance window when it opened pages nobody while the window lasts
(tidings.ops.policies.maintenance_quiet); when the window ends and the incident is still open, its
rules count from the window's end, as if it opened then.

Contact rules: a page to a person with `contact:` rules in people.yml goes out in steps. The page's
own record (step 1) sends on the first rule's channels; each later step is a record of its own
(`step: N`, its channels, its own key made from the page's) once `after_minutes` have passed since
the page was recorded, unless the incident is by then acknowledged or resolved. Being records like
any page, steps are sent once across crashes and racing runners by the same means.

Each page has an idempotency key, a hash of (incident id, policy, round, rule): the same page has
the same key in every clone and every run, which is what makes ticks idempotent (a page whose key
the incident already records is never due again) and what receivers can de-duplicate on.

Catching up (a runner that was down for an hour) pages each rule's target once, for the latest
round of that rule that is due, instead of replaying every missed round at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tidings.content.model import Incident, Integration, Page, Person, Policy, Rule, Schedule, StatusRepo
from tidings.ops.oncall import person_on_call
from tidings.ops.policies import Quiet, maintenance_quiet, policies_for

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
    person: str | None  # None when the schedule has nobody on call at fires_at (or now, when late)
    key: str
    step: int | None = None  # of the person's contact rules; None: the person has none
    channels: tuple[str, ...] = ()  # the channels it sends on; empty: every channel
    late: timedelta | None = None  # this long after fires_at, past the grace: to who is on call now
    follows: str | None = None  # a later contact step: the key of the page it follows up

    @property
    def paged_at(self) -> datetime:
        """When its target was looked up: when the rule fired, or for a late page when it is recorded."""
        return self.fires_at + self.late if self.late is not None else self.fires_at


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


def step_key(page: str, step: int) -> str:
    """The key of a later step of a person's contact rules: made from the page's key, so the same in
    every clone, and never one a policy rule's page could have."""
    parts = ["tidings-page-step-v1", page, str(step)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:KEY_HEX_DIGITS]


def since(incident: Incident) -> datetime:
    """When the incident's current opening began: when it was last reopened, else when it started."""
    reopened = incident.reopened_at
    return reopened if reopened is not None and reopened > incident.started_at else incident.started_at


def quiet(repo: StatusRepo, incident: Incident, now: datetime) -> Quiet | None:
    """Why the incident's opening is quiet for maintenance (see tidings.ops.policies), or None.

    Only incidents the runner opened from alerts: a person who declares an incident during
    maintenance means it.
    """
    if not incident.alerts:
        return None
    sources = dict.fromkeys(a.source for a in incident.alerts)
    integrations = [
        found if isinstance(found := repo.get("integrations", s), Integration) else None for s in sources
    ]
    return maintenance_quiet(repo, incident.components, integrations, since(incident), now)


def escalation_start(repo: StatusRepo, incident: Incident, now: datetime) -> datetime | None:
    """When the incident's rules start counting: its opening, or the end of the maintenance that kept
    it quiet; None while it is quiet."""
    held = quiet(repo, incident, now)
    if held is None:
        return since(incident)
    if held.holds(now):
        return None
    assert held.until is not None  # a cover that no longer holds has ended
    return held.until


def _epoch(incident: Incident) -> datetime | None:
    return None if since(incident) == incident.started_at else since(incident)


def round_length(policy: Policy) -> timedelta:
    """From the start of one round to the start of the next."""
    last = max(rule.after_minutes for rule in policy.rules)
    return timedelta(minutes=last + policy.repeat_after_minutes)


def fires_at(
    incident: Incident, policy: Policy, round_number: int, rule: Rule, start: datetime | None = None
) -> datetime:
    """When a rule of a round fires: counted from `start` (escalation_start), by default the opening."""
    base = since(incident) if start is None else start
    return base + (round_number - 1) * round_length(policy) + timedelta(minutes=rule.after_minutes)


def is_resolved(incident: Incident, now: datetime) -> bool:
    return incident.status == "resolved" or (incident.resolved_at is not None and incident.resolved_at <= now)


def is_acknowledged(incident: Incident, now: datetime) -> bool:
    """Acknowledged by `now`, in its current opening (an ack of an earlier opening does not count)."""
    ack = incident.acknowledged_at
    return ack is not None and since(incident) <= ack <= now


def stops(incident: Incident, rule: Rule, now: datetime) -> bool:
    """Whether the rule no longer fires at `now`, as its `unless` says."""
    if is_resolved(incident, now):
        return True
    return rule.unless == "acknowledged" and is_acknowledged(incident, now)


def contact_steps(person: Person | None) -> list[tuple[int, tuple[str, ...]]]:
    """A person's contact rules as steps, (after_minutes, channel ids), soonest first; rules with the
    same delay are one step. Empty: the person has none (a page goes to every channel at once)."""
    if person is None:
        return []
    steps: dict[int, list[str]] = {}
    for rule in sorted(person.contact, key=lambda r: r.after_minutes):
        channels = steps.setdefault(rule.after_minutes, [])
        if rule.channel not in channels:
            channels.append(rule.channel)
    return [(after, tuple(channels)) for after, channels in steps.items()]


def _person(repo: StatusRepo, person_id: str | None) -> Person | None:
    found = repo.get("people", person_id) if person_id else None
    return found if isinstance(found, Person) else None


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
    start = escalation_start(repo, incident, now)
    if start is None:
        return []  # quiet: its components are in maintenance
    recorded = {page.key for page in incident.pages}
    grace = timedelta(minutes=repo.notifications.late_grace_minutes)
    due = []
    for number, rule in enumerate(policy.rules, start=1):
        if stops(incident, rule, now):
            continue
        latest = None
        for round_number in range(1, policy.repeat + 2):
            when = fires_at(incident, policy, round_number, rule, start)
            if when > now:
                break
            latest = round_number, when
        if latest is None:
            continue
        round_number, when = latest
        key = page_key(incident.id, policy.id, round_number, number, _epoch(incident))
        if key in recorded:
            continue
        late = now - when if now - when > grace else None
        schedule, person = target(repo, rule, now if late is not None else when)
        steps = contact_steps(_person(repo, person))
        step, channels = (1, steps[0][1]) if steps else (None, ())
        page = DuePage(incident.id, policy.id, round_number, number, when, schedule, person, key)
        due.append(dataclasses.replace(page, step=step, channels=channels, late=late))
    return sorted(due, key=lambda p: (p.fires_at, p.round, p.rule))


def due_steps(repo: StatusRepo, incident: Incident, now: datetime) -> list[DuePage]:
    """The later steps of people's contact rules due at `now` for the pages recorded in `incident`.

    Each counts from its page's record (when the person was first reached), and none is due once
    the incident is acknowledged or resolved, whatever the page's rule says: the rules are for
    reaching someone who has not answered.
    """
    if is_resolved(incident, now) or is_acknowledged(incident, now):
        return []
    recorded = {page.key for page in incident.pages}
    due = []
    for page in incident.pages:
        # Only pages recorded with contact rules, of this opening, that were not called off.
        if page.step != 1 or page.state == "cancelled" or page.at < since(incident):
            continue
        if owner(incident, page.key) is not page:
            continue
        steps = contact_steps(_person(repo, page.person))
        for number, (after, channels) in enumerate(steps[1:], start=2):
            when = page.at + timedelta(minutes=after)
            if when > now:
                break
            key = step_key(page.key, number)
            if key in recorded:
                continue
            due.append(
                DuePage(
                    incident.id,
                    page.policy,
                    page.round,
                    page.rule,
                    when,
                    page.schedule,
                    page.person,
                    key,
                    number,
                    channels,
                    follows=page.key,
                )
            )
    return due


def escalations(repo: StatusRepo, now: datetime) -> list[DuePage]:
    """Every page due at `now`, over every incident that is not resolved, by each policy that applies,
    and every later step of the contact rules of the people already paged."""
    due = []
    for incident in repo.incidents:
        if is_resolved(incident, now) or since(incident) > now:
            continue
        for policy in policies_for(repo, incident):
            due.extend(due_pages(repo, incident, policy, now))
        due.extend(due_steps(repo, incident, now))
    return due


def quiet_incidents(repo: StatusRepo, now: datetime) -> list[tuple[Incident, Quiet]]:
    """The open incidents that are quiet for maintenance at `now`, or were and are still open (their
    escalation started when the window ended), with why: what the tick notes in their timelines."""
    found = []
    for incident in repo.incidents:
        if is_resolved(incident, now) or since(incident) > now or not policies_for(repo, incident):
            continue
        held = quiet(repo, incident, now)
        if held is not None:
            found.append((incident, held))
    return found


def owner(incident: Incident, key: str) -> Page | None:
    """The record of a page: its first entry (two clones racing can at worst both append one)."""
    return next((page for page in incident.pages if page.key == key), None)

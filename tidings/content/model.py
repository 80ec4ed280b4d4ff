"""The content model: what a status repo holds, as typed, immutable objects.

Two layers live here. The *file* models (`SiteFile`, `IncidentFile`, ...) describe exactly what a
person may write in each kind of file; they forbid unknown keys and are what `tidings schema`
exports. The *domain* objects (`Component`, `Incident`, `StatusRepo`, ...) are those files with
their ids, paths and bodies attached and references resolved; everything downstream reads them.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, cast

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tidings.content.payload_paths import PathSyntaxError, parse_path
from tidings.content.review_sections import Section, split_sections

Severity = Literal["critical", "high", "medium", "low", "unknown"]
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "unknown")
IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
INCIDENT_STATUSES: tuple[str, ...] = ("investigating", "identified", "monitoring", "resolved")
# The Statuspage component vocabulary, ordered from best to worst, so existing clients read our API.
Impact = Literal["operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"]
IMPACTS: tuple[str, ...] = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
MaintenanceStatus = Literal["scheduled", "in_progress", "verifying", "completed"]
RotationUnit = Literal["hours", "days", "weeks"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EscalateUnless = Literal["acknowledged", "resolved"]

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def slugify(text: str) -> str:
    """A lowercase id made of letters, digits and dashes: 'Git Operations' -> 'git-operations'."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "item"


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _check_timezone(name: str) -> str:
    if name not in known_timezones():
        raise PydanticCustomError("unknown_timezone", "unknown IANA timezone {name!r}", {"name": name})
    return name


def _check_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise PydanticCustomError(
            "bad_id",
            "'{value}' is not a valid id: use lowercase letters, digits, '.', '_' and '-'",
            {"value": value, "suggestion": slugify(value)},
        )
    return value


def _check_clock_time(value: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise PydanticCustomError(
            "bad_clock_time", "'{value}' is not a time of day like '09:00'", {"value": value}
        )
    return value


def _check_url(value: str) -> str:
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$", value):
        raise PydanticCustomError(
            "bad_url", "'{value}' is not a URL like 'https://example.com/'", {"value": value}
        )
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
Id = Annotated[
    str, AfterValidator(_check_id), WithJsonSchema({"type": "string", "pattern": ID_PATTERN.pattern})
]
ClockTime = Annotated[str, AfterValidator(_check_clock_time)]
Url = Annotated[str, AfterValidator(_check_url)]
Text = Annotated[str, Field(min_length=1)]
# Years a content timestamp may have: far enough for imported history, clear of year 1 and 9999,
# where converting between zones (every page does) overflows.
TIMESTAMP_YEARS = (1000, 9000)


def _timestamp_text(value: Any) -> Any:
    # YAML gives timestamps as text; a bare number would otherwise be read as Unix time, silently.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError("datetime_type", "{value} is a number, not a timestamp", {"value": value})
    return value


def _timestamp_range(value: datetime) -> datetime:
    low, high = TIMESTAMP_YEARS
    try:
        year = value.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not low <= year <= high:
        raise PydanticCustomError(
            "timestamp_range",
            "{value} is out of range: timestamps are between the years {low} and {high}",
            {"value": value.isoformat(), "low": low, "high": high},
        )
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text), AfterValidator(_timestamp_range)]


class FileModel(BaseModel):
    """Base of every file model: unknown keys are errors, objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SourceLink(FileModel):
    """Where an imported component, incident or maintenance came from, so importing again updates it."""

    kind: Text = Field(description="The importer that wrote it: 'statuspage' or 'cstate'.")
    id: Text = Field(description="Its id there: Statuspage's id, or the cState file's name.")
    url: Url | None = Field(None, description="Its page there, e.g. Statuspage's shortlink.")


# --- .gitlab/status-page.yml -------------------------------------------------------------------


class ServiceEntry(FileModel):
    """A component of the status page (GitLab calls them services: `name` and `url`)."""

    name: Text
    url: Url | None = None
    id: Id | None = Field(None, description="Stable id used by incidents; defaults to the name as a slug.")
    description: str = ""
    group: Id | None = Field(None, description="Id of a group in `groups`.")
    policy: Id | None = Field(None, description="Escalation policy for incidents on this component.")
    source: SourceLink | None = Field(None, description="Set by `tidings import`: where it came from.")


class GroupEntry(FileModel):
    id: Id
    name: Text
    description: str = ""


class IncidentsSettings(FileModel):
    """GitLab's `incidents:` block."""

    publish: bool = Field(True, description="Publish incidents marked `published: true` on the page.")
    limit: int = Field(100, ge=1, description="How many of the most recent incidents the page lists.")


class FeedSettings(FileModel):
    enabled: bool = True
    entries: int = Field(50, ge=1, le=1000, description="Entries per feed, newest first.")


class ContactLink(FileModel):
    name: Text
    url: Url


class SubscribeSettings(FileModel):
    """Readers subscribe to updates by e-mail or webhook at the runner's public listener."""

    endpoint: Url = Field(
        description="Where the runner's public subscription listener (`runner serve --public-port`) "
        "answers, as readers reach it; the subscribe page's form posts there."
    )
    webhooks: bool = Field(True, description="Offer webhook subscriptions besides e-mail.")


class ReviewSettings(FileModel):
    """Post-incident reviews (content/reviews/): what the public sees of them, which incidents need one."""

    public_sections: list[Id] = Field(
        default_factory=lambda: ["summary", "customer_impact"],
        description="Sections of a published review shown on its incidents' public pages, by key: the "
        "heading as an id ('## Customer impact' is customer_impact). Every other section, the timeline, "
        "its annotations and the action items stay internal.",
    )
    required_for: list[Severity] = Field(
        default_factory=list,
        description="Severities whose resolved incidents need a review: validate warns about one that has "
        "none `within_days` after it was resolved. Empty: none is required.",
    )
    within_days: int = Field(14, ge=0, description="Days after an incident is resolved a review is due.")
    since: date | None = Field(
        None, description="Only incidents resolved on or after this date need one (older history does not)."
    )


class SiteFile(FileModel):
    """`.gitlab/status-page.yml`: GitLab's keys (`services`, `incidents`) plus site settings."""

    title: Text = "Status"
    description: str = ""
    base_url: Url | None = Field(None, description="Public URL the site is served from, for feeds and links.")
    timezone: TimeZoneName = Field("UTC", description="IANA timezone times are shown in.")
    language: str = "en"
    contact: list[ContactLink] = Field(default_factory=list)
    groups: list[GroupEntry] = Field(default_factory=list)
    services: list[ServiceEntry] = Field(default_factory=list)
    incidents: IncidentsSettings = Field(default_factory=lambda: IncidentsSettings())
    feeds: FeedSettings = Field(default_factory=lambda: FeedSettings())
    subscribe: SubscribeSettings | None = Field(
        None, description="Subscriptions by e-mail and webhook; without it the page offers none."
    )
    reviews: ReviewSettings = Field(
        default_factory=lambda: ReviewSettings(), description="Post-incident reviews (content/reviews/)."
    )


# --- content/incidents/*.md and content/maintenance/*.md ------------------------------------------


class Update(FileModel):
    """One entry of an incident's timeline."""

    at: Timestamp
    status: IncidentStatus
    body: Text
    internal: bool = Field(False, description="Internal updates never appear on the public page.")
    author: str | None = None
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")] | None = Field(
        None, description="Its identity in the timeline, kept through edits (Tidings writes one)."
    )


class Note(FileModel):
    """An internal note: never public."""

    at: Timestamp
    body: Text
    author: str | None = None


AlertState = Literal["firing", "resolved"]


class AlertLink(FileModel):
    """An alert linked to the incident. The runner records each alert's last state to ignore re-deliveries."""

    source: Text = Field(description="Integration that sent the alert, e.g. 'alertmanager'.")
    fingerprint: Text
    group: str | None = Field(None, description="The alert group (Alertmanager's groupKey) it arrived in.")
    state: AlertState | None = None
    starts_at: Timestamp | None = None


# An alert record's status, as GitLab's alert management has them.
AlertStatus = Literal["triggered", "acknowledged", "resolved", "ignored"]
AlertEventKind = Literal[
    "fired",  # first seen firing
    "re-fired",  # a new firing of the same alert (a new start time)
    "acknowledged",
    "unacknowledged",  # back to triggered (PagerDuty's unacknowledge, or a person)
    "resolved",
    "reopened",  # a resolved alert fired again within its integration's reopen window
    "ignored",
    "linked",  # to an incident
    "quiet",  # recorded, but it paged nobody (and why)
]


class AlertEvent(FileModel):
    """One thing that happened to an alert: when, what, who did it and why."""

    at: Timestamp
    event: AlertEventKind
    by: str | None = Field(None, description="people.yml id (or name) of who did it; none: its source.")
    reason: str | None = None
    incident: Id | None = Field(None, description="For 'linked': the incident.")


class AlertFile(FileModel):
    """`content/alerts/<id>.yml`: one alert the runner received, kept for triage. Never public."""

    title: Text
    status: AlertStatus = "triggered"
    integration: Id = Field(description="The integration (.gitlab/integrations.yml) it came through.")
    source: Text = Field(description="The kind of source: alertmanager, generic, grafana, ...")
    fingerprint: Text = Field(description="The source's identity of the alert: repeats of it are one alert.")
    group: str | None = Field(None, description="The alert group it arrived in (one group, one incident).")
    severity: Severity = "unknown"
    component: str | None = Field(None, description="The service or component it names.")
    hosts: list[Text] = Field(default_factory=list)
    monitoring_tool: str | None = None
    environment: str | None = None
    runbook: str | None = Field(None, description="A runbook id of the repo, or a URL.")
    links: dict[Text, Url] = Field(default_factory=dict, description="Label -> URL (source, dashboard...).")
    description: str = ""
    first_seen: Timestamp = Field(description="When it first fired (its source's start time).")
    last_seen: Timestamp = Field(description="When it last fired or changed at its source.")
    starts_at: Timestamp = Field(description="Start of its current firing: a repeat of it is no new firing.")
    fired: int = Field(1, ge=1, description="How many times it fired.")
    incident: Id | None = Field(None, description="The incident it belongs to, if any.")
    events: list[AlertEvent] = Field(default_factory=list)


PageState = Literal["pending", "sent", "failed", "cancelled"]
DeliveryState = Literal["sent", "failed"]


class PageDelivery(FileModel):
    """One channel's attempt to deliver a page: how it ended, after how many tries."""

    channel: Id = Field(description="Channel id in .gitlab/notifications.yml.")
    at: Timestamp
    state: DeliveryState
    attempts: int = Field(1, ge=1)
    error: str | None = None


class Page(FileModel):
    """A page the runner recorded (before sending it): one rule of one round of a policy, to one person.

    Internal: never on the public page. `key` is the idempotency key every channel is sent.
    """

    key: Text = Field(description="Idempotency key: a hash of incident id, policy, round and rule.")
    at: Timestamp = Field(description="When the page was recorded.")
    policy: Id
    round: int = Field(ge=1, description="1 for the first run of the rules, 2 for the first repeat, ...")
    rule: int = Field(ge=1, description="The rule's number in the policy, from 1.")
    schedule: Id | None = Field(None, description="The schedule the person was on call in, if any.")
    person: Id | None = Field(None, description="Who was paged; none when nobody was on call.")
    by: Text = Field(description="The runner clone that sends it.")
    claimed_at: Timestamp | None = Field(None, description="When another runner took over sending it.")
    state: PageState = "pending"
    deliveries: list[PageDelivery] = Field(default_factory=list)
    error: str | None = None
    step: int | None = Field(
        None,
        ge=1,
        description="The step of the person's contact rules (people.yml `contact`) this record sends; "
        "none when the person has no rules (every channel at once).",
    )
    channels: list[Id] = Field(
        default_factory=list, description="The channels this record sends on; empty: every channel."
    )
    due_at: Timestamp | None = Field(
        None, description="When its rule fell due, for a page recorded late (to whoever was on call then)."
    )
    late_minutes: int | None = Field(
        None, ge=0, description="How late it was recorded; it went to whoever was on call when recorded."
    )


class IncidentLink(FileModel):
    """A related link of an incident: its issue, chat channel, call, a dashboard, anything."""

    url: Url
    text: Text | None = Field(None, description="What the link says (default: its URL).")

    @property
    def label(self) -> str:
        return self.text or self.url


class IncidentLinks(FileModel):
    """The first form of `links:`, one link of each kind; still read, as the links it names."""

    issue: Url | None = None
    chat: Url | None = None
    call: Url | None = None


# The text each link of the first form reads as; `/zoom` sets the `Call` link.
LEGACY_LINK_TEXT = {"issue": "Issue", "chat": "Chat", "call": "Call"}


def links_from_mapping(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    """`{issue: URL, chat: URL, call: URL}` (the first form) as the list it means, in that order."""
    return [{"url": mapping[key], "text": text} for key, text in LEGACY_LINK_TEXT.items() if mapping.get(key)]


def links_as_written(value: Any) -> list[tuple[str, str]]:
    """(URL, text or "") of each related link in a file's `links:` as written, either form, unchecked:
    for what reads files as they were at a commit (`tidings log`, announcements) and edits them."""
    entries = links_from_mapping(value) if isinstance(value, dict) else value
    if not isinstance(entries, list):
        return []
    return [
        (str(e["url"]), str(e.get("text") or "")) for e in entries if isinstance(e, dict) and e.get("url")
    ]


def _links_either_form(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    # The first form is checked as itself, so a mistake in it points at `links.issue`, not at an
    # entry of a list the file does not have.
    if isinstance(value, dict):
        return handler(links_from_mapping(IncidentLinks.model_validate(value).model_dump()))
    return handler(value)


Links = Annotated[
    list[IncidentLink],
    WrapValidator(_links_either_form, json_schema_input_type=list[IncidentLink] | IncidentLinks),
    Field(
        description="Related links, a list of {url, text}; the first form, a mapping of issue, chat "
        "and call, is still read."
    ),
]


def labelled_links(links: list[IncidentLink]) -> list[tuple[str, str]]:
    """(label, URL) of each link, a label repeated numbered ("Issue", "Issue 2"): for a mapping by name."""
    seen: dict[str, int] = {}
    out = []
    for link in links:
        seen[link.label] = seen.get(link.label, 0) + 1
        count = seen[link.label]
        out.append((link.label if count == 1 else f"{link.label} {count}", link.url))
    return out


class IncidentFile(FileModel):
    """Front matter of `content/incidents/<id>.md`; the Markdown body is the public summary."""

    title: Text
    severity: Severity = "unknown"
    status: IncidentStatus
    published: bool = Field(False, description="Nothing is public until someone publishes it.")
    started_at: Timestamp
    acknowledged_at: Timestamp | None = None
    resolved_at: Timestamp | None = None
    reopened_at: Timestamp | None = Field(
        None, description="When it was last reopened after a resolution; escalation starts again then."
    )
    components: dict[Id, Impact] = Field(default_factory=dict, description="Component id -> impact.")
    updates: list[Update] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    alerts: list[AlertLink] = Field(default_factory=list)
    runbooks: list[Id] = Field(default_factory=list)
    policy: Id | None = Field(None, description="Escalation policy; defaults to the components' policy.")
    pages: list[Page] = Field(default_factory=list, description="Pages the runner sent; never public.")
    links: Links = Field(default_factory=list)
    labels: list[Text] = Field(default_factory=list)
    assignees: list[Id] = Field(default_factory=list)
    postmortem: str | None = Field(None, description="Markdown, shown on the public page once published.")
    source: SourceLink | None = Field(None, description="Set by `tidings import`: where it came from.")
    example: bool = Field(
        False, description="An example (`tidings init` writes one), not an incident: metrics leave it out."
    )


class TemplateFile(FileModel):
    """Front matter of `content/templates/<name>.md`, an incident template (`tidings incident open
    --template NAME`): defaults for a new incident; the Markdown body becomes its summary."""

    title: Text | None = None
    severity: Severity | None = None
    status: IncidentStatus | None = None
    published: bool | None = None
    components: dict[Id, Impact] = Field(default_factory=dict, description="Component id -> impact.")
    runbooks: list[Id] = Field(default_factory=list)
    policy: Id | None = None
    links: Links = Field(default_factory=list)
    labels: list[Text] = Field(default_factory=list)
    assignees: list[Id] = Field(default_factory=list)


class MaintenanceUpdate(FileModel):
    at: Timestamp
    status: MaintenanceStatus
    body: Text
    internal: bool = False
    author: str | None = None


class MaintenanceFile(FileModel):
    """Front matter of `content/maintenance/<id>.md`."""

    title: Text
    scheduled_for: Timestamp
    scheduled_until: Timestamp
    components: list[Id] = Field(default_factory=list)
    status: MaintenanceStatus | None = Field(None, description="Derived from the clock unless set.")
    published: bool = False
    updates: list[MaintenanceUpdate] = Field(default_factory=list)
    source: SourceLink | None = Field(None, description="Set by `tidings import`: where it came from.")


# --- content/runbooks/*.md and content/people.yml -------------------------------------------------


class RunbookFile(FileModel):
    title: Text
    services: list[Id] = Field(default_factory=list, description="Component ids this runbook is for.")
    tags: list[Text] = Field(default_factory=list)


class ContactMethod(FileModel):
    """One of a person's own contact rules (PagerDuty's personal notification rules): a channel, used
    `after_minutes` after the person is paged if the incident is by then neither acknowledged nor
    resolved."""

    channel: Id = Field(description="A channel id of `channels` in .gitlab/notifications.yml.")
    after_minutes: int = Field(0, ge=0, description="Minutes after the page; 0: at once.")


class PersonEntry(FileModel):
    id: Id
    name: Text
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    timezone: TimeZoneName = "UTC"
    chat: dict[str, str] = Field(default_factory=dict, description="Chat ids, e.g. {slack: U123ABC}.")
    phone: str | None = None
    contact: list[ContactMethod] = Field(
        default_factory=list,
        description="How a page reaches this person, in order: e.g. Slack at once, e-mail after 5 minutes "
        "if still unacknowledged. Without rules a page goes to every channel at once.",
    )


class PeopleFile(FileModel):
    people: list[PersonEntry] = Field(default_factory=list)


# --- content/oncall/schedules/*.yml and content/oncall/policies/*.yml -----------------------------


def _every_day() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Restriction(FileModel):
    """When a rotation is active, in its timezone, e.g. weekdays 09:00-17:00.

    A `to` before `from` spans midnight.
    """

    days: list[Weekday] = Field(default_factory=lambda: _every_day())
    from_: ClockTime = Field(alias="from")
    to: ClockTime


class Rotation(FileModel):
    """A layer of a schedule; later rotations win over earlier ones where both are active."""

    name: Text
    starts_at: datetime = Field(description="Without an offset, wall-clock time in the rotation's timezone.")
    ends_at: datetime | None = None
    rotation_length: int = Field(ge=1)
    rotation_length_unit: RotationUnit
    participants: list[Id] = Field(min_length=1)
    timezone: TimeZoneName | None = Field(None, description="Defaults to the schedule's timezone.")
    restrictions: list[Restriction] = Field(default_factory=list)


class Override(FileModel):
    person: Id
    starts_at: datetime
    ends_at: datetime


class ScheduleFile(FileModel):
    name: Text
    description: str = ""
    timezone: TimeZoneName
    rotations: list[Rotation] = Field(min_length=1)
    overrides: list[Override] = Field(default_factory=list)


class Rule(FileModel):
    """GitLab's rule: if the incident is not <unless> after <after_minutes>, page <schedule or person>."""

    after_minutes: int = Field(ge=0)
    unless: EscalateUnless = "acknowledged"
    schedule: Id | None = None
    person: Id | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Rule:
        if (self.schedule is None) == (self.person is None):
            raise PydanticCustomError("rule_target", "a rule pages exactly one of 'schedule' or 'person'")
        return self


class PolicyFile(FileModel):
    name: Text
    description: str = ""
    rules: list[Rule] = Field(min_length=1)
    repeat: int = Field(0, ge=0, le=10, description="How many more times to run the rules.")
    repeat_after_minutes: int = Field(
        15, ge=1, description="Minutes from a round's last rule to the start of the next round."
    )


# --- content/reviews/*.md ------------------------------------------------------------------------

ActionStatus = Literal["open", "done", "dropped"]
ACTION_STATUSES: tuple[str, ...] = ("open", "done", "dropped")
Priority = Literal["critical", "high", "medium", "low"]


class ActionItem(FileModel):
    """A change the team promised after an incident: who does it, by when, where it is tracked."""

    title: Text
    owner: Id = Field(description="The person (content/people.yml id) who sees it done.")
    due: date = Field(description="The day it is due (in the site's timezone); open after it: overdue.")
    issue: Url | None = Field(None, description="The issue that tracks the work.")
    status: ActionStatus = "open"
    priority: Priority | None = None

    def overdue(self, today: date) -> bool:
        """Still open after its due day."""
        return self.status == "open" and self.due < today


class Annotation(FileModel):
    """A reviewer's note on the timeline: on one update (by its id), on what happened at a time, or a
    moment of its own that no incident recorded (a deploy, say)."""

    note: Text
    update: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")] | None = Field(
        None, description="The id of an update of one of the review's incidents."
    )
    at: Timestamp | None = Field(None, description="The time of the timeline entries it is about.")

    @model_validator(mode="after")
    def _somewhere(self) -> Annotation:
        if self.update is None and self.at is None:
            raise PydanticCustomError(
                "annotation_target", "an annotation needs 'update' (an update id) or 'at'"
            )
        return self


class ReviewFile(FileModel):
    """Front matter of `content/reviews/<id>.md`, a post-incident review; the Markdown body holds its
    sections (`## Summary`, `## Customer impact`, ...). The timeline is not written here: it is read
    from the incidents (updates, notes, alerts, pages) whenever the review is shown."""

    title: Text | None = Field(None, description="Default: 'Review: ' and the first incident's title.")
    incidents: list[Id] = Field(min_length=1, description="The incidents it reviews.")
    created_at: Timestamp = Field(description="When the review was started.")
    published_at: Timestamp | None = Field(
        None,
        description="When it was published: from then its public sections show on its published "
        "incidents' pages. None: a draft, internal only.",
    )
    authors: list[Id] = Field(default_factory=list, description="People (content/people.yml ids) writing it.")
    annotations: list[Annotation] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)


# --- .gitlab/integrations.yml ----------------------------------------------------------------------

IntegrationKind = Literal["generic", "alertmanager", "grafana", "pagerduty", "datadog", "sentry"]
# Kinds whose sender proves itself with a token (bearer or basic), and kinds that sign each body.
TOKEN_KINDS: tuple[str, ...] = ("generic", "alertmanager", "grafana", "datadog")
SIGNED_KINDS: tuple[str, ...] = ("pagerduty", "sentry")
EnvVar = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]


def _heartbeat_alerts() -> list[str]:
    return ["Watchdog", "DeadMansSwitch"]


class HeartbeatSettings(FileModel):
    """A dead man's switch: the integration proves every so often that the pipe from monitoring works."""

    silent_after_minutes: int = Field(
        ge=1, description="Raise 'monitoring silent' when no heartbeat has arrived for this long."
    )
    alerts: list[Text] = Field(
        default_factory=lambda: _heartbeat_alerts(),
        description="Alert names that are heartbeats, never incidents (Alertmanager's `alertname` "
        "label; a generic alert's title). Prometheus' convention is an always-firing `Watchdog`.",
    )
    severity: Severity = Field("critical", description="The severity of the 'monitoring silent' alert.")


def _default_severity_map() -> dict[str, Severity]:
    return {"critical": "critical", "high": "high", "warning": "medium", "info": "low"}


def _check_payload_path(value: str) -> str:
    try:
        parse_path(value)
    except PathSyntaxError as exc:
        raise PydanticCustomError(
            "bad_path", "'{path}' is not a payload path: {why}", {"path": value, "why": str(exc)}
        ) from None
    return value


PayloadPath = Annotated[
    str,
    AfterValidator(_check_payload_path),
    Field(description='A path into the posted JSON: `a.b`, `list[0]`, `list[*].x`, `labels["a.b"]`.'),
]


def _one_or_more(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


_PATH_SCHEMA = {"type": "string", "description": "A path into the posted JSON."}
# Written as one path or a list of them; read as a list.
OneOrMorePaths = Annotated[
    list[PayloadPath],
    BeforeValidator(_one_or_more),
    WithJsonSchema({"anyOf": [_PATH_SCHEMA, {"type": "array", "items": _PATH_SCHEMA, "minItems": 1}]}),
    Field(min_length=1),
]


class SeverityMapping(FileModel):
    """Where an alert's severity is, and what its values mean."""

    path: PayloadPath
    values: dict[str, Severity] = Field(
        default_factory=dict,
        description="Value at `path` -> severity; other values go through the integration's severity_map.",
    )


class ResolvedMapping(FileModel):
    """How a resolved alert is recognised: the value at `path` is one of `values`."""

    path: PayloadPath
    values: list[str] = Field(
        min_length=1, description="Values that mean resolved (compared as text, in any case)."
    )


class AlertMapping(FileModel):
    """A generic integration's custom mapping: where in the posted JSON each field of the alert is."""

    title: PayloadPath = Field(description="The alert's title (required in every payload).")
    description: PayloadPath | None = None
    start_time: PayloadPath | None = Field(
        None, description="When it started: RFC 3339 text, or Unix seconds or milliseconds."
    )
    end_time: PayloadPath | None = Field(None, description="When it ended, in the same forms.")
    severity: SeverityMapping | None = None
    service: PayloadPath | None = Field(None, description="The service: a component id of the page.")
    hosts: PayloadPath | None = Field(None, description="A host, or a list of hosts (`targets[*].host`).")
    monitoring_tool: PayloadPath | None = None
    environment: PayloadPath | None = None
    fingerprint: OneOrMorePaths | None = Field(
        None,
        description="One path or several, combined, identifying the alert (required in every payload); "
        "without it, the title, service, environment, hosts and tool do.",
    )
    runbook: PayloadPath | None = Field(None, description="A runbook id of the repo, or a URL.")
    resolved: ResolvedMapping | None = Field(
        None, description="How a resolved alert is recognised; without it, one with an end time is."
    )


class PagerDutySync(FileModel):
    """Two-way sync: the runner tells PagerDuty when a person acknowledges or resolves in Tidings."""

    token_env: EnvVar = Field(description="Variable holding a PagerDuty REST API token.")
    from_: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] = Field(
        alias="from", description="E-mail of the PagerDuty user the changes are made as (PagerDuty's From)."
    )
    api_url: Url = Field("https://api.pagerduty.com", description="PagerDuty's REST API.")


class Integration(FileModel):
    """Where alerts come from and how they become incidents."""

    id: Id
    kind: IntegrationKind
    token_env: EnvVar | None = Field(
        None,
        description="Variable holding the token (bearer) or password (basic) the sender presents; the "
        "secret itself never lives in the repo. Required for generic, alertmanager, grafana, datadog.",
    )
    auth: Literal["bearer", "basic"] = Field(
        "bearer", description="How the sender presents token_env: `Authorization: Bearer` or Basic."
    )
    username: Text | None = Field(None, description="The user name of Basic authentication.")
    secret_env: EnvVar | None = Field(
        None,
        description="Variable holding the signing secret (PagerDuty's webhook secret, Sentry's client "
        "secret). Required for pagerduty and sentry.",
    )
    publish: bool = Field(False, description="Whether incidents it opens start published.")
    component_label: str = Field(
        "service", description="Label (or generic 'service') naming the component id."
    )
    impact: Impact = Field("partial_outage", description="Impact on that component while the alert fires.")
    severity_label: str = "severity"
    severity_map: dict[str, Severity] = Field(
        default_factory=lambda: _default_severity_map(),
        description="Label value -> severity; unmapped values give 'unknown'.",
    )
    runbook_annotation: str = Field("runbook", description="Annotation (or label) holding a runbook id.")
    reopen_minutes: int = Field(
        60, ge=0, description="An alert that fires again this soon after resolving reopens its incident."
    )
    open_incident: bool = Field(
        True,
        description="Whether an alert group opens an incident; false: its alerts wait in the alert list.",
    )
    template: Id | None = Field(
        None, description="Incident template (content/templates/<name>.md) the incidents it opens start from."
    )
    recovery: Literal["incident", "alert"] = Field(
        "incident",
        description="What an alert's recovery resolves: its incident too (once the whole group is resolved), "
        "or only the alert record (a person resolves the incident).",
    )
    policy: Id | None = Field(
        None, description="Escalation policy for the incidents it opens that get none from their components."
    )
    page_during_maintenance: bool = Field(
        False,
        description="Whether its alerts page while every component they name is in a published maintenance "
        "window (by default they are recorded but page nobody until the window ends).",
    )
    heartbeat: HeartbeatSettings | None = Field(
        None,
        description="Expect a heartbeat (an always-firing alert, or POST /heartbeat/<id>); raise a "
        "'monitoring silent' alert when none arrives for `silent_after_minutes`.",
    )
    mapping: AlertMapping | None = Field(
        None, description="Generic only: read alerts of any JSON shape through these paths."
    )
    sync: PagerDutySync | None = Field(
        None, description="PagerDuty only: tell PagerDuty of acknowledgements and resolutions made here."
    )

    @model_validator(mode="after")
    def _settings_fit_the_kind(self) -> Integration:
        def wrong(message: str) -> PydanticCustomError:
            return PydanticCustomError("integration_settings", message, {"kind": self.kind})

        if self.kind in SIGNED_KINDS:
            if self.secret_env is None:
                raise wrong("a {kind} integration needs secret_env: the variable holding its signing secret")
            if self.token_env is not None or self.username is not None or self.auth != "bearer":
                raise wrong("{kind} signs its posts: use secret_env, not token_env, auth or username")
        else:
            if self.token_env is None:
                raise wrong("a {kind} integration needs token_env: the variable holding its token")
            if self.secret_env is not None:
                raise wrong("{kind} posts carry a token, not a signature: use token_env, not secret_env")
        if (self.auth == "basic") != (self.username is not None):
            raise wrong("basic authentication takes a username, and only it does")
        if self.mapping is not None and self.kind != "generic":
            raise wrong("only generic integrations take a mapping")
        if self.sync is not None and self.kind != "pagerduty":
            raise wrong("only pagerduty integrations take sync")
        return self


class IntegrationsFile(FileModel):
    integrations: list[Integration] = Field(default_factory=list)


# --- .gitlab/notifications.yml ---------------------------------------------------------------------

EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]


class SlackChannel(FileModel):
    """A Slack incoming webhook: one message a page, mentioning the person by their `chat.slack` id."""

    id: Id
    kind: Literal["slack"]
    url_env: EnvName = Field(description="Variable holding the webhook URL (the URL is the secret).")


class WebhookChannel(FileModel):
    """A generic JSON webhook, signed with HMAC-SHA256 (X-Tidings-Timestamp, X-Tidings-Signature)."""

    id: Id
    kind: Literal["webhook"]
    url: Url | None = None
    url_env: EnvName | None = Field(None, description="Variable holding the URL, instead of `url`.")
    secret_env: EnvName = Field(description="Variable holding the signing secret.")

    @model_validator(mode="after")
    def _one_url(self) -> WebhookChannel:
        if (self.url is None) == (self.url_env is None):
            raise PydanticCustomError("webhook_url", "a webhook has exactly one of 'url' or 'url_env'")
        return self


class EmailChannel(FileModel):
    """E-mail over SMTP, to the person's `email` in people.yml."""

    id: Id
    kind: Literal["email"]
    host: Text
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = Field("starttls", description="How to encrypt.")
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    from_: Text = Field(alias="from", description="The From address, e.g. 'Tidings <oncall@example.com>'.")


Channel = Annotated[SlackChannel | WebhookChannel | EmailChannel, Field(discriminator="kind")]


class RetrySettings(FileModel):
    attempts: int = Field(4, ge=1, le=10, description="Tries per channel before a delivery is failed.")
    backoff_seconds: float = Field(2.0, ge=0, le=60, description="Wait before the second try; doubles.")
    timeout_seconds: float = Field(10.0, gt=0, le=120, description="Per try.")


# `updated`: a public update added (or made public), or the status changed, short of resolving.
AnnounceEvent = Literal["opened", "updated", "resolved"]


def _both_events() -> list[AnnounceEvent]:
    return ["opened", "resolved"]


class AnnounceWhen(FileModel):
    """Which incidents a channel hears of: any of these components, and any of these severities
    (an empty list: any)."""

    components: list[Id] = Field(default_factory=list, description="Component ids; empty: any.")
    severities: list[Severity] = Field(default_factory=list, description="Severities; empty: any.")


class AnnounceChannel(FileModel):
    """A Slack incoming webhook that hears when incidents open and resolve, and with `updated` of
    their public updates and status changes (it gets no pages)."""

    id: Id
    kind: Literal["slack"]
    url_env: EnvName = Field(description="Variable holding the webhook URL (the URL is the secret).")
    when: AnnounceWhen = Field(default_factory=lambda: AnnounceWhen())
    events: list[AnnounceEvent] = Field(
        default_factory=lambda: _both_events(),
        min_length=1,
        description="What it hears of: opened, updated (public updates, status changes), resolved.",
    )


def _check_network(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise PydanticCustomError(
            "network", "{value!r} is not a network like '10.20.0.0/16' or '127.0.0.1'", {"value": value}
        ) from None
    return value


Network = Annotated[str, AfterValidator(_check_network)]


class SubscriberMail(FileModel):
    """The SMTP server subscriber mail (confirmations, notifications) goes through."""

    host: Text
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = Field("starttls", description="How to encrypt.")
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    from_: Text = Field(
        alias="from", description="The From address, e.g. 'Acme Status <status@example.com>'."
    )
    connections: int = Field(2, ge=1, le=16, description="SMTP connections sending at once.")


def _subscriber_retry() -> RetrySettings:
    return RetrySettings(attempts=8, backoff_seconds=30, timeout_seconds=10)


class SubscribersSettings(FileModel):
    """How the runner tells subscribers (see `subscribe:` in the site file)."""

    email: SubscriberMail | None = Field(None, description="SMTP for subscriber mail; none: no e-mail.")
    release: Literal["deployed", "pushed"] = Field(
        "deployed",
        description="Notify once the pages job reports the commit deployed (POST /deployed), "
        "or once it reached the branch.",
    )
    release_delay_seconds: int = Field(
        0, ge=0, le=3600, description="Wait this much longer after that, for caches in front of the page."
    )
    confirm_expires_minutes: int = Field(1440, ge=5, le=10080, description="How long a confirmation works.")
    allow_private_webhooks: bool = Field(
        False, description="Accept webhook URLs at private or loopback addresses (an intranet)."
    )
    suspend_after: int = Field(
        3, ge=1, le=100, description="Consecutive hard bounces or failed webhook deliveries that suspend."
    )
    retry: RetrySettings = Field(default_factory=_subscriber_retry)


class NotificationsFile(FileModel):
    """`.gitlab/notifications.yml`: where pages go. Secrets are named by variable, never written here."""

    runner_url: Url | None = Field(
        None, description="Where `tidings runner serve` is reachable; ack links in pages point there."
    )
    ack_expires_minutes: int = Field(24 * 60, ge=1, description="How long an ack link stays valid.")
    late_grace_minutes: int = Field(
        30,
        ge=0,
        description="A page recorded more than this long after its rule fell due (the runner was down) "
        "goes to whoever is on call when it is recorded, not to whoever was on call then.",
    )
    retry: RetrySettings = Field(default_factory=lambda: RetrySettings())
    allow_networks: list[Network] = Field(
        default_factory=list,
        description="Private networks the runner may call (CIDR, e.g. 10.20.0.0/16): webhooks, Slack and "
        "PagerDuty on private, loopback or link-local addresses are refused unless listed here.",
    )
    channels: list[Channel] = Field(default_factory=list)
    announce: list[AnnounceChannel] = Field(
        default_factory=list,
        description="Channels told of incidents opening, updating and resolving, by component or severity.",
    )
    subscribers: SubscribersSettings = Field(
        default_factory=lambda: SubscribersSettings(), description="Telling subscribers of public updates."
    )


FILE_MODELS: dict[str, type[FileModel]] = {
    "site": SiteFile,
    "incident": IncidentFile,
    "maintenance": MaintenanceFile,
    "template": TemplateFile,
    "runbook": RunbookFile,
    "people": PeopleFile,
    "schedule": ScheduleFile,
    "policy": PolicyFile,
    "integrations": IntegrationsFile,
    "notifications": NotificationsFile,
    "alert": AlertFile,
    "review": ReviewFile,
}


# --- domain objects -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Component:
    id: str
    name: str
    position: int
    url: str | None = None
    description: str = ""
    group: str | None = None
    policy: str | None = None


class FromFile(FileModel):
    """Base of domain objects: a file model plus where it came from, `id` (the file name) and `path`."""

    id: str
    path: str
    # A hash of the file's bytes and path: what a page rendered from it depends on (build caching).
    digest: str = ""

    @classmethod
    def from_file(cls, data: FileModel, **extra: object) -> Self:
        # The file model is already validated; copying its fields needs no second validation.
        values: dict[str, Any] = {**dict(data), **extra}
        return cast(Self, cls.model_construct(**values))


class UpdateTimes:
    """The first and last update of an item with updates (an incident, a maintenance): what the
    site-wide pages read of each (tidings.content.lazy keeps them in an incident's summary)."""

    if TYPE_CHECKING:  # the model's field, declared for mypy only: pydantic must not see a second one
        updates: Sequence[Update | MaintenanceUpdate]

    @property
    def first_update_at(self) -> datetime | None:
        """The earliest update's time (None without updates)."""
        return min((u.at for u in self.updates), default=None)

    @property
    def last_update_at(self) -> datetime | None:
        """The newest update's time (None without updates)."""
        return max((u.at for u in self.updates), default=None)


class Incident(UpdateTimes, FromFile, IncidentFile):
    """An incident: its front matter, its id and path, and its Markdown body (the public summary)."""

    body: str = ""

    @property
    def public_updates(self) -> list[Update]:
        return [u for u in self.updates if not u.internal]

    @property
    def duration(self) -> timedelta | None:
        """Until resolved_at; resolved without it, until the last update (validate warns); None: ongoing."""
        end = self.resolved_at
        if end is None and self.status == "resolved":
            end = self.last_update_at
        return end - self.started_at if end else None


class Maintenance(UpdateTimes, FromFile, MaintenanceFile):
    body: str = ""

    def status_at(self, now: datetime) -> str:
        """The set status, or one derived from the window and the clock."""
        if self.status is not None:
            return self.status
        if now < self.scheduled_for:
            return "scheduled"
        if now < self.scheduled_until:
            return "in_progress"
        return "completed"


class AlertRecord(FromFile, AlertFile):
    """An alert record (`content/alerts/<id>.yml`): internal, like everything of the runner's."""

    @property
    def open(self) -> bool:
        """Still wanting attention: triggered or acknowledged."""
        return self.status in ("triggered", "acknowledged")

    def acknowledged_at(self) -> datetime | None:
        """When it was (last) acknowledged, if it is."""
        if self.status != "acknowledged":
            return None
        return next((e.at for e in reversed(self.events) if e.event == "acknowledged"), None)


class Review(FromFile, ReviewFile):
    """A post-incident review: its front matter, its id and path, and its Markdown sections."""

    body: str = ""

    @property
    def preamble(self) -> str:
        """Text before the first section heading."""
        return split_sections(self.body)[0]

    @property
    def sections(self) -> list[Section]:
        return split_sections(self.body)[1]

    def heading(self, incidents: dict[str, Incident]) -> str:
        """Its title, or 'Review: ' and its first incident's title."""
        if self.title:
            return self.title
        first = incidents.get(self.incidents[0])
        return f"Review: {first.title if first else self.incidents[0]}"


class Runbook(FromFile, RunbookFile):
    body: str = ""


class Schedule(FromFile, ScheduleFile):
    """A file of content/oncall/."""


class Policy(FromFile, PolicyFile):
    """A file of content/oncall/."""


Person = PersonEntry


@dataclass(frozen=True)
class StatusRepo:
    """Everything a status repo holds, loaded and checked. Tuples are sorted by id (incidents by start)."""

    root: Path
    site: SiteFile
    groups: tuple[Group, ...] = ()
    components: tuple[Component, ...] = ()
    incidents: tuple[Incident, ...] = ()
    maintenance: tuple[Maintenance, ...] = ()
    runbooks: tuple[Runbook, ...] = ()
    people: tuple[Person, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    policies: tuple[Policy, ...] = ()
    integrations: tuple[Integration, ...] = ()
    notifications: NotificationsFile = field(default_factory=lambda: NotificationsFile())
    # Alert records: internal, and left out (empty) where a caller does not need them (a public build).
    alerts: tuple[AlertRecord, ...] = ()
    reviews: tuple[Review, ...] = ()
    _index: dict[str, dict[str, object]] = field(default_factory=dict, repr=False, compare=False)

    def get(self, kind: str, id: str) -> object | None:
        """Look up a component, incident, maintenance, runbook, person, schedule, policy or review by id."""
        if not self._index:
            for name in (
                "groups",
                "components",
                "incidents",
                "maintenance",
                "runbooks",
                "people",
                "schedules",
                "policies",
                "integrations",
                "alerts",
                "reviews",
            ):
                self._index[name] = {item.id: item for item in getattr(self, name)}
        return self._index[kind].get(id)

    def reviews_of(self, incident_id: str) -> list[Review]:
        """The reviews that name the incident (one, unless validate complains)."""
        return [r for r in self.reviews if incident_id in r.incidents]

"""The internal site (`tidings build --internal`): what the public page must never show, for responders.

Every incident, published or not, with its internal updates, notes, alerts and escalation pages;
the alert records (content/alerts/): lists by status, one page a status filter so that filtering
needs no script, cut into pages of ALERTS_PER_PAGE, and a page per record with its events and links
to its incident and runbook; runbooks, linked from the incidents that use them; on-call: who is on
now and next in each schedule, the shifts of the coming weeks, and iCalendar files per schedule and
per person; escalation policies; metrics tables and charts (tidings.metrics, tidings.charts).

It renders from the whole model, never the public view, through its own templates
(`site_templates/internal_site/`, overridable like the public ones; not `internal/`, the name
of the output folder that .gitignore and packaging leave out), into its own folder; the public
build, its templates and its privacy rules are untouched, and nothing here is imported by them.
Every page says "Internal" in its header and asks search engines not to index it, but that is
no access control: serve the folder behind authentication, never from the public page's host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, TemplateError

from tidings import clock
from tidings.content import urls
from tidings.content.load import load
from tidings.content.model import AlertRecord, Incident, Schedule, StatusRepo
from tidings.content.review_checks import today
from tidings.generator.build import BuildResult
from tidings.generator.charts import CHARTS, charts
from tidings.generator.internal_subscribers import subscribers_page
from tidings.generator.oncall_calendar import default_window, person_calendar, schedule_calendar
from tidings.generator.pages import Output
from tidings.generator.problems import BuildFailed, template_diagnostic
from tidings.generator.site import Site
from tidings.generator.templates import environment, human_time
from tidings.generator.write import MARKER, Progress, UnsafeOutput, check_output, write_site
from tidings.ops import status
from tidings.ops.alerts import list_alerts
from tidings.ops.metrics import Metrics, compute, default_start, time_to_acknowledge
from tidings.ops.metrics_report import format_duration, to_csv, to_json
from tidings.ops.oncall import Shift, shift_at, shifts
from tidings.ops.policies import policies_for
from tidings.ops.reviews import action_items, by_owner, timeline

# Left in every internal site beside write.MARKER: a folder with MARKER and without this one holds
# a public site, which an internal build must never replace (it would publish the internal pages).
INTERNAL_MARKER = ".tidings-internal"
# How far ahead the on-call pages list shifts.
ONCALL_DAYS = 28
# Rows of an alert list page: a year of a noisy team is 20,000 records, far too many for one page.
ALERTS_PER_PAGE = 200
STATIC = {"static/style.css": "style.css", "static/internal.css": "internal_site/internal.css"}


def check_internal_output(out: Path, root: Path) -> None:
    """Refuse what check_output refuses, the public site's folder, and any folder holding a public site."""
    check_output(out, root)
    resolved = out.resolve()  # symlinks followed: a link into the public site is the public site
    public = (root / "public").resolve()
    if resolved == public or resolved.is_relative_to(public):
        raise UnsafeOutput(f"{out} is where the public site is built: build the internal one elsewhere")
    if (resolved / MARKER).exists() and not (resolved / INTERNAL_MARKER).exists():
        raise UnsafeOutput(f"{out} holds a public site: build the internal one into a folder of its own")
    # Inside a public site it would be published with it.
    for folder in resolved.parents:
        if (folder / MARKER).exists() and not (folder / INTERNAL_MARKER).exists():
            raise UnsafeOutput(
                f"{out} is inside a public site ({folder}): build the internal one into a folder of its own"
            )


@dataclass(frozen=True)
class OnCallNow:
    """One schedule at the build's moment: who is on, who is next, and the coming shifts."""

    schedule: Schedule
    current: Shift | None
    next: Shift | None
    upcoming: list[Shift]
    participants: list[str]


def on_call_now(schedule: Schedule, now: datetime, days: int = ONCALL_DAYS) -> OnCallNow:
    """Who is on call in `schedule` at `now`, who takes over next, and the shifts of the next `days`."""
    upcoming = shifts(schedule, now, now + timedelta(days=days))
    current = shift_at(schedule, now)
    if current is not None and upcoming and upcoming[0].covers(now):
        upcoming[0] = current  # whole, not cut at now: when it began is worth knowing
    after = current.ends_at if current is not None else now
    following = shift_at(schedule, after) if current is not None else None
    if following is None:
        following = next((s for s in upcoming if s.starts_at >= after), None)
    participants = list(dict.fromkeys(p for r in schedule.rotations for p in r.participants))
    participants += [o.person for o in schedule.overrides if o.person not in participants]
    return OnCallNow(schedule, current, following, upcoming, participants)


@dataclass(frozen=True)
class AlertListPage:
    """One page of an alert list: its filter, its number, how many pages the filter has, its records."""

    status: str  # one of urls.ALERT_FILTERS
    number: int
    pages: int
    total: int  # records the filter holds, on every page
    alerts: list[AlertRecord]
    per_page: int = ALERTS_PER_PAGE

    @property
    def path(self) -> str:
        return urls.alert_list_path(self.status, self.number)

    @property
    def first_row(self) -> int:
        return (self.number - 1) * self.per_page + 1


def alert_lists(
    repo: StatusRepo, per_page: int = ALERTS_PER_PAGE
) -> tuple[list[AlertListPage], dict[str, int]]:
    """Every page of every alert list (newest first), and how many records each filter holds."""
    newest_first = list_alerts(repo)
    chosen = {
        "open": [a for a in newest_first if a.open],
        "all": newest_first,
        **{
            s: [a for a in newest_first if a.status == s]
            for s in urls.ALERT_FILTERS
            if s not in ("open", "all")
        },
    }
    pages = []
    for name in urls.ALERT_FILTERS:
        records = chosen[name]
        count = max(1, -(-len(records) // per_page))  # an empty list is still one page that says so
        for n in range(count):
            part = records[n * per_page : (n + 1) * per_page]
            pages.append(AlertListPage(name, n + 1, count, len(records), part, per_page))
    return pages, {name: len(chosen[name]) for name in urls.ALERT_FILTERS}


def _runbook_link(runbook: str | None, runbooks: dict[str, Any]) -> tuple[str, str | None, bool]:
    """How an alert's runbook reads: (text, href relative to the site root or absolute, internal?)."""
    if not runbook:
        return ("", None, False)
    if runbook in runbooks:
        return (runbooks[runbook].title, urls.runbook_path(runbook), True)
    if runbook.startswith(("https://", "http://")):
        return (runbook, runbook, False)
    return (runbook, None, False)


def _rule_target(rule: Any) -> str:
    return f"schedule {rule.schedule}" if rule.schedule else f"person {rule.person}"


def _page(env: Environment, template: str, path: str, context: dict[str, Any]) -> Callable[[], bytes]:
    def render() -> bytes:
        base = "../" * path.count("/")
        html = env.get_template(template).render({**context, "base": base, "page_path": path})
        return html.encode("utf-8")

    return render


def _environment(repo: StatusRepo) -> Environment:
    env = environment(repo.root, repo.site.timezone)
    # On-call times read best in the schedule's own zone; MTTA needs seconds, not only minutes.
    env.filters["zonetime"] = lambda dt, zone: human_time(dt.astimezone(ZoneInfo(zone)))
    env.filters["span"] = format_duration
    return env


def render_internal(repo: StatusRepo, now: datetime, env: Environment) -> Iterator[Output]:
    """Every file of the internal site, from the whole repo (unpublished and internal data included)."""
    # Site over the whole repo, not a public view: only this module may do that.
    site = Site(repo=repo, now=now)
    people = {p.id: p for p in repo.people}
    runbooks = {r.id: r for r in repo.runbooks}
    schedules = {s.id: s for s in repo.schedules}
    policies = {p.id: p for p in repo.policies}
    components = {c.id: c for c in repo.components}
    oncall = [on_call_now(s, now) for s in repo.schedules]
    figures: Metrics = compute(repo, default_start(repo, now), now, now)
    used_by: dict[str, list[Incident]] = {}
    for incident in site.incidents_newest_first:
        for runbook_id in incident.runbooks:
            used_by.setdefault(runbook_id, []).append(incident)

    def public_incident_url(incident: Incident) -> str | None:
        return urls.public_incident_url(repo.site, incident, incident.published)

    incidents = {i.id: i for i in repo.incidents}
    alerts_of: dict[str, list[AlertRecord]] = {}
    for record in repo.alerts:
        if record.incident:
            alerts_of.setdefault(record.incident, []).append(record)
    list_pages, alert_counts = alert_lists(repo, ALERTS_PER_PAGE)

    shared = {
        "site": repo.site,
        "now": now,
        "generated": now,
        "components": components,
        "people": people,
        "runbooks": runbooks,
        "schedules": schedules,
        "policies": policies,
        "incident_path": urls.incident_path,
        "runbook_path": urls.runbook_path,
        "schedule_calendar_path": urls.schedule_calendar_path,
        "person_calendar_path": urls.person_calendar_path,
        "public_component_path": urls.component_path,
        "public_incident_path": urls.incident_path,  # for templates written before public_incident_url
        "public_incident_url": public_incident_url,
        "rule_target": _rule_target,
        "on_call": {o.schedule.id: o for o in oncall},
        "alert_path": urls.alert_path,
        "alert_list_path": urls.alert_list_path,
        "alert_filters": urls.ALERT_FILTERS,
        "alert_counts": alert_counts,
        "review_path": urls.review_path,
        "incidents_by_id": incidents,
    }

    def page(path: str, template: str, **context: Any) -> Output:
        return Output(path, _page(env, f"internal_site/{template}", path, {**shared, **context}))

    open_items = action_items(repo, today(repo, now), open_only=True)
    yield page(
        urls.INDEX,
        "index.html",
        open_items=len(open_items),
        overdue_items=sum(o.overdue for o in open_items),
        active=site.active_incidents,
        states=site.states,
        overall=site.overall,
        overall_text=status.DESCRIPTION[site.overall],
        oncall=oncall,
        days=ONCALL_DAYS,
        metrics=figures,
        unpublished=[i for i in site.incidents_newest_first if not i.published],
        triggered=list_alerts(repo, status="triggered")[:20],
    )
    yield page("incidents/index.html", "incidents.html", incidents=site.incidents_newest_first)
    for incident in repo.incidents:
        escalation = policies_for(repo, incident)  # what the tick pages by, every one of them
        yield page(
            urls.incident_path(incident),
            "incident.html",
            incident=incident,
            escalation=escalation,
            policy=escalation[0] if escalation else None,  # for templates written before `escalation`
            records=sorted(alerts_of.get(incident.id, []), key=lambda a: (a.first_seen, a.id)),
            reviews=repo.reviews_of(incident.id),
        )
    day = today(repo, now)
    items = action_items(repo, day)  # every item, for the review pages; the index shows the open ones
    yield page(
        urls.REVIEWS_INDEX,
        "reviews.html",
        reviews=sorted(repo.reviews, key=lambda r: (r.created_at, r.id), reverse=True),
        owners=by_owner([o for o in items if o.item.status == "open"]),
        day=day,
    )
    for review in repo.reviews:
        yield page(
            urls.review_path(review),
            "review.html",
            review=review,
            title=review.heading(incidents),
            timeline=timeline(repo, review),
            items=[o for o in items if o.review.id == review.id],
            public_sections=set(repo.site.reviews.public_sections),
        )
    for listing in list_pages:
        yield page(listing.path, "alerts.html", listing=listing)
    for record in repo.alerts:
        yield page(
            urls.alert_path(record),
            "alert.html",
            alert=record,
            events=sorted(record.events, key=lambda e: e.at),
            incident=incidents.get(record.incident or ""),
            runbook=_runbook_link(record.runbook, runbooks),
            acknowledged_after=time_to_acknowledge(record),
        )
    yield page("runbooks/index.html", "runbooks.html", items=sorted(repo.runbooks, key=lambda r: r.title))
    for runbook in repo.runbooks:
        yield page(
            urls.runbook_path(runbook), "runbook.html", runbook=runbook, incidents=used_by.get(runbook.id, [])
        )
    yield page("oncall/index.html", "oncall.html", oncall=oncall, days=ONCALL_DAYS)
    using = {p.id: [c for c in repo.components if c.policy == p.id] for p in repo.policies}
    yield page("policies/index.html", "policies.html", items=repo.policies, using=using)
    yield page("metrics/index.html", "metrics.html", metrics=figures, charts=CHARTS)

    start, end = default_window(now)
    for schedule in repo.schedules:
        ics = partial(schedule_calendar, schedule, start, end, now, repo.people)
        yield Output(urls.schedule_calendar_path(schedule), ics)
    for person in repo.people:
        ics = partial(person_calendar, repo.schedules, person, start, end, now)
        yield Output(urls.person_calendar_path(person), ics)
    for name, data in charts(figures).items():
        yield _file(f"metrics/{name}", data)
    yield _file("metrics/metrics.json", to_json(figures).encode())
    yield _file("metrics/metrics.csv", to_csv(figures).encode())
    for target, source in STATIC.items():
        yield _file(target, env.loader.get_source(env, source)[0].encode())  # type: ignore[union-attr]
    yield _file(INTERNAL_MARKER, b"Written by `tidings build --internal`: never publish this folder.\n")


def _file(path: str, data: bytes) -> Output:
    return Output(path, lambda: data)


def build_internal(
    root: Path,
    out: Path,
    now: datetime | None = None,
    progress: Progress | None = None,
    subscriber_counts: Mapping[str, Any] | None = None,
) -> BuildResult:
    """Build the internal site of the status repo at `root` into `out`; refuse (writing nothing) on errors.

    No cache and no manifest: the internal site is small beside the public one, and everything on
    it (on-call, metrics, ages) moves with the clock anyway.
    """
    check_internal_output(out, root)
    result = load(root)
    if result.errors:
        raise BuildFailed(result.errors)
    repo = result.repo
    env = _environment(repo)
    now = now or clock.now()
    outputs: Iterable[Output] = render_internal(repo, now, env)
    if subscriber_counts is not None:  # `tidings subscribers count --format json`: figures only
        outputs = chain(outputs, [subscribers_page(repo, env, now, subscriber_counts)])
    try:
        written = write_site(outputs, out, None, 1, progress)
    except TemplateError as exc:
        raise BuildFailed([template_diagnostic(exc)]) from exc
    return BuildResult(out=out, files=written.files, warnings=result.warnings, rendered=written.rendered)

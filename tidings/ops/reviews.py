"""Post-incident reviews: the timeline read from the incidents, action items by owner, and `review open`.

A review file holds what people write (sections, annotations, action items); the timeline is never
copied into it. It is made here, whenever a review is shown, from what the incidents recorded:
their start, updates (public and internal), notes, acknowledgement and resolution, the alert
records linked to them and the pages the runner sent. An annotation joins the entries it names (an
update by id, or every entry at its time); one that names a time nothing happened at is an entry of
its own (a deploy that no incident recorded, say).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from tidings.content.diagnostics import did_you_mean
from tidings.content.layout import REVIEWS_DIR
from tidings.content.load import load, parse_content
from tidings.content.model import ActionItem, Incident, Review, StatusRepo
from tidings.content.review_checks import today
from tidings.content.review_sections import STANDARD_SECTIONS
from tidings.ops.incidents import Actor, Change, IncidentError, incident_path
from tidings.store.edit import write_atomic
from tidings.store.git import commit, git
from tidings.store.incident_file import schema_modeline, stamp

log = logging.getLogger(__name__)
TRAILER = "Tidings-Review"
EntryKind = Literal["started", "update", "note", "acknowledged", "alert", "page", "resolved", "annotation"]


class ReviewError(IncidentError):
    """A review cannot be started or found as asked (one exists already, say); nothing was written."""


@dataclass(frozen=True)
class TimelineEntry:
    """One moment of a review's timeline: what an incident (or a reviewer) recorded then."""

    at: datetime
    incident: str  # "" for an annotation of its own
    kind: EntryKind
    text: str
    internal: bool = True  # what the public page never showed
    who: str | None = None
    update: str | None = None  # the update's id, for annotating it
    notes: tuple[str, ...] = field(default=())  # reviewers' annotations


def _incident_entries(incident: Incident, repo: StatusRepo) -> list[TimelineEntry]:
    one = incident.id
    out = [TimelineEntry(incident.started_at, one, "started", f"Started: {incident.title}", False)]
    for u in incident.updates:
        out.append(TimelineEntry(u.at, one, "update", f"{u.status}: {u.body}", u.internal, u.author, u.id))
    out += [TimelineEntry(n.at, one, "note", n.body, True, n.author) for n in incident.notes]
    if incident.acknowledged_at is not None:
        out.append(TimelineEntry(incident.acknowledged_at, one, "acknowledged", "Acknowledged"))
    records = [a for a in repo.alerts if a.incident == one]
    for record in records:
        for event in record.events:
            if event.event in ("fired", "re-fired", "acknowledged", "resolved", "reopened", "ignored"):
                words = f"Alert {event.event}: {record.title}" + (
                    f" ({event.reason})" if event.reason else ""
                )
                out.append(TimelineEntry(event.at, one, "alert", words, True, event.by))
    if not records:  # a repo loaded without its alert records still has the links the incident keeps
        for link in incident.alerts:
            if link.starts_at is not None:
                words = f"Alert fired: {link.source} {link.fingerprint}"
                out.append(TimelineEntry(link.starts_at, one, "alert", words))
    for page in incident.pages:
        whom = page.person or "nobody on call"
        words = f"Paged {whom} (policy {page.policy}, round {page.round}, rule {page.rule}): {page.state}"
        out.append(TimelineEntry(page.at, one, "page", words))
    if incident.resolved_at is not None:
        out.append(TimelineEntry(incident.resolved_at, one, "resolved", "Resolved", False))
    return out


def timeline(repo: StatusRepo, review: Review) -> list[TimelineEntry]:
    """The review's timeline, oldest first, its annotations joined to the entries they name."""
    entries: list[TimelineEntry] = []
    for incident_id in review.incidents:
        incident = repo.get("incidents", incident_id)
        if isinstance(incident, Incident):
            entries += _incident_entries(incident, repo)
    notes: dict[int, list[str]] = {}
    alone: list[TimelineEntry] = []
    for annotation in review.annotations:
        hits = [
            n
            for n, e in enumerate(entries)
            if (annotation.update is not None and e.update == annotation.update)
            or (annotation.update is None and e.at == annotation.at)
        ]
        for n in hits:
            notes.setdefault(n, []).append(annotation.note)
        if not hits and annotation.at is not None:
            alone.append(TimelineEntry(annotation.at, "", "annotation", annotation.note, notes=()))
    joined = [
        TimelineEntry(e.at, e.incident, e.kind, e.text, e.internal, e.who, e.update, tuple(notes.get(n, ())))
        for n, e in enumerate(entries)
    ]
    return sorted([*joined, *alone], key=lambda e: e.at)  # stable: an incident's own order at equal times


# --- action items -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenItem:
    """An action item with the review it belongs to, and whether it is late on `day`."""

    review: Review
    index: int
    item: ActionItem
    overdue: bool


def action_items(
    repo: StatusRepo,
    day: date,
    owner: str | None = None,
    overdue_only: bool = False,
    open_only: bool = False,
) -> list[OpenItem]:
    """Action items of every review: overdue first, then open, then the rest; by due date in each."""
    found = [
        OpenItem(review, n, item, item.overdue(day))
        for review in repo.reviews
        for n, item in enumerate(review.action_items)
        if (owner is None or item.owner == owner)
        and (not overdue_only or item.overdue(day))
        and (not open_only or item.status == "open")
    ]
    rank = {"open": 1, "done": 2, "dropped": 3}
    return sorted(
        found, key=lambda o: (0 if o.overdue else rank[o.item.status], o.item.due, o.review.id, o.index)
    )


def by_owner(items: Sequence[OpenItem]) -> list[tuple[str, list[OpenItem]]]:
    """Items per owner, owners with overdue items first (most first), then by id; order kept within."""
    owners: dict[str, list[OpenItem]] = {}
    for entry in items:
        owners.setdefault(entry.item.owner, []).append(entry)
    return sorted(owners.items(), key=lambda kv: (-sum(o.overdue for o in kv[1]), kv[0]))


@dataclass(frozen=True)
class ReviewSummary:
    """A review as `review list` shows it."""

    review: Review
    title: str
    items: list[OpenItem]  # the ones asked for
    every: list[OpenItem]  # all of the review's, for its counts

    def count(self, status: str) -> int:
        return sum(o.item.status == status for o in self.every)

    @property
    def overdue(self) -> int:
        return sum(o.overdue for o in self.every)


def list_reviews(
    repo: StatusRepo, now: datetime, overdue: bool = False, owner: str | None = None
) -> list[ReviewSummary]:
    """Reviews, newest first, each with its action items (only those late with `overdue`, only the
    owner's with `owner`); with either, only the reviews that have such items."""
    if owner is not None and owner not in {p.id for p in repo.people}:
        known = [p.id for p in repo.people]
        raise ReviewError(f"unknown person '{owner}'", hint=did_you_mean(owner, known))
    day = today(repo, now)
    incidents = {i.id: i for i in repo.incidents}
    every = action_items(repo, day)
    out = []
    for review in sorted(repo.reviews, key=lambda r: (r.created_at, r.id), reverse=True):
        mine = [o for o in every if o.review.id == review.id]
        items = [o for o in mine if (not overdue or o.overdue) and (owner is None or o.item.owner == owner)]
        if (overdue or owner is not None) and not items:
            continue
        out.append(ReviewSummary(review, review.heading(incidents), items, mine))
    return out


def summary_json(summary: ReviewSummary) -> dict[str, Any]:
    """What `review list --format json` gives for a review."""
    r = summary.review
    return {
        "id": r.id,
        "title": summary.title,
        "incidents": list(r.incidents),
        "created_at": r.created_at.isoformat(),
        "published_at": r.published_at.isoformat() if r.published_at else None,
        "path": r.path,
        "action_items": [
            {**o.item.model_dump(mode="json"), "overdue": o.overdue, "index": o.index} for o in summary.items
        ],
    }


# --- `tidings review open` --------------------------------------------------------------------------


def review_rel(review_id: str) -> str:
    return f"{REVIEWS_DIR}/{review_id}.md"


def _yaml_text(text: str) -> str:
    """One line of text as a YAML comment shows it: no line breaks, not too long."""
    flat = " ".join(text.split())
    return flat if len(flat) <= 100 else flat[:97] + "..."


def review_text(repo: StatusRepo, incident: Incident, now: datetime, author: str | None) -> str:
    """A new review of `incident`: front matter with the timeline as annotations to fill in (commented
    out: the timeline itself is read from the incident), empty action items, the standard sections."""
    draft = Review.model_construct(
        id=incident.id, path=review_rel(incident.id), incidents=[incident.id], created_at=now, annotations=[]
    )
    lines = [
        "---",
        f"# yaml-language-server: $schema={schema_modeline('review')}",
        f"title: {_quoted('Review: ' + incident.title)}",
        f"incidents: [{incident.id}]",
        f"created_at: {stamp(now)}",
        "# published_at: <time>   # once set, the sections the site names public show on the incident page",
    ]
    if author:
        lines.append(f"authors: [{author}]")
    lines += [
        "# The timeline is read from the incident whenever the review is shown, never copied here.",
        "# To annotate an entry, uncomment it (keep `at`, or `update` for an update) and write the note.",
        "annotations: []",
    ]
    for entry in timeline(repo, draft):
        where = (
            f"update: {entry.update}   # {stamp(entry.at)}" if entry.update else f"at: {stamp(entry.at)}  "
        )
        lines.append(f"#  - {where} # {entry.kind}: {_yaml_text(entry.text)}")
        lines.append("#    note: ...")
    lines += [
        "# What the team will change: owner is a content/people.yml id; status open, done or dropped.",
        "action_items: []",
        "#  - title: ...",
        f"#    owner: {author or '<person id>'}",
        "#    due: <YYYY-MM-DD>",
        "#    issue: https://...",
        "#    status: open",
        "#    priority: high",
        "---",
    ]
    body = "\n\n".join(f"## {heading}" for _, heading in STANDARD_SECTIONS)
    return "\n".join(lines) + "\n" + body + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def open_review(root: Path, incident_id: str, now: datetime, actor: Actor, do_commit: bool = True) -> Change:
    """Start the review of an incident, content/reviews/<incident id>.md, and commit it; ReviewError
    when the incident has one already (in any review file) or the file name is taken."""
    incident_path(root, incident_id)  # a did-you-mean for an unknown incident
    result = load(root)
    repo = result.repo
    incident = repo.get("incidents", incident_id)
    if not isinstance(incident, Incident):
        errors = [d.as_text() for d in result.errors if d.path.endswith(f"/{incident_id}.md")]
        raise ReviewError(f"incident {incident_id} does not validate: " + "; ".join(errors[:3]))
    existing = repo.reviews_of(incident_id)
    rel = review_rel(incident_id)
    if existing or (root / rel).exists():
        where = existing[0].path if existing else rel
        raise ReviewError(f"incident {incident_id} has a review already: {where}", hint=f"edit {where}")
    text = review_text(repo, incident, now, actor.person)
    parsed = parse_content(rel, text, root)
    if parsed.domain is None:  # a bug in the template, never the person's doing
        raise AssertionError("; ".join(d.as_text() for d in parsed.doc.diagnostics))
    (root / REVIEWS_DIR).mkdir(parents=True, exist_ok=True)
    write_atomic(root / rel, text)
    trailers = {
        "Tidings-Incident": incident_id,
        TRAILER: incident_id,
        **({"Tidings-Person": actor.person} if actor.person else {}),
    }
    words = f"Started from the template, with the incident's timeline to annotate.\n\nVia {actor.via}."
    if do_commit:
        sha = commit(
            root, [rel], f"Open review of incident {incident_id}{actor.by}", words, trailers, actor.author
        )
    else:
        git(root, "add", "--", rel)
        sha = None
    log.info("opened the review of %s%s", incident_id, actor.by)
    return Change(incident_id, rel, True, f"opened review {rel}{actor.by}", sha)

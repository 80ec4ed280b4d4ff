"""Checks of post-incident reviews that need the clock or other files: overdue action items, the
updates annotations name, one review an incident, and the reviews the site file requires.

Overdue action items and missing reviews are warnings: `tidings validate --strict` fails on them,
a build does not (the page must go out while a promise is late).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from tidings.content.diagnostics import Diagnostic, did_you_mean
from tidings.content.documents import Document
from tidings.content.model import ReviewFile, StatusRepo
from tidings.content.model_errors import field_path

if TYPE_CHECKING:
    from tidings.content.load import ParsedFile


def _at(
    doc: Document,
    loc: tuple[str | int, ...],
    message: str,
    severity: Literal["error", "warning"],
    code: str,
    hint: str = "",
) -> Diagnostic:
    line, col = doc.position(loc)
    return Diagnostic(doc.rel, line, col, field_path(loc), message, severity, code, hint)


def today(repo: StatusRepo, now: datetime) -> date:
    """The day it is in the site's timezone: an action item due today is not late until it ends."""
    return now.astimezone(ZoneInfo(repo.site.timezone)).date()


def check_reviews(repo: StatusRepo, parsed: Sequence[ParsedFile], now: datetime) -> list[Diagnostic]:
    """Every review rule across files, and every one that depends on the day."""
    out: list[Diagnostic] = []
    day = today(repo, now)
    incidents = {i.id: i for i in repo.incidents}
    reviewed: dict[str, str] = {}  # incident id -> the review file that names it first
    for p in parsed:
        if p.kind != "review":
            continue
        review = p.checkable
        if not isinstance(review, ReviewFile) or p.doc.data is None:
            continue
        doc = p.doc
        for i, item in enumerate(review.action_items):
            if item.overdue(day):
                out.append(
                    _at(
                        doc,
                        ("action_items", i, "due"),
                        f"action item '{item.title}' ({item.owner}) was due on {item.due.isoformat()} "
                        "and is still open",
                        "warning",
                        "overdue-action-item",
                        "mark it done or dropped, or give it a new due date",
                    )
                )
        created, published = getattr(review, "created_at", None), review.published_at
        if created is not None and published is not None and published < created:
            out.append(_at(doc, ("published_at",), "published before it was created", "error", "time-order"))
        for j, incident_id in enumerate(getattr(review, "incidents", [])):
            if incident_id in reviewed and reviewed[incident_id] != doc.rel:
                out.append(
                    _at(
                        doc,
                        ("incidents", j),
                        f"incident '{incident_id}' has a review already: {reviewed[incident_id]}",
                        "error",
                        "duplicate-review",
                        "review it in that file, or list the other incidents there too",
                    )
                )
            reviewed.setdefault(incident_id, doc.rel)
        # Update ids can only be judged when every incident named is there and valid.
        mine = [incidents.get(i) for i in getattr(review, "incidents", [])]
        by_update = any(note.update is not None for note in review.annotations)
        if by_update and mine and all(mine):  # (a build's incidents are read whole only here)
            ids = {u.id for inc in mine if inc for u in inc.updates if u.id}
            for k, note in enumerate(review.annotations):
                if note.update is not None and note.update not in ids:
                    out.append(
                        _at(
                            doc,
                            ("annotations", k, "update"),
                            f"no update '{note.update}' in the review's incidents",
                            "error",
                            "unknown-reference",
                            did_you_mean(note.update, ids) or "annotate by time instead: 'at: <time>'",
                        )
                    )
    out += _missing_reviews(repo, parsed, now, set(reviewed))
    return out


def _missing_reviews(
    repo: StatusRepo, parsed: Sequence[ParsedFile], now: datetime, reviewed: set[str]
) -> list[Diagnostic]:
    """Resolved incidents of a severity the site file names that have no review `within_days` on."""
    rules = repo.site.reviews
    if not rules.required_for:
        return []
    out: list[Diagnostic] = []
    files = {p.id: p for p in parsed if p.kind == "incident"}  # (a file's document only when it is named)
    zone = ZoneInfo(repo.site.timezone)
    for incident in repo.incidents:
        if incident.id in reviewed or incident.severity not in rules.required_for:
            continue
        if incident.status != "resolved" or incident.id not in files:
            continue
        duration = incident.duration
        if duration is None:
            continue
        resolved = incident.started_at + duration
        if rules.since is not None and resolved.astimezone(zone).date() < rules.since:
            continue
        due = resolved + timedelta(days=rules.within_days)
        if now < due:
            continue
        loc: tuple[str | int, ...] = ("resolved_at",) if incident.resolved_at else ("status",)
        out.append(
            _at(
                files[incident.id].doc,
                loc,
                f"a {incident.severity} incident resolved on {resolved.astimezone(zone).date().isoformat()} "
                f"has no post-incident review {rules.within_days} days on",
                "warning",
                "no-review",
                f"start one: tidings review open {incident.id}",
            )
        )
    return out

"""The public view of a status repo: what the public page may show, decided once, here.

Unpublished incidents and maintenance, internal updates, notes, alerts, pages, assignees and links never
leave this function; every public output renders from its result and nothing else. Of a published
post-incident review only the sections the site file names public remain (no timeline, annotations,
action items or authors), and only the incidents of it the public sees.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from typing import Any

from tidings.content.model import Incident, Maintenance, NotificationsFile, Review, StatusRepo
from tidings.content.review_sections import join_sections

# GitLab's status page replaces user and group mentions with this; an e-mail address is not a mention.
MENTION = re.compile(r"(?<![\w@/.])@(?:[A-Za-z0-9_][A-Za-z0-9_./-]*[A-Za-z0-9_]|[A-Za-z0-9_])")
RESPONDER = "Incident Responder"


def redact(text: str) -> str:
    """`@alice` and `@ops/oncall` become 'Incident Responder'."""
    return MENTION.sub(RESPONDER, text)


def _public_update(update: Any) -> Any:
    body = redact(update.body)
    if update.author is None and body == update.body:
        return update  # nothing private in it: the object itself (a copy for each costs a build dearly)
    return update.model_copy(update={"author": None, "body": body})


def _public_updates(updates: list) -> list:  # type: ignore[type-arg]
    return [_public_update(u) for u in updates if not u.internal]


def _public_incident(incident: Incident) -> Incident:
    return incident.model_copy(
        update={
            "title": redact(incident.title),
            "body": redact(incident.body),
            "postmortem": redact(incident.postmortem) if incident.postmortem else None,
            "updates": _public_updates(incident.updates),
            "notes": [],
            "alerts": [],
            "assignees": [],
            "labels": [],
            "runbooks": [],
            "policy": None,
            "pages": [],
            "links": type(incident.links)(),
        }
    )


def _public_maintenance(maintenance: Maintenance) -> Maintenance:
    return maintenance.model_copy(
        update={
            "title": redact(maintenance.title),
            "body": redact(maintenance.body),
            "updates": _public_updates(maintenance.updates),
        }
    )


def public_item(item: Incident | Maintenance) -> Incident | Maintenance:
    """The public view of one incident or maintenance (published or not: the caller decides).

    Told apart by what they are, never by what one is not: anything else (a lazily read incident,
    say) is refused rather than redacted as the other kind, which would leave fields public."""
    if isinstance(item, Incident):
        return _public_incident(item)
    if isinstance(item, Maintenance):
        return _public_maintenance(item)
    raise TypeError(f"no public view of a {type(item).__name__}")


def public_review(review: Review, sections: Collection[str], incidents: Collection[str]) -> Review | None:
    """What the public sees of a review: its public sections, for its public incidents; None when
    that is nothing (a draft, no public incident, no public section with text)."""
    shown = [s for s in review.sections if s.key in sections and s.text.strip()]
    mine = [i for i in review.incidents if i in incidents]
    if review.published_at is None or not shown or not mine:
        return None
    return review.model_copy(
        update={
            "title": None,  # the page says "Post-incident review"; a title written for the team stays there
            "incidents": mine,
            "body": redact(join_sections(shown)),
            "authors": [],
            "annotations": [],
            "action_items": [],
        }
    )


def public_view(repo: StatusRepo, known: Mapping[str, Any] | None = None) -> StatusRepo:
    """The repo as the public may see it; `incidents.publish: false` in the site file hides every incident.

    `known`: public views made already (tidings.load keeps them in its cache), by file digest.
    """
    known = known or {}

    def view(item: Any) -> Any:
        made = known.get(item.digest) if item.digest else None
        return made if made is not None else public_item(item)

    incidents = tuple(view(i) for i in repo.incidents if i.published) if repo.site.incidents.publish else ()
    shown = {i.id for i in incidents}
    sections = set(repo.site.reviews.public_sections)
    reviews = (public_review(r, sections, shown) for r in repo.reviews)
    return dataclasses.replace(
        repo,
        incidents=incidents,
        reviews=tuple(r for r in reviews if r is not None),
        maintenance=tuple(view(m) for m in repo.maintenance if m.published),
        runbooks=(),
        people=(),
        schedules=(),
        policies=(),
        integrations=(),
        notifications=NotificationsFile(),
        alerts=(),
        _index={},
    )

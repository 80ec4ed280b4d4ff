"""RSS 2.0 and Atom feeds (feedgen): the whole page, and one pair per component.

One entry per public update, newest first. An entry's id is built from the incident id and the
update's time, never its position, so inserting an older update or rebuilding changes no id and
subscribers never see duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator

from tidings.model import Incident, Maintenance

from .markup import to_html
from .site import Site, incident_path, maintenance_path, with_anchors


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str
    at: datetime
    html: str
    components: tuple[str, ...]


def _tag(site: Site, item_id: str, started: datetime, anchor: str) -> str:
    # RFC 4151 tag URIs: stable, unique, and not tied to where the site happens to be served.
    host = urlsplit(site.repo.site.base_url or "").hostname or "tidings"
    return f"tag:{host},{started.date().isoformat()}:{item_id}/{anchor.removeprefix('update-')}"


def _entries(
    site: Site, kind: str, item: Incident | Maintenance, started: datetime, path: str
) -> Iterator[Entry]:
    updates: list[Any] = list(item.updates)
    for update, anchor in with_anchors(updates):
        yield Entry(
            id=_tag(site, f"{kind}/{item.id}", started, anchor),
            title=f"{item.title} — {update.status.replace('_', ' ').capitalize()}",
            link=site.absolute(path) + "#" + anchor,
            at=update.at,
            html=str(to_html(update.body)),
            components=tuple(item.components),
        )


def all_entries(site: Site) -> list[Entry]:
    entries = [
        e for i in site.repo.incidents for e in _entries(site, "incident", i, i.started_at, incident_path(i))
    ]
    entries += [
        e
        for m in site.repo.maintenance
        for e in _entries(site, "maintenance", m, m.scheduled_for, maintenance_path(m))
    ]
    return sorted(entries, key=lambda e: (e.at, e.id), reverse=True)


def _feed(site: Site, title: str, page: str, self_path: str, entries: list[Entry], fmt: str) -> bytes:
    fg = FeedGenerator()
    fg.id(site.absolute(page))
    fg.title(title)
    fg.link(href=site.absolute(self_path), rel="self")
    fg.link(href=site.absolute(page), rel="alternate")  # last: RSS takes its channel link from it
    fg.description(site.repo.site.description or title)
    fg.language(site.repo.site.language)
    fg.generator("Tidings")
    # The feed's date is its newest entry's, not the build time: a rebuild changes nothing.
    newest = entries[0].at if entries else site.now
    fg.updated(newest)
    fg.lastBuildDate(newest)
    for entry in reversed(entries):  # feedgen prepends: add oldest first to get newest first
        fe = fg.add_entry()
        fe.id(entry.id)
        fe.guid(entry.id, permalink=False)
        fe.title(entry.title)
        fe.link(href=entry.link)
        fe.published(entry.at)
        fe.updated(entry.at)
        fe.content(entry.html, type="CDATA" if fmt == "rss" else "html")
        fe.description(entry.html)
    data: bytes = fg.rss_str(pretty=True) if fmt == "rss" else fg.atom_str(pretty=True)
    return data


def render_feeds(site: Site) -> Iterator[tuple[str, bytes]]:
    settings = site.repo.site.feeds
    if not settings.enabled:
        return
    entries = all_entries(site)
    title = site.repo.site.title
    limit = settings.entries
    for fmt, ext in (("rss", "rss"), ("atom", "atom")):
        yield f"history.{ext}", _feed(site, title, "index.html", f"history.{ext}", entries[:limit], fmt)
    for component in site.repo.components:
        mine = [e for e in entries if component.id in e.components][:limit]
        page = f"components/{component.id}.html"
        for fmt, ext in (("rss", "rss"), ("atom", "atom")):
            path = f"components/{component.id}.{ext}"
            yield path, _feed(site, f"{title}: {component.name}", page, path, mine, fmt)

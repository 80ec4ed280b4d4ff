"""RSS 2.0 and Atom feeds (feedgen): the whole page, and one pair per component.

One entry per public update, newest first. An entry's id is built from the incident id and the
update's time, never its position, so inserting an older update or rebuilding changes no id and
subscribers never see duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
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


def _host(site: Site) -> str:
    return urlsplit(site.repo.site.base_url or "").hostname or "tidings"


TAG_DATE = "2026"


class _Candidate(NamedTuple):
    """An update that may become a feed entry: cheap to make for every update, rendered only if chosen."""

    at: datetime
    id: str
    item: Incident | Maintenance
    update: Any
    anchor: str
    path: str

    def entry(self, site: Site) -> Entry:
        return Entry(
            id=self.id,
            title=f"{self.item.title} — {self.update.status.replace('_', ' ').capitalize()}",
            link=site.absolute(self.path) + "#" + self.anchor,
            at=self.at,
            html=str(to_html(self.update.body)),
            components=tuple(self.item.components),
        )


def _candidates(
    host: str, kind: str, item: Incident | Maintenance, started: datetime, path: str
) -> Iterator[_Candidate]:
    updates: list[Any] = list(item.updates)
    # RFC 4151 tag URIs: unique, and stable whatever is edited. The date part is a fixed one, not
    # the item's start: moving an incident's start across midnight must not re-send its updates to
    # every subscriber. (The host is the site's own: a new domain is a new feed.)
    prefix = f"tag:{host},{TAG_DATE}:{kind}/{item.id}/"
    for update, anchor in with_anchors(updates):
        yield _Candidate(update.at, prefix + anchor.removeprefix("update-"), item, update, anchor, path)


def _all_candidates(site: Site) -> list[_Candidate]:
    """Every public update, newest first (only the newest few of each feed are rendered)."""
    host = _host(site)
    found = [
        c
        for i in site.repo.incidents
        for c in _candidates(host, "incident", i, i.started_at, incident_path(i))
    ]
    found += [
        c
        for m in site.repo.maintenance
        for c in _candidates(host, "maintenance", m, m.scheduled_for, maintenance_path(m))
    ]
    return sorted(found, key=lambda c: (c.at, c.id), reverse=True)


def all_entries(site: Site) -> list[Entry]:
    return [c.entry(site) for c in _all_candidates(site)]


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
    candidates = _all_candidates(site)
    title = site.repo.site.title
    limit = settings.entries
    rendered: dict[str, Entry] = {}

    def entries(chosen: list[_Candidate]) -> list[Entry]:
        return [rendered.setdefault(c.id, c.entry(site)) for c in chosen]

    newest = entries(candidates[:limit])
    for fmt, ext in (("rss", "rss"), ("atom", "atom")):
        yield f"history.{ext}", _feed(site, title, "index.html", f"history.{ext}", newest, fmt)
    for component in site.repo.components:
        mine = entries([c for c in candidates if component.id in c.item.components][:limit])
        page = f"components/{component.id}.html"
        for fmt, ext in (("rss", "rss"), ("atom", "atom")):
            path = f"components/{component.id}.{ext}"
            yield path, _feed(site, f"{title}: {component.name}", page, path, mine, fmt)

"""RSS 2.0 and Atom feeds (feedgen): the whole page, and one pair per component.

One entry per public update, newest first. An entry's id is built from the incident id and the
update's time, never its position, so inserting an older update or rebuilding changes no id and
subscribers never see duplicates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NamedTuple

from feedgen.feed import FeedGenerator

from tidings.content import urls
from tidings.content.model import Incident, Maintenance
from tidings.generator.markup import to_html
from tidings.generator.pages import Output
from tidings.generator.site import Site, with_anchors


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str
    at: datetime
    html: str
    components: tuple[str, ...]


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


class _Source(NamedTuple):
    last: datetime  # its newest update
    kind: str
    item: Incident | Maintenance
    started: datetime
    path: str


def _sources(site: Site) -> list[_Source]:
    """Every incident and maintenance with updates, the most recently updated first."""
    newest = site.newest_updates
    found = [
        _Source(newest[id(i)], "incident", i, i.started_at, urls.incident_path(i))
        for i in site.repo.incidents
        if id(i) in newest  # it has updates
    ]
    found += [
        _Source(newest[id(m)], "maintenance", m, m.scheduled_for, urls.maintenance_path(m))
        for m in site.repo.maintenance
        if id(m) in newest
    ]
    return sorted(found, key=lambda s: s.last, reverse=True)


def _newest(host: str, sources: list[_Source], limit: int | None) -> list[_Candidate]:
    """The `limit` newest updates of `sources`, newest first, looking only as far back as it must.

    Sources come most recently updated first, so once `limit` updates are in hand, a source whose
    newest update is older than all of them cannot add one: a feed of 50 reads a few incidents,
    not a history of ten thousand.
    """
    found: list[_Candidate] = []
    for source in sources:
        if limit is not None and len(found) >= limit:
            found.sort(key=lambda c: (c.at, c.id), reverse=True)
            del found[limit:]
            if source.last < found[-1].at:
                break
        found += _candidates(host, source.kind, source.item, source.started, source.path)
    found.sort(key=lambda c: (c.at, c.id), reverse=True)
    return found[:limit] if limit is not None else found


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


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "-"


def render_feeds(site: Site, context_key: str = "") -> Iterator[Output]:
    """Every feed, keyed: a feed is the entries it chose (which updates, of which file's bytes), the
    site settings and the code, and the clock only when it has no entry. Choosing is cheap; making
    the entries and the XML is not, so an incremental build renders only the feeds whose choice
    changed (an edit to an old incident changes none)."""
    settings = site.repo.site.feeds
    if not settings.enabled:
        return
    host, sources = urls.host(site.repo.site.base_url), _sources(site)
    title = site.repo.site.title
    limit = settings.entries
    rendered: dict[str, Entry] = {}
    libraries = [f"{name}={_version(name)}" for name in ("feedgen", "lxml")]

    def entries(chosen: list[_Candidate]) -> list[Entry]:
        return [rendered.setdefault(c.id, c.entry(site)) for c in chosen]

    def output(feed_title: str, page: str, path: str, chosen: list[_Candidate], fmt: str) -> Output:
        made = [f"{c.id}\0{c.item.digest}" for c in chosen]
        if not made or any(not c.item.digest for c in chosen):
            made.append(site.now.isoformat())  # its date is the clock's: never taken over
        key = hashlib.blake2b(
            "\0".join([context_key, *libraries, path, feed_title, page, fmt, *made]).encode(), digest_size=20
        ).hexdigest()
        return Output(path, lambda: _feed(site, feed_title, page, path, entries(chosen), fmt), key)

    newest = _newest(host, sources, limit)
    for fmt in urls.FEED_FORMATS:
        yield output(title, urls.INDEX, urls.feed_path(fmt), newest, fmt)
    # Each component's sources in the same order, found in one pass (not one pass a component).
    by_component: dict[str, list[_Source]] = {}
    for source in sources:
        for component_id in dict.fromkeys(source.item.components):
            by_component.setdefault(component_id, []).append(source)
    for component in site.repo.components:
        mine = _newest(host, by_component.get(component.id, []), limit)
        page = urls.component_path(component)
        for fmt in urls.FEED_FORMATS:
            path = urls.component_feed_path(component, fmt)
            yield output(f"{title}: {component.name}", page, path, mine, fmt)

"""HTML pages: the site model rendered through the templates, as outputs (path, how to render, key).

Every link is relative (`base` is "../" on a page one folder down), so the site works at any
sub-path, such as GitLab project pages at /group/project/.

Pages of one item (an incident, a month of history) see only what they show: the item, the site
settings and the component names, never the clock or the current state. Their `key` says exactly
that, so an incremental build re-renders one only when its own input changed. Pages about the
whole site now (the index, components, maintenance, the history index) are rendered every build.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment

from tidings.content import urls
from tidings.content.model import Incident
from tidings.generator.site import Site
from tidings.ops import status

# The index lists recent history only; older incidents live on the monthly history pages.
INDEX_HISTORY_DAYS = 7
# A component page lists its newest incidents; the rest are on the history pages and in its feed.
COMPONENT_INCIDENTS = 50
# A month with more incidents than this is split into pages (history/2026-03.html, -2.html, ...).
MONTH_PAGE_SIZE = 100


@dataclass(frozen=True)
class Output:
    """One file of the site: `render()` gives its bytes; equal `key`s promise equal bytes (None: none)."""

    path: str
    render: Callable[[], bytes]
    key: str | None = None


def _base(path: str) -> str:
    return "../" * path.count("/")


def _page(
    env: Environment, template: str, path: str, context: dict[str, Any], base: str | None = None
) -> Callable[[], bytes]:
    def render() -> bytes:
        links = _base(path) if base is None else base
        html = env.get_template(template).render({**context, "base": links, "page_path": path})
        return html.encode("utf-8")

    return render


def _key(*parts: str) -> str:
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=20).hexdigest()


def _months(site: Site) -> list[tuple[tuple[int, int], list[Incident]]]:
    """(year, month) -> incidents started that month (in the site's timezone), newest month first."""

    def month(incident: Incident) -> tuple[int, int]:
        local = incident.started_at.astimezone(site.zone)
        return local.year, local.month

    return [(key, list(items)) for key, items in groupby(site.incidents_newest_first, key=month)]


def month_pages(key: tuple[int, int], count: int) -> list[str]:
    """The paths of one month's history pages: the first is history/YYYY-MM.html."""
    pages = max(1, -(-count // MONTH_PAGE_SIZE))
    return [urls.history_path(*key, part=n) for n in range(1, pages + 1)]


def render_pages(site: Site, env: Environment, context_key: str = "") -> Iterator[Output]:
    """Every HTML page. `context_key` stands for the templates and site settings (see build.py)."""
    repo = site.repo
    months = _months(site)
    # What every page may use: settings, names and how to link. Nothing that changes with the clock.
    shared = {
        "site": repo.site,
        "groups": {g.id: g for g in repo.groups},
        "components": {c.id: c for c in repo.components},
        "incident_path": urls.incident_path,
        "component_path": urls.component_path,
        "maintenance_path": urls.maintenance_path,
        "history_path": urls.history_path,
        "component_feed_path": urls.component_feed_path,
        "subscribe_action": urls.subscription_url(repo.site, urls.SUBSCRIBE_ACTION),
    }
    now = {
        **shared,
        "now": site.now,
        "generated": site.now,
        "states": site.states,
        "overall": site.overall,
        "overall_text": status.DESCRIPTION[site.overall],
        "uptime": site.uptime,
        "latest_month": months[0][0] if months else None,
    }
    cutoff = site.now.timestamp() - INDEX_HISTORY_DAYS * 86400
    recent = [
        i
        for i in site.incidents_newest_first
        if i.status == "resolved" and cutoff <= i.started_at.timestamp() <= site.now.timestamp()
    ][: repo.site.incidents.limit]
    index = {
        **now,
        "grouped": status.by_group(repo),
        "active": site.active_incidents,
        "active_maintenance": site.active_maintenance,
        "upcoming_maintenance": site.upcoming_maintenance,
        "recent": recent,
        "recent_days": INDEX_HISTORY_DAYS,
    }
    yield Output(urls.INDEX, _page(env, "index.html", urls.INDEX, index))

    for incident in repo.incidents:
        path = urls.incident_path(incident)
        # The public part of its review, if published (tidings.content.public decided what that is).
        reviews = repo.reviews_of(incident.id)
        context = {**shared, "incident": incident, "review": reviews[0] if reviews else None}
        key = _key(context_key, path, incident.digest, *(r.digest for r in reviews))
        yield Output(path, _page(env, "incident.html", path, context), key)

    for component in repo.components:
        path = urls.component_path(component)
        mine = site.incidents_of(component.id)
        context = {
            **now,
            "component": component,
            "incidents": mine[:COMPONENT_INCIDENTS],
            "older_incidents": len(mine) - min(len(mine), COMPONENT_INCIDENTS),
        }
        yield Output(path, _page(env, "component.html", path, context))

    # A month's pages, then the next month's: each links to the page before and after it.
    flat: list[dict[str, Any]] = []
    for (year, month), items in months:
        paths = month_pages((year, month), len(items))
        for n, (chunk, path) in enumerate(zip(_chunks(items), paths, strict=True), start=1):
            flat.append(
                {"path": path, "year": year, "month": month, "part": n, "parts": len(paths), "items": chunk}
            )
    for position, page in enumerate(flat):
        newer = _neighbour(flat[position - 1]) if position > 0 else None
        older = _neighbour(flat[position + 1]) if position + 1 < len(flat) else None
        context = {
            **shared,
            "year": page["year"],
            "month": page["month"],
            "part": page["part"],
            "parts": page["parts"],
            "incidents": page["items"],
            "newer": newer,
            "older": older,
        }
        neighbours = [str(sorted(n.items())) for n in (newer, older) if n]
        key = _key(context_key, page["path"], *neighbours, *(i.digest for i in page["items"]))
        yield Output(page["path"], _page(env, "history_month.html", page["path"], context), key)
    yield Output(
        urls.HISTORY_INDEX,
        _page(
            env,
            "history.html",
            urls.HISTORY_INDEX,
            {**now, "months": [(key, len(items), month_pages(key, len(items))[0]) for key, items in months]},
        ),
    )

    if repo.site.subscribe is not None:  # the form posts to the runner's public listener
        context = {**now, "grouped": status.by_group(repo)}
        yield Output(urls.SUBSCRIBE, _page(env, "subscribe.html", urls.SUBSCRIBE, context))

    # The host serves 404.html for a missing page at any depth, so its links cannot be relative:
    # they start at the site's root, the path of base_url ("/" without one).
    folder = urlsplit(repo.site.base_url).path.strip("/") if repo.site.base_url else ""
    root_path = f"/{folder}/" if folder else "/"
    yield Output(
        urls.NOT_FOUND,
        _page(env, "404.html", urls.NOT_FOUND, shared, base=root_path),
        _key(context_key, urls.NOT_FOUND),
    )

    maintenance = sorted(repo.maintenance, key=lambda m: m.scheduled_for, reverse=True)
    yield Output(
        urls.MAINTENANCE_INDEX,
        _page(
            env,
            "maintenance_index.html",
            urls.MAINTENANCE_INDEX,
            {
                **now,
                "upcoming": [m for m in maintenance if m.status_at(site.now) != "completed"],
                "past": [m for m in maintenance if m.status_at(site.now) == "completed"],
            },
        ),
    )
    for m in repo.maintenance:
        path = urls.maintenance_path(m)
        yield Output(
            path, _page(env, "maintenance.html", path, {**now, "m": m, "m_status": m.status_at(site.now)})
        )


def _neighbour(page: dict[str, Any]) -> dict[str, Any]:
    return {k: page[k] for k in ("path", "year", "month", "part", "parts")}


def _chunks(items: list[Incident]) -> Iterator[list[Incident]]:
    for start in range(0, max(1, len(items)), MONTH_PAGE_SIZE):
        yield items[start : start + MONTH_PAGE_SIZE]

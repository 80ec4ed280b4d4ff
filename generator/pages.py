"""HTML pages: the site model rendered through the templates, as (path, bytes) pairs.

Every link is relative (`base` is "../" on a page one folder down), so the site works at any
sub-path, such as GitLab project pages at /group/project/.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any

from jinja2 import Environment

from tidings import status

from .site import Site, component_path, history_path, incident_path, maintenance_path

# The index lists recent history only; older incidents live on the monthly history pages.
INDEX_HISTORY_DAYS = 7


def _base(path: str) -> str:
    return "../" * path.count("/")


def _render(env: Environment, template: str, path: str, context: dict[str, Any]) -> tuple[str, bytes]:
    html = env.get_template(template).render({**context, "base": _base(path), "page_path": path})
    return path, html.encode("utf-8")


def _months(site: Site) -> list[tuple[tuple[int, int], list[Any]]]:
    """(year, month) -> incidents started that month (in the site's timezone), newest month first."""

    def month(incident: Any) -> tuple[int, int]:
        local = incident.started_at.astimezone(site.zone)
        return local.year, local.month

    return [(key, list(items)) for key, items in groupby(site.incidents_newest_first, key=month)]


def render_pages(site: Site, env: Environment) -> Iterator[tuple[str, bytes]]:
    repo = site.repo
    months = _months(site)
    common = {
        "site": repo.site,
        "now": site.now,
        "states": site.states,
        "overall": site.overall,
        "overall_text": status.DESCRIPTION[site.overall],
        "groups": {g.id: g for g in repo.groups},
        "components": {c.id: c for c in repo.components},
        "uptime": site.uptime,
        "incident_path": incident_path,
        "component_path": component_path,
        "maintenance_path": maintenance_path,
        "history_path": history_path,
        "latest_month": months[0][0] if months else None,
    }
    cutoff = site.now.timestamp() - INDEX_HISTORY_DAYS * 86400
    recent = [
        i
        for i in site.incidents_newest_first
        if i.status == "resolved" and i.started_at.timestamp() >= cutoff
    ][: repo.site.incidents.limit]
    yield _render(
        env,
        "index.html",
        "index.html",
        {
            **common,
            "grouped": status.by_group(repo),
            "active": site.active_incidents,
            "active_maintenance": site.active_maintenance,
            "upcoming_maintenance": site.upcoming_maintenance,
            "recent": recent,
            "recent_days": INDEX_HISTORY_DAYS,
        },
    )
    for incident in repo.incidents:
        yield _render(env, "incident.html", incident_path(incident), {**common, "incident": incident})
    for component in repo.components:
        yield _render(
            env,
            "component.html",
            component_path(component),
            {**common, "component": component, "incidents": site.incidents_of(component.id)},
        )
    month_keys = [key for key, _ in months]
    for n, ((year, month), incidents) in enumerate(months):
        newer = month_keys[n - 1] if n > 0 else None
        older = month_keys[n + 1] if n + 1 < len(month_keys) else None
        yield _render(
            env,
            "history_month.html",
            history_path(year, month),
            {**common, "year": year, "month": month, "incidents": incidents, "newer": newer, "older": older},
        )
    yield _render(
        env,
        "history.html",
        "history/index.html",
        {**common, "months": [(key, len(items)) for key, items in months]},
    )
    maintenance = sorted(repo.maintenance, key=lambda m: m.scheduled_for, reverse=True)
    yield _render(
        env,
        "maintenance_index.html",
        "maintenance/index.html",
        {
            **common,
            "upcoming": [m for m in maintenance if m.status_at(site.now) != "completed"],
            "past": [m for m in maintenance if m.status_at(site.now) == "completed"],
        },
    )
    for m in repo.maintenance:
        yield _render(
            env,
            "maintenance.html",
            maintenance_path(m),
            {**common, "m": m, "m_status": m.status_at(site.now)},
        )

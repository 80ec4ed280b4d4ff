"""`api/v2/`: the Atlassian Statuspage v2 public API, same paths and field names, as static JSON.

Existing Statuspage clients and widgets read it unchanged. Ids are Tidings' own ids (strings, as
Statuspage's are). Times are ISO 8601 in the site's timezone with their offset.

Mappings that Statuspage leaves to us, in one place:
- page `status.indicator`: none, minor, major, critical from the worst component state
  (degraded -> minor, partial outage -> major, major outage -> critical; maintenance -> none).
- incident `impact`: the larger of what its worst component impact and its severity say
  (critical -> critical, high -> major, medium and low -> minor, unknown -> none).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from tidings.content import urls
from tidings.content.model import Component, Incident, Maintenance, slugify
from tidings.generator.markup import to_text
from tidings.generator.site import Site, with_anchors
from tidings.ops import status

IMPACT_ORDER = ("none", "minor", "major", "critical")
INDICATOR = {
    "operational": "none",
    "under_maintenance": "none",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
SEVERITY_IMPACT = {
    "critical": "critical",
    "high": "major",
    "medium": "minor",
    "low": "minor",
    "unknown": "none",
}
# Statuspage lists the 50 most recent incidents and maintenances.
MAINTENANCE_LIMIT = 50


def _time(site: Site, dt: datetime | None) -> str | None:
    return dt.astimezone(site.zone).isoformat() if dt else None


def _page(site: Site) -> dict[str, Any]:
    config = site.repo.site
    return {
        "id": slugify(config.title),
        "name": config.title,
        "url": config.base_url or "",
        "time_zone": config.timezone,
        "updated_at": _time(site, _page_updated(site)),
    }


def _page_updated(site: Site) -> datetime:
    return site.last_changed


def _component_times(site: Site, component_id: str) -> tuple[datetime, datetime]:
    return site.component_spans.get(component_id, (site.last_changed, site.last_changed))


def _component(site: Site, c: Component, page_id: str) -> dict[str, Any]:
    created, updated = _component_times(site, c.id)
    return {
        "id": c.id,
        "name": c.name,
        "status": site.states[c.id],
        "created_at": _time(site, created),
        "updated_at": _time(site, updated),
        "position": c.position + 1,
        "description": c.description or None,
        "showcase": True,
        "start_date": created.astimezone(site.zone).date().isoformat(),
        "group_id": c.group,
        "page_id": page_id,
        "group": False,
        "only_show_if_degraded": False,
    }


def _components(site: Site) -> list[dict[str, Any]]:
    """Components, and each group as a component with `group: true` listing its members."""
    page_id = slugify(site.repo.site.title)
    items = [_component(site, c, page_id) for c in site.repo.components]
    for n, group in enumerate(site.repo.groups):
        members = [c for c in site.repo.components if c.group == group.id]
        if not members:
            continue
        times = [_component_times(site, c.id) for c in members]
        items.append(
            {
                "id": group.id,
                "name": group.name,
                "status": status.worst([site.states[c.id] for c in members]),
                "created_at": _time(site, min(t[0] for t in times)),
                "updated_at": _time(site, max(t[1] for t in times)),
                "position": len(site.repo.components) + n + 1,
                "description": group.description or None,
                "showcase": False,
                "start_date": None,
                "group_id": None,
                "page_id": page_id,
                "group": True,
                "only_show_if_degraded": False,
                "components": [c.id for c in members],
            }
        )
    return items


def _impact(incident: Incident) -> str:
    worst = status.worst(incident.components.values())
    return max(INDICATOR[worst], SEVERITY_IMPACT[incident.severity], key=IMPACT_ORDER.index)


def _affected(site: Site, component_ids: list[str], page_id: str) -> list[dict[str, Any]]:
    return [_component(site, c, page_id) for c in site.repo.components if c.id in component_ids]


def _updates(site: Site, item_id: str, updates: list[Any], affected: dict[str, str]) -> list[dict[str, Any]]:
    names = {c.id: c.name for c in site.repo.components}
    out = []
    for n, (update, anchor) in enumerate(reversed(with_anchors(updates))):  # newest first, as Statuspage
        out.append(
            {
                "id": f"{item_id}-{anchor.removeprefix('update-')}",
                "status": update.status,
                "body": to_text(update.body),
                "incident_id": item_id,
                "created_at": _time(site, update.at),
                "updated_at": _time(site, update.at),
                "display_at": _time(site, update.at),
                "affected_components": [
                    {
                        "code": cid,
                        "name": names.get(cid, cid),
                        "old_status": "operational",
                        "new_status": state,
                    }
                    for cid, state in affected.items()
                ]
                if n == len(updates) - 1
                else None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
        )
    return out


def _first_at(updates: list[Any], wanted: str) -> datetime | None:
    return next((u.at for u in updates if u.status == wanted), None)


def _incident(site: Site, incident: Incident, page_id: str) -> dict[str, Any]:
    updated = max([incident.started_at] + [u.at for u in incident.updates])
    return {
        "id": incident.id,
        "name": incident.title,
        "status": incident.status,
        "created_at": _time(site, incident.started_at),
        "updated_at": _time(site, updated),
        "monitoring_at": _time(site, _first_at(incident.updates, "monitoring")),
        "resolved_at": _time(site, incident.resolved_at),
        "impact": _impact(incident),
        "shortlink": site.absolute(urls.incident_path(incident)),
        "started_at": _time(site, incident.started_at),
        "page_id": page_id,
        "incident_updates": _updates(site, incident.id, incident.updates, dict(incident.components)),
        "components": _affected(site, list(incident.components), page_id),
    }


def _maintenance(site: Site, m: Maintenance, page_id: str) -> dict[str, Any]:
    updated = max([m.scheduled_for] + [u.at for u in m.updates]) if m.updates else m.scheduled_for
    state = m.status_at(site.now)
    return {
        "id": m.id,
        "name": m.title,
        "status": state,
        "created_at": _time(site, m.updates[0].at if m.updates else m.scheduled_for),
        "updated_at": _time(site, updated),
        "monitoring_at": None,
        "resolved_at": _time(site, m.scheduled_until) if state == "completed" else None,
        "impact": "maintenance",
        "shortlink": site.absolute(urls.maintenance_path(m)),
        "started_at": _time(site, m.scheduled_for),
        "page_id": page_id,
        "incident_updates": _updates(site, m.id, m.updates, dict.fromkeys(m.components, "under_maintenance")),
        "components": _affected(site, m.components, page_id),
        "scheduled_for": _time(site, m.scheduled_for),
        "scheduled_until": _time(site, m.scheduled_until),
    }


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def render_api(site: Site) -> Iterator[tuple[str, bytes]]:
    page = _page(site)
    page_id = page["id"]
    indicator = INDICATOR[site.overall]
    page_status = {"indicator": indicator, "description": status.DESCRIPTION[site.overall]}
    components = _components(site)
    limit = site.repo.site.incidents.limit
    # As on the index: an incident that has not started yet is not news (validate warns about it).
    started = [i for i in site.incidents_newest_first if i.started_at <= site.now]
    incidents = [_incident(site, i, page_id) for i in started[:limit]]
    unresolved = [_incident(site, i, page_id) for i in site.active_incidents]
    newest_first = sorted(site.repo.maintenance, key=lambda m: (m.scheduled_for, m.id), reverse=True)
    maintenance = [_maintenance(site, m, page_id) for m in newest_first[:MAINTENANCE_LIMIT]]
    upcoming = [
        _maintenance(site, m, page_id)
        for m in sorted(site.upcoming_maintenance, key=lambda m: m.scheduled_for)
    ]
    active = [_maintenance(site, m, page_id) for m in site.active_maintenance]

    yield (
        "api/v2/summary.json",
        _json(
            {
                "page": page,
                "status": page_status,
                "components": components,
                "incidents": unresolved,
                "scheduled_maintenances": active + upcoming,
            }
        ),
    )
    yield "api/v2/status.json", _json({"page": page, "status": page_status})
    yield "api/v2/components.json", _json({"page": page, "components": components})
    yield "api/v2/incidents.json", _json({"page": page, "incidents": incidents})
    yield "api/v2/incidents/unresolved.json", _json({"page": page, "incidents": unresolved})
    yield "api/v2/scheduled-maintenances.json", _json({"page": page, "scheduled_maintenances": maintenance})
    yield (
        "api/v2/scheduled-maintenances/upcoming.json",
        _json({"page": page, "scheduled_maintenances": upcoming}),
    )
    yield "api/v2/scheduled-maintenances/active.json", _json({"page": page, "scheduled_maintenances": active})

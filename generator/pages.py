"""HTML pages: the model rendered through the templates, as (path, bytes) pairs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from jinja2 import Environment

from tidings import status
from tidings.model import StatusRepo


def render_pages(repo: StatusRepo, env: Environment, now: datetime) -> Iterator[tuple[str, bytes]]:
    states = status.component_states(repo, now)
    worst = status.worst([states[c.id] for c in repo.components])
    active = [i for i in repo.incidents if i.status != "resolved"]
    resolved = sorted(
        (i for i in repo.incidents if i.status == "resolved"), key=lambda i: i.started_at, reverse=True
    )[: repo.site.incidents.limit]
    maintenance = [m for m in repo.maintenance if m.status_at(now) != "completed"]
    context = {
        "site": repo.site,
        "base": "",
        "repo": repo,
        "now": now,
        "states": states,
        "overall": worst,
        "overall_text": status.DESCRIPTION[worst],
        "groups": {g.id: g for g in repo.groups},
        "grouped": status.by_group(repo),
        "active": active,
        "history": resolved,
        "maintenance": maintenance,
        "components": {c.id: c for c in repo.components},
    }
    yield "index.html", env.get_template("index.html").render(context).encode()

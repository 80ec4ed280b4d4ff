"""The internal site's subscribers page: how many readers subscribe, per component, and nothing more.

The figures come from `tidings subscribers count --format json` on the runner's machine, handed to
`tidings build --internal --subscriber-counts FILE`: the build never opens the subscriber database,
so no address can reach the internal site either.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from jinja2 import Environment

from tidings.content.model import StatusRepo
from tidings.generator.pages import Output

PATH = "subscribers/index.html"


def counts_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """The figures the page shows, and only those (whatever else the file holds is left out)."""
    components = data.get("components")
    return {
        "active": int(data.get("active", 0)),
        "suspended": int(data.get("suspended", 0)),
        "all_components": int(data.get("all_components", 0)),
        "components": {str(k): int(v) for k, v in (components or {}).items()}
        if isinstance(components, dict)
        else {},
    }


def subscribers_page(repo: StatusRepo, env: Environment, now: datetime, data: Mapping[str, Any]) -> Output:
    counts = counts_of(data)
    env.globals["subscribers_page"] = PATH  # base.html links it
    context = {
        "site": repo.site,
        "now": now,
        "generated": now,
        "components": repo.components,
        "counts": counts,
    }

    def render() -> bytes:
        page = env.get_template("internal_site/subscribers.html")
        return page.render({**context, "base": "../", "page_path": PATH}).encode("utf-8")

    return Output(PATH, render)

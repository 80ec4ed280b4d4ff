"""The Jinja environment: the status repo's own templates first, the shipped ones after."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import markdown
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from markupsafe import Markup

from tidings.site_templates import TEMPLATE_DIR


def environment(root: Path, timezone: str) -> Environment:
    """`{% extends "default:base.html" %}` reaches the shipped template from an override of the same name."""
    shipped = FileSystemLoader(TEMPLATE_DIR)
    loaders = [FileSystemLoader(root / "site_templates")] if (root / "site_templates").is_dir() else []
    env = Environment(
        loader=ChoiceLoader([*loaders, PrefixLoader({"default": shipped}), shipped]),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    zone = ZoneInfo(timezone)
    env.filters["local"] = lambda dt: dt.astimezone(zone)
    env.filters["markdown"] = render_markdown
    env.filters["isotime"] = lambda dt: dt.isoformat()
    env.filters["humantime"] = lambda dt: _human(dt.astimezone(zone))
    return env


def _human(dt: datetime) -> str:
    return dt.strftime("%b %d, %Y %H:%M ") + dt.strftime("%Z (UTC%z)").replace("UTC+0000", "UTC")


def render_markdown(text: str) -> Markup:
    # Raw HTML in content is escaped: content comes from merge requests, not from trusted authors only.
    md = markdown.Markdown(extensions=["fenced_code", "tables", "sane_lists"], output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return Markup(md.convert(text))

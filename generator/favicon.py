"""The site's icon: the repo's own `site_templates/favicon.svg`, `.png` or `.ico`, else the shipped one.

Every page links it (`<link rel="icon">`), so a browser never asks for `/favicon.ico`, which is a
404 on most hosts (and at the domain's root, outside a project page's sub-path). An icon is an asset
like the stylesheet, overridden by a file of its name; unlike the stylesheet it may be binary, and
the repo's icon in any of the three formats replaces the shipped SVG.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tidings.site_templates import TEMPLATE_DIR

# The names a status repo's site_templates/ may hold an icon under, the first found wins.
FAVICONS = {"favicon.svg": "image/svg+xml", "favicon.png": "image/png", "favicon.ico": "image/x-icon"}
SHIPPED = "favicon.svg"


@dataclass(frozen=True)
class Favicon:
    source: Path
    path: str  # where the site has it, e.g. "static/favicon.svg"
    media_type: str


def find_favicon(root: Path) -> Favicon:
    """The icon the site at `root` shows."""
    for name, media_type in FAVICONS.items():
        source = root / "site_templates" / name
        if source.is_file():
            return Favicon(source, f"static/{name}", media_type)
    return Favicon(TEMPLATE_DIR / SHIPPED, f"static/{SHIPPED}", FAVICONS[SHIPPED])

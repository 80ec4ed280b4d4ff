"""SVG status badges, overall and per component, in the flat two-part style READMEs use."""

from __future__ import annotations

from collections.abc import Iterator
from xml.sax.saxutils import escape, quoteattr

from tidings.generator.site import Site
from tidings.ops import status

COLOURS = {
    "operational": "#1a7f37",
    "under_maintenance": "#0969da",
    "degraded_performance": "#9a6700",
    "partial_outage": "#bc4c00",
    "major_outage": "#cf222e",
}
LABEL_COLOUR = "#555"
CHAR_WIDTH = 7  # a fair average for 11px Verdana; badges need not be exact


def _width(text: str) -> int:
    return CHAR_WIDTH * len(text) + 12


def badge(label: str, value: str, colour: str) -> bytes:
    """A two-part badge `label | value`; both texts are escaped."""
    left, right = _width(label), _width(value)
    total = left + right
    title = f"{label}: {value}"
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f"aria-label={quoteattr(title)}>"
        f"<title>{escape(title)}</title>"
        f'<rect width="{left}" height="20" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">'
        f'<text x="{left / 2:.1f}" y="14">{escape(label)}</text>'
        f'<text x="{left + right / 2:.1f}" y="14">{escape(value)}</text>'
        f"</g></svg>\n"
    )
    return svg.encode("utf-8")


def render_badges(site: Site) -> Iterator[tuple[str, bytes]]:
    overall = site.overall
    yield "badges/status.svg", badge("status", status.DESCRIPTION[overall].lower(), COLOURS[overall])
    for c in site.repo.components:
        state = site.states[c.id]
        yield f"badges/{c.id}.svg", badge(c.name, state.replace("_", " "), COLOURS[state])

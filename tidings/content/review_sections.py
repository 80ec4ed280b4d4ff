"""A review's Markdown body as named sections: `## Customer impact` is section `customer_impact`.

Sections are what the site file makes public or keeps internal (`reviews.public_sections`), so a
section's key comes from its heading, the one thing a writer sees. Headings inside fenced code
blocks are text, not sections. Text before the first heading belongs to no section: internal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The sections `tidings review open` writes, in order; a review may add others of its own.
STANDARD_SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("customer_impact", "Customer impact"),
    ("contributing_factors", "Contributing factors"),
    ("what_went_well", "What went well"),
)
_HEADING = re.compile(r"^##[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")


@dataclass(frozen=True)
class Section:
    key: str  # the heading as an id: lowercase, words joined by '_'
    heading: str
    text: str  # the Markdown under the heading, up to the next one
    line: int  # of the heading, within the body (1-based)


def section_key(heading: str) -> str:
    """'Customer impact' -> 'customer_impact'; 'What went well?' -> 'what_went_well'."""
    return re.sub(r"[^a-z0-9]+", "_", heading.lower()).strip("_")


def split_sections(body: str) -> tuple[str, list[Section]]:
    """(text before the first `## ` heading, the sections in order)."""
    preamble: list[str] = []
    sections: list[tuple[str, int, list[str]]] = []
    fence: str | None = None
    for number, line in enumerate(body.splitlines(), start=1):
        opened = _FENCE.match(line)
        if opened:
            fence = None if fence == opened.group(1) else fence or opened.group(1)
        heading = _HEADING.match(line) if fence is None and not opened else None
        if heading:
            sections.append((heading.group(1).strip(), number, []))
        elif sections:
            sections[-1][2].append(line)
        else:
            preamble.append(line)
    return "\n".join(preamble).strip("\n"), [
        Section(section_key(h), h, "\n".join(lines).strip("\n"), n) for h, n, lines in sections
    ]


def join_sections(sections: list[Section]) -> str:
    """Sections as Markdown again, each under its heading."""
    return "\n\n".join(f"## {s.heading}\n\n{s.text}".rstrip() for s in sections) + ("\n" if sections else "")

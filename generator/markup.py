"""Markdown to safe HTML: rendered with `markdown`, then sanitised with nh3 (ammonia).

Content comes from merge requests and alert payloads, so no script, event handler, style or
`javascript:` URL may survive, whatever the Markdown or raw HTML in it says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib.metadata import version

import markdown
import nh3
from markupsafe import Markup

from tidings.content.cache import ParseCache

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h3", "h4", "h5", "h6", "hr",
    "i", "ins", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


# A page's own headings are h1 and h2; headings in content (a postmortem's "## Summary") go two
# levels down, so they keep their structure without competing with the page's. A page that knows
# where the text sits asks for its top heading at one level (`top`): a postmortem under an h2 has
# its "## Summary" as h3, so a reader (or Lighthouse's heading-order audit) meets no skipped level.
_HEADING = re.compile(r"<(/?)h([1-6])\b", re.IGNORECASE)
DEMOTE = 2
LOWEST = 3  # content never gets an h1 or h2 (they are not in ALLOWED_TAGS either)


def _shift(html: str, levels: int) -> str:
    def demote(match: re.Match[str]) -> str:
        return f"<{match.group(1)}h{max(LOWEST, min(6, int(match.group(2)) + levels))}"

    return _HEADING.sub(demote, html)


@lru_cache(maxsize=1)
def _markdown() -> markdown.Markdown:
    # One converter, reset between texts: building one costs more than converting a short update.
    return markdown.Markdown(extensions=["fenced_code", "tables", "sane_lists"], output_format="html")


# Texts converted by earlier builds (a cache in the build's cache folder; see `kept`): the API and
# the pages about now show the same few hundred updates build after build.
_kept: ParseCache | None = None


@contextmanager
def kept(store: ParseCache | None) -> Iterator[None]:
    """Conversions made inside are looked up in and added to `store` (a build's cache)."""
    global _kept
    before, _kept = _kept, store
    try:
        yield
    finally:
        _kept = before


@lru_cache(maxsize=1)
def _libraries() -> str:
    """The converting and cleaning libraries' versions: a kept conversion is theirs (a cleaner fixed for
    a new trick must clean every text again; our own code is in the cache's key already)."""
    return f"markdown={version('markdown')} nh3={version('nh3')}"


def _remembered(kind: str, text: str, top: int | None, convert: Callable[[str, int | None], str]) -> str:
    store = _kept
    if store is None:
        return convert(text, top)
    key = ParseCache.key(f"{kind}:{top}:{_libraries()}", text.encode("utf-8", "surrogatepass"))
    found = store.get(key)
    if found is None:
        found = convert(text, top)
        store.put(key, found)
    return str(found)


def to_html(text: str, top: int | None = None) -> Markup:
    """Markdown (raw HTML allowed, then cleaned) as HTML that is safe to put in a page or a feed.

    Headings go DEMOTE levels down; with `top` (3 to 6), the text's highest heading becomes h`top`.
    """
    return Markup(_remembered("html", text, top, _to_html))


# Update bodies repeat a lot ("We are investigating..."), and a page, its feeds and the API
# render the same text: convert each distinct text once.
@lru_cache(maxsize=65536)
def _to_html(text: str, top: int | None = None) -> str:
    converted = _markdown().reset().convert(text)
    levels = DEMOTE
    if top is not None:
        found = [int(level) for _, level in _HEADING.findall(converted)]
        levels = top - min(found) if found else 0
    raw = _shift(converted, levels)
    clean = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return str(clean)


def to_text(text: str) -> str:
    """Markdown as plain text (for JSON and feed titles): the sanitised HTML with every tag removed."""
    return _remembered("text", text, None, _to_text)


def _to_text(text: str, top: int | None) -> str:
    return str(nh3.clean(_to_html(text), tags=set()).strip())

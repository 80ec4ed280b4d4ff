"""The pages the public subscription listener answers with: small, valid HTML that needs no script.

Every answer is `no-store`, sends no Referer (links carry tokens), may not be framed, and allows
only its own inline style and forms posting back to the listener (a Content-Security-Policy).
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from starlette.responses import HTMLResponse

from tidings.content.model import SiteFile

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:38rem;margin:3rem auto;padding:0 1rem}"
    "button{font:inherit;padding:.5rem 1rem}fieldset{margin:1rem 0}label{margin-left:.25rem}"
    "li{list-style:none}ul{padding-left:0}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


@dataclass(frozen=True)
class Form:
    """A form posting back to the page's own URL: a button, and component checkboxes if any."""

    button: str
    components: Sequence[tuple[str, str]] = ()  # (id, name), in page order
    chosen: frozenset[str] = frozenset()
    hidden: Sequence[tuple[str, str]] = ()


def _form(form: Form) -> str:
    parts = ['<form method="post">']
    parts += [
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in form.hidden
    ]
    if form.components:
        parts.append("<fieldset><legend>Components (none chosen: every component)</legend><ul>")
        for cid, name in form.components:
            checked = " checked" if cid in form.chosen else ""
            ident = html.escape(f"component-{cid}")
            parts.append(
                f'<li><input type="checkbox" name="component" value="{html.escape(cid)}" '
                f'id="{ident}"{checked}>'
                f'<label for="{ident}">{html.escape(name)}</label></li>'
            )
        parts.append("</ul></fieldset>")
    parts.append(f'<button type="submit">{html.escape(form.button)}</button></form>')
    return "".join(parts)


def render(site: SiteFile | None, title: str, paragraphs: Iterable[str], form: Form | None = None) -> str:
    """A whole page: the site's name, a heading, plain paragraphs (escaped), a form, a way back."""
    name = site.title if site else "Status"
    lang = site.language if site else "en"
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    back = (
        f'<p><a href="{html.escape(site.base_url)}">Back to {html.escape(name)}</a></p>'
        if site and site.base_url
        else ""
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} · {html.escape(name)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<style>{STYLE}</style></head><body><main><h1>{html.escape(title)}</h1>{body}"
        f"{_form(form) if form else ''}{back}</main></body></html>\n"
    )


def respond(
    site: SiteFile | None,
    title: str,
    paragraphs: Iterable[str],
    status: int = 200,
    form: Form | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return HTMLResponse(
        render(site, title, paragraphs, form), status_code=status, headers={**HEADERS, **(headers or {})}
    )

"""A corpus of XSS payloads in every text field never yields script, event handlers or javascript: URLs."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from tidings.generator.build import build

PAYLOADS = [
    "<script>alert('x1')</script>",
    "<img src=x onerror=alert('x2')>",
    "<svg onload=alert('x3')>",
    "<a href=\"javascript:alert('x4')\">click</a>",
    "[click](javascript:alert('x5'))",
    "[click](JaVaScRiPt:alert('x6'))",
    "[click](&#106;avascript:alert('x7'))",
    "![img](javascript:alert('x8'))",
    '<iframe src="https://evil.example/x9"></iframe>',
    "<body onload=alert('x10')>",
    "<div style=\"background:url(javascript:alert('x11'))\">a</div>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('x12')>",
    "<details open ontoggle=alert('x13')>",
    "\"><script>alert('x14')</script>",
    "'><img src=x onerror=alert('x15')>",
    "<a href=\"data:text/html,<script>alert('x16')</script>\">d</a>",
    "<object data=\"javascript:alert('x17')\"></object>",
    "<embed src=\"javascript:alert('x18')\">",
    "<form action=\"javascript:alert('x19')\"><button>go</button></form>",
    "<input autofocus onfocus=alert('x20')>",
    "<scr<script>ipt>alert('x21')</script>",
    "<a href=\"vbscript:msgbox('x22')\">v</a>",
    "<link rel=stylesheet href=\"javascript:alert('x23')\">",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(\'x24\')">',
    "<base href=\"javascript:alert('x25')//\">",
    "[a](<javascript:alert('x26')>)",
    "<noscript><p title=\"</noscript><img src=x onerror=alert('x27')>\">",
    "`<script>alert('x28')</script>`",
    "<style>@import 'javascript:alert(\"x29\")';</style>",
    "<a href=\"  javascript:alert('x30')\">s</a>",
]


def _yaml(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid YAML scalar, whatever it holds


def _incident(n: int, payload: str) -> str:
    return f"""\
---
title: {_yaml(payload + " title")}
status: resolved
published: true
started_at: 2026-03-{10 + n % 10:02d}T09:00:00Z
resolved_at: 2026-03-{10 + n % 10:02d}T10:00:00Z
components:
  api: major_outage
updates:
  - at: 2026-03-{10 + n % 10:02d}T09:30:00Z
    status: investigating
    body: {_yaml(payload)}
  - at: 2026-03-{10 + n % 10:02d}T10:00:00Z
    status: resolved
    body: {_yaml("Fixed. " + payload)}
postmortem: {_yaml(payload)}
---
{payload}
"""


DANGEROUS = {
    "script",
    "iframe",
    "object",
    "embed",
    "form",
    "input",
    "base",
    "style",
    "svg",
    "math",
    "meta",
    "link",
}


class Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.in_head = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "head":
            self.in_head = True
        shipped = (self.in_head and tag in {"meta", "link"}) or (
            tag == "script" and (values.get("src") or "").endswith("static/localtime.js")
        )
        if tag in DANGEROUS and not shipped:
            self.problems.append(f"<{tag}> at line {self.getpos()[0]}")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.problems.append(f"{name}= on <{tag}>")
            if value and name in {"href", "src", "action", "data", "formaction"}:
                scheme = value.strip().lower().split(":", 1)[0]
                if ":" in value and scheme in {"javascript", "vbscript", "data"}:
                    self.problems.append(f"{name}={value!r} on <{tag}>")


def test_no_payload_survives_into_any_page(make_repo, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1774083600")
    files = {f"content/incidents/xss-{n:02d}.md": _incident(n, p) for n, p in enumerate(PAYLOADS)}
    site = (
        "title: XSS test\ntimezone: UTC\nservices:\n"
        + "".join(f"  - name: {_yaml(p[:60])}\n    id: c{n}\n" for n, p in enumerate(PAYLOADS[:8]))
        + "  - name: API\n    id: api\n    description: "
        + _yaml(PAYLOADS[1])
        + "\n"
    )
    files[".gitlab/status-page.yml"] = site
    root = make_repo(files, minimal=False)
    out = tmp_path / "public"
    build(root, out)
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > len(PAYLOADS)
    problems = []
    for page in pages:
        audit = Audit()
        audit.feed(page.read_text(encoding="utf-8"))
        problems += [f"{page.relative_to(out)}: {p}" for p in audit.problems]
    assert problems == []
    # The text of each payload is still there, shown as text: nothing was silently lost.
    index = (out / "incidents" / "xss-00.html").read_text()
    assert "&lt;script&gt;alert(&#39;x1&#39;)&lt;/script&gt; title" in index

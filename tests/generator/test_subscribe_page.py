"""The subscribe page and link: only when the site says where the runner's public endpoint is."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import MINIMAL_SITE
from tidings.generator.build import build

NOW = "1774083600"  # 2026-03-21T09:00:00Z
SUBSCRIBE = "subscribe:\n  endpoint: https://subscribe.example.com/updates/\n"


class Forms(HTMLParser):
    """Every form's method and action, its inputs, and every link."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str | None]] = []
        self.inputs: list[dict[str, str | None]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.forms.append(values)
        elif tag == "input":
            self.inputs.append(values)
        elif tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")


def read(path: Path) -> Forms:
    parser = Forms()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def built(make_repo, tmp_path: Path, site: str) -> Path:
    root = make_repo({".gitlab/status-page.yml": site})
    out = tmp_path / "public"
    build(root, out)
    return out


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOW)


def test_without_an_endpoint_there_is_no_subscribe_page_and_no_link(make_repo, tmp_path: Path) -> None:
    out = built(make_repo, tmp_path, MINIMAL_SITE)
    assert not (out / "subscribe.html").exists()
    for page in out.rglob("*.html"):
        assert "subscribe.html" not in page.read_text(encoding="utf-8"), page


def test_every_page_links_the_subscribe_page_and_its_form_posts_to_the_endpoint(
    make_repo, tmp_path: Path
) -> None:
    out = built(make_repo, tmp_path, MINIMAL_SITE + SUBSCRIBE)
    pages = list(out.rglob("*.html"))
    assert len(pages) > 5
    for page in pages:
        links = read(page).links
        if page.name == "404.html":  # served at any depth: its links start at the site's root
            assert "/subscribe.html" in links
            continue
        depth = len(page.relative_to(out).parts) - 1
        assert "../" * depth + "subscribe.html" in links, page

    form = read(out / "subscribe.html")
    assert form.forms == [
        {"class": "subscribe", "method": "post", "action": "https://subscribe.example.com/updates/subscribe"}
    ]
    by_name = [(i.get("name"), i.get("type"), i.get("value")) for i in form.inputs]
    assert ("email", "email", None) in by_name
    assert ("webhook", "url", None) in by_name
    assert [v for n, _, v in by_name if n == "component"] == ["api", "web"]  # every component, page order

    component = read(out / "components" / "api.html")
    assert component.forms[0]["action"] == "https://subscribe.example.com/updates/subscribe"
    assert {"type": "hidden", "name": "component", "value": "api"} in component.inputs


def test_a_site_without_webhooks_asks_for_an_e_mail_address_only(make_repo, tmp_path: Path) -> None:
    out = built(make_repo, tmp_path, MINIMAL_SITE + SUBSCRIBE + "  webhooks: false\n")
    inputs = read(out / "subscribe.html").inputs
    assert [i.get("name") for i in inputs if i.get("type") != "checkbox"] == ["email"]
    assert "required" in next(i for i in inputs if i.get("name") == "email")

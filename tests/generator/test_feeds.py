"""Feeds, badges and the maintenance calendar, read back with real parsers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import feedparser
from icalendar import Calendar

from tidings.generator.build import build


def _feeds(site):
    return sorted(
        [*site.glob("history.*"), *(site / "components").glob("*.rss"), *(site / "components").glob("*.atom")]
    )


def test_every_feed_parses_without_bozo(demo_site):
    feeds = _feeds(demo_site)
    assert len(feeds) == 2 + 2 * 8
    for path in feeds:
        parsed = feedparser.parse(path.read_bytes())
        assert parsed.bozo == 0, f"{path.name}: {parsed.get('bozo_exception')}"
        assert parsed.feed.title.startswith("Lumen Cloud Status")
        assert parsed.feed.link.startswith("https://status.example.com/")


def test_entries_are_public_updates_newest_first(demo_site):
    rss = feedparser.parse((demo_site / "history.rss").read_bytes())
    atom = feedparser.parse((demo_site / "history.atom").read_bytes())
    assert (
        len(rss.entries) == len(atom.entries) == 44
    )  # every public update of published incidents and maintenance
    times = [e.published_parsed for e in atom.entries]
    assert times == sorted(times, reverse=True)
    first = atom.entries[0]
    assert first.title == "Webhook deliveries delayed — Identified"
    assert first.link.startswith(
        "https://status.example.com/incidents/2026-11-23-webhook-delivery-delays.html#update-"
    )
    assert "<strong>Workaround:</strong>" in first.content[0].value
    text = (demo_site / "history.atom").read_text() + (demo_site / "history.rss").read_text()
    for private in (
        "Queue depth 2.1M",
        "rolled back lb-config",
        "PostgresReplicationLagHigh",
        "customer 88123",
    ):
        assert private not in text
    assert [e.id for e in rss.entries] == [e.id for e in atom.entries]
    assert len({e.id for e in rss.entries}) == len(rss.entries)


def test_component_feeds_hold_only_their_component(demo_site):
    webhooks = feedparser.parse((demo_site / "components" / "webhooks.atom").read_bytes())
    titles = {e.title.rsplit(" — ", 1)[0] for e in webhooks.entries}
    assert titles == {
        "Webhook deliveries delayed",
        "DNS resolution failures across several services",
        "Delayed webhook deliveries for some customers",
    }
    storage = feedparser.parse((demo_site / "components" / "storage.rss").read_bytes())
    assert "Object Storage network migration — Scheduled" in {e.title for e in storage.entries}


def test_guids_are_stable_when_an_older_update_is_inserted(make_repo, tmp_path):
    root = make_repo()
    build(root, tmp_path / "a")
    before = [e.id for e in feedparser.parse((tmp_path / "a" / "history.atom").read_bytes()).entries]
    incident = root / "content" / "incidents" / "2026-03-14-api-errors.md"
    inserted = "  - at: 2026-03-14T09:30:00Z\n    status: identified\n    body: Found it.\n"
    last = "  - at: 2026-03-14T10:00:00Z\n"
    incident.write_text(incident.read_text().replace(last, inserted + last))
    build(root, tmp_path / "b")
    after = [e.id for e in feedparser.parse((tmp_path / "b" / "history.atom").read_bytes()).entries]
    assert len(after) == len(before) + 1
    assert set(before) < set(after)


def test_guids_stay_when_the_start_moves_across_midnight(make_repo, tmp_path):
    root = make_repo()
    build(root, tmp_path / "a")
    before = {e.id for e in feedparser.parse((tmp_path / "a" / "history.atom").read_bytes()).entries}
    incident = root / "content" / "incidents" / "2026-03-14-api-errors.md"
    incident.write_text(
        incident.read_text().replace("started_at: 2026-03-14T09:00:00Z", "started_at: 2026-03-13T23:59:00Z")
    )
    build(root, tmp_path / "b")
    after = {e.id for e in feedparser.parse((tmp_path / "b" / "history.atom").read_bytes()).entries}
    assert after == before


def test_feeds_can_be_switched_off(make_repo, tmp_path):
    root = make_repo()
    site = root / ".gitlab" / "status-page.yml"
    site.write_text(site.read_text() + "feeds:\n  enabled: false\n")
    build(root, tmp_path / "out")
    assert not list((tmp_path / "out").glob("history.*"))


def test_badges_are_svg_with_escaped_text(demo_site, make_repo, tmp_path):
    overall = ET.parse(demo_site / "badges" / "status.svg").getroot()
    assert overall.tag == "{http://www.w3.org/2000/svg}svg"
    assert overall.find("{http://www.w3.org/2000/svg}title").text == "status: partial system outage"
    assert (demo_site / "badges" / "webhooks.svg").is_file()
    root = make_repo()
    site = root / ".gitlab" / "status-page.yml"
    site.write_text(
        site.read_text().replace("  - name: API\n", '  - name: "A<P>I & \\"co\\""\n    id: api\n')
    )
    build(root, tmp_path / "out")
    badge = ET.parse(tmp_path / "out" / "badges" / "api.svg").getroot()  # parses: the name is escaped
    assert badge.get("aria-label") == 'A<P>I & "co": operational'


def test_maintenance_calendar(demo_site):
    cal = Calendar.from_ical((demo_site / "maintenance.ics").read_bytes())
    events = list(cal.walk("VEVENT"))
    assert [str(e["uid"]) for e in events] == [
        "maintenance-2026-09-20-postgres-upgrade@status.example.com",
        "maintenance-2026-12-06-object-storage-migration@status.example.com",
    ]
    migration = events[1]
    assert migration["dtstart"].dt.isoformat() == "2026-12-06T00:00:00+00:00"
    assert migration["dtend"].dt.isoformat() == "2026-12-06T03:00:00+00:00"
    assert (
        str(migration["url"])
        == "https://status.example.com/maintenance/2026-12-06-object-storage-migration.html"
    )
    assert "Object Storage" in str(migration["description"])


def test_the_newest_entries_are_found_without_reading_the_whole_history():
    """Reading back only as far as needed gives exactly the newest entries a full sort gives."""
    import random
    from datetime import UTC, datetime, timedelta

    from tidings.content.model import Incident, Update
    from tidings.generator.feeds import _newest, _Source

    rng = random.Random(7)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    sources = []
    for n in range(300):
        start = base + timedelta(minutes=rng.randrange(0, 200_000))
        times = sorted(
            start + timedelta(minutes=rng.choice([0, 0, 5, 60, 600])) for _ in range(rng.randint(1, 6))
        )
        updates = [Update(at=t, status="investigating", body=f"u{n}") for t in times]
        incident = Incident.model_construct(id=f"i{n:03d}", title="t", updates=updates, components={})
        sources.append(_Source(times[-1], "incident", incident, start, f"incidents/i{n:03d}.html"))
    sources.sort(key=lambda s: s.last, reverse=True)
    everything = _newest("h", sources, None)
    for limit in (1, 7, 50, 400, 5000):
        assert _newest("h", sources, limit) == everything[:limit]

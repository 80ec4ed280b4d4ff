"""`maintenance.ics`: the public maintenance windows as an iCalendar feed people subscribe to."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

from icalendar import Calendar, Event

from tidings.content import urls
from tidings.generator.markup import to_text
from tidings.generator.site import Site


def render_calendar(site: Site) -> Iterator[tuple[str, bytes]]:
    config = site.repo.site
    host = urls.host(config.base_url)
    cal = Calendar()
    cal.add("prodid", "-//Tidings//Maintenance calendar//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{config.title}: maintenance")
    cal.add("x-wr-timezone", config.timezone)
    names = {c.id: c.name for c in site.repo.components}
    for m in sorted(site.repo.maintenance, key=lambda m: (m.scheduled_for, m.id)):
        event = Event()
        event.add("uid", f"maintenance-{m.id}@{host}")
        # DTSTAMP is required; the site's clock keeps the file reproducible.
        event.add("dtstamp", site.now.astimezone(UTC))
        event.add("dtstart", m.scheduled_for.astimezone(UTC))
        event.add("dtend", m.scheduled_until.astimezone(UTC))
        event.add("summary", m.title)
        affected = ", ".join(names.get(c, c) for c in m.components)
        text = to_text(m.body)
        event.add("description", f"{text}\n\nComponents: {affected}".strip() if affected else text)
        event.add("url", site.absolute(urls.maintenance_path(m)))
        event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    yield urls.MAINTENANCE_CALENDAR, cal.to_ical()

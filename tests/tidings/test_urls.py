"""Where each page lives (tidings.content.urls): the paths and URLs, and that the generator writes
its pages there and the runner's messages link there."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import MINIMAL_SITE
from tidings.content import urls
from tidings.content.load import load
from tidings.content.model import Incident, Page, PersonEntry, SiteFile, StatusRepo
from tidings.generator.build import build
from tidings.generator.internal import build_internal
from tidings.runner.escalation.announce import Event, payload
from tidings.runner.escalation.tick import message_for

BASE = "https://status.example.com/"
INCIDENT_ID = "2026-03-14-api-errors"  # MINIMAL_INCIDENT, published, on component api


def site(**fields: object) -> SiteFile:
    return SiteFile.model_validate({"base_url": BASE, **fields})


def test_every_kind_of_page_has_one_path_from_the_item_or_its_id():
    assert urls.incident_path("db-down") == "incidents/db-down.html"
    assert urls.maintenance_path("upgrade") == "maintenance/upgrade.html"
    assert urls.component_path("api") == "components/api.html"
    assert urls.history_path(2026, 3) == "history/2026-03.html"
    assert urls.history_path(2026, 3, part=1) == "history/2026-03.html"
    assert urls.history_path(987, 11, part=3) == "history/0987-11-3.html"
    assert [urls.feed_path(ext) for ext in urls.FEED_FORMATS] == ["history.rss", "history.atom"]
    assert urls.component_feed_path("api", "atom") == "components/api.atom"
    assert urls.runbook_path("failover") == "runbooks/failover.html"
    assert urls.schedule_calendar_path("primary") == "oncall/primary.ics"
    assert urls.person_calendar_path("amara") == "oncall/people/amara.ics"
    person = PersonEntry(id="amara", name="Amara")
    assert urls.person_calendar_path(person) == urls.person_calendar_path("amara")


def test_absolute_urls_under_the_base_url_with_or_without_its_slash():
    assert (
        urls.absolute("https://s.example.com/", "incidents/a.html")
        == "https://s.example.com/incidents/a.html"
    )
    assert (
        urls.absolute("https://s.example.com", "incidents/a.html") == "https://s.example.com/incidents/a.html"
    )
    assert urls.absolute("https://x.example/g/p/", "/history.rss") == "https://x.example/g/p/history.rss"
    assert urls.absolute(None, "incidents/a.html") == "/incidents/a.html"  # no base_url: root-relative
    assert urls.host("https://s.example.com:8443/x/") == "s.example.com"
    assert urls.host(None) == "tidings"


def test_an_incident_has_a_public_url_only_where_the_public_site_has_its_page():
    url = "https://status.example.com/incidents/db.html"
    assert urls.public_incident_url(site(), "db", published=True) == url
    assert urls.public_incident_url(site(), "db", published=False) is None
    assert urls.public_incident_url(site(incidents={"publish": False}), "db", published=True) is None
    assert urls.public_incident_url(site(base_url=None), "db", published=True) is None


# --- the generator and the runner agree ------------------------------------------------------------


@pytest.fixture
def built(make_repo, tmp_path, monkeypatch) -> tuple[Path, Path, Path]:
    """A minimal repo (one published incident), its public site and its internal site."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1774083600")
    root = make_repo()
    build(root, tmp_path / "public")
    build_internal(root, tmp_path / "internal")
    return root, tmp_path / "public", tmp_path / "internal"


def _incident(root: Path) -> Incident:
    result = load(root)
    assert result.errors == []
    incident = result.repo.get("incidents", INCIDENT_ID)
    assert isinstance(incident, Incident)
    return incident


def test_the_generator_writes_each_page_where_the_urls_say(built):
    root, public, internal = built
    repo = load(root).repo
    incident = _incident(root)
    expected = [urls.INDEX, urls.HISTORY_INDEX, urls.MAINTENANCE_INDEX, urls.MAINTENANCE_CALENDAR]
    expected += [urls.incident_path(incident), urls.history_path(2026, 3)]
    expected += [urls.feed_path(ext) for ext in urls.FEED_FORMATS]
    for component in repo.components:
        expected.append(urls.component_path(component))
        expected += [urls.component_feed_path(component, ext) for ext in urls.FEED_FORMATS]
    assert [path for path in expected if not (public / path).is_file()] == []
    assert (internal / urls.incident_path(incident)).is_file()  # the same path on the internal site
    # The internal page links to the public one at its absolute URL.
    public_url = urls.public_incident_url(repo.site, incident, incident.published)
    assert public_url == BASE + "incidents/2026-03-14-api-errors.html"
    assert f'href="{public_url}"' in (internal / urls.incident_path(incident)).read_text()


def _incident_url(repo: StatusRepo, incident: Incident) -> str | None:
    """The incident's URL in a page the tick sends about it."""
    at = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    page = Page(key="k", at=at, policy="default", round=1, rule=1, person="amara", by="test")
    return message_for(repo, incident, page, PersonEntry(id="amara", name="Amara"), at, None).incident_url


def _announced(repo: StatusRepo, incident: Incident) -> str:
    """The context line of the Slack announcement of the incident's opening."""
    announced = payload(repo, Event("opened", incident.id, "sha", {"published": True}), "key")
    return str(announced["blocks"][1]["elements"][0]["text"])


def test_the_runners_messages_link_to_the_page_the_generator_writes(built):
    root, public, _ = built
    repo = load(root).repo
    incident = _incident(root)
    url = _incident_url(repo, incident)
    assert url is not None and url.startswith(BASE)
    assert (public / url.removeprefix(BASE)).is_file()
    assert f"<{url}|Status page>" in _announced(repo, incident)


def test_no_link_to_a_public_page_that_is_not_built(make_repo, tmp_path, monkeypatch):
    """With `incidents.publish: false` no incident is on the public site: nothing may link to one."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1774083600")
    hidden = MINIMAL_SITE.replace("publish: true", "publish: false")
    root = make_repo({".gitlab/status-page.yml": hidden})
    build(root, tmp_path / "public")
    build_internal(root, tmp_path / "internal")
    repo = load(root).repo
    incident = _incident(root)
    assert not (tmp_path / "public" / urls.incident_path(incident)).exists()
    internal_page = (tmp_path / "internal" / urls.incident_path(incident)).read_text()
    assert BASE + "incidents/" not in internal_page and "public page" not in internal_page
    assert _incident_url(repo, incident) is None
    assert "Status page" not in _announced(repo, incident)

"""Where each page lives: the one place that knows the sites' paths and absolute URLs.

The generator writes its pages at these paths and links to them; the runner puts the same URLs in
the pages and announcements it sends. A second copy of any of these would drift, and a link in a
page or message would point at nothing.

Paths are relative to the site's root, so the site works at any sub-path (GitLab project pages at
/group/project/, say): a page links to another with its own "../" prefix, and only feeds, the API
and messages need an absolute URL, made from the site's `base_url`.

The internal site (`tidings build --internal`) keeps an incident at the same path as the public
one, so a responder can swap the host and land on the same incident; its other pages are its own.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

from tidings.content.model import SiteFile


class Identified(Protocol):
    """A model item with an id (an incident, a component...), or anything standing for one."""

    @property
    def id(self) -> str: ...


# Pages take the item or just its id: the runner often has only the id at hand.
Item = Identified | str

INDEX = "index.html"
HISTORY_INDEX = "history/index.html"
MAINTENANCE_INDEX = "maintenance/index.html"
MAINTENANCE_CALENDAR = "maintenance.ics"
SUBSCRIBE = "subscribe.html"  # the form; only when the site file has `subscribe:`
NOT_FOUND = "404.html"  # what GitLab Pages (and most static hosts) serve for a missing page
FEED_FORMATS = ("rss", "atom")


def _id(item: Item) -> str:
    return item if isinstance(item, str) else item.id


def incident_path(incident: Item) -> str:
    """An incident's page, on the public site and on the internal one alike."""
    return f"incidents/{_id(incident)}.html"


def maintenance_path(maintenance: Item) -> str:
    return f"maintenance/{_id(maintenance)}.html"


def component_path(component: Item) -> str:
    return f"components/{_id(component)}.html"


def history_path(year: int, month: int, part: int = 1) -> str:
    """A month's history page; a month split into several pages goes on at -2, -3..."""
    suffix = f"-{part}" if part > 1 else ""
    return f"history/{year:04d}-{month:02d}{suffix}.html"


def feed_path(ext: str) -> str:
    """The whole page's feed, `ext` one of FEED_FORMATS."""
    return f"history.{ext}"


def component_feed_path(component: Item, ext: str) -> str:
    """One component's feed, `ext` one of FEED_FORMATS."""
    return f"components/{_id(component)}.{ext}"


# --- the internal site's own pages ----------------------------------------------------------------


def runbook_path(runbook: Item) -> str:
    return f"runbooks/{_id(runbook)}.html"


REVIEWS_INDEX = "reviews/index.html"


def review_path(review: Item) -> str:
    """A post-incident review's page (internal site only; the public sees its part on the incident's)."""
    return f"reviews/{_id(review)}.html"


def schedule_calendar_path(schedule: Item) -> str:
    return f"oncall/{_id(schedule)}.ics"


def person_calendar_path(person: Item) -> str:
    return f"oncall/people/{_id(person)}.ics"


# Alert lists, one a status filter (pages without script filter by being separate pages): open
# (triggered or acknowledged), each status, and all. The open list is the alerts' index.
ALERT_FILTERS = ("open", "triggered", "acknowledged", "resolved", "ignored", "all")


def alert_path(alert: Item) -> str:
    """An alert record's page (internal site only)."""
    return f"alerts/{_id(alert)}.html"


def alert_list_path(status: str = "open", page: int = 1) -> str:
    """Page `page` of the alert list filtered by `status` (one of ALERT_FILTERS).

    The open list's first page is the alerts' index (alerts/index.html, as incidents/index.html lists
    incidents); the others live in alerts/status/, where no record's page (alerts/<id>.html) can be.
    """
    if status not in ALERT_FILTERS:
        raise ValueError(f"unknown alert filter {status!r}")
    if status == "open" and page == 1:
        return "alerts/index.html"
    return f"alerts/status/{status}" + (f"-{page}" if page > 1 else "") + ".html"


# --- absolute URLs --------------------------------------------------------------------------------


def absolute(base_url: str | None, path: str) -> str:
    """`path` under the site's `base_url`; a root-relative path when no base_url is set."""
    base = base_url or "/"
    return base.rstrip("/") + "/" + path.lstrip("/")


def host(base_url: str | None) -> str:
    """The site's host name, for ids that must be unique to the site (feed tags, calendar UIDs)."""
    return urlsplit(base_url or "").hostname or "tidings"


def public_incident_url(site: SiteFile, incident: Item, published: bool) -> str | None:
    """The incident's page on the public site, for messages and the internal site to link to.

    None when the public site has no such page (the incident is unpublished, or `incidents.publish`
    is off: see tidings.content.public) or no known address (no `base_url`).
    """
    if not (published and site.incidents.publish and site.base_url):
        return None
    return absolute(site.base_url, incident_path(incident))


def public_maintenance_url(site: SiteFile, maintenance: Item) -> str | None:
    """A published maintenance's page on the public site; None without a `base_url`."""
    return absolute(site.base_url, maintenance_path(maintenance)) if site.base_url else None


# --- the runner's public subscription listener (runner/subscribers/endpoint.py) -------------------

# Its routes: the form posts to SUBSCRIBE_ACTION; links in mails and webhooks carry a token.
SUBSCRIBE_ACTION = "subscribe"
CONFIRM = "confirm"
UNSUBSCRIBE = "unsubscribe"
MANAGE = "manage"


def subscription_url(site: SiteFile, route: str, token: str | None = None) -> str | None:
    """A URL of the runner's public listener (`subscribe.endpoint`): the form's action, or a link
    with its token; None when the site offers no subscriptions."""
    if site.subscribe is None:
        return None
    path = f"{route}/{token}" if token is not None else route
    return absolute(site.subscribe.endpoint, path)

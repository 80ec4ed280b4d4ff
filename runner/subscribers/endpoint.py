"""The public subscription listener: its own ASGI app, on its own port (`runner serve --public-port`).

It has these routes and nothing else of the runner (alerts, Slack, acks, /healthz, /metrics and
/deployed are not there: 404), so it can face the internet while the rest stays inside:

    POST /subscribe             the subscribe page's form: `email` or `webhook`, and `component`s
    GET  /subscribe             back to the site's subscribe page (303)
    GET  /confirm/<token>       a page with a Confirm button; POST confirms (a GET changes nothing:
                                mail scanners follow links)
    GET  /unsubscribe/<token>   a page with an Unsubscribe button; POST unsubscribes, also as
                                RFC 8058's one-click POST (`List-Unsubscribe=One-Click`)
    GET  /manage/<token>        the components, to change; POST saves them

The answer to a subscription is the same whether or not the address is subscribed already, and
whether or not it is past its daily allowance of opt-in messages (store.py): nobody learns who
subscribes. Bad input (a malformed address or URL, an unknown component, both or neither of
`email` and `webhook`, a webhook at an address the site does not allow) gets a 400 page; a body
over MAX_BODY bytes 413, more than MAX_FIELDS fields 400, another content type 415; a forged link
403, an expired or used one 410, an unknown unsubscribe link 404: nothing is stored for any of them.

Rate limits per client address (as uvicorn sees it: behind a proxy, from X-Forwarded-For when the
proxy is in FORWARDED_ALLOW_IPS): POSTS_PER_WINDOW subscriptions and REQUESTS_PER_WINDOW requests
of any kind per WINDOW seconds, then 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tidings import clock
from tidings.content import urls
from tidings.runner.subscribers import addresses, pages
from tidings.runner.subscribers.pages import Form
from tidings.runner.subscribers.service import Service
from tidings.runner.subscribers.settings import Settings
from tidings.runner.subscribers.store import new_token
from tidings.runner.subscribers.tokens import BadToken, link_token, read_confirmation, read_link

log = logging.getLogger(__name__)
MAX_BODY = 8 * 1024
MAX_FIELDS = 64
WINDOW = 600.0
POSTS_PER_WINDOW = 10
REQUESTS_PER_WINDOW = 120
MAX_CLIENTS = 50_000
RESOLVE_SECONDS = 5.0


class Limiter:
    """At most `limit` hits per `window` seconds for each key, remembered in memory (a restart
    forgets them: the per-address allowance, which matters more, is in the database)."""

    def __init__(self, limit: int, window: float):
        self.limit = limit
        self.window = window
        self.hits: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str, now: float) -> bool:
        times = self.hits.pop(key, None) or deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        allowed = len(times) < self.limit
        if allowed:
            times.append(now)
        self.hits[key] = times  # most recent last, so the oldest clients go first when full
        while len(self.hits) > MAX_CLIENTS:
            self.hits.popitem(last=False)
        return allowed


class FormError(Exception):
    def __init__(self, status: int, title: str, text: str):
        super().__init__(text)
        self.status = status
        self.title = title
        self.text = text


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise FormError(413, "Too much", f"A form may hold at most {MAX_BODY} bytes.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise FormError(413, "Too much", f"A form may hold at most {MAX_BODY} bytes.")
    return body


async def _form(request: Request) -> list[tuple[str, str]]:
    """The posted fields (urlencoded only, as a plain HTML form sends them)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormError(415, "Not a form", "Send the form as application/x-www-form-urlencoded.")
    body = await _body(request)
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise FormError(400, "Not a form", "The form is not UTF-8 text.") from None
    except ValueError:
        raise FormError(400, "Too many fields", f"A form may hold at most {MAX_FIELDS} fields.") from None


def _components(settings: Settings, fields: list[tuple[str, str]]) -> list[str]:
    chosen = []
    for name, value in fields:
        if name != "component":
            continue
        if value not in settings.names:
            raise FormError(400, "Unknown component", f"This page has no component '{value[:100]}'.")
        if value not in chosen:
            chosen.append(value)
    return chosen


def _noun(kind: str) -> str:
    return "address" if kind == "email" else "webhook"


def create_public_app(
    root: Path, state: Path, pushing: bool = True, env: Mapping[str, str] | None = None, run: bool = True
) -> Starlette:
    """The public listener for the runner's clone at `root` (state in `state`). `run`: start the
    subscriber loop (service.py) with the app; tests may drive it by hand instead."""
    holder: dict[str, Service] = {}
    posts = Limiter(POSTS_PER_WINDOW, WINDOW)
    requests = Limiter(REQUESTS_PER_WINDOW, WINDOW)

    def service() -> Service:
        return holder["service"]

    def settings() -> Settings | None:
        found = service().reader.get()
        return found if found is not None and found.enabled else None

    def error(settings: Settings | None, exc: FormError) -> Response:
        more = []
        page = (
            urls.absolute(settings.site.base_url, urls.SUBSCRIBE)
            if settings and settings.site.base_url
            else None
        )
        if page and exc.status in (400, 410):
            more.append(f"Go back to {page} to try again.")
        return pages.respond(settings.site if settings else None, exc.title, [exc.text, *more], exc.status)

    def limited(request: Request, limiter: Limiter) -> Response | None:
        client = request.client.host if request.client else "unknown"
        if limiter.allow(client, time.monotonic()):
            return None
        found = settings()
        return pages.respond(
            found.site if found else None,
            "Too many requests",
            ["Please wait a few minutes and try again."],
            429,
            headers={"Retry-After": str(int(WINDOW))},
        )

    def closed() -> Response:
        return pages.respond(None, "Not here", ["This status page offers no subscriptions."], 404)

    async def subscribe(request: Request) -> Response:
        found = settings()
        if found is None:
            return closed()
        if request.method == "GET":
            if found.site.base_url:
                return RedirectResponse(urls.absolute(found.site.base_url, urls.SUBSCRIBE), 303)
            return closed()
        refused = limited(request, requests) or limited(request, posts)
        if refused is not None:
            return refused
        try:
            return await _subscribe(found, await _form(request))
        except FormError as exc:
            return error(found, exc)

    async def _subscribe(found: Settings, fields: list[tuple[str, str]]) -> Response:
        given = {
            name: value.strip() for name, value in fields if name in ("email", "webhook") and value.strip()
        }
        if len(given) != 1:
            raise FormError(
                400, "One address, please", "Give an e-mail address or a webhook URL: one of them."
            )
        components = _components(found, fields)
        rules = found.subscribers
        now = clock.now().timestamp()
        expires = now + rules.confirm_expires_minutes * 60
        store = service().store
        if "email" in given:
            if rules.email is None:
                raise FormError(503, "Not available", "This status page does not send e-mail yet.")
            try:
                address = addresses.email_address(given["email"])
            except addresses.AddressError as exc:
                raise FormError(400, "Not an e-mail address", str(exc)) from None
            await asyncio.to_thread(store.add_request, "email", address, components, now, expires)
            service().wake_optins.set()
            hours = rules.confirm_expires_minutes / 60
            return pages.respond(
                found.site,
                "Check your inbox",
                [
                    f"If {address} can receive mail, a message with a confirmation link is on its way.",
                    f"Nothing is sent to you until you confirm. The link works for {hours:g} hours.",
                ],
            )
        if not found.webhooks:
            raise FormError(400, "No webhooks", "This status page offers e-mail subscriptions only.")
        allow = rules.allow_private_webhooks
        try:
            url = addresses.webhook_url(given["webhook"], allow)
            await asyncio.wait_for(asyncio.to_thread(addresses.resolve, url, allow), RESOLVE_SECONDS)
        except addresses.AddressError as exc:
            raise FormError(400, "Not a webhook URL we can use", str(exc)) from None
        except TimeoutError:
            raise FormError(
                400, "Not a webhook URL we can use", "The webhook's host name does not resolve."
            ) from None
        await asyncio.to_thread(
            store.add_request, "webhook", url, components, now, expires, new_token() + new_token()
        )
        service().wake_optins.set()
        return pages.respond(
            found.site,
            "Answer the challenge",
            [
                "We will POST a JSON challenge to that URL in a moment: answer it with status 200 and the "
                'challenge as the body (or as {"challenge": "..."}) to confirm.',
                "The challenge also carries the secret every notification is signed with "
                "(X-Tidings-Signature). Nothing else is sent before the challenge is answered.",
            ],
        )

    async def confirm(request: Request) -> Response:
        found = settings()
        if found is None:
            return closed()
        refused = limited(request, requests)
        if refused is not None:
            return refused
        store = service().store
        now = clock.now().timestamp()
        try:
            claim = read_confirmation(store.key, request.path_params["token"], now)
        except BadToken as exc:
            status = 410 if "expired" in str(exc) else 403
            return error(found, FormError(status, "This link does not work", str(exc)))
        pending = await asyncio.to_thread(store.request, claim.request)
        if pending is None or pending.state in ("confirmed", "failed") or pending.nonce != claim.nonce:
            return error(
                found, FormError(410, "This link does not work", "It was used already, or has expired.")
            )
        which = ", ".join(found.names.get(c, c) for c in pending.components) or "every component"
        if request.method == "GET":
            return pages.respond(
                found.site,
                "Confirm your subscription",
                [f"Updates of {found.site.title}, for {which}, by e-mail."],
                form=Form("Confirm"),
            )
        subscriber = await asyncio.to_thread(store.confirm, claim.request, claim.nonce, now)
        if subscriber is None:
            return error(
                found, FormError(410, "This link does not work", "It was used already, or has expired.")
            )
        token = link_token(subscriber.id, subscriber.token)
        return pages.respond(
            found.site,
            "You are subscribed",
            [
                f"You will get an e-mail at each public update of {found.site.title}, for {which}.",
                f"Change the components: {urls.subscription_url(found.site, urls.MANAGE, token)}",
                f"Unsubscribe: {urls.subscription_url(found.site, urls.UNSUBSCRIBE, token)}",
            ],
        )

    async def unsubscribe(request: Request) -> Response:
        found = settings()
        if found is None:
            return closed()
        refused = limited(request, requests)
        if refused is not None:
            return refused
        store = service().store
        try:
            number, token = read_link(request.path_params["token"])
            if request.method == "POST":
                await _body(request)  # RFC 8058's `List-Unsubscribe=One-Click`, or the button's empty form
        except (BadToken, FormError):
            number, token = 0, ""
        subscriber = await asyncio.to_thread(store.by_token, number, token) if token else None
        if subscriber is None:
            return pages.respond(
                found.site,
                "Not subscribed",
                ["This link is not valid, or it was used to unsubscribe already: nothing is sent to it."],
                404,
            )
        if request.method == "GET":
            return pages.respond(
                found.site,
                "Unsubscribe",
                [f"Stop the updates of {found.site.title} to this {_noun(subscriber.kind)}?"],
                form=Form("Unsubscribe"),
            )
        await asyncio.to_thread(store.remove, subscriber.id)
        log.info("subscriber %d unsubscribed", subscriber.id)
        return pages.respond(
            found.site,
            "Unsubscribed",
            [f"Nothing more of {found.site.title} will be sent; what we kept of you is deleted."],
        )

    async def manage(request: Request) -> Response:
        found = settings()
        if found is None:
            return closed()
        refused = limited(request, requests)
        if refused is not None:
            return refused
        store = service().store
        try:
            number, token = read_link(request.path_params["token"])
        except BadToken:
            number, token = 0, ""
        subscriber = await asyncio.to_thread(store.by_token, number, token) if token else None
        if subscriber is None:
            return pages.respond(
                found.site, "Not subscribed", ["This link is not valid, or you unsubscribed."], 404
            )
        choices = list(found.names.items())
        if request.method == "POST":
            try:
                chosen = _components(found, await _form(request))
            except FormError as exc:
                return error(found, exc)
            await asyncio.to_thread(store.set_components, subscriber.id, chosen)
            which = ", ".join(found.names[c] for c in chosen) or "every component"
            return pages.respond(
                found.site,
                "Saved",
                [f"You get the updates of {which}."],
                form=Form("Save", choices, frozenset(chosen)),
            )
        return pages.respond(
            found.site,
            "Your components",
            ["Choose the components you want to hear about; none chosen: every component."],
            form=Form("Save", choices, frozenset(subscriber.components)),
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        made = holder["service"] = Service(root, state, pushing, env)
        if run:
            made.start()
        try:
            yield
        finally:
            await asyncio.to_thread(made.close)

    routes = [
        Route(f"/{urls.SUBSCRIBE_ACTION}", subscribe, methods=["GET", "POST"]),
        Route(f"/{urls.CONFIRM}/{{token:str}}", confirm, methods=["GET", "POST"]),
        Route(f"/{urls.UNSUBSCRIBE}/{{token:str}}", unsubscribe, methods=["GET", "POST"]),
        Route(f"/{urls.MANAGE}/{{token:str}}", manage, methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.holder = holder  # tests reach the service through it
    return app

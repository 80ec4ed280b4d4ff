"""The alert API on the runner: read alert records and change their status over HTTP, in the spirit of
GitLab's `PUT /projects/:id/alert_management/alerts/:alert_iid` with `status=acknowledged`.

    GET  /api/alerts            ?status= &integration= &component= &incident= &since= &page= &per_page=
    GET  /api/alerts/{id}
    PUT  /api/alerts/{id}       {"status": "acknowledged", "by": "amara", "reason": "..."}
    POST /api/alerts/{id}/link  {"incident": "2026-11-22-...", "by": "amara"}

Every request needs `Authorization: Bearer <token>`, the token being TIDINGS_ALERT_API_TOKEN in
the runner's environment, compared in constant time and never logged; while it is unset the API is
off and every request is 401. A body is a JSON object (or GitLab's form fields, `status=acknowledged`).

A change is checked against the clone first, and a refusal writes nothing, not even to the journal:
401 no or a wrong token, 400 a body that is not JSON, 413 over MAX_BODY, 422 a wrong body (naming
the field: an unknown status or key, a `by` that is no person of people.yml, with a did-you-mean),
404 an unknown alert (the did-you-mean in the body), 409 a change that makes no sense (tidings.ops
.alerts' refusal: acknowledging a resolved alert, ignoring twice). Then the change is journalled
(fsynced) like an alert or a Slack command, and the worker applies it (a `Command` of kind KIND)
through tidings.ops.alerts, one commit naming the person (`Tidings-Person`, `Tidings-Alert`, and the
journal's trailers, so a crash or a conflicting push applies it exactly once). The answer comes once
the worker has committed it and pushed (a remote that is down only delays the push: `"pushed":
false`): 200 with the alert as it now is; a change that lost a race to another (two people
acknowledging at once) is the 409 the second would have got anyway. A client that will not wait
(`Prefer: respond-async`), or a worker busier than WAIT, gets 202 with the journal seq; the change
is then applied all the same.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tidings import clock
from tidings.content.diagnostics import did_you_mean
from tidings.content.load import load
from tidings.content.model import StatusRepo
from tidings.ops.alert_rules import check_change
from tidings.ops.alerts import (
    CHANGES,
    STATUSES,
    AlertError,
    UnknownAlertError,
    alerts_of,
    change_status,
    details,
    link,
    list_alerts,
    read_alert,
    summary,
)
from tidings.ops.incidents import Actor, IncidentError, incident_path
from tidings.store.git import RUNNER_EMAIL, RUNNER_NAME

if TYPE_CHECKING:
    from tidings.runner.worker import Worker

log = logging.getLogger(__name__)
TOKEN_ENV = "TIDINGS_ALERT_API_TOKEN"
KIND = "alert-api"
VIA = "the alert API"
MAX_BODY = 64 * 1024
MAX_REASON = 2000
WAIT = 10.0  # seconds the answer is waited for before a 202
PER_PAGE = 100
MAX_PER_PAGE = 1000
# The status a PUT asks for -> the tidings.ops.alerts change that sets it (`triggered`: unacknowledge).
ACTION_FOR = {status: action for action, (_, status, _) in CHANGES.items()}
FIELDS = {"status": ("status", "by", "reason"), "link": ("incident", "by")}
FILTERS = ("status", "integration", "component", "incident", "since", "page", "per_page")


def api_token(env: Mapping[str, str] | None = None) -> bytes | None:
    value = (os.environ if env is None else env).get(TOKEN_ENV, "")
    return value.encode() if value else None


def _error(status: int, message: str, **extra: str) -> JSONResponse:
    return JSONResponse({"error": message, **{k: v for k, v in extra.items() if v}}, status_code=status)


class Refused(Exception):
    """A request that is answered with an error and changes nothing."""

    def __init__(self, status: int, message: str, field: str = "", hint: str = ""):
        super().__init__(message)
        self.status = status
        self.field = field
        self.hint = hint

    def response(self) -> JSONResponse:
        return _error(self.status, str(self), field=self.field, hint=self.hint)


def _authorized(request: Request) -> bool:
    expected = api_token()
    given = request.headers.get("authorization", "")
    token = given[7:] if given.lower().startswith("bearer ") else ""
    # Constant-time, and an unset variable never matches (not even an empty token).
    return expected is not None and hmac.compare_digest(token.encode(), expected)


def _refused_alert(exc: AlertError) -> Refused:
    """tidings.ops.alerts' refusal as an answer: 404 for an unknown alert, else 409."""
    status = 404 if isinstance(exc, UnknownAlertError) else 409
    return Refused(status, str(exc), hint=exc.hint)


# --- requests ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A change the API was asked for, as the journal keeps it."""

    op: str  # "status" or "link"
    alert_id: str
    by: str
    action: str = ""  # status: the tidings.ops.alerts action
    reason: str | None = None
    incident: str = ""  # link: the incident

    def record(self, now: datetime) -> dict[str, Any]:
        change = {"op": self.op, "alert": self.alert_id, "by": self.by, "action": self.action}
        change.update({"reason": self.reason or "", "incident": self.incident})
        return {"kind": KIND, "received_at": now.isoformat(), "change": change}

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Change:
        change = record["change"]
        return cls(
            change["op"],
            change["alert"],
            change["by"],
            change["action"],
            change["reason"] or None,
            change["incident"],
        )


async def _body(request: Request) -> dict[str, Any]:
    """The request's fields: a JSON object, or form fields as GitLab's `--data status=acknowledged`."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise Refused(413, f"body over {MAX_BODY} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise Refused(413, f"body over {MAX_BODY} bytes")
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        fields = urllib.parse.parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
        return {k: v[-1] for k, v in fields.items()}
    try:
        data = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Refused(400, f"the body is not JSON: {exc}", field="(body)") from exc
    if not isinstance(data, dict):
        raise Refused(422, "the body must be a JSON object", field="(body)")
    return data


def _text(data: Mapping[str, Any], key: str, required: bool = True) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise Refused(422, f"'{key}' is required", field=key)
        return ""
    if not isinstance(value, str):
        raise Refused(422, f"'{key}' must be a string", field=key)
    return value


def _parse(op: str, alert_id: str, data: Mapping[str, Any], repo: StatusRepo) -> Change:
    """The change a body asks for, its fields checked; Refused (422, naming the field) otherwise."""
    allowed = FIELDS[op]
    for key in data:
        if key not in allowed:
            hint = did_you_mean(key, allowed) or f"the fields are {', '.join(allowed)}"
            raise Refused(422, f"unknown field '{key}'", field=key, hint=hint)
    by = _text(data, "by")
    people = [p.id for p in repo.people]
    if by not in people:
        hint = did_you_mean(by, people) or "people are listed in content/people.yml"
        raise Refused(422, f"'by': no person '{by}' in people.yml", field="by", hint=hint)
    if op == "link":
        return Change("link", alert_id, by, incident=_text(data, "incident"))
    status = _text(data, "status")
    if status not in ACTION_FOR:
        hint = did_you_mean(status, STATUSES)
        raise Refused(422, f"'status' must be one of {', '.join(STATUSES)}, not '{status}'", "status", hint)
    reason = " ".join(_text(data, "reason", required=False).split())  # one line in the alert's events
    if len(reason) > MAX_REASON:
        raise Refused(422, f"'reason' is over {MAX_REASON} characters", field="reason")
    return Change("status", alert_id, by, ACTION_FOR[status], reason or None)


def _check(root: Path, change: Change) -> None:
    """Refused when the change cannot be made on the clone as it is (unknown alert or incident, nonsense)."""
    try:
        record = read_alert(root, change.alert_id)
        if change.op == "status":
            check_change(change.alert_id, change.action, record.status)
            return
        if record.incident == change.incident:
            raise AlertError(
                f"alert {change.alert_id} belongs to incident {change.incident} already; nothing was changed"
            )
    except AlertError as exc:
        raise _refused_alert(exc) from exc
    try:
        incident_path(root, change.incident)
    except IncidentError as exc:
        raise Refused(422, f"'incident': {exc}", field="incident") from exc


# --- the worker's side -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the worker says to a change: the HTTP status and body."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


class AlertApiCommands:
    """The API's journal entries as the worker applies them (runner.worker.Command)."""

    def apply(
        self, root: Path, repo: StatusRepo, record: Mapping[str, Any], trailers: Mapping[str, str]
    ) -> Answer:
        """One change, made and committed (with its arrival time as "now", so a replay writes the same)."""
        now = datetime.fromisoformat(record["received_at"])
        change = Change.of(record)
        if change.by not in {p.id for p in repo.people}:  # people.yml changed since it was checked
            return Answer(422, {"error": f"'by': no person '{change.by}' in people.yml", "field": "by"})
        actor = Actor(
            name=change.by, author=(RUNNER_NAME, RUNNER_EMAIL), person=change.by, via=VIA, trailers=trailers
        )
        try:
            if change.op == "link":
                done = link(root, change.alert_id, change.incident, now, actor)
            else:
                done = change_status(root, change.alert_id, change.action, now, actor, change.reason)
            alert = details(read_alert(root, change.alert_id))
        except AlertError as exc:  # another change won the race since it was checked
            refused = _refused_alert(exc)
            return Answer(refused.status, {"error": str(refused), **({"hint": exc.hint} if exc.hint else {})})
        body: dict[str, Any] = {"alert": alert, "message": done.message, "commit": done.commit}
        if done.follows:
            body["incident_change"] = done.follows
        return Answer(200, body)

    def failed(self) -> Answer:
        return Answer(500, {"error": "the runner could not do that (see its log); nothing was changed"})


# --- HTTP --------------------------------------------------------------------------------------------


def _page(query: Mapping[str, str], key: str, default: int, most: int) -> int:
    value = query.get(key, "")
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= most:
        raise Refused(422, f"'{key}' must be a whole number from 1 to {most}", field=key)
    return int(value)


def _listed(root: Path, query: Mapping[str, str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """GET /api/alerts: one page of the alert records, filtered, newest first; and the paging headers."""
    for key in query:
        if key not in FILTERS:
            hint = did_you_mean(key, FILTERS) or f"the filters are {', '.join(FILTERS)}"
            raise Refused(422, f"unknown filter '{key}'", field=key, hint=hint)
    since = None
    if query.get("since"):
        try:
            since = datetime.fromisoformat(query["since"])
        except ValueError:
            since = None
        if since is None or since.tzinfo is None:
            raise Refused(422, "'since' must be a time with its offset, e.g. 2026-11-22T16:00:00Z", "since")
    page = _page(query, "page", 1, 1_000_000)
    per_page = _page(query, "per_page", PER_PAGE, MAX_PER_PAGE)
    status = query.get("status") or None
    if status is not None and status not in (*STATUSES, "open"):
        hint = did_you_mean(status, [*STATUSES, "open"])
        raise Refused(422, f"'status' must be one of {', '.join(STATUSES)} or open", "status", hint)
    try:
        found = list_alerts(
            alerts_of(root), status, query.get("integration") or None, query.get("component") or None, since
        )
    except AlertError as exc:  # an unknown integration
        raise Refused(422, str(exc), field="integration", hint=exc.hint) from exc
    if query.get("incident"):
        found = [a for a in found if a.incident == query["incident"]]
    start = (page - 1) * per_page
    headers = {"X-Total": str(len(found)), "X-Page": str(page), "X-Per-Page": str(per_page)}
    if start + per_page < len(found):
        headers["X-Next-Page"] = str(page + 1)
    return [summary(a) for a in found[start : start + per_page]], headers


def routes(worker: Callable[[], Worker]) -> list[Route]:
    """The API's routes; `worker` gives the runner's worker once it runs."""

    async def guarded(request: Request, handle: Callable[[Request], Any]) -> Response:
        if not _authorized(request):
            # The reason goes to the log; the token, given or expected, never does.
            why = "not set: the alert API is off" if api_token() is None else "missing or wrong"
            where = f"{request.method} {request.url.path}"
            log.warning("refused an alert API request (%s): token %s", where, why)
            return _error(401, "missing or wrong bearer token")
        try:
            response: Response = await handle(request)
            return response
        except Refused as refused:
            return refused.response()

    async def list_(request: Request) -> Response:
        async def handle(request: Request) -> Response:
            query = dict(request.query_params)
            found, headers = await asyncio.to_thread(_listed, worker().root, query)
            return JSONResponse(found, headers=headers)

        return await guarded(request, handle)

    async def show(request: Request) -> Response:
        async def handle(request: Request) -> Response:
            try:
                record = await asyncio.to_thread(read_alert, worker().root, request.path_params["alert_id"])
            except UnknownAlertError as exc:
                raise _refused_alert(exc) from exc
            except AlertError as exc:  # a record broken by hand: `tidings validate` says more
                raise Refused(500, str(exc)) from exc
            return JSONResponse(details(record))

        return await guarded(request, handle)

    def changing(op: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            async def handle(request: Request) -> Response:
                return await _change(worker(), op, request)

            return await guarded(request, handle)

        return endpoint

    return [
        Route("/api/alerts", list_, methods=["GET"]),
        Route("/api/alerts/{alert_id:str}", show, methods=["GET"]),
        Route("/api/alerts/{alert_id:str}", changing("status"), methods=["PUT"]),
        Route("/api/alerts/{alert_id:str}/link", changing("link"), methods=["POST"]),
    ]


async def _change(the_worker: Worker, op: str, request: Request) -> Response:
    """PUT /api/alerts/{id}, POST .../link: check, journal, and answer once the worker has pushed it."""
    now = clock.now()
    data = await _body(request)
    root = the_worker.root
    repo = await asyncio.to_thread(lambda: load(root, alerts=False).repo)
    change = _parse(op, request.path_params["alert_id"], data, repo)
    await asyncio.to_thread(_check, root, change)
    try:
        seq = await the_worker.journal.append(change.record(now))
    except OSError as exc:  # a full disk, say: nothing was taken
        log.error("could not journal an alert API request (answered 503): %s", exc)
        return JSONResponse(
            {"error": "the runner cannot store requests now; retry later"},
            status_code=503,
            headers={"Retry-After": "10"},
        )
    accepted = {"status": "accepted", "seq": seq}
    if "respond-async" in request.headers.get("prefer", "").lower():
        return JSONResponse(accepted, status_code=202, headers={"Preference-Applied": "respond-async"})
    answer = await the_worker.answers.wait(seq, timeout=WAIT)
    if not isinstance(answer, Answer):
        blocked = f" (the status repo needs a fix first: {the_worker.blocked})" if the_worker.blocked else ""
        return JSONResponse({**accepted, "message": f"journalled; not applied yet{blocked}"}, status_code=202)
    body = answer.body
    if answer.status == 200:
        # Read once the step is over: false only while a commit (ours, or one after it) waits for
        # a remote that is down; it goes with the next push.
        body = {**body, "pushed": not the_worker.unpushed}
    return JSONResponse(body, status_code=answer.status)

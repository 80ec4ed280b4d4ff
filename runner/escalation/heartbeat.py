"""Heartbeats: a dead man's switch for every integration that expects one (`heartbeat:` in
.gitlab/integrations.yml), so a team learns that the pipe from its monitoring to Tidings is broken.

A heartbeat is a firing alert named in `heartbeat.alerts` (Prometheus' always-firing `Watchdog`, as
Alertmanager re-sends it every repeat_interval) or a plain `POST /heartbeat/{integration}` with the
integration's bearer token. Heartbeat alerts are never incidents: `without_heartbeats` takes them out
of an event before it is applied (resolved ones too: a Watchdog that stops is news for this module,
not a problem of its own).

The runner that receives a heartbeat writes its time to `heartbeats.json` in its state folder
(atomically, fsynced, before it answers 2xx). Every CHECK_SECONDS `runner serve` compares it with the
clock; when none has arrived for `silent_after_minutes` it raises a 'monitoring silent' alert, and
when heartbeats come back it resolves it. Both go the way every alert goes: a generic-shaped event
appended to the worker's journal (journal kind `generic`, for the integration, with `origin:
heartbeat`), applied by runner/apply.py like any post, so it opens and resolves an incident that
pages through the integration's policy (the alert names no component). Nothing here writes an
incident.

Several runners. Each runner keeps its own clock and raises only from its own view, and only for an
integration it has itself received a heartbeat from (since its state folder was made): a runner that
never receives any (a load balancer sends them all to another runner, a CI `runner tick`) never raises
a false alarm. Runners that all receive every heartbeat (an HA pair Alertmanager sends to each) raise
and resolve the same alert, which every runner fingerprints alike, so it is one incident. Heartbeats
must therefore reach every runner that should watch them, or exactly one: do not spread them over
several runners behind a balancer. A runner that was itself down does not count its own downtime as
silence: it waits a whole window after it starts before it raises.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tidings import clock
from tidings.content.model import Integration
from tidings.runner.journal import Journal
from tidings.runner.sources import auth
from tidings.runner.sources.events import Alert, AlertEvent
from tidings.store.edit import write_atomic
from tidings.store.incident_file import parse_stamp, stamp

log = logging.getLogger(__name__)
STATE_FILE = "heartbeats.json"
CHECK_SECONDS = 5.0  # how often `runner serve` looks for silent integrations
ORIGIN = "heartbeat"  # the `origin` of the journal records this module appends
RETRY_AFTER = 10


def fingerprint(integration_id: str) -> str:
    """The fingerprint of an integration's 'monitoring silent' alert: the same on every runner."""
    return f"tidings-heartbeat/{integration_id}"


def alert_name(alert: Alert) -> str:
    """An alert's name: Alertmanager's `alertname` label, else its title (a generic alert's)."""
    return alert.labels.get("alertname") or alert.title


def is_heartbeat(alert: Alert, integration: Integration) -> bool:
    return integration.heartbeat is not None and alert_name(alert) in integration.heartbeat.alerts


def beats(event: AlertEvent, integration: Integration) -> bool:
    """Whether the event carries a heartbeat: a firing heartbeat alert (a resolved one is the opposite)."""
    return any(a.state == "firing" and is_heartbeat(a, integration) for a in event.alerts)


def without_heartbeats(event: AlertEvent, integration: Integration) -> AlertEvent:
    """The event without its heartbeat alerts (none left: nothing to apply)."""
    kept = tuple(a for a in event.alerts if not is_heartbeat(a, integration))
    return event if len(kept) == len(event.alerts) else dataclasses.replace(event, alerts=kept)


# --- state: the last heartbeat per integration, and the alarm this runner raised ---------------------


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HeartbeatLog:
    """`heartbeats.json` in the runner's state folder: {integration: {"last": time, "raised": time}}."""

    def __init__(self, state: Path):
        self.path = state / STATE_FILE
        self._lock = threading.Lock()  # heartbeats arrive in request threads; the watcher reads
        self._data: dict[str, dict[str, str]] = {}
        if self.path.exists():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                self._data = {k: dict(v) for k, v in loaded.items() if isinstance(v, dict)}
            except (ValueError, AttributeError):
                log.error("%s is not readable; heartbeats start afresh", self.path)

    def _time(self, integration_id: str, name: str) -> datetime | None:
        with self._lock:
            value = self._data.get(integration_id, {}).get(name)
        return parse_stamp(value) if value else None

    def last(self, integration_id: str) -> datetime | None:
        """When this runner last received a heartbeat of the integration (None: never)."""
        return self._time(integration_id, "last")

    def raised(self, integration_id: str) -> datetime | None:
        """When this runner raised the integration's 'monitoring silent' alert, if it is raised."""
        return self._time(integration_id, "raised")

    def integrations(self) -> list[str]:
        with self._lock:
            return sorted(self._data)

    def _save(self) -> None:
        text = json.dumps(self._data, sort_keys=True, indent=1) + "\n"
        write_atomic(self.path, text)
        _fsync_dir(self.path.parent)  # the rename too: a heartbeat answered 2xx is on disk

    def saw(self, integration_id: str, at: datetime) -> None:
        """A heartbeat arrived at `at`: keep it (an older one than what is kept changes nothing)."""
        with self._lock:
            entry = self._data.setdefault(integration_id, {})
            known = parse_stamp(entry["last"]) if entry.get("last") else None
            if known is not None and known >= at.replace(microsecond=0):
                return
            entry["last"] = stamp(at)
            self._save()

    def set_raised(self, integration_id: str, at: datetime | None) -> None:
        """Raised at `at`, or (None) resolved."""
        with self._lock:
            entry = self._data.setdefault(integration_id, {})
            if at is None:
                entry.pop("raised", None)
            else:
                entry["raised"] = stamp(at)
            self._save()

    def forget(self, integration_id: str) -> None:
        with self._lock:
            if self._data.pop(integration_id, None) is not None:
                self._save()


# --- the watch: silent integrations raise, heartbeats that return resolve ---------------------------


@dataclass(frozen=True)
class Alarm:
    """A change to an integration's 'monitoring silent' alert that is due."""

    integration: Integration
    raise_: bool  # True: raise it; False: resolve it
    last: datetime | None  # the last heartbeat this runner received


def alarms(
    heartbeats: HeartbeatLog, integrations: Mapping[str, Integration], now: datetime, watching_since: datetime
) -> list[Alarm]:
    """What is due at `now`: silent integrations to raise, raised ones whose heartbeats came back (or
    that expect none any more) to resolve. `watching_since`: when this runner started watching, so
    its own downtime is not taken for silence."""
    due = []
    for integration_id in heartbeats.integrations():
        integration = integrations.get(integration_id)
        last, raised = heartbeats.last(integration_id), heartbeats.raised(integration_id)
        if integration is None:
            continue  # no longer configured (or the repo is invalid now): nothing to raise it through
        settings = integration.heartbeat
        if settings is None:
            if raised is not None:
                due.append(Alarm(integration, False, last))
            continue
        if last is None:
            continue  # never heard from here: not this runner's to watch
        silent = now - max(last, watching_since) >= timedelta(minutes=settings.silent_after_minutes)
        if raised is None and silent:
            due.append(Alarm(integration, True, last))
        elif raised is not None and last > raised:
            due.append(Alarm(integration, False, last))
    return due


def alarm_payload(alarm: Alarm, now: datetime) -> dict[str, Any]:
    """The 'monitoring silent' alert, in GitLab's generic format (the shape every source can take)."""
    integration = alarm.integration
    settings = integration.heartbeat
    last = f"since {stamp(alarm.last)}" if alarm.last else "at all"
    if alarm.raise_ and settings is not None:
        names = ", ".join(f"`{n}`" for n in settings.alerts)
        description = (
            f"No heartbeat from integration '{integration.id}' {last}: it should send one at least every "
            f"{settings.silent_after_minutes} minutes (a firing {names} alert, or POST "
            f"/heartbeat/{integration.id}). The pipe from monitoring to Tidings may be broken: alerts may "
            "not be arriving."
        )
    elif settings is None:
        description = f"Integration '{integration.id}' no longer expects a heartbeat."
    else:
        description = f"Heartbeats from integration '{integration.id}' arrive again (the last {last})."
    payload: dict[str, Any] = {
        "title": f"Monitoring silent: no heartbeat from {integration.id}",
        "description": description,
        "severity": settings.severity if settings is not None else "critical",
        "fingerprint": fingerprint(integration.id),
        "monitoring_tool": "Tidings heartbeat",
    }
    if not alarm.raise_:
        payload["end_time"] = stamp(now)
    return payload


def alarm_record(alarm: Alarm, now: datetime) -> dict[str, Any]:
    """The journal record of an alarm: a generic post from the integration, as the worker applies it."""
    body = json.dumps(alarm_payload(alarm, now), sort_keys=True).encode()
    return {
        "kind": "generic",
        "integration": alarm.integration.id,
        "received_at": now.isoformat(),
        "body": base64.b64encode(body).decode(),
        "origin": ORIGIN,
    }


async def check(
    heartbeats: HeartbeatLog,
    journal: Journal,
    integrations: Mapping[str, Integration],
    now: datetime,
    watching_since: datetime,
) -> list[Alarm]:
    """Raise or resolve what is due at `now`, through the journal; what was done."""
    done = []
    for alarm in alarms(heartbeats, integrations, now, watching_since):
        await journal.append(alarm_record(alarm, now))  # durable first: a crash after it raises again
        await asyncio.to_thread(heartbeats.set_raised, alarm.integration.id, now if alarm.raise_ else None)
        verb = "raised" if alarm.raise_ else "resolved"
        log.warning("monitoring silent alert for %s %s", alarm.integration.id, verb)
        done.append(alarm)
    return done


async def watch(
    heartbeats: HeartbeatLog,
    journal: Journal,
    integrations: Callable[[], Mapping[str, Integration]],
    every: float = CHECK_SECONDS,
) -> None:
    """`runner serve`'s watch, every `every` seconds until cancelled; a failure is logged, not fatal."""
    watching_since = clock.now()
    while True:
        try:
            await check(heartbeats, journal, integrations(), clock.now(), watching_since)
        except Exception:  # a full disk, say: the alarm is not marked, so it is tried again
            log.exception("checking heartbeats failed; trying again in %.0f s", every)
        await asyncio.sleep(every)


async def record(
    heartbeats: HeartbeatLog, integration: Integration, event: AlertEvent, now: datetime
) -> None:
    """An accepted alert post: keep its time if it carries a heartbeat."""
    if beats(event, integration):
        await asyncio.to_thread(heartbeats.saw, integration.id, now)


# --- HTTP: POST /heartbeat/{integration} ------------------------------------------------------------


def authorized(request: Request, integration: Integration) -> bool:
    """The integration's token (bearer, or basic where it uses that), compared in constant time; an
    unset variable never matches. Integrations that sign their posts (PagerDuty, Sentry) have no
    token to send heartbeats with: their heartbeats are their alerts."""
    if integration.token_env is None:
        return False
    headers = {k.lower(): v for k, v in request.headers.items()}
    return auth.token(integration, headers, b"", os.environ).ok


def heartbeat_endpoint(
    integrations: Callable[[], Mapping[str, Integration]], heartbeats: HeartbeatLog
) -> Callable[[Request], Any]:
    """POST /heartbeat/{integration}: 200 once the time is on disk; 404, 401 or 503 write nothing."""

    async def endpoint(request: Request) -> Response:
        integration = integrations().get(request.path_params["integration"])
        if integration is None:
            return JSONResponse({"error": "no such integration"}, status_code=404)
        if not authorized(request, integration):
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        if integration.heartbeat is None:
            why = "this integration expects no heartbeat: give it `heartbeat:` in .gitlab/integrations.yml"
            return JSONResponse({"error": why}, status_code=404)
        now = clock.now()
        try:
            await asyncio.to_thread(heartbeats.saw, integration.id, now)
        except OSError as exc:
            log.error("could not keep a heartbeat (answered 503): %s", exc)
            response = JSONResponse({"error": "the runner cannot store heartbeats now; retry later"}, 503)
            response.headers["Retry-After"] = str(RETRY_AFTER)
            return response
        return JSONResponse({"status": "ok", "integration": integration.id, "at": stamp(now)})

    return endpoint

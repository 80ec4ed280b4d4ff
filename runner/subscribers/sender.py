"""Sending: the opt-in requests, then the outbox, in batches, at the receivers' pace.

The outbox is read a batch at a time (BATCH rows, in id order), so memory stays the same however
many subscribers an update concerns; a batch is shared by `subscribers.email.connections` threads,
each with an SMTP session of its own, and each row is marked in the database right after its
receiver answered.

A try that may pass later waits `retry.backoff_seconds`, then twice that, and so on, `retry.attempts`
tries in all (by default 30 s doubling, eight tries: about an hour). Then, or at once when trying
again cannot help, the row fails. Suspension (store.failed): `subscribers.suspend_after`
consecutive notifications that failed because of the subscriber (hard bounces: an SMTP server
refusing the recipient with 5xx; for a webhook, any failure for good, its tries run out included,
since the endpoint is theirs) suspend them; a delivery that goes through starts the count again.
A webhook that answers 410 Gone is unsubscribed.

Logs name subscribers by id and outcomes by kind, never an address, a URL or a server's reply
(which may quote the address).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from tidings import clock
from tidings.runner.subscribers import messages, webhook
from tidings.runner.subscribers.mail import SmtpSession
from tidings.runner.subscribers.outcome import Outcome
from tidings.runner.subscribers.settings import Settings
from tidings.runner.subscribers.store import Due, Request, Store

log = logging.getLogger(__name__)
BATCH = 500
WEBHOOK_THREADS = 8
PAYLOADS_KEPT = 64


class Sender:
    """Sends what is due in the store; one per runner (it owns the SMTP sessions)."""

    def __init__(
        self,
        store: Store,
        env: Mapping[str, str] | None = None,
        now: Callable[[], datetime] = clock.now,
    ):
        self.store = store
        self.env = os.environ if env is None else env
        self.now = now
        self._local = threading.local()
        self._sessions: list[SmtpSession] = []
        self._lock = threading.Lock()
        self._payloads: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._mails: OrderedDict[tuple[str, int], messages.NotificationMail] = OrderedDict()
        self._pool: ThreadPoolExecutor | None = None
        self._hooks: ThreadPoolExecutor | None = None
        self._threads = 0

    def close(self) -> None:
        for pool in (self._pool, self._hooks):
            if pool is not None:
                pool.shutdown(wait=True)
        self._pool = self._hooks = None
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def _session(self, settings: Settings) -> SmtpSession | None:
        mail = settings.subscribers.email
        if mail is None:
            return None
        session: SmtpSession | None = getattr(self._local, "session", None)
        if session is None or session.settings != mail:
            if session is not None:
                session.close()
            session = SmtpSession(mail, self.env, settings.subscribers.retry.timeout_seconds)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _payload(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._payloads.get(key)
            if found is not None:
                self._payloads.move_to_end(key)
                return found
        payload = self.store.update_payload(key)
        if payload is not None:
            with self._lock:
                self._payloads[key] = payload
                while len(self._payloads) > PAYLOADS_KEPT:
                    self._payloads.popitem(last=False)
        return payload

    def _mail(self, settings: Settings, key: str, payload: dict[str, Any]) -> messages.NotificationMail:
        """The update's mail, made once for these settings (every subscriber's is made from it)."""
        slot = (key, id(settings))
        with self._lock:
            found = self._mails.get(slot)
            if found is not None:
                return found
        made = messages.NotificationMail(settings.site, _sender(settings), payload, key)
        with self._lock:
            self._mails[slot] = made
            while len(self._mails) > PAYLOADS_KEPT:
                self._mails.popitem(last=False)
        return made

    def _backoff(self, settings: Settings, tries: int) -> float:
        return float(settings.subscribers.retry.backoff_seconds * (2 ** max(0, tries - 1)))

    # --- opt-ins ----------------------------------------------------------------------------------

    def send_requests(self, settings: Settings) -> int:
        """Confirmation mails and webhook challenges that are due; how many went out."""
        done = 0
        for request in self.store.due_requests(self.now().timestamp()):
            outcome = self._request(settings, request)
            if outcome.kind == "sent":
                done += 1
            self._record_request(settings, request, outcome)
        return done

    def _request(self, settings: Settings, request: Request) -> Outcome:
        at = self.now()
        if request.kind == "email":
            session = self._session(settings)
            if session is None:
                return Outcome.failed("e-mail is not set up (subscribers.email in notifications.yml)")
            mail = messages.confirmation_mail(
                settings.site, _sender(settings), self.store.key, request, settings.names, at
            )
            return session.send(mail)
        body = messages.challenge_body(settings.site, request, request.nonce, settings.names)
        headers = webhook.signed_headers(
            request.secret or "", body, f"challenge-{request.id}", at.timestamp()
        )
        allow = settings.subscribers.allow_private_webhooks
        outcome = webhook.post(
            request.address, body, headers, settings.subscribers.retry.timeout_seconds, allow
        )
        if outcome.kind == "sent" and not messages.echoed(outcome.body, request.nonce):
            return Outcome.failed("the webhook's answer did not echo the challenge")
        return outcome

    def _record_request(self, settings: Settings, request: Request, outcome: Outcome) -> None:
        if outcome.kind == "sent":
            if request.kind == "webhook":
                subscriber = self.store.confirm(request.id, request.nonce, self.now().timestamp())
                log.info(
                    "webhook subscriber %s confirmed (challenge echoed)", subscriber.id if subscriber else "?"
                )
            else:
                self.store.request_done(request.id, "sent")
                log.info("confirmation %d sent", request.id)
            return
        tries = request.attempts + 1
        if outcome.kind == "retry" and tries < settings.subscribers.retry.attempts:
            self.store.request_retry(
                request.id, self.now().timestamp() + self._backoff(settings, tries), outcome.error or ""
            )
            log.info("confirmation %d: %s, try %d; trying again later", request.id, outcome.kind, tries)
            return
        self.store.request_done(request.id, "failed", outcome.error)
        log.warning("confirmation %d could not be sent (%s after %d tries)", request.id, outcome.kind, tries)

    # --- the outbox -------------------------------------------------------------------------------

    def send_due(self, settings: Settings, stop: threading.Event | None = None) -> int:
        """Send every outbox row that is due, batch after batch; how many were tried.

        Mail goes through `connections` threads, each with its SMTP session; webhooks through
        WEBHOOK_THREADS of their own, so a slow receiver never holds up the mail.
        """
        threads = settings.subscribers.email.connections if settings.subscribers.email else 1
        if self._pool is None or self._threads != threads:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._pool = ThreadPoolExecutor(threads, thread_name_prefix="tidings-subscribers-mail")
            self._threads = threads
        if self._hooks is None:
            self._hooks = ThreadPoolExecutor(WEBHOOK_THREADS, thread_name_prefix="tidings-subscribers-hooks")
        tried = 0
        after = 0
        while not (stop and stop.is_set()):
            batch = self.store.due(self.now().timestamp(), after, BATCH)
            if not batch:
                break
            work = [
                (self._pool if due.subscriber.kind == "email" else self._hooks).submit(
                    self._one, settings, due
                )
                for due in batch
            ]
            for future in work:
                future.result()
            tried += len(batch)
            after = batch[-1].id
        return tried

    def _one(self, settings: Settings, due: Due) -> None:
        try:
            outcome = self._deliver(settings, due)
        except Exception:  # a bug must not stop the send-out; the row is tried again later
            log.exception("subscriber %d: sending failed unexpectedly", due.subscriber.id)
            outcome = Outcome.retry("unexpected error while sending")
        self._record(settings, due, outcome)

    def _deliver(self, settings: Settings, due: Due) -> Outcome:
        payload = self._payload(due.update_key)
        if payload is None:
            return Outcome.failed("the update is no longer recorded")
        subscriber = due.subscriber
        at = self.now()
        if subscriber.kind == "email":
            session = self._session(settings)
            if session is None:
                return Outcome.retry("e-mail is not set up (subscribers.email in notifications.yml)")
            return session.send(self._mail(settings, due.update_key, payload).to(subscriber, at))
        body = messages.notification_body(settings.site, payload, due.update_key, subscriber)
        key = messages.message_key(due.update_key, subscriber)
        headers = webhook.signed_headers(subscriber.secret or "", body, key, at.timestamp())
        return webhook.post(
            subscriber.address,
            body,
            headers,
            settings.subscribers.retry.timeout_seconds,
            settings.subscribers.allow_private_webhooks,
        )

    def _record(self, settings: Settings, due: Due, outcome: Outcome) -> None:
        now = self.now().timestamp()
        who = due.subscriber.id
        tries = due.attempts + 1
        rules = settings.subscribers
        if outcome.kind == "sent":
            self.store.sent(due, now)
            return
        if outcome.kind == "gone":
            self.store.remove(who)
            log.info("subscriber %d removed: its webhook answered 410 Gone", who)
            return
        if outcome.kind == "retry" and tries < rules.retry.attempts:
            self.store.retry(due, now + self._backoff(settings, tries), outcome.error or "")
            log.info("subscriber %d: not delivered (try %d), trying again later", who, tries)
            return
        # Failed for good. A webhook is the subscriber's own: its failures count, tries run out or not.
        counts = outcome.kind == "bounced" or (due.subscriber.kind == "webhook" and outcome.kind == "retry")
        suspended = self.store.failed(due, outcome.error or outcome.kind, counts, rules.suspend_after, now)
        what = "bounced" if outcome.kind == "bounced" else "failed"
        log.warning("subscriber %d: delivery %s after %d tries", who, what, tries)
        if suspended:
            log.warning(
                "subscriber %d suspended after %d failed deliveries in a row", who, rules.suspend_after
            )


def _sender(settings: Settings) -> str:
    mail = settings.subscribers.email
    return mail.from_ if mail else "tidings@tidings.invalid"

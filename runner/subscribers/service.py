"""The subscriber loop beside `runner serve`: find public updates, release them, send.

Every PLAN_SECONDS (and at once when the endpoint has a new opt-in to send):
1. The branch: the remote's (fetched every FETCH_SECONDS into a ref of its own,
   refs/tidings/subscribers, so it never competes with the worker's fetches; the worker's own
   origin/<branch> is taken when it is newer), or HEAD when the runner does not push. The first
   look only notes where the branch is, so turning subscriptions on never tells the past.
2. The public updates of the commits since the last look are recorded with the commit reached
   (events.py, store.record), held.
3. A held update is released no sooner than the public page can show it: with `release: deployed`
   (the default) once the pages job has reported a commit that contains it as deployed (POST
   /deployed, deploys.py), with `release: pushed` once it reached the branch; either way
   `release_delay_seconds` later. Releasing writes one outbox row for each active subscriber it
   concerns, in one transaction. An update held longer than STALE_SECONDS (no deploy came) is
   dropped as stale news; one held longer than WARN_SECONDS is warned about, once.
4. The outbox (sender.py). Opt-ins (confirmation mails, webhook challenges) have a thread of their own.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from tidings import clock
from tidings.runner.subscribers.events import updates_between
from tidings.runner.subscribers.sender import Sender
from tidings.runner.subscribers.settings import Settings, SettingsReader
from tidings.runner.subscribers.store import Store
from tidings.store.git import REMOTE, GitError, current_branch, git, remote_git

log = logging.getLogger(__name__)
PLAN_SECONDS = 2.0
FETCH_SECONDS = 5.0
WARN_SECONDS = 600.0
STALE_SECONDS = 24 * 3600.0
PURGE_SECONDS = 3600.0
FETCH_REF = "refs/tidings/subscribers"


class Service:
    """Subscribers for the runner's clone at `root`, with their database in `state`."""

    def __init__(self, root: Path, state: Path, pushing: bool, env: Mapping[str, str] | None = None):
        self.root = root
        self.pushing = pushing
        self.store = Store.open(state)
        self.reader = SettingsReader(root)
        self.sender = Sender(self.store, os.environ if env is None else env)
        self.wake = threading.Event()
        self.wake_optins = threading.Event()
        self.stop = threading.Event()
        self._fetched_at = float("-inf")
        self._ancestry: dict[tuple[str, str], bool] = {}
        self._releasable: dict[str, float] = {}
        self._warned: set[str] = set()
        self._purged_at = float("-inf")
        self._threads: list[threading.Thread] = []

    # --- the branch -------------------------------------------------------------------------------

    def _is_ancestor(self, ancestor: str, rev: str) -> bool:
        known = self._ancestry.get((ancestor, rev))
        if known is not None:
            return known
        try:
            git(self.root, "merge-base", "--is-ancestor", ancestor, rev)
            found = True
        except GitError:
            found = False
        if found and len(self._ancestry) < 10_000:  # only a "yes": a "no" may turn "yes" once fetched
            self._ancestry[(ancestor, rev)] = found
        return found

    def _rev(self, rev: str) -> str:
        return git(self.root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).strip()

    def branch(self, now: float) -> str:
        """The commit the branch is at, as far as the runner can tell."""
        if not self.pushing:
            return self._rev("HEAD")
        name = current_branch(self.root)
        if now - self._fetched_at >= FETCH_SECONDS:
            self._fetched_at = now
            fetch = [
                "-c",
                "gc.auto=0",
                "-c",
                "maintenance.auto=false",
                "fetch",
                "--quiet",
                "--no-write-fetch-head",
            ]
            try:
                remote_git(self.root, *fetch, REMOTE, f"+refs/heads/{name}:{FETCH_REF}")
            except GitError as exc:
                log.info("subscribers: could not fetch (the remote may be down): %s", exc)
        fetched = self._rev(FETCH_REF)
        worker = self._rev(f"{REMOTE}/{name}")
        if fetched and worker and fetched != worker and self._is_ancestor(fetched, worker):
            return worker  # the worker pushed since our fetch: its commit is on the remote too
        return fetched or worker

    # --- one round --------------------------------------------------------------------------------

    def plan(self, settings: Settings, now: float) -> int:
        """Record the public updates of the commits since the last look; how many were new."""
        head = self.branch(now)
        seen = self.store.meta("branch")
        if not head or head == seen:
            return 0
        if not settings.enabled or not seen or not self._is_ancestor(seen, head):
            if seen and settings.enabled:
                log.warning(
                    "subscribers: %s is no longer in the branch's history; going on from %s", seen, head
                )
            self.store.record([], head)
            return 0
        # A runner that ran without its public listener for days must not tell days-old news now.
        since = now - STALE_SECONDS
        found = updates_between(self.root, seen, head, settings.site, settings.names, now, since)
        added = self.store.record(found, head)
        if added:
            log.info("subscribers: %d public update(s) found up to %s", added, head[:12])
        return added

    def release(self, settings: Settings, now: float) -> int:
        """Queue the held updates the public page can show by now; how many rows were queued."""
        rules = settings.subscribers
        deployed = self.store.deployed() if rules.release == "deployed" else []
        queued = 0
        for update in self.store.held():
            if rules.release == "pushed":
                since: float | None = update.found_at
            elif any(self._is_ancestor(update.commit, d) for d in deployed):
                since = self._releasable.setdefault(update.key, now)
            else:
                since = None
            if since is not None and now >= since + rules.release_delay_seconds:
                count = self.store.release(update.key, update.components, now)
                self._releasable.pop(update.key, None)
                queued += count
                log.info(
                    "subscribers: update %s of %s released to %d subscriber(s)",
                    update.key[:12],
                    update.item,
                    count,
                )
                continue
            waited = now - update.found_at
            if waited > STALE_SECONDS:
                self.store.drop(update.key)
                log.warning(
                    "subscribers: update %s of %s dropped: held for a day, never deployed",
                    update.key[:12],
                    update.item,
                )
            elif waited > WARN_SECONDS and update.key not in self._warned:
                self._warned.add(update.key)
                log.warning(
                    "subscribers: update %s of %s waits for the pages job to report a deploy "
                    "(POST /deployed) for %.0f minutes", update.key[:12], update.item, waited / 60,
                )  # fmt: skip
        return queued

    def run_once(self) -> None:
        settings = self.reader.get()
        if settings is None:
            return
        now = clock.now().timestamp()
        self.plan(settings, now)
        if not settings.enabled:
            return
        self.release(settings, now)
        self.sender.send_due(settings, self.stop)
        if now - self._purged_at > PURGE_SECONDS:
            self._purged_at = now
            self.store.purge(now)

    # --- the threads ------------------------------------------------------------------------------

    def send_optins(self) -> int:
        """Confirmation mails and webhook challenges that are due."""
        settings = self.reader.get()
        if settings is None or not settings.enabled:
            return 0
        return self.sender.send_requests(settings)

    def _loop(self, work: Callable[[], object], wake: threading.Event, name: str) -> None:
        while not self.stop.is_set():
            try:
                work()
            except Exception:
                log.exception("subscribers: a round of %s failed; trying again in %.0f s", name, PLAN_SECONDS)
            wake.wait(PLAN_SECONDS)
            wake.clear()

    def start(self) -> None:
        """Two threads: updates and notifications; opt-ins apart, so a flood of slow webhook
        challenges never holds up a notification."""
        for work, wake, name in (
            (self.run_once, self.wake, "updates"),
            (self.send_optins, self.wake_optins, "opt-ins"),
        ):
            thread = threading.Thread(
                target=self._loop, args=(work, wake, name), name=f"tidings-subscribers-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        self.stop.set()
        self.wake.set()
        self.wake_optins.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self.sender.close()
        self.store.close()

"""The escalation tick: record the pages that are due, send them, record how the sending went.

Run by `tidings runner tick` (a scheduled CI job, every minute) and every few seconds inside
`tidings runner serve`. One tick:

1. Takes `tick.lock` (flock) in the runner's state folder, so two ticks on one clone never overlap,
   and the clone's lock (in `runner serve`, the alert worker's) around every git operation.
2. Applies queued ack-link clicks, loads the repo and asks the engine (runner/escalation.py)
   which pages are due. Each is written into its incident's `pages:` as `state: pending`, with the
   idempotency key and `by:` this clone's runner id, committed, and pushed.
3. Sends a pending page only when it is ours (`by:` this runner) and the remote holds its record.
   Of two clones recording the same page, one push wins; the other's rebase conflicts, it drops
   its own commit, plans again on the remote's files and finds the page recorded by the winner.
4. Writes each channel's result to the local delivery ledger (`deliveries.jsonl`, fsynced) the
   moment it is known, then records the deliveries in the incident (`state: sent` or `failed`)
   in a second commit.

The same records carry the rest of the rules (runner/escalation/rules.py): a late page says when it
fell due and how late it is; each later step of a person's contact rules is a page record of its own,
recorded, pushed and sent like any; and an incident kept quiet by maintenance gets an internal
timeline update saying why (and another when the window ends and escalation starts), once.

Crashes. Between 2 and 3 (committed, nothing sent): the next tick of this clone finds the page
pending, ours, and not in the ledger, and sends it, with the same key. Between a send and its
ledger line: that one channel is sent once more, with the same key. After the ledger line: nothing
is sent again, and the next tick only records the deliveries. A clone that records a page and is
never seen again (a CI job killed mid-tick) leaves it pending; once the claim is older than
CLAIM_LEASE another runner takes it over, by committing and pushing the new `by:` first.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from tidings.content import urls
from tidings.content.load import load, parse_content, refresh_incident
from tidings.content.model import Incident, Page, Person, Policy, StatusRepo, labelled_links
from tidings.ops.policies import Quiet
from tidings.runner.apply import RUNNER
from tidings.runner.escalation.ack import ack_secret, ack_url, apply_queued, make_token, settle_queued
from tidings.runner.escalation.notifiers import Message, Sender, deliver
from tidings.runner.escalation.rules import (
    DuePage,
    escalation_start,
    escalations,
    is_acknowledged,
    is_resolved,
    owner,
    quiet,
    quiet_incidents,
    since,
    stops,
)
from tidings.runner.outbound import networks
from tidings.runner.remote import RUNNER_TRAILER, Clone, Published
from tidings.store.edit import read_editable, save, write_atomic
from tidings.store.git import commit
from tidings.store.incident_file import add_update, block_text, stamp, update_entry

log = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(minutes=5)
KEY_TRAILER = "Tidings-Page-Key"
# Record, send, record: a third pass only if the second found new pages (a sync brought them).
MAX_PASSES = 3
# How long a page waits for an unreachable remote to hold its record before it is sent anyway.
UNREACHABLE_GRACE = timedelta(minutes=2)
MAX_CONFLICT_RETRIES = 4


@dataclass(frozen=True)
class Delivered:
    key: str
    incident: str
    person: str | None
    channel: str
    state: str
    attempts: int
    error: str | None = None


@dataclass
class TickResult:
    recorded: list[DuePage] = field(default_factory=list)
    deliveries: list[Delivered] = field(default_factory=list)
    taken_over: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # ours, committed, not yet held by the remote
    cancelled: list[str] = field(default_factory=list)  # ours, unsent, and no longer due
    noted: list[str] = field(default_factory=list)  # incidents told why maintenance keeps them quiet
    blocked: str = ""

    @property
    def ok(self) -> bool:
        """Nothing blocked, nothing waiting for the remote, no delivery failed."""
        return not self.blocked and not self.waiting and all(d.state == "sent" for d in self.deliveries)


# --- local state: the lock, the runner id, the delivery ledger -------------------------------------


@contextmanager
def tick_lock(state: Path) -> Iterator[None]:
    """One tick at a time per clone, across processes (the kernel drops it if the process dies)."""
    state.mkdir(parents=True, exist_ok=True)
    with (state / "tick.lock").open("a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def runner_id(state: Path) -> str:
    """This clone's runner id (`host-random`), made once; it is what `by:` in a page says."""
    path = state / "runner-id"
    if path.is_file() and path.read_text(encoding="utf-8").strip():
        return path.read_text(encoding="utf-8").strip()
    host = "".join(c if c.isalnum() or c in "-." else "-" for c in socket.gethostname())[:40] or "runner"
    made = f"{host}-{secrets.token_hex(4)}"
    write_atomic(path, made + "\n")
    return made


class Ledger:
    """What this clone has sent: one fsynced JSON line per channel result, and one when a page is done."""

    def __init__(self, state: Path):
        self.path = state / "deliveries.jsonl"
        self.results: dict[str, dict[str, dict[str, Any]]] = {}  # key -> channel -> result
        self.done: dict[str, dict[str, Any]] = {}  # key -> the completion line
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    self._take(json.loads(line))
                except (ValueError, KeyError):
                    continue  # a line torn by a crash: its send is repeated, with the same key

    def _take(self, record: dict[str, Any]) -> None:
        if record.get("complete"):
            self.done[record["key"]] = record
        else:
            self.results.setdefault(record["key"], {})[record["channel"]] = record

    def add(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._take(record)


# --- recording -------------------------------------------------------------------------------------


def _flow(items: list[tuple[str, Any]]) -> CommentedMap:
    item = CommentedMap(items)
    item.fa.set_flow_style()
    return item


def _flow_seq(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def late_text(late: timedelta) -> str:
    """'3 h 12 min', '45 min': how late a page is, for people."""
    minutes = int(late.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if hours else f"{rest} min"


def _new_page(due: DuePage, now: datetime, me: str, has_channels: bool) -> CommentedMap:
    page = CommentedMap(
        [
            ("key", due.key),
            ("at", stamp(now)),
            ("policy", due.policy),
            ("round", due.round),
            ("rule", due.rule),
        ]
    )
    if due.step is not None:
        page["step"] = due.step
    if due.schedule:
        page["schedule"] = due.schedule
    if due.person:
        page["person"] = due.person
    if due.channels:
        page["channels"] = _flow_seq(list(due.channels))
    if due.late is not None:
        page["due_at"] = stamp(due.fires_at)
        page["late_minutes"] = int(due.late.total_seconds() // 60)
    page["by"] = me
    if due.person is None:
        page["state"] = "failed"
        page["error"] = f"nobody is on call in schedule '{due.schedule}' at {stamp(due.paged_at)}"
    elif not has_channels:
        page["state"] = "failed"
        page["error"] = "no channels in .gitlab/notifications.yml"
    else:
        page["state"] = "pending"
    return page


def _record_deliveries(page: CommentedMap, ledger: Ledger) -> None:
    key = str(page["key"])
    results = list(ledger.results.get(key, {}).values())
    deliveries = CommentedSeq()
    for r in results:
        items = [
            ("channel", r["channel"]),
            ("at", r["at"]),
            ("state", r["state"]),
            ("attempts", r["attempts"]),
        ]
        deliveries.append(_flow(items + ([("error", r["error"])] if r.get("error") else [])))
    if deliveries:
        page["deliveries"] = deliveries
    page["state"] = "sent" if any(r["state"] == "sent" for r in results) else "failed"
    errors = [f"{r['channel']}: {r['error']}" for r in results if r.get("error")]
    if ledger.done[key].get("error"):
        errors.insert(0, ledger.done[key]["error"])
    if errors and page["state"] == "failed":
        page["error"] = "; ".join(errors)
    elif "error" in page:
        del page["error"]


@dataclass
class _Plan:
    new: list[DuePage] = field(default_factory=list)
    takeovers: list[tuple[str, str]] = field(default_factory=list)  # (incident, key)
    finished: list[tuple[str, str]] = field(default_factory=list)  # ours, sent: deliveries to record
    cancelled: list[tuple[str, str, str]] = field(default_factory=list)  # (incident, key, why)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (incident, text): why it is quiet

    def __bool__(self) -> bool:
        return bool(self.new or self.takeovers or self.finished or self.cancelled or self.notes)


def no_longer_due(repo: StatusRepo, incident: Incident, page: Page, now: datetime) -> str | None:
    """Why a page recorded earlier must not go out now, or None: its rule's `unless` holds by now
    (acknowledged or resolved while it waited for the remote, or across a crash), or the incident
    was reopened since, so the page belongs to an opening that is over."""
    if page.at < since(incident):
        return f"not sent: the incident was reopened at {stamp(since(incident))}, after it was recorded"
    if escalation_start(repo, incident, now) is None:
        held = quiet(repo, incident, now)
        return f"not sent: {held.reason}" if held else "not sent: quiet for maintenance"
    if page.step is not None and page.step > 1:  # a later contact step: for someone who has not answered
        if is_resolved(incident, now):
            return f"not sent: the incident was resolved at {stamp(incident.resolved_at or now)}"
        if is_acknowledged(incident, now):
            return f"not sent: the incident was acknowledged at {stamp(incident.acknowledged_at or now)}"
        return None
    policy = repo.get("policies", page.policy)
    if not isinstance(policy, Policy) or not 1 <= page.rule <= len(policy.rules):
        return None  # the policy changed since: send what was recorded rather than drop it
    if not stops(incident, policy.rules[page.rule - 1], now):
        return None
    if is_resolved(incident, now):
        return f"not sent: the incident was resolved at {stamp(incident.resolved_at or now)}"
    return f"not sent: the incident was acknowledged at {stamp(incident.acknowledged_at or now)}"


def quiet_note(held: Quiet, now: datetime) -> str:
    """The internal update that says why an incident is (or was) quiet; its first line identifies it."""
    if held.holds(now):
        ends = f"at {stamp(held.until)}" if held.until else "once someone sets it completed"
        return (
            f"Not paging: {held.reason}.\n"
            "The alerts' integrations do not page during maintenance (`page_during_maintenance: false`); "
            f"escalation starts when the window ends ({ends}) if the incident is still open."
        )
    assert held.until is not None
    return (
        f"Paging from {stamp(held.until)}: the maintenance ended and the incident is still open.\n"
        f"It was quiet because {held.reason}; its escalation rules count from the end of the window."
    )


def _noted(incident: Incident, text: str) -> bool:
    headline = text.split("\n", 1)[0]
    return any(u.author == RUNNER and u.body.split("\n", 1)[0] == headline for u in incident.updates)


def _plan(repo: StatusRepo, now: datetime, me: str, ledger: Ledger) -> _Plan:
    plan = _Plan(new=escalations(repo, now))
    for incident, held in quiet_incidents(repo, now):
        text = quiet_note(held, now)
        if not _noted(incident, text):
            plan.notes.append((incident.id, text))
    for incident in repo.incidents:
        for page in incident.pages:
            if page.state != "pending" or owner(incident, page.key) is not page:
                continue
            if page.by == me:
                if page.key in ledger.done:
                    plan.finished.append((incident.id, page.key))
                elif page.key not in ledger.results and (why := no_longer_due(repo, incident, page, now)):
                    plan.cancelled.append((incident.id, page.key, why))  # nothing of it went out yet
            elif (page.claimed_at or page.at) + CLAIM_LEASE <= now:
                plan.takeovers.append((incident.id, page.key))
    return plan


def _first(pages: CommentedSeq, key: str) -> CommentedMap:
    return next(p for p in pages if str(p.get("key")) == key)


def _write(clone: Clone, repo: StatusRepo, plan: _Plan, now: datetime, me: str, ledger: Ledger) -> list[str]:
    """Apply the plan to the incident files through tidings.edit; the paths changed."""
    touched: dict[str, list[str]] = {}
    for due in plan.new:
        touched.setdefault(due.incident, [])
    for incident_id, _ in plan.takeovers + plan.finished:
        touched.setdefault(incident_id, [])
    for incident_id, _, _ in plan.cancelled:
        touched.setdefault(incident_id, [])
    for incident_id, _ in plan.notes:
        touched.setdefault(incident_id, [])
    has_channels = bool(repo.notifications.channels)
    changed = []
    for incident_id in touched:
        incident = repo.get("incidents", incident_id)
        assert isinstance(incident, Incident)
        edit = read_editable(clone.root / incident.path, "incident")
        had_pages = "pages" in edit.data
        pages = edit.data.setdefault("pages", CommentedSeq())
        for due in plan.new:
            if due.incident == incident_id:
                pages.append(_new_page(due, now, me, has_channels))
        for owner_id, key in plan.takeovers:
            if owner_id == incident_id:
                page = _first(pages, key)
                log.warning("taking over page %s from %s (claimed %s)", key, page.get("by"), page.get("at"))
                page["by"] = me
                page["claimed_at"] = stamp(now)
        for owner_id, key in plan.finished:
            if owner_id == incident_id:
                _record_deliveries(_first(pages, key), ledger)
        for owner_id, key, why in plan.cancelled:
            if owner_id == incident_id:
                page = _first(pages, key)
                page["state"] = "cancelled"
                page["error"] = why
        for noted_id, text in plan.notes:
            if noted_id == incident_id:
                updates = edit.data.setdefault("updates", CommentedSeq())
                status = str(edit.data.get("status", incident.status))
                note = update_entry(stamp(now), status, block_text(text), internal=True, author=RUNNER)
                add_update(updates, note)
        if not pages and not had_pages:
            del edit.data["pages"]  # only a note: no empty `pages: []` left behind
        save(edit, incident.path)
        changed.append(incident.path)
    return changed


def _which(due: DuePage) -> str:
    step = f", step {due.step}" if due.step is not None and due.step > 1 else ""
    late = f", {late_text(due.late)} late" if due.late is not None else ""
    return f"{due.policy} rule {due.rule}, round {due.round}{step}{late}"


def _subject(plan: _Plan) -> str:
    if len(plan.new) == 1 and not plan.takeovers and not plan.finished and not plan.notes:
        due = plan.new[0]
        who = due.person or "nobody"
        return f"page {who} for incident {due.incident} ({_which(due)})"
    if plan.notes and not (plan.new or plan.takeovers or plan.finished or plan.cancelled):
        if len(plan.notes) == 1:
            incident_id, text = plan.notes[0]
            if text.startswith("Not paging"):
                return f"incident {incident_id} pages nobody during maintenance"
            return f"incident {incident_id} pages again: its maintenance ended"
        return f"maintenance notes for {len(plan.notes)} incidents"
    parts = []
    if plan.new:
        parts.append(f"{len(plan.new)} pages")
    if plan.notes:
        parts.append(f"{len(plan.notes)} maintenance notes")
    if plan.finished:
        parts.append(f"{len(plan.finished)} delivery results recorded")  # sent or failed: see the page
    if plan.takeovers:
        parts.append(f"{len(plan.takeovers)} taken over")
    if plan.cancelled:
        parts.append(f"{len(plan.cancelled)} cancelled")
    incidents = {d.incident for d in plan.new} | {i for i, _ in plan.takeovers + plan.finished}
    incidents |= {i for i, _, _ in plan.cancelled} | {i for i, _ in plan.notes}
    where = f"incident {next(iter(incidents))}" if len(incidents) == 1 else f"{len(incidents)} incidents"
    return f"escalation: {', '.join(parts)} for {where}"


def _commit(clone: Clone, changed: list[str], plan: _Plan, me: str) -> None:
    lines = [f"- page {d.person or 'nobody'} for {d.incident}: {_which(d)} ({d.key})" for d in plan.new]
    lines += [f"- {incident}: {text.split(chr(10), 1)[0]}" for incident, text in plan.notes]
    lines += [f"- deliveries of page {key} ({incident})" for incident, key in plan.finished]
    lines += [f"- took over page {key} ({incident})" for incident, key in plan.takeovers]
    lines += [f"- cancelled page {key} ({incident}): {why}" for incident, key, why in plan.cancelled]
    keys = [d.key for d in plan.new] + [k for _, k in plan.finished + plan.takeovers]
    keys += [k for _, k, _ in plan.cancelled]
    commit(
        clone.root,
        changed,
        f"runner: {_subject(plan)}",
        body="\n".join(lines),
        trailers={KEY_TRAILER: keys, RUNNER_TRAILER: me},
    )


def _held_by_remote(clone: Clone, rel: str, me: str) -> set[str]:
    """Keys of the pages in the remote's copy of an incident whose record names this runner."""
    text = clone.remote_text(rel)
    incident = parse_content(rel, text, clone.root).domain if text else None
    if not isinstance(incident, Incident):
        return set()
    return {page.key for page in incident.pages if page.by == me and owner(incident, page.key) is page}


def _record(
    clone: Clone, now: datetime, me: str, ledger: Ledger, result: TickResult
) -> tuple[StatusRepo | None, list[tuple[Incident, Page]]]:
    """Step 2 (and 4): write what is due and what was sent, commit, push; then what is ours to send."""
    with clone.lock:
        for _ in range(MAX_CONFLICT_RETRIES):
            clone.sync()
            apply_queued(clone)
            loaded = load(clone.root, alerts=False)
            if loaded.errors:
                result.blocked = f"the status repo has {len(loaded.errors)} errors; run 'tidings validate'"
                log.error("%s; not escalating until it is fixed", result.blocked)
                return None, []
            repo = loaded.repo
            plan = _plan(repo, now, me, ledger)
            if plan:
                changed = _write(clone, repo, plan, now, me, ledger)
                _commit(clone, changed, plan, me)
                for rel in changed:
                    repo = refresh_incident(repo, rel)
            published = clone.publish()
            if published is Published.CONFLICT:
                continue  # our commit is gone; plan again on the remote's files
            settle_queued(clone)
            if plan:
                result.recorded += plan.new
                result.taken_over += [key for _, key in plan.takeovers]
                result.cancelled += [key for _, key, _ in plan.cancelled]
                result.noted += [incident for incident, _ in plan.notes]
            break
        else:
            result.blocked = "the remote kept changing under us; trying again at the next tick"
            return None, []
        to_send, waiting = [], []
        held: dict[str, set[str]] = {}
        for incident in repo.incidents:
            for page in incident.pages:
                if page.state != "pending" or page.by != me or page.key in ledger.done:
                    continue
                if owner(incident, page.key) is not page:
                    continue
                if clone.pushing:
                    if incident.path not in held:
                        held[incident.path] = _held_by_remote(clone, incident.path, me)
                    # A remote that cannot be reached for a while must not silence paging (the
                    # remote may be what is down): the local commit is the record then, at the
                    # small risk of a second runner paging too.
                    overdue = published is Published.UNREACHABLE and now - page.at >= UNREACHABLE_GRACE
                    if page.key not in held[incident.path] and not overdue:
                        waiting.append(page.key)
                        continue
                to_send.append((incident, page))
        result.waiting = waiting
        return repo, to_send


# --- sending ---------------------------------------------------------------------------------------


def message_for(
    repo: StatusRepo, incident: Incident, page: Page, person: Person, at: datetime, secret: bytes | None
) -> Message:
    settings = repo.notifications
    policy = repo.get("policies", page.policy)
    link = None
    if secret and settings.runner_url and page.person:
        expires = at + timedelta(minutes=settings.ack_expires_minutes)
        link = ack_url(settings.runner_url, make_token(secret, incident.id, page.person, expires))
    return Message(
        key=page.key,
        at=at,
        site=repo.site.title,
        incident_id=incident.id,
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
        started_at=incident.started_at,
        components=dict(incident.components),
        policy_id=page.policy,
        policy_name=policy.name if isinstance(policy, Policy) else page.policy,
        round=page.round,
        rule=page.rule,
        schedule=page.schedule,
        person=person,
        ack_url=link,
        incident_url=urls.public_incident_url(repo.site, incident, incident.published),
        links=dict(labelled_links(incident.links)),  # link text -> URL
        step=page.step,
        due_at=page.due_at,
        late_minutes=page.late_minutes,
    )


def _send(
    repo: StatusRepo,
    to_send: list[tuple[Incident, Page]],
    ledger: Ledger,
    result: TickResult,
    sleep: Callable[[float], None],
    clock: Callable[[], datetime],
    env: Mapping[str, str] | None,
    sender: Sender | None,
    stopping: threading.Event | None = None,
) -> None:
    """Step 3: every channel of every page ours to send, each result in the ledger at once."""
    settings = repo.notifications
    secret = ack_secret(dict(env) if env is not None else None)
    for incident, page in to_send:
        person = repo.get("people", str(page.person))
        if not isinstance(person, Person):
            ledger.add({"key": page.key, "complete": True, "error": f"unknown person '{page.person}'"})
            continue
        if not settings.channels:
            ledger.add(
                {"key": page.key, "complete": True, "error": "no channels in .gitlab/notifications.yml"}
            )
            continue
        # A contact step sends on its own channels (recorded with it); a page without names every one.
        channels = [c for c in settings.channels if not page.channels or c.id in page.channels]
        gone = [c for c in page.channels if c not in {known.id for known in settings.channels}]
        missing = {"error": f"no channel {', '.join(gone)} in .gitlab/notifications.yml"} if gone else {}
        if not channels:
            ledger.add({"key": page.key, "complete": True, **missing})
            continue
        message = message_for(repo, incident, page, person, clock(), secret)
        for channel in channels:
            if channel.id in ledger.results.get(page.key, {}):
                continue  # sent before a crash; only the remaining channels go out
            if stopping is not None and stopping.is_set():
                raise Stopping
            allowed = networks(settings.allow_networks)
            attempted = deliver(channel, message, settings.retry, sleep, clock, env, sender, allowed)
            ledger.add({"key": page.key, "channel": channel.id, "at": stamp(clock()), **vars(attempted)})
            delivered = Delivered(page.key, incident.id, page.person, channel.id, **vars(attempted))
            result.deliveries.append(delivered)
        ledger.add({"key": page.key, "complete": True, **missing})


class Stopping(Exception):
    """A graceful stop came while a page waited to be tried again: leave it for the next start."""


def tick(
    clone: Clone,
    now: datetime,
    sleep: Callable[[float], None] = time.sleep,
    env: Mapping[str, str] | None = None,
    sender: Sender | None = None,
    stopping: threading.Event | None = None,
) -> TickResult:
    """One escalation tick at `now` (record, send, record); safe to run twice or at once.

    `stopping` (set by a graceful stop of `runner serve`): no further send is begun and a retry's
    wait ends at once. What is left is recorded as pending and ours, so the next start sends it
    with the same key (the crash case "between 2 and 3" above), and the stop stays bounded even
    with hundreds of pages to channels that time out."""
    started = time.monotonic()
    if stopping is not None:

        def sleep(seconds: float) -> None:
            if stopping.wait(seconds):
                raise Stopping

    def clock() -> datetime:  # the tick's time: `now`, moved on by the real time the tick takes
        return now + timedelta(seconds=time.monotonic() - started)

    result = TickResult()
    with tick_lock(clone.state):
        me = runner_id(clone.state)
        ledger = Ledger(clone.state)
        for _ in range(MAX_PASSES):
            if stopping is not None and stopping.is_set():
                break
            repo, to_send = _record(clone, now, me, ledger, result)
            if repo is None or not to_send:
                break
            try:
                _send(repo, to_send, ledger, result, sleep, clock, env, sender, stopping)
            except Stopping:
                break
    return result


def tick_root(
    root: Path, now: datetime, do_push: bool = True, state: Path | None = None, **options: Any
) -> TickResult:
    """`tidings runner tick ROOT`: a tick on a clone of its own (no alert worker beside it)."""
    return tick(Clone.open(Path(root), do_push, state), now, **options)

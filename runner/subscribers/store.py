"""The subscriber database: SQLite in the runner's state folder, in WAL mode.

Subscribers are personal data, so they live here and nowhere else: never in the status repo, a
build, a log line (subscribers are named by id in logs) or /metrics. The file is created readable
by its owner only.

Exactly once rests on three transactions:
- the public updates found in a run of commits are recorded together with the commit reached, so a
  crash either keeps both or neither, and a commit's updates are found once;
- a released update's outbox rows, one for each subscriber it concerns, are written in one
  statement before any is sent;
- a row is marked sent right after the SMTP server or the webhook accepted it (one commit a row).
What a kill -9 can leave is a message accepted in the instant before its row was marked: it goes
again, with the same Message-ID and Idempotency-Key, so the receiver sees the same message.

Backup: `tidings subscribers backup FILE` (SQLite's online backup) while the runner runs.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FILENAME = "subscribers.sqlite3"
SCHEMA_VERSION = "1"
BUSY_MS = 10_000
# How many opt-in messages one address may be sent a day, whoever asks (a form flood aimed at
# someone's inbox stops there, silently: the answer stays the same).
REQUESTS_PER_ADDRESS_PER_DAY = 3
DAY = 86_400.0
KEEP_DEPLOYS = 20

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subscribers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),
  address TEXT NOT NULL,
  every INTEGER NOT NULL DEFAULT 1,
  token TEXT NOT NULL,
  secret TEXT,
  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'suspended')),
  failures INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at REAL NOT NULL,
  confirmed_at REAL NOT NULL,
  suspended_at REAL,
  UNIQUE (kind, address)
);
CREATE TABLE IF NOT EXISTS subscriber_components (
  component TEXT NOT NULL,
  subscriber INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
  PRIMARY KEY (component, subscriber)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS subscriber_components_by_subscriber ON subscriber_components(subscriber);
CREATE TABLE IF NOT EXISTS requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  address TEXT NOT NULL,
  components TEXT NOT NULL,
  nonce TEXT NOT NULL,
  secret TEXT,
  created_at REAL NOT NULL,
  expires_at REAL NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'confirmed', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at REAL NOT NULL DEFAULT 0,
  error TEXT
);
CREATE INDEX IF NOT EXISTS requests_by_address ON requests(kind, address);
CREATE TABLE IF NOT EXISTS updates (
  key TEXT PRIMARY KEY,
  item TEXT NOT NULL,
  event TEXT NOT NULL,
  commit_sha TEXT NOT NULL,
  components TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'released', 'dropped')),
  found_at REAL NOT NULL,
  released_at REAL,
  queued INTEGER
);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY,
  update_key TEXT NOT NULL REFERENCES updates(key),
  subscriber INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'skipped')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at REAL NOT NULL DEFAULT 0,
  sent_at REAL,
  error TEXT,
  UNIQUE (update_key, subscriber)
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_by_subscriber ON outbox(subscriber);
"""


@dataclass(frozen=True)
class Subscriber:
    id: int
    kind: str  # email, webhook
    address: str
    components: tuple[str, ...]  # empty: every component
    token: str  # the capability in unsubscribe and manage links
    secret: str | None  # a webhook's signing secret
    state: str
    failures: int
    created_at: float
    confirmed_at: float


@dataclass(frozen=True)
class Request:
    """An opt-in waiting for its confirmation (a mail's link, a webhook's echoed challenge)."""

    id: int
    kind: str
    address: str
    components: tuple[str, ...]
    nonce: str
    secret: str | None
    created_at: float
    expires_at: float
    state: str
    attempts: int


@dataclass(frozen=True)
class Update:
    """A public update found on the branch: what every notification of it says (`payload`)."""

    key: str
    item: str
    event: str
    commit: str
    components: tuple[str, ...]
    payload: dict[str, Any]
    found_at: float
    state: str = "held"


@dataclass(frozen=True)
class Due:
    """An outbox row due for sending, with its subscriber."""

    id: int
    update_key: str
    attempts: int
    subscriber: Subscriber


def new_token() -> str:
    return secrets.token_urlsafe(16)


class Store:
    """The database at `path`; each thread gets a connection of its own."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Created private before SQLite opens it: it holds people's addresses.
            path.touch(mode=0o600)
        self.db.executescript(SCHEMA)  # its own transaction (executescript commits first)
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            db.execute("INSERT OR IGNORE INTO meta VALUES ('key', ?)", (secrets.token_hex(32),))

    @classmethod
    def open(cls, state: Path) -> Store:
        return cls(state / FILENAME)

    @property
    def db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit is written to the WAL before it returns (a kill -9 keeps
            # it); only a power cut may lose the last commits, and then the mark goes back with them.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on an exception)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # --- meta -------------------------------------------------------------------------------------

    def meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_meta(self, name: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    @property
    def key(self) -> bytes:
        """The key confirmation links are signed with (made once, kept with the data it protects)."""
        return bytes.fromhex(self.meta("key") or "")

    def deployed(self) -> list[str]:
        """The commits the pages job reported deployed, newest first."""
        return list(json.loads(self.meta("deployed") or "[]"))

    def add_deployed(self, commit: str) -> None:
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE name = 'deployed'").fetchone()
            known = [c for c in json.loads(row[0] if row else "[]") if c != commit]
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('deployed', ?)",
                (json.dumps([commit, *known][:KEEP_DEPLOYS]),),
            )

    # --- opt-in requests --------------------------------------------------------------------------

    def add_request(
        self,
        kind: str,
        address: str,
        components: Iterable[str],
        now: float,
        expires_at: float,
        secret: str | None = None,
    ) -> Request | None:
        """A new opt-in to send; None when the address had its share of them today."""
        comps = sorted(set(components))
        with self.transaction() as db:
            (recent,) = db.execute(
                "SELECT count(*) FROM requests WHERE kind = ? AND address = ? AND created_at > ?",
                (kind, address, now - DAY),
            ).fetchone()
            if recent >= REQUESTS_PER_ADDRESS_PER_DAY:
                return None
            nonce = new_token()
            cursor = db.execute(
                "INSERT INTO requests (kind, address, components, nonce, secret, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, address, json.dumps(comps), nonce, secret, now, expires_at),
            )
            request_id = int(cursor.lastrowid or 0)
        return Request(request_id, kind, address, tuple(comps), nonce, secret, now, expires_at, "queued", 0)

    def request(self, request_id: int) -> Request | None:
        row = self.db.execute(
            "SELECT id, kind, address, components, nonce, secret, created_at, expires_at, state, attempts"
            " FROM requests WHERE id = ?",
            (request_id,),
        ).fetchone()
        return _request(row) if row else None

    def due_requests(self, now: float, limit: int = 100) -> list[Request]:
        rows = self.db.execute(
            "SELECT id, kind, address, components, nonce, secret, created_at, expires_at, state, attempts"
            " FROM requests WHERE state = 'queued' AND next_at <= ? AND expires_at > ? ORDER BY id LIMIT ?",
            (now, now, limit),
        ).fetchall()
        return [_request(r) for r in rows]

    def request_done(self, request_id: int, state: str, error: str | None = None) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE requests SET state = ?, error = ?, attempts = attempts + 1 WHERE id = ?",
                (state, error, request_id),
            )

    def request_retry(self, request_id: int, next_at: float, error: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE requests SET attempts = attempts + 1, next_at = ?, error = ? WHERE id = ?",
                (next_at, error, request_id),
            )

    def confirm(self, request_id: int, nonce: str, now: float) -> Subscriber | None:
        """Make the request's subscriber (or update the one with its address); None when the
        request is gone, expired, already used or the nonce is wrong."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT kind, address, components, nonce, secret, expires_at, state FROM requests"
                " WHERE id = ?",
                (request_id,),
            ).fetchone()
            if row is None:
                return None
            kind, address, components, stored_nonce, secret, expires_at, state = row
            if not secrets.compare_digest(stored_nonce, nonce) or expires_at <= now or state == "confirmed":
                return None
            comps = tuple(json.loads(components))
            found = db.execute("SELECT id FROM subscribers WHERE kind = ? AND address = ?", (kind, address))
            existing = found.fetchone()
            if existing:
                subscriber_id = int(existing[0])
                db.execute(
                    "UPDATE subscribers SET every = ?, state = 'active', failures = 0, last_error = NULL,"
                    " suspended_at = NULL, confirmed_at = ?, secret = coalesce(?, secret) WHERE id = ?",
                    (0 if comps else 1, now, secret, subscriber_id),
                )
                db.execute("DELETE FROM subscriber_components WHERE subscriber = ?", (subscriber_id,))
            else:
                cursor = db.execute(
                    "INSERT INTO subscribers (kind, address, every, token, secret, created_at, confirmed_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (kind, address, 0 if comps else 1, new_token(), secret, now, now),
                )
                subscriber_id = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT INTO subscriber_components VALUES (?, ?)", [(c, subscriber_id) for c in comps]
            )
            # Kept until it ages out, so the address's daily allowance still counts it; the secret goes.
            db.execute("UPDATE requests SET state = 'confirmed', secret = NULL WHERE id = ?", (request_id,))
        return self.subscriber(subscriber_id)

    def purge(self, now: float) -> int:
        """Forget opt-ins that expired and have aged out of the daily allowance."""
        with self.transaction() as db:
            cursor = db.execute(
                "DELETE FROM requests WHERE expires_at <= ? AND created_at <= ?", (now, now - DAY)
            )
            return cursor.rowcount

    # --- subscribers ------------------------------------------------------------------------------

    def subscriber(self, subscriber_id: int) -> Subscriber | None:
        row = self.db.execute(f"{_SUBSCRIBER} WHERE id = ?", (subscriber_id,)).fetchone()
        return self._subscriber(row) if row else None

    def _subscriber(self, row: tuple[Any, ...]) -> Subscriber:
        comps = self.db.execute(
            "SELECT component FROM subscriber_components WHERE subscriber = ? ORDER BY component", (row[0],)
        ).fetchall()
        return Subscriber(
            id=row[0],
            kind=row[1],
            address=row[2],
            components=() if row[3] else tuple(c for (c,) in comps),
            token=row[4],
            secret=row[5],
            state=row[6],
            failures=row[7],
            created_at=row[8],
            confirmed_at=row[9],
        )

    def by_token(self, subscriber_id: int, token: str) -> Subscriber | None:
        found = self.subscriber(subscriber_id)
        if found is None or not secrets.compare_digest(found.token, token):
            return None
        return found

    def subscribers(self) -> list[Subscriber]:
        return [self._subscriber(r) for r in self.db.execute(f"{_SUBSCRIBER} ORDER BY id").fetchall()]

    def set_components(self, subscriber_id: int, components: Iterable[str]) -> None:
        comps = sorted(set(components))
        with self.transaction() as db:
            db.execute("UPDATE subscribers SET every = ? WHERE id = ?", (0 if comps else 1, subscriber_id))
            db.execute("DELETE FROM subscriber_components WHERE subscriber = ?", (subscriber_id,))
            db.executemany(
                "INSERT INTO subscriber_components VALUES (?, ?)", [(c, subscriber_id) for c in comps]
            )

    def remove(self, subscriber_id: int) -> None:
        """Unsubscribe: the subscriber, its components and its deliveries are deleted."""
        with self.transaction() as db:
            db.execute("DELETE FROM subscribers WHERE id = ?", (subscriber_id,))

    def add_subscribers(self, rows: Iterable[tuple[str, str, Iterable[str]]], now: float) -> int:
        """Confirmed subscribers (kind, address, components) at once: for restores, tests and benchmarks."""
        count = 0
        with self.transaction() as db:
            for kind, address, components in rows:
                comps = sorted(set(components))
                cursor = db.execute(
                    "INSERT INTO subscribers (kind, address, every, token, secret, created_at, confirmed_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (kind, address, 0 if comps else 1, new_token(),
                     secrets.token_urlsafe(32) if kind == "webhook" else None, now, now),
                )  # fmt: skip
                db.executemany(
                    "INSERT INTO subscriber_components VALUES (?, ?)", [(c, cursor.lastrowid) for c in comps]
                )
                count += 1
        return count

    # --- public updates and the outbox ------------------------------------------------------------

    def record(self, updates: Iterable[Update], branch: str) -> int:
        """The updates found up to commit `branch`, and that commit, in one transaction."""
        added = 0
        with self.transaction() as db:
            for u in updates:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO updates"
                    " (key, item, event, commit_sha, components, payload, found_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (u.key, u.item, u.event, u.commit, json.dumps(list(u.components)),
                     json.dumps(u.payload, sort_keys=True), u.found_at),
                )  # fmt: skip
                added += cursor.rowcount
            db.execute("INSERT OR REPLACE INTO meta VALUES ('branch', ?)", (branch,))
        return added

    def held(self) -> list[Update]:
        rows = self.db.execute(
            "SELECT key, item, event, commit_sha, components, payload, found_at, state FROM updates"
            " WHERE state = 'held' ORDER BY found_at, rowid"
        ).fetchall()
        return [
            Update(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), json.loads(r[5]), r[6], r[7])
            for r in rows
        ]

    def update_payload(self, key: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT payload FROM updates WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def release(self, key: str, components: Iterable[str], now: float) -> int:
        """Queue the update for every active subscriber it concerns (one row each), all at once."""
        comps = sorted(set(components))
        marks = ", ".join("?" for _ in comps)
        concerns = (
            "(s.every = 1 OR s.id IN (SELECT subscriber FROM subscriber_components"
            f" WHERE component IN ({marks})))"
            if comps
            else "s.every = 1"
        )
        with self.transaction() as db:
            state = db.execute("SELECT state FROM updates WHERE key = ?", (key,)).fetchone()
            if state is None or state[0] != "held":
                return 0
            cursor = db.execute(
                "INSERT OR IGNORE INTO outbox (update_key, subscriber, next_at)"
                f" SELECT ?, s.id, ? FROM subscribers s WHERE s.state = 'active' AND {concerns}"
                " ORDER BY s.id",
                (key, now, *comps),
            )
            queued = cursor.rowcount
            db.execute(
                "UPDATE updates SET state = 'released', released_at = ?, queued = ? WHERE key = ?",
                (now, queued, key),
            )
        return queued

    def drop(self, key: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE updates SET state = 'dropped' WHERE key = ? AND state = 'held'", (key,))

    def due(self, now: float, after: int = 0, limit: int = 500) -> list[Due]:
        rows = self.db.execute(
            "SELECT o.id, o.update_key, o.attempts, s.id, s.kind, s.address, s.every, s.token, s.secret,"
            " s.state, s.failures, s.created_at, s.confirmed_at"
            " FROM outbox o JOIN subscribers s ON s.id = o.subscriber"
            " WHERE o.state = 'pending' AND o.next_at <= ? AND o.id > ? ORDER BY o.id LIMIT ?",
            (now, after, limit),
        ).fetchall()
        # Components are not needed to send (the row was queued for them): left empty here.
        return [
            Due(r[0], r[1], r[2], Subscriber(r[3], r[4], r[5], (), r[7], r[8], r[9], r[10], r[11], r[12]))
            for r in rows
        ]

    def sent(self, due: Due, now: float) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, error = NULL"
                " WHERE id = ?",
                (now, due.id),
            )
            if due.subscriber.failures:
                db.execute("UPDATE subscribers SET failures = 0 WHERE id = ?", (due.subscriber.id,))

    def retry(self, due: Due, next_at: float, error: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, error = ? WHERE id = ?",
                (next_at, error, due.id),
            )

    def failed(self, due: Due, error: str, counts: bool, suspend_after: int, now: float) -> bool:
        """The row failed for good; when it `counts` against its subscriber and that makes
        `suspend_after` in a row, the subscriber is suspended (True) and its other rows skipped."""
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, error = ? WHERE id = ?",
                (error, due.id),
            )
            if not counts:
                return False
            db.execute(
                "UPDATE subscribers SET failures = failures + 1, last_error = ? WHERE id = ?",
                (error, due.subscriber.id),
            )
            (failures,) = db.execute(
                "SELECT failures FROM subscribers WHERE id = ?", (due.subscriber.id,)
            ).fetchone()
            if failures < suspend_after:
                return False
            db.execute(
                "UPDATE subscribers SET state = 'suspended', suspended_at = ? WHERE id = ?",
                (now, due.subscriber.id),
            )
            db.execute(
                "UPDATE outbox SET state = 'skipped', error = 'subscriber suspended'"
                " WHERE subscriber = ? AND state = 'pending'",
                (due.subscriber.id,),
            )
        return True

    def pending(self) -> int:
        (n,) = self.db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()
        return int(n)

    # --- for people: counts, data requests, backups -----------------------------------------------

    def counts(self) -> dict[str, Any]:
        """Figures without a single address: subscribers by state and by component, the outbox."""
        db = self.db
        by_state = dict(db.execute("SELECT state, count(*) FROM subscribers GROUP BY state").fetchall())
        (every,) = db.execute(
            "SELECT count(*) FROM subscribers WHERE state = 'active' AND every = 1"
        ).fetchone()
        components = dict(
            db.execute(
                "SELECT c.component, count(*) FROM subscriber_components c JOIN subscribers s"
                " ON s.id = c.subscriber WHERE s.state = 'active' GROUP BY c.component ORDER BY c.component"
            ).fetchall()
        )
        (waiting,) = db.execute("SELECT count(*) FROM requests WHERE state IN ('queued', 'sent')").fetchone()
        deliveries = dict(db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
        updates = dict(db.execute("SELECT state, count(*) FROM updates GROUP BY state").fetchall())
        return {
            "active": by_state.get("active", 0),
            "suspended": by_state.get("suspended", 0),
            "waiting_for_confirmation": waiting,
            "all_components": every,
            "components": components,
            "deliveries": {s: deliveries.get(s, 0) for s in ("pending", "sent", "failed", "skipped")},
            "updates": {s: updates.get(s, 0) for s in ("held", "released", "dropped")},
        }

    def export(self, address: str) -> dict[str, Any]:
        """Everything stored about one address, for a data-subject request."""
        db = self.db
        out: dict[str, Any] = {"address": address, "subscriptions": [], "requests": []}
        for row in db.execute(f"{_SUBSCRIBER} WHERE address = ?", (address,)).fetchall():
            s = self._subscriber(row)
            full = db.execute(
                "SELECT last_error, suspended_at FROM subscribers WHERE id = ?", (s.id,)
            ).fetchone()
            deliveries = db.execute(
                "SELECT u.item, u.event, o.state, o.attempts, o.sent_at, o.error FROM outbox o"
                " JOIN updates u ON u.key = o.update_key WHERE o.subscriber = ? ORDER BY o.id",
                (s.id,),
            ).fetchall()
            out["subscriptions"].append(
                {
                    "kind": s.kind,
                    "components": list(s.components) or "all",
                    "state": s.state,
                    "created_at": s.created_at,
                    "confirmed_at": s.confirmed_at,
                    "suspended_at": full[1],
                    "consecutive_failures": s.failures,
                    "last_error": full[0],
                    "deliveries": [
                        {
                            "item": d[0],
                            "event": d[1],
                            "state": d[2],
                            "attempts": d[3],
                            "sent_at": d[4],
                            "error": d[5],
                        }
                        for d in deliveries
                    ],
                }
            )
        for r in db.execute(
            "SELECT kind, components, created_at, expires_at, state FROM requests WHERE address = ?"
            " ORDER BY id",
            (address,),
        ).fetchall():
            out["requests"].append(
                {"kind": r[0], "components": json.loads(r[1]) or "all", "created_at": r[2],
                 "expires_at": r[3], "state": r[4]}
            )  # fmt: skip
        return out

    def delete(self, address: str) -> tuple[int, int]:
        """Delete every subscription and opt-in of `address` (deliveries go with them)."""
        with self.transaction() as db:
            subs = db.execute("DELETE FROM subscribers WHERE address = ?", (address,)).rowcount
            reqs = db.execute("DELETE FROM requests WHERE address = ?", (address,)).rowcount
        return subs, reqs

    def backup(self, target: Path) -> None:
        """A consistent copy of the database at `target` (made private), while the runner runs."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        target.touch(mode=0o600)
        copy = sqlite3.connect(target)
        try:
            self.db.backup(copy)
        finally:
            copy.close()


_SUBSCRIBER = (
    "SELECT id, kind, address, every, token, secret, state, failures, created_at, confirmed_at"
    " FROM subscribers"
)


def _request(row: tuple[Any, ...]) -> Request:
    return Request(
        id=row[0],
        kind=row[1],
        address=row[2],
        components=tuple(json.loads(row[3])),
        nonce=row[4],
        secret=row[5],
        created_at=row[6],
        expires_at=row[7],
        state=row[8],
        attempts=row[9],
    )

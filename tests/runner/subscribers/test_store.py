"""The subscriber database: private, WAL, updates queued once, suspension, data requests, backups."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from tidings.runner.subscribers.store import Store, Update

NOW = 1_800_000_000.0


def update(key: str, components: tuple[str, ...] = ("api",)) -> Update:
    payload = {"event": "update", "id": "x", "title": "T", "status": "identified", "update": None}
    return Update(key, "x", "update", "c0ffee", components, payload, NOW)


def test_the_database_is_private_and_in_wal_mode(state: Path) -> None:
    store = Store.open(state)
    path = state / "subscribers.sqlite3"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert len(store.key) == 32 and Store.open(state).key == store.key  # made once, kept


def test_an_update_is_queued_once_for_the_subscribers_it_concerns(state: Path) -> None:
    store = Store.open(state)
    store.add_subscribers(
        [("email", "all@example.com", []), ("email", "api@example.com", ["api"]),
         ("email", "web@example.com", ["web"]), ("webhook", "https://hooks.example.com/x", ["web", "api"])],
        NOW,
    )  # fmt: skip
    assert store.record([update("k1"), update("k2", ())], "abc") == 2
    assert store.meta("branch") == "abc"  # with the commit reached, in the same transaction
    assert store.record([update("k1")], "def") == 0  # found again (a rewound mark): not twice
    assert store.release("k1", ("api",), NOW) == 3
    assert store.release("k1", ("api",), NOW) == 0  # released already
    assert store.release("k2", (), NOW) == 1  # no components: those who want every one
    queued = sorted((d.update_key, d.subscriber.address) for d in store.due(NOW))
    assert queued == [
        ("k1", "all@example.com"), ("k1", "api@example.com"), ("k1", "https://hooks.example.com/x"),
        ("k2", "all@example.com"),
    ]  # fmt: skip


def test_failures_that_count_suspend_after_the_limit_and_a_success_starts_again(state: Path) -> None:
    store = Store.open(state)
    store.add_subscribers([("email", "bob@example.com", [])], NOW)
    store.record([update(f"k{n}", ()) for n in range(6)], "abc")
    for n in range(6):
        store.release(f"k{n}", (), NOW)
    rows = store.due(NOW)
    assert not store.failed(rows[0], "SMTP 550 no such user", True, 2, NOW)
    store.sent(store.due(NOW)[0], NOW)  # a success: the count starts again
    assert not store.failed(store.due(NOW)[0], "SMTP 550", True, 2, NOW)
    assert not store.failed(store.due(NOW)[0], "SMTP 554 relay says no", False, 2, NOW)  # not theirs
    assert store.failed(store.due(NOW)[0], "SMTP 550", True, 2, NOW)  # two in a row: suspended
    assert store.due(NOW) == []  # its last row is skipped
    counts = store.counts()
    assert counts["active"] == 0 and counts["suspended"] == 1
    assert counts["deliveries"] == {"pending": 0, "sent": 1, "failed": 4, "skipped": 1}


def test_counts_export_delete_and_backup(state: Path, tmp_path: Path) -> None:
    store = Store.open(state)
    store.add_subscribers(
        [("email", "ann@example.com", ["api", "web"]), ("email", "bob@example.com", [])], NOW
    )
    store.add_request("email", "ann@example.com", ["api"], NOW, NOW + 60)
    assert store.counts()["components"] == {"api": 1, "web": 1}
    assert store.counts()["all_components"] == 1
    assert "ann@example.com" not in str(store.counts())

    exported = store.export("ann@example.com")
    assert exported["subscriptions"][0]["components"] == ["api", "web"]
    assert exported["requests"][0]["components"] == ["api"]

    store.backup(tmp_path / "backup.sqlite3")
    assert stat.S_IMODE((tmp_path / "backup.sqlite3").stat().st_mode) == 0o600
    assert store.delete("ann@example.com") == (1, 1)
    assert store.export("ann@example.com") == {
        "address": "ann@example.com",
        "subscriptions": [],
        "requests": [],
    }
    copy = sqlite3.connect(tmp_path / "backup.sqlite3")
    assert copy.execute("SELECT count(*) FROM subscribers").fetchone() == (2,)


def test_an_address_gets_three_opt_in_messages_a_day(state: Path) -> None:
    store = Store.open(state)
    made = [store.add_request("email", "ann@example.com", [], NOW + n, NOW + 3600) for n in range(4)]
    assert [m is not None for m in made] == [True, True, True, False]
    assert store.add_request("email", "ann@example.com", [], NOW + 86_401, NOW + 90_000) is not None

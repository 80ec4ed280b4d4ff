"""`tidings subscribers list|export|delete|count|backup` on the runner's state folder."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tidings.cli.main import main
from tidings.runner.subscribers.store import Store


@pytest.fixture
def repo(make_repo, tmp_path: Path) -> Path:
    root = make_repo()
    store = Store.open(tmp_path / "state")
    store.add_subscribers(
        [("email", "ann@example.com", ["api"]), ("webhook", "https://hooks.example.com/x", [])], 1_800_000_000
    )
    store.add_request("email", "ann@example.com", ["web"], 1_800_000_000, 1_800_003_600)
    return root


def run(repo: Path, *args: str) -> Result:
    state = str(repo.parent / "state")
    return CliRunner().invoke(
        main, ["subscribers", *args, str(repo), "--state-dir", state], prog_name="tidings"
    )


def test_list_and_count(repo: Path) -> None:
    listed = run(repo, "list")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines() == [
        "1  email    ann@example.com  active  api  confirmed 2027-01-15 08:00 UTC",
        "2  webhook  https://hooks.example.com/x  active  every component  confirmed 2027-01-15 08:00 UTC",
    ]
    as_json = json.loads(run(repo, "list", "--format", "json").stdout)
    assert [s["address"] for s in as_json] == ["ann@example.com", "https://hooks.example.com/x"]
    counted = run(repo, "count")
    assert counted.stdout.splitlines()[:3] == [
        "active 2, suspended 0, waiting for confirmation 1",
        "every component: 1",
        "api: 1",
    ]


def test_export_and_delete_one_address_for_a_data_subject(repo: Path) -> None:
    exported = json.loads(run(repo, "export", "Ann@Example.com").stdout)
    assert exported["address"] == "ann@example.com"
    assert [s["components"] for s in exported["subscriptions"]] == [["api"]]
    assert [r["components"] for r in exported["requests"]] == [["web"]]
    deleted = run(repo, "delete", "ann@example.com")
    assert (
        deleted.exit_code == 0
        and deleted.stdout == "deleted 1 subscription(s) and 1 opt-in(s) of ann@example.com\n"
    )
    assert json.loads(run(repo, "export", "ann@example.com").stdout)["subscriptions"] == []
    assert "ann@example.com" not in run(repo, "list").stdout
    assert run(repo, "delete", "ann@example.com").stdout == "nothing stored for ann@example.com\n"


def test_backup_is_a_private_consistent_copy(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "backups" / "subscribers.sqlite3"
    done = run(repo, "backup", str(target))
    assert done.exit_code == 0 and done.stdout == f"2 subscriber(s) backed up to {target}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sqlite3.connect(target).execute("SELECT count(*) FROM subscribers").fetchone() == (2,)


def test_without_a_database_it_says_where_it_looked(make_repo, tmp_path: Path) -> None:
    root = make_repo()
    result = CliRunner().invoke(
        main, ["subscribers", "count", str(root), "--state-dir", str(tmp_path / "none")]
    )
    assert result.exit_code == 1
    assert "no subscriber database in" in result.output and "--public-port" in result.output
    assert not (tmp_path / "none").exists()  # looking creates nothing

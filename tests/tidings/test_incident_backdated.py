"""Backdated updates, as GitLab's timeline events have `occurred_at`: `tidings incident update|resolve
--at TIME` and the quick action `/at TIME`, on a real repo (the demo, committed) with the real
commands. The update goes into the timeline in time order and takes the status the incident had
then; what cannot be (the future, before the start, a status change under later updates) is refused
with the reason and writes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tidings.cli.main import main
from tidings.content.load import load
from tidings.content.model import Incident
from tidings.ops.quick_actions import parse_time

from ..conftest import PROJECT_ROOT

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
# demo: investigating, started 2026-11-24T01:41:00Z, one internal update at 01:41:30Z by the runner
LAG = "2026-11-24-postgres-replica-lag"
LAG_REL = f"content/incidents/{LAG}.md"
FIRED = "Alert PostgresReplicationLagHigh fired for db-cluster-07 (replication lag 94 s)."
S = "identified"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "status"
    root.mkdir()
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.name", "Amara Okafor")
    _git(root, "config", "user.email", "amara.okafor@example.com")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "Start")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(NOW.timestamp())))
    return root


def tidings(root: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, str(root)], catch_exceptions=False)


def incident(root: Path) -> Incident:
    result = load(root)
    assert [d.as_text() for d in result.errors] == []
    found = result.repo.get("incidents", LAG)
    assert isinstance(found, Incident)
    return found


def timeline(root: Path) -> list[tuple[str, str, str]]:
    updates = incident(root).updates
    return [(u.at.astimezone(UTC).strftime("%H:%M"), u.status, u.body.strip()) for u in updates]


def ok(result: Result) -> None:
    assert result.exit_code == 0, result.output


def test_an_update_with_at_goes_into_the_timeline_in_time_order_with_the_status_of_then(repo: Path) -> None:
    ok(tidings(repo, "incident", "update", LAG, "--body", "Failing over to the standby.", "--status", S))
    ok(
        tidings(
            repo,
            "incident",
            "update",
            LAG,
            "--body",
            "The replica stopped replaying WAL.",
            "--at",
            "2026-11-24T03:00:00+01:00",
        )
    )
    assert timeline(repo) == [
        ("01:41", "investigating", FIRED),
        ("02:00", "investigating", "The replica stopped replaying WAL."),  # not identified: that came later
        ("09:30", "identified", "Failing over to the standby."),
    ]
    assert incident(repo).status == "identified"  # the last update's, unchanged
    message = _git(repo, "log", "-1", "--format=%B")
    assert "- update added (investigating)\n- dated 2026-11-24T02:00:00Z\n" in message
    assert "Tidings-Person: amara" in message
    text = (repo / LAG_REL).read_text()
    assert text.index("at: 2026-11-24T02:00:00Z") < text.index("at: 2026-11-24T09:30:00Z")


def test_slash_at_in_the_text_takes_a_time_of_day_in_the_site_s_timezone(repo: Path) -> None:
    """`/at 09:12` is 09:12 today in Europe/Berlin (the demo's site timezone): 08:12Z."""
    ok(tidings(repo, "incident", "update", LAG, "--body", "Lag is back under a second.\n/at 09:12"))
    last = incident(repo).updates[-1]
    assert last.at == datetime(2026, 11, 24, 8, 12, tzinfo=UTC)
    assert last.body.strip() == "Lag is back under a second."  # the /at line is not stored
    assert "/at" not in (repo / LAG_REL).read_text()
    assert "- dated 2026-11-24T08:12:00Z\n" in _git(repo, "log", "-1", "--format=%B")
    # An offset works the same way.
    ok(tidings(repo, "incident", "update", LAG, "--body", "First look.\n/at 2026-11-24T02:45:00+01:00"))
    assert timeline(repo)[1] == ("01:45", "investigating", "First look.")


def test_a_status_change_dated_after_everything_is_the_new_status(repo: Path) -> None:
    ok(tidings(repo, "incident", "update", LAG, "--body", "Found it.", "--status", S, "--at", "05:00"))
    assert incident(repo).status == "identified"
    assert timeline(repo)[-1] == ("04:00", "identified", "Found it.")


def test_resolve_at_dates_the_resolution(repo: Path) -> None:
    ok(tidings(repo, "incident", "update", LAG, "--body", "Rebuilding the replica.", "--at", "04:00"))
    resolved = ["--body", "The replica caught up.", "--at", "2026-11-24T06:10:00Z"]
    ok(tidings(repo, "incident", "resolve", LAG, *resolved))
    found = incident(repo)
    assert (found.status, found.resolved_at) == ("resolved", datetime(2026, 11, 24, 6, 10, tzinfo=UTC))
    assert timeline(repo)[-1] == ("06:10", "resolved", "The replica caught up.")
    # A later update that goes before the resolution keeps the status the incident had then.
    ok(tidings(repo, "incident", "update", LAG, "--body", "Replay resumed.", "--at", "2026-11-24T05:00:00Z"))
    assert [t for t, _, _ in timeline(repo)] == ["01:41", "03:00", "05:00", "06:10"]
    assert timeline(repo)[2] == ("05:00", "investigating", "Replay resumed.")
    assert incident(repo).status == "resolved"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--body", "Later.", "--at", "2026-11-24T10:00:00Z"],
            "Error: cannot date an update 2026-11-24T10:00:00Z: that is in the future "
            "(it is 2026-11-24T09:30:00Z)",
        ),
        (
            ["--body", "Early.", "--at", "2026-11-24T00:30:00Z"],
            "Error: cannot date an update 2026-11-24T00:30:00Z: "
            f"incident {LAG} started at 2026-11-24T01:41:00Z\n"
            f"hint: if it began earlier, move its start: tidings incident set {LAG} --started-at TIME",
        ),
        (
            ["--body", "Twice.\n/at 03:00", "--at", "2026-11-24T02:10:00Z"],
            "Error: /at 03:00: the update's time is given twice (once is enough)",
        ),
        (["--body", "Two.\n/at 03:00\n/at 04:00"], "line 3: /at: a second /at; an update happens once"),
        (["--body", "x\n/at 3pm"], "line 2: /at: '3pm' is not a time: write 2026-11-24T09:12:00Z"),
        (["--body", "x\n/at 2026-11-24T02:00"], "'2026-11-24T02:00' has no timezone offset"),
        (["--body", "x", "--at", "soon"], "Invalid value for '--at'"),
    ],
)
def test_times_that_cannot_be_are_refused_with_the_reason_and_write_nothing(
    repo: Path, args: list[str], error: str
) -> None:
    before = (repo / LAG_REL).read_text()
    result = tidings(repo, "incident", "update", LAG, *args)
    assert result.exit_code == 2 and error in result.output, result.output
    assert (repo / LAG_REL).read_text() == before
    assert _git(repo, "status", "--porcelain") == "" and _git(repo, "rev-list", "--count", "HEAD") == "1\n"


def test_a_status_change_cannot_go_under_later_updates(repo: Path) -> None:
    """The incident's status is its last update's: a backdated one cannot change it."""
    ok(tidings(repo, "incident", "update", LAG, "--body", "Still looking.", "--at", "06:00"))
    head = _git(repo, "rev-parse", "HEAD")
    refused = (
        "cannot date an update 2026-11-24T04:00:00Z that changes the status: "
        "the timeline goes on to 2026-11-24T05:00:00Z"
    )
    hint = "hint: add the backdated update without a status change, and change the status now"
    for args in (
        ["update", LAG, "--body", "Found it.", "--status", "identified", "--at", "05:00"],
        ["update", LAG, "--body", "Found it.\n/status identified\n/at 05:00"],
        ["update", LAG, "--body", "/resolve\n/at 05:00"],
        ["resolve", LAG, "--at", "05:00"],
    ):
        result = tidings(repo, "incident", *args)
        assert result.exit_code == 2 and refused in result.output, result.output
        assert hint in result.output
    assert _git(repo, "rev-parse", "HEAD") == head and _git(repo, "status", "--porcelain") == ""


def test_open_refuses_at_and_points_at_started_at(repo: Path) -> None:
    result = tidings(repo, "incident", "open", "--title", "Queue backlog", "--body", "Backlog.\n/at 08:00")
    assert result.exit_code == 2
    assert (
        "/at 08:00: a new incident's first update is when it is opened; "
        "to say it began earlier, use /started-at"
    ) in result.output
    assert _git(repo, "status", "--porcelain") == ""


def test_a_time_of_day_the_clocks_skip_or_repeat_is_refused() -> None:
    """Europe/Berlin: 02:30 does not exist on 2026-03-29 and happens twice on 2026-10-25."""
    with pytest.raises(ValueError, match=r"02:30 does not exist on 2026-03-29 in Europe/Berlin .*offset"):
        parse_time("02:30", datetime(2026, 3, 29, 12, tzinfo=UTC), "Europe/Berlin")
    with pytest.raises(ValueError, match=r"02:30 happens twice on 2026-10-25 in Europe/Berlin"):
        parse_time("02:30", datetime(2026, 10, 25, 12, tzinfo=UTC), "Europe/Berlin")
    # The day is today's in the site's timezone, not UTC's: 23:30 UTC is already the next day in Berlin.
    assert parse_time("00:15", datetime(2026, 11, 24, 23, 30, tzinfo=UTC), "Europe/Berlin") == datetime(
        2026, 11, 24, 23, 15, tzinfo=UTC
    )

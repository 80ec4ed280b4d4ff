"""What responders edited by hand has a command and quick actions: `tidings incident set ID --title
--severity --component ID=IMPACT --started-at TIME` and `/title`, `/severity`, `/component`,
`/started-at`. Each change is one commit naming the person, with an internal update saying what
changed; mistakes get a did-you-mean and write nothing. Real repos (the demo, committed).
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
from tidings.ops.history import history

from ..conftest import PROJECT_ROOT

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
# demo: severity unknown, investigating, started 2026-11-24T01:41:00Z (02:41 in Berlin, the site's
# timezone), postgres degraded_performance, a first update at 01:41:30Z
LAG = "2026-11-24-postgres-replica-lag"
LAG_REL = f"content/incidents/{LAG}.md"


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


def commits(root: Path) -> int:
    return int(_git(root, "rev-list", "--count", "HEAD"))


def test_set_changes_everything_in_one_commit_naming_the_person(repo: Path) -> None:
    result = tidings(
        repo, "incident", "set", LAG, "--title", "Replica lag on db-cluster-07", "--severity", "high",
        "--component", "postgres=major_outage", "--component", "api=degraded_performance",
        "--started-at", "2026-11-24T01:30:00Z",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert commits(repo) == 2
    assert _git(repo, "show", "--name-only", "--format=", "HEAD").split() == [LAG_REL]
    found = incident(repo)
    assert (found.title, found.severity, found.status) == (
        "Replica lag on db-cluster-07",
        "high",
        "investigating",
    )
    assert dict(found.components) == {"postgres": "major_outage", "api": "degraded_performance"}
    assert found.started_at == datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
    said = (
        'title changed to "Replica lag on db-cluster-07"',
        "severity unknown -> high",
        "components: postgres degraded_performance -> major_outage, api added (degraded_performance)",
        "started_at 2026-11-24T02:41:00+01:00 -> 2026-11-24T01:30:00Z",
    )
    message = _git(repo, "log", "-1", "--format=%an <%ae>%n%B")
    assert message.startswith(f"Amara Okafor <amara.okafor@example.com>\nUpdate incident {LAG} by amara\n")
    assert "".join(f"- {words}\n" for words in said) in message
    assert f"Tidings-Incident: {LAG}\nTidings-Person: amara\n" in message
    last = found.updates[-1]
    assert (last.at, last.internal, last.author, last.status) == (NOW, True, "amara", "investigating")
    assert (
        last.body == "; ".join(said)[:1].upper() + "; ".join(said)[1:] + " by amara (via the command line)."
    )
    # `tidings log` tells the commit by what changed, and who did it.
    logged = history(repo, LAG)[-1]
    assert logged.who == "amara"
    assert set(said) <= set(logged.changes)
    # The id keeps the date it was opened with, whatever the start.
    assert (repo / LAG_REL).is_file()


def test_set_by_another_person_and_nothing_to_change(repo: Path) -> None:
    result = tidings(repo, "incident", "set", LAG, "--severity", "high", "--by", "mateo")
    assert result.exit_code == 0, result.output
    message = _git(repo, "log", "-1", "--format=%B")
    assert message.startswith(f"Update incident {LAG} by mateo\n") and "Tidings-Person: mateo" in message
    assert incident(repo).updates[-1].author == "mateo"
    result = tidings(repo, "incident", "set", LAG, "--severity", "high")
    assert result.exit_code == 0 and "nothing to change" in result.output
    assert commits(repo) == 2


def test_a_component_works_again(repo: Path) -> None:
    assert tidings(repo, "incident", "set", LAG, "--component", "api").exit_code == 0
    assert incident(repo).components["api"] == "partial_outage"  # the default impact
    assert tidings(repo, "incident", "set", LAG, "--component", "api=operational").exit_code == 0
    assert incident(repo).components["api"] == "operational"
    assert "- components: api partial_outage -> operational\n" in _git(repo, "log", "-1", "--format=%B")


def test_started_at_takes_a_time_of_day_and_cannot_come_after_what_happened(repo: Path) -> None:
    """02:30 is today in Europe/Berlin: 01:30Z. The start cannot move past the first update."""
    assert tidings(repo, "incident", "set", LAG, "--started-at", "02:30").exit_code == 0
    assert incident(repo).started_at == datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
    head = _git(repo, "rev-parse", "HEAD")
    for when, why in (
        ("2026-11-24T05:00:00Z", "its timeline starts at 2026-11-24T01:41:30Z"),
        ("2026-11-24T10:00:00Z", "it is after the time of this change (2026-11-24T09:30:00Z)"),
    ):
        result = tidings(repo, "incident", "set", LAG, "--started-at", when)
        assert result.exit_code == 2, result.output
        assert f"--started-at {when}: the incident cannot start then: {why}" in result.output
    assert _git(repo, "rev-parse", "HEAD") == head and _git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--component", "postgress=major_outage"],
            "unknown component 'postgress' (did you mean 'postgres'?)",
        ),
        (
            ["--component", "postgres=major_outtage"],
            "impact 'major_outtage' is not one of: operational, under_maintenance, degraded_performance, "
            "partial_outage, major_outage (did you mean 'major_outage'?)",
        ),
        (["--severity", "hihg"], "Invalid value for '--severity'"),
        (["--title", "  "], "--title: an incident needs a title"),
        ([], "nothing to set: give --title, --severity, --component or --started-at"),
        (["--started-at", "25:00"], "Invalid value for '--started-at'"),
    ],
)
def test_set_mistakes_are_refused_and_write_nothing(repo: Path, args: list[str], error: str) -> None:
    result = tidings(repo, "incident", "set", LAG, *args)
    assert result.exit_code == 2 and error in result.output, result.output
    assert commits(repo) == 1 and _git(repo, "status", "--porcelain") == ""


def test_the_quick_actions_do_the_same_in_one_update(repo: Path) -> None:
    body = (
        "Failing over to the standby.\n"
        '/title "Replica lag: db-cluster-07"\n'
        "/component postgres=major_outage api\n"
        "/started-at 02:30\n"
        "/severity high\n"
    )
    result = tidings(repo, "incident", "update", LAG, "--by", "jonas", "--body", body)
    assert result.exit_code == 0, result.output
    found = incident(repo)
    assert (found.title, found.severity) == ("Replica lag: db-cluster-07", "high")
    assert dict(found.components) == {"postgres": "major_outage", "api": "partial_outage"}
    assert found.started_at == datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
    assert found.updates[-1].body.strip() == "Failing over to the standby."  # the action lines are not kept
    message = _git(repo, "log", "-1", "--format=%B")
    assert (
        "- update added (investigating)\n"
        '- title changed to "Replica lag: db-cluster-07"\n'
        "- components: postgres degraded_performance -> major_outage, api added (partial_outage)\n"
        "- started_at 2026-11-24T02:41:00+01:00 -> 2026-11-24T01:30:00Z\n"
        "- severity unknown -> high\n"
    ) in message
    assert "Tidings-Person: jonas" in message and commits(repo) == 2
    # Actions alone record an internal update saying what changed.
    result = tidings(repo, "incident", "update", LAG, "--body", "/component api=operational")
    assert result.exit_code == 0, result.output
    last = incident(repo).updates[-1]
    assert (last.internal, last.body) == (
        True,
        "Components: api partial_outage -> operational by amara (via the command line).",
    )


def test_quick_action_mistakes_are_listed_by_line_and_write_nothing(repo: Path) -> None:
    result = tidings(repo, "incident", "update", LAG, "--body", "/component postgress=major_outage")
    assert result.exit_code == 2
    assert "line 1: /component: unknown component 'postgress' (did you mean 'postgres'?)" in result.output
    body = '/component storage=majr_outage\n/component =x\n/title\n/started-at soon\n/title ""'
    result = tidings(repo, "incident", "update", LAG, "--body", body)
    assert result.exit_code == 2
    for problem in (
        "line 1: /component: impact 'majr_outage' is not one of",
        "(did you mean 'major_outage'?)",
        "line 2: /component: '=x' is not ID=IMPACT",
        "line 3: /title needs an argument (usage: /title TEXT)",
        "line 4: /started-at: 'soon' is not a time",
        "line 5: /title needs an argument",
    ):
        assert problem in result.output, result.output
    result = tidings(repo, "incident", "update", LAG, "--body", "/started-at 06:00")
    assert result.exit_code == 2
    assert "/started-at 06:00: the incident cannot start then: its timeline starts at" in result.output
    assert commits(repo) == 1 and _git(repo, "status", "--porcelain") == ""


def test_the_quick_actions_in_a_commit_message(repo: Path) -> None:
    """A merge request's commit says it: `tidings incident quick-actions REV` makes the change."""
    trailer = f"\n\nTidings-Incident: {LAG}"
    _git(
        repo, "commit", "-q", "--allow-empty", "-m", f"Failover\n\n/component postgress=major_outage{trailer}"
    )
    result = tidings(repo, "incident", "quick-actions", "HEAD")
    assert result.exit_code == 1
    assert "line 3: /component: unknown component 'postgress' (did you mean 'postgres'?)" in result.output
    assert commits(repo) == 2
    _git(repo, "reset", "-q", "--hard", "HEAD~1")
    body = "/component postgres=major_outage\n/title Replica lag\n/started-at 2026-11-24T01:30:00Z"
    _git(repo, "commit", "-q", "--allow-empty", "-m", f"Failover\n\n{body}{trailer}")
    result = tidings(repo, "incident", "quick-actions", "HEAD")
    assert result.exit_code == 0, result.output
    found = incident(repo)
    assert (found.title, found.components["postgres"]) == ("Replica lag", "major_outage")
    assert found.started_at == datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
    assert "Tidings-Person: amara" in _git(repo, "log", "-1", "--format=%B")

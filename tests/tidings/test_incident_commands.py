"""`tidings incident open|update|resolve|publish|unpublish|list|show|quick-actions` on a real git repo.

Each test works on a copy of the demo committed in tmp_path, runs the real command (click's runner)
or the library, and checks the file (comments kept), the model, and `git log`.
"""

from __future__ import annotations

import json
import re
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
from tidings.ops.incidents import (
    Actor,
    IncidentError,
    apply_quick_actions_from_commits,
    open_incident,
    update_incident,
)
from tidings.ops.quick_actions import QuickActionError
from tidings.store.git import git
from tidings.store.incident_file import new_incident_path

from ..conftest import PROJECT_ROOT

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
LAG = "2026-11-24-postgres-replica-lag"  # demo: investigating, unpublished, one internal update
LAG_REL = f"content/incidents/{LAG}.md"
AMARA = ("Amara Okafor", "amara.okafor@example.com")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo, committed in a fresh repo whose git user is Amara (a person in people.yml)."""
    root = tmp_path / "status"
    root.mkdir()
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.name", AMARA[0])
    _git(root, "config", "user.email", AMARA[1])
    _git(root, "config", "commit.gpgsign", "false")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "Start")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(NOW.timestamp())))
    return root


def at(root: Path, *args: str, input: str | None = None) -> Result:
    """`tidings incident ARGS ROOT` (click takes ROOT after the options too)."""
    return CliRunner().invoke(main, ["incident", *args, str(root)], input=input, catch_exceptions=False)


def incident(root: Path, incident_id: str) -> Incident:
    result = load(root)
    assert [d.as_text() for d in result.errors] == []
    found = result.repo.get("incidents", incident_id)
    assert isinstance(found, Incident)
    return found


def head(root: Path) -> str:
    return _git(root, "rev-parse", "HEAD").strip()


def last_message(root: Path) -> str:
    return _git(root, "log", "-1", "--format=%an <%ae>%n%B")


def unchanged(root: Path, before: str) -> None:
    """Nothing was written: same HEAD, nothing staged or changed, no new file."""
    assert head(root) == before
    assert _git(root, "status", "--porcelain", "--untracked-files=all") == ""


# --- open ----------------------------------------------------------------------------------------


def test_open_writes_the_incident_and_commits_it_as_the_person(repo: Path) -> None:
    result = at(
        repo,
        "open",
        "--title",
        "Checkout is down!",
        "--severity",
        "critical",
        "--component",
        "api=major_outage",
        "--component",
        "web",
        "--body",
        "Checkout fails for everyone.",
    )
    assert result.exit_code == 0, result.output
    new_id = "2026-11-24-checkout-is-down"
    assert result.output.startswith(f"opened incident {new_id} by amara (commit ")
    text = (repo / f"content/incidents/{new_id}.md").read_text()
    assert text.startswith(
        "---\n# yaml-language-server: $schema=../../.gitlab/schemas/incident.schema.json\n"
    )
    inc = incident(repo, new_id)
    assert (inc.title, inc.severity, inc.status, inc.published) == (
        "Checkout is down!",
        "critical",
        "investigating",
        False,
    )
    assert inc.started_at == NOW
    assert dict(inc.components) == {"api": "major_outage", "web": "partial_outage"}
    [first] = inc.updates
    assert (first.at, first.status, first.body, first.internal, first.author) == (
        NOW,
        "investigating",
        "Checkout fails for everyone.",
        False,
        "amara",
    )
    message = last_message(repo)
    assert message.startswith(f"Amara Okafor <amara.okafor@example.com>\nOpen incident {new_id} by amara\n")
    assert f"Tidings-Incident: {new_id}" in message and "Tidings-Person: amara" in message
    assert "- opened (investigating, severity critical, api major_outage, web partial_outage)" in message
    # tidings log tells it as Amara's, not the runner's.
    [change] = history(repo, new_id)
    assert change.person == "amara" and not change.runner


def test_the_same_title_the_same_day_gets_the_next_free_id(repo: Path) -> None:
    me = Actor("amara", AMARA, "amara")
    first = open_incident(repo, NOW, me, title="API errors")
    second = open_incident(repo, NOW, me, title="API errors")
    assert (first.incident_id, second.incident_id) == ("2026-11-24-api-errors", "2026-11-24-api-errors-2")
    # Incidents and maintenance share one id space.
    (repo / "content/maintenance/2026-11-25-db-upgrade.md").write_text("x")
    assert (
        new_incident_path(repo, "DB upgrade", datetime(2026, 11, 25, tzinfo=UTC))[0]
        == "2026-11-25-db-upgrade-2"
    )


def test_open_from_a_template(repo: Path) -> None:
    result = at(repo, "open", "--template", "database-outage", "--severity", "critical")
    assert result.exit_code == 0, result.output
    inc = incident(repo, "2026-11-24-database-unavailable")
    assert inc.title == "Database unavailable"  # the template's
    assert inc.severity == "critical"  # the flag wins
    assert dict(inc.components) == {"postgres": "major_outage"}
    assert inc.runbooks == ["postgres-failover"]
    assert inc.labels == ["database"]  # `/label ~database` in the template's body
    assert inc.body.startswith("Managed PostgreSQL is unavailable")
    assert "/label" not in inc.body
    assert inc.updates[0].internal and inc.updates[0].body == "Opened by amara (via the command line)."
    assert "Tidings-Template: database-outage" in last_message(repo)
    # Templates are not incidents: the loader does not read them, and validate stays clean.
    assert not any(i.path.startswith("content/templates/") for i in load(repo).repo.incidents)
    checked = CliRunner().invoke(main, ["validate", str(repo), "--strict"])
    # Nothing but the demo's own warning (its review's overdue action item, on purpose).
    assert checked.output.endswith("[overdue-action-item]\n0 errors, 1 warning\n"), checked.output


def test_template_errors(repo: Path) -> None:
    before = head(repo)
    result = at(repo, "open", "--template", "database-outgae")
    assert result.exit_code == 2 and "did you mean 'database-outage'?" in result.output
    (repo / "content/templates/bad.md").write_text("---\ntitle: X\nstarted_at: 2026-01-01T00:00:00Z\n---\n")
    result = at(repo, "open", "--template", "bad")
    assert result.exit_code == 2
    assert (
        "the template is not valid: content/templates/bad.md:3:1: error: started_at: unknown key"
        in result.output
    )
    # `tidings validate` checks templates too, references included.
    (repo / "content/templates/bad.md").write_text("---\ncomponents: {postgress: major_outage}\n---\nBody\n")
    result = CliRunner().invoke(main, ["validate", str(repo)])
    assert result.exit_code == 1
    assert (
        "content/templates/bad.md:2:14: error: components.postgress: unknown component 'postgress'"
        in result.output
    )
    (repo / "content/templates/bad.md").unlink()
    unchanged(repo, before)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ("--title", "X", "--component", "postgress"),
            "unknown component 'postgress' (did you mean 'postgres'?)",
        ),
        (("--title", "X", "--component", "api=major"), "impact 'major' is not one of"),
        (("--severity", "high"), "an incident needs a title"),
        (("--title", "X", "--severity", "hihg"), "'hihg' is not one of"),
        (("--title", "X", "--body", "/severity hihg"), "did you mean 'high'?"),
        (
            ("--title", "X", "--body", "Down.\n/assign @amaraa"),
            "unknown person 'amaraa' (did you mean 'amara'?)",
        ),
        (("--title", "X", "--published"), "a published incident needs public words"),
    ],
    ids=["component", "impact", "no-title", "severity", "quick-action", "person", "published-no-update"],
)
def test_open_errors_name_the_problem_and_write_nothing(
    repo: Path, args: tuple[str, ...], error: str
) -> None:
    before = head(repo)
    result = at(repo, "open", *args)
    assert result.exit_code in (1, 2), result.output
    assert error in result.output
    unchanged(repo, before)


def test_no_commit_leaves_the_change_staged(repo: Path) -> None:
    before = head(repo)
    result = at(repo, "open", "--title", "Staged one", "--no-commit")
    assert result.exit_code == 0 and "not committed" in result.output
    assert head(repo) == before
    assert _git(repo, "diff", "--cached", "--name-only").split() == [
        "content/incidents/2026-11-24-staged-one.md"
    ]


def test_author_option_and_a_missing_identity(repo: Path) -> None:
    result = at(repo, "open", "--title", "By Jonas", "--author", "Jonas Weber <jonas.weber@example.com>")
    assert result.exit_code == 0, result.output
    assert last_message(repo).startswith(
        "Jonas Weber <jonas.weber@example.com>\nOpen incident 2026-11-24-by-jonas by jonas"
    )
    assert incident(repo, "2026-11-24-by-jonas").updates[0].author == "jonas"
    result = at(repo, "open", "--title", "X", "--author", "nobody")
    assert result.exit_code == 2 and "--author must look like" in result.output
    # Someone not in people.yml is named by their git name.
    result = at(repo, "open", "--title", "By a guest", "--author", "Guest Person <guest@example.org>")
    assert incident(repo, "2026-11-24-by-a-guest").updates[0].author == "Guest Person"


# --- update and quick actions ----------------------------------------------------------------------


def test_update_with_every_quick_action_keeps_comments_and_commits(repo: Path) -> None:
    path = repo / LAG_REL
    path.write_text(
        path.read_text().replace("severity: unknown\n", "severity: unknown   # set by a person\n")
    )
    _git(repo, "commit", "-qam", "A comment")
    body = (
        "Failover to the standby started.\n"
        "/severity high\n"
        "/status identified\n"
        "/assign @jonas @amara\n"
        '/label ~db ~"customer facing"\n'
        "/link https://gitlab.example.com/ops/-/issues/42\n"
        "/zoom https://zoom.us/j/123456\n"
        "/publish\n"
        "We will update in 30 minutes."
    )
    result = at(repo, "update", LAG, "--body", body)
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert re.search(r"^severity: high +# set by a person$", text, re.MULTILINE)  # the comment stays
    assert "# yaml-language-server: $schema=" in text
    inc = incident(repo, LAG)
    assert (inc.severity, inc.status, inc.published) == ("high", "identified", True)
    assert inc.assignees == ["mateo", "jonas", "amara"]
    assert inc.labels == ["db", "customer facing"]
    assert [(link.text, link.url) for link in inc.links] == [
        ("Issue", "https://gitlab.example.com/ops/-/issues/42"),
        ("Call", "https://zoom.us/j/123456"),
    ]
    last = inc.updates[-1]
    assert (last.at, last.status, last.internal, last.author) == (NOW, "identified", False, "amara")
    assert last.body == "Failover to the standby started.\nWe will update in 30 minutes.\n"
    assert "/" not in last.body.replace("30 minutes", "")
    assert inc.notes[0].author == "mateo"  # untouched
    message = last_message(repo)
    assert f"Update incident {LAG} by amara" in message
    said = [
        "update added (identified)",
        "severity unknown -> high",
        "status investigating -> identified",
        "assigned jonas",
        "label customer facing",
        "link added: Issue (https://gitlab.example.com/ops/-/issues/42)",
        "link added: Call (https://zoom.us/j/123456)",
        "published",
    ]
    for words in said:
        assert f"- {words}\n" in message
    assert "\n/" not in message  # described in words: a quick action never lands in a commit message


def test_quick_actions_alone_record_an_internal_update(repo: Path) -> None:
    result = at(repo, "update", LAG, "--body", "/severity critical")
    assert result.exit_code == 0, result.output
    last = incident(repo, LAG).updates[-1]
    assert last.internal and last.body == "Severity unknown -> critical by amara (via the command line)."
    # The same again changes nothing and commits nothing.
    before = head(repo)
    result = at(repo, "update", LAG, "--body", "/severity critical")
    assert result.exit_code == 0 and "nothing to change" in result.output
    assert head(repo) == before


def test_resolve_through_a_quick_action_and_reopen_with_status(repo: Path) -> None:
    me = Actor("amara", AMARA, "amara")
    assert at(repo, "ack", LAG).exit_code == 0
    update_incident(repo, LAG, NOW, me, "Replica caught up.\n/resolve")
    inc = incident(repo, LAG)
    assert (inc.status, inc.resolved_at, inc.updates[-1].status) == ("resolved", NOW, "resolved")
    later = NOW.replace(minute=45)
    update_incident(repo, LAG, later, me, "Lag is back.", status="investigating")
    inc = incident(repo, LAG)
    assert (inc.status, inc.resolved_at) == ("investigating", None)
    # Reopened: escalation starts again from now, and it needs acknowledging again.
    assert (inc.reopened_at, inc.acknowledged_at) == (later, None)
    assert "reopened (investigating)" in last_message(repo)
    text = (repo / LAG_REL).read_text()
    assert text.index("started_at:") < text.index("reopened_at:") < text.index("components:")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("/frobnicate", "unknown quick action '/frobnicate' (known: /severity, /status"),
        ("/sevrity high", "unknown quick action '/sevrity' (did you mean '/severity'?)"),
        ("/status fixed", "/status: 'fixed' is not one of: investigating, identified, monitoring, resolved"),
        ("/assign @jonass", "/assign: unknown person 'jonass' (did you mean 'jonas'?)"),
        ("/assign", "/assign needs an argument"),
        ("/link not-a-url", "/link: 'not-a-url' is not a URL"),
        ("/publish now", "/publish takes no argument"),
        ("/severity high low", "/severity takes one argument, not 2"),
        ('/label ~"open', "/label: No closing quotation"),
    ],
)
def test_bad_quick_actions_are_errors_and_write_nothing(repo: Path, body: str, error: str) -> None:
    before, text = head(repo), (repo / LAG_REL).read_text()
    result = at(repo, "update", LAG, "--body", f"Some text.\n{body}")
    assert result.exit_code == 2, result.output
    assert "line 2: " + error in result.output
    unchanged(repo, before)
    assert (repo / LAG_REL).read_text() == text


def test_every_problem_is_listed_at_once(repo: Path) -> None:
    me = Actor("amara", AMARA, "amara")
    with pytest.raises(QuickActionError) as caught:
        update_incident(repo, LAG, NOW, me, "/sevrity high\nok\n/assign @nobody\n/zoom ftp:x")
    assert [p.line for p in caught.value.problems] == [1, 3, 4]
    assert str(caught.value).startswith("3 problems with quick actions:\n  line 1: ")


def test_update_errors(repo: Path) -> None:
    before = head(repo)
    result = at(repo, "update", LAG.replace("replica", "replca"), "--body", "x")
    assert result.exit_code == 2 and f"(did you mean '{LAG}'?)" in result.output
    result = at(repo, "update", LAG)
    assert result.exit_code == 2 and "nothing to update" in result.output
    result = at(repo, "update", LAG, "--body", "Too early.", "--author", "A <a@example.com>")
    assert result.exit_code == 0
    with pytest.raises(IncidentError, match="it starts at"):
        update_incident(repo, LAG, datetime(2026, 1, 1, tzinfo=UTC), Actor("x"), "Before it began.")
    assert _git(repo, "rev-list", "--count", f"{before}..HEAD").strip() == "1"


def test_internal_update_and_body_from_stdin(repo: Path) -> None:
    result = at(
        repo, "update", LAG, "--internal", "--body", "-", input="Checked the query.\n/label ~analytics\n"
    )
    assert result.exit_code == 0, result.output
    inc = incident(repo, LAG)
    assert inc.updates[-1].internal and inc.updates[-1].body == "Checked the query."
    assert inc.labels == ["analytics"]
    assert "labels: [analytics]" in (repo / LAG_REL).read_text()  # a new list, written as people do


# --- resolve, publish, unpublish, ack --------------------------------------------------------------


def test_resolve(repo: Path) -> None:
    result = at(repo, "resolve", LAG, "--body", "The replica caught up.")
    assert result.exit_code == 0, result.output
    inc = incident(repo, LAG)
    assert (inc.status, inc.resolved_at) == ("resolved", NOW)
    assert (inc.updates[-1].status, inc.updates[-1].body) == ("resolved", "The replica caught up.")
    assert _git(repo, "log", "-1", "--format=%s").strip() == f"Resolve incident {LAG} by amara"
    before = head(repo)
    result = at(repo, "resolve", LAG)
    assert result.exit_code == 0 and "already resolved" in result.output and head(repo) == before


def test_resolve_without_a_body_says_so_in_public_words(repo: Path) -> None:
    assert at(repo, "resolve", LAG).exit_code == 0
    assert incident(repo, LAG).updates[-1].body == "This incident has been resolved."


def test_publish_needs_a_public_update_then_unpublish(repo: Path) -> None:
    before = head(repo)
    result = at(repo, "publish", LAG)
    assert result.exit_code == 2 and "has no public update yet: give --body" in result.output
    unchanged(repo, before)
    result = at(repo, "publish", LAG, "--body", "Some database reads are slow.")
    assert result.exit_code == 0, result.output
    inc = incident(repo, LAG)
    assert inc.published and inc.public_updates[-1].body == "Some database reads are slow."
    assert _git(repo, "log", "-1", "--format=%s").strip() == f"Publish incident {LAG} by amara"
    assert "already published" in at(repo, "publish", LAG).output
    assert at(repo, "unpublish", LAG).exit_code == 0
    assert not incident(repo, LAG).published
    assert _git(repo, "log", "-1", "--format=%s").strip() == f"Unpublish incident {LAG} by amara"


def test_ack_keeps_working_with_the_new_options(repo: Path) -> None:
    result = at(repo, "ack", LAG, "--no-commit")
    assert result.exit_code == 0 and "not committed" in result.output
    assert _git(repo, "diff", "--cached", "--name-only").strip() == LAG_REL
    assert incident(repo, LAG).acknowledged_at == NOW


def test_a_change_can_be_pushed(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    _git(repo, "remote", "add", "origin", str(remote))
    _git(repo, "push", "-q", "origin", "main")
    assert at(repo, "update", LAG, "--body", "Pushed.", "--push").exit_code == 0
    assert git(remote, "log", "-1", "--format=%s", "main").strip() == f"Update incident {LAG} by amara"


def test_a_push_that_meets_the_runner_s_commits_to_the_same_incident_makes_the_change_again(
    repo: Path, tmp_path: Path
) -> None:
    """Ten times: the runner (another clone) commits to the incident and pushes, then a responder,
    who has not fetched, updates it with --push. Each must land, as the runner's own changes do
    (it was 3 in 10: "committed locally but not pushed: conflict while rebasing")."""
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    _git(repo, "remote", "add", "origin", str(remote))
    _git(repo, "push", "-q", "-u", "origin", "main")
    runner_clone = tmp_path / "runner"
    _git(tmp_path, "clone", "-q", str(remote), str(runner_clone))
    for n in range(10):
        # The other side appends to the same timeline: the same lines as the responder's update.
        runner = "Tidings runner <runner@tidings.invalid>"
        args = ["incident", "update", LAG, "--body", f"Paged ({n}).", "--author", runner, "--push"]
        other = CliRunner().invoke(main, [*args, str(runner_clone)])
        assert other.exit_code == 0, other.output
        result = at(repo, "update", LAG, "--body", f"Still looking ({n}).", "--push")
        assert result.exit_code == 0, result.output
        _git(runner_clone, "pull", "-q", "--ff-only")
    final = git(remote, "show", f"main:{LAG_REL}")
    assert all(f"Paged ({n})." in final and f"Still looking ({n})." in final for n in range(10))
    assert "<<<<<<<" not in final
    # Each of the ten met a conflict and was made again on the remote's file.
    assert _git(repo, "reflog").count("reset: moving to HEAD~1") == 10
    again = at(repo, "ack", LAG, "--push")
    assert again.exit_code == 0 and git(remote, "log", "-1", "--format=%s", "main").startswith("Acknowledge")


def test_an_ack_by_someone_not_in_people_yml_names_the_author(repo: Path) -> None:
    result = at(repo, "ack", LAG, "--author", "Zed Kowalski <zed@example.org>")
    assert result.exit_code == 0, result.output
    last = incident(repo, LAG).updates[-1]
    assert last.author == "Zed Kowalski" and last.body.startswith("Acknowledged by Zed Kowalski")


# --- list and show ---------------------------------------------------------------------------------


def test_list_filters_and_formats(repo: Path) -> None:
    result = at(repo, "list", "--status", "open", "--format", "json")
    assert result.exit_code == 0
    listed = json.loads(result.output)
    assert [i["id"] for i in listed][:1] == [LAG]  # newest first
    assert all(i["status"] != "resolved" for i in listed)
    assert set(listed[0]) >= {"id", "title", "severity", "status", "published", "started_at", "components"}
    result = at(repo, "list", "--severity", "critical", "--published")
    lines = result.output.splitlines()
    assert lines and all("  critical  published  " in line for line in lines)
    assert lines[0].startswith(
        "2026-09-11-dns-resolution  resolved  critical  published  2026-09-11 21:14 +0200  "
    )
    assert at(repo, "list", "--status", "fixed").exit_code == 2


def test_show_text_and_json(repo: Path) -> None:
    result = at(repo, "show", LAG)
    assert result.exit_code == 0
    assert result.output.startswith(f"{LAG}: [FIRING:1] PostgresReplicationLagHigh db-cluster-07\n")
    assert (
        "  2026-11-24 02:41 +0100  investigating [internal] (runner): Alert PostgresReplicationLagHigh"
        in result.output
    )
    assert "notes:\n  2026-11-24 02:50 +0100 (mateo): Lag comes from" in result.output
    data = json.loads(at(repo, "show", LAG, "--format", "json").output)
    assert (
        data["id"] == LAG
        and data["runbooks"] == ["postgres-failover"]
        and data["notes"][0]["author"] == "mateo"
    )
    result = at(repo, "show", "2026-11-24-postgres-replica-lg")
    assert result.exit_code == 2 and "did you mean" in result.output


# --- quick actions in commit messages --------------------------------------------------------------


def _person_commit(
    root: Path, message: str, who: tuple[str, str] = ("Jonas Weber", "jonas.weber@example.com")
) -> str:
    _git(root, "add", "-A")
    _git(
        root,
        "-c",
        f"user.name={who[0]}",
        "-c",
        f"user.email={who[1]}",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        message,
    )
    return head(root)


def test_quick_actions_in_a_commit_message_act_on_the_incident_it_touches(repo: Path) -> None:
    path = repo / LAG_REL
    path.write_text(
        path.read_text().replace(
            "runbooks: [postgres-failover]", "runbooks: [postgres-failover]  # the one to follow"
        )
    )
    sha = _person_commit(repo, "Note the runbook\n\n/severity medium\n/assign @jonas\n/status identified\n")
    result = at(repo, "quick-actions", "HEAD~1..HEAD")
    assert result.exit_code == 0, result.output
    inc = incident(repo, LAG)
    assert (inc.severity, inc.status) == ("medium", "identified")
    assert inc.assignees == ["mateo", "jonas"]
    when = datetime.fromisoformat(_git(repo, "log", "-1", "--format=%aI", sha).strip())
    assert inc.updates[-1].at == when.replace(microsecond=0) and inc.updates[-1].author == "jonas"
    assert "runbooks: [postgres-failover]  # the one to follow" in path.read_text()
    message = _git(repo, "log", "-1", "--format=%an%n%B")
    assert message.startswith(f"Tidings runner\nQuick actions of {sha[:12]} on incident {LAG} by jonas\n")
    assert f"Tidings-Quick-Actions-From: {sha}" in message
    # Acted on once: running it again (a CI job on the next push) does nothing.
    before = head(repo)
    result = at(repo, "quick-actions", f"{sha}~1..HEAD")
    assert result.exit_code == 0 and "no quick actions to apply" in result.output
    assert head(repo) == before


def test_a_trailer_names_the_incident_and_problems_write_nothing(repo: Path) -> None:
    me = ("Jonas Weber", "jonas.weber@example.com")
    _person_commit(repo, f"Label it\n\n/label ~db\n\nTidings-Incident: {LAG}\n", me)
    assert apply_quick_actions_from_commits(repo, "HEAD")[0].changed
    assert incident(repo, LAG).labels == ["db"]
    before = head(repo)
    _person_commit(repo, "Nothing touched\n\n/severity high\n", me)
    _person_commit(repo, f"Typo\n\n/sevrity high\n\nTidings-Incident: {LAG}\n", me)
    with pytest.raises(IncidentError) as caught:
        apply_quick_actions_from_commits(repo, f"{before}..HEAD")
    text = str(caught.value)
    assert "has quick actions but touches no incident (add a 'Tidings-Incident: <id>' trailer" in text
    assert "line 3: unknown quick action '/sevrity' (did you mean '/severity'?)" in text
    assert incident(repo, LAG).severity == "unknown"
    assert _git(repo, "status", "--porcelain") == ""
    result = at(repo, "quick-actions", "no-such-rev")
    assert result.exit_code == 1 and "not a commit" in result.output


def test_an_incident_opened_after_the_fact_as_resolved_gets_its_resolved_at(repo: Path) -> None:
    result = at(repo, "open", "--title", "Blip", "--status", "resolved", "--body", "A one-minute blip.")
    assert result.exit_code == 0, result.output
    inc = incident(repo, "2026-11-24-blip")
    assert (inc.status, inc.resolved_at, inc.updates[0].status) == ("resolved", NOW, "resolved")


def test_the_runners_commits_carry_no_quick_actions(repo: Path, tmp_path: Path) -> None:
    """`runner apply` quotes the alert's title in its commit: `/resolve` or `/login returns 500`."""
    before = head(repo)
    for n, title in enumerate(("/resolve", "/login returns 500")):
        payload = tmp_path / f"alert-{n}.json"
        alert = {
            "title": title,
            "service": "api",
            "fingerprint": f"q{n}",
            "start_time": "2026-11-24T09:00:00Z",
        }
        payload.write_text(json.dumps(alert))
        run = CliRunner().invoke(
            main, ["runner", "apply", str(payload), str(repo), "--source", "generic"], catch_exceptions=False
        )
        assert run.exit_code == 0, run.output
    assert "/login returns 500" in _git(repo, "log", "-1", "--format=%B")
    # A person's commit in the same push still acts.
    _person_commit(repo, f"Raise it\n\n/severity high\n\nTidings-Incident: {LAG}\n")
    result = at(repo, "quick-actions", f"{before}..HEAD")
    assert result.exit_code == 0, result.output
    assert "unknown quick action" not in result.output
    assert incident(repo, "2026-11-24-resolve").status == "investigating"
    assert incident(repo, LAG).severity == "high"
    assert len(_git(repo, "log", "--format=%H", f"{before}..HEAD").split()) == 4


WEBHOOKS = "2026-11-23-webhook-delivery-delays"  # demo: published, with public updates


def test_quick_actions_over_a_range_apply_whole_or_not_at_all(repo: Path) -> None:
    # LAG has no public update, so `/publish` cannot be applied to it; WEBHOOKS would take both.
    trailers = f"Tidings-Incident: {WEBHOOKS}\nTidings-Incident: {LAG}\n"
    source = _person_commit(repo, f"Escalate both\n\n/severity critical\n/publish\n\n{trailers}")
    before = head(repo)
    with pytest.raises(IncidentError) as caught:
        apply_quick_actions_from_commits(repo, "HEAD")
    assert f"commit {source[:12]} on incident {LAG}" in str(caught.value)
    assert "nothing was applied" in str(caught.value)
    unchanged(repo, before)
    assert incident(repo, WEBHOOKS).severity != "critical"
    # Once LAG can be published, a rerun applies the commit to both incidents.
    assert at(repo, "publish", LAG, "--body", "We are looking into replica lag.").exit_code == 0
    result = at(repo, "quick-actions", "HEAD~1")
    assert result.exit_code == 0, result.output
    assert incident(repo, WEBHOOKS).severity == incident(repo, LAG).severity == "critical"
    result = at(repo, "quick-actions", f"{before}..HEAD")
    assert result.exit_code == 0 and "no quick actions to apply" in result.output


def test_a_run_cut_short_finishes_the_incidents_left(repo: Path) -> None:
    trailers = f"Tidings-Incident: {WEBHOOKS}\nTidings-Incident: {LAG}\n"
    _person_commit(repo, f"Label both\n\n/label ~webhooks\n\n{trailers}")
    assert [c.incident_id for c in apply_quick_actions_from_commits(repo, "HEAD")] == [WEBHOOKS, LAG]
    _git(repo, "reset", "-q", "--hard", "HEAD~1")  # as if it had stopped after the first commit
    assert incident(repo, LAG).labels == []
    again = apply_quick_actions_from_commits(repo, "HEAD~1")
    assert [(c.incident_id, c.changed) for c in again] == [(LAG, True)]
    assert incident(repo, LAG).labels == ["webhooks"] and "webhooks" in incident(repo, WEBHOOKS).labels


def test_open_published_without_a_body_asks_for_public_words(repo: Path) -> None:
    before = head(repo)
    result = at(repo, "open", "--title", "Checkout down", "--published")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "Error: a published incident needs public words: its first update is what customers read",
        "hint: give it (--body TEXT), or open it unpublished and later "
        "'tidings incident publish ID --body TEXT'",
    ]
    unchanged(repo, before)
    opened = at(repo, "open", "--title", "Checkout down", "--published", "--body", "Checkout fails for some.")
    assert opened.exit_code == 0, opened.output

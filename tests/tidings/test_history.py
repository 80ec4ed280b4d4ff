"""`tidings log`: an incident's story from git, in words, with who (a person or the runner) and when."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tidings.cli.main import main
from tidings.ops.history import Snapshot, describe, history, snapshot
from tidings.store.git import commit

from ..conftest import MINIMAL_SITE, PROJECT_ROOT, RepoFactory

ALICE = ("Alice Example", "alice@example.com")
BOB = ("Bob Builder", "bob@example.com")
PEOPLE = """\
people:
  - {id: alice, name: Alice Example, email: alice@example.com}
  - {id: bob, name: Bob Builder, email: bob@example.com}
"""
PATH = "content/incidents/2026-03-14-api-errors.md"

OPENED: dict[str, Any] = {
    "title": "API errors",
    "severity": "high",
    "status": "investigating",
    "started_at": "2026-03-14T09:00:00Z",
    "components": {"api": "partial_outage"},
    "updates": [
        {"at": "2026-03-14T09:05:00Z", "status": "investigating", "body": "Looking into API errors."}
    ],
}


def incident_text(data: dict[str, Any], body: str = "") -> str:
    return "---\n" + yaml.safe_dump(data, sort_keys=False) + "---\n" + body


def _update(at: str, status: str, body: str, **extra: object) -> dict[str, object]:
    return {"at": f"2026-03-14T{at}:00Z", "status": status, "body": body, **extra}


@pytest.fixture
def story(make_repo: RepoFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A status repo whose one incident went through a whole life, by two people and the runner."""
    root = make_repo({".gitlab/status-page.yml": MINIMAL_SITE, "content/people.yml": PEOPLE}, minimal=False)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    minute = iter(range(10, 60))
    data = copy.deepcopy(OPENED)

    def step(
        subject: str, author: tuple[str, str] | None = None, trailers: dict[str, str] | None = None
    ) -> None:
        monkeypatch.setenv("GIT_AUTHOR_DATE", f"2026-03-14T09:{next(minute)}:00Z")
        (root / PATH).parent.mkdir(parents=True, exist_ok=True)
        (root / PATH).write_text(incident_text(data))
        if author:
            commit(root, [".gitlab", "content"], subject, trailers=trailers, author=author)
        else:
            commit(root, [".gitlab", "content"], subject, trailers=trailers)

    step("Open the API incident", ALICE)
    data["updates"].append(_update("09:06", "investigating", "Alert fired.", internal=True))
    data["alerts"] = [{"source": "alertmanager", "fingerprint": "3f1b2c4d", "state": "firing"}]
    step(
        "runner: updated incident 2026-03-14-api-errors",
        trailers={"Tidings-Source": "alertmanager/prometheus", "Tidings-Fingerprint": "3f1b2c4d"},
    )
    data.update(severity="critical", status="identified", published=True, components={"api": "major_outage"})
    data["updates"].append(_update("09:20", "identified", "A bad deploy."))
    step("Identified: a bad deploy", BOB)
    data["title"] = "API errors after a deploy"
    step("Better title", ALICE)
    data.update(status="resolved", resolved_at="2026-03-14T10:00:00Z")
    data["updates"].append(_update("10:00", "resolved", "Rolled back."))
    step("Resolved", BOB)
    data["postmortem"] = "## What happened\nA deploy.\n"
    step("Postmortem", ALICE)
    return root


def test_every_change_in_words_with_who_and_when(story: Path) -> None:
    changes = history(story, "2026-03-14-api-errors")
    assert [(c.who, list(c.changes)) for c in changes] == [
        ("alice", ["opened (investigating, severity high, components: api partial_outage)"]),
        ("runner", ["internal update added (investigating)", "alert linked: alertmanager 3f1b2c4d (firing)"]),
        (
            "bob",
            [
                "status investigating -> identified",
                "severity high -> critical",
                "published",
                "components: api partial_outage -> major_outage",
                "update added (identified)",
            ],
        ),
        ("alice", ['title changed to "API errors after a deploy"']),
        ("bob", ["resolved", "update added (resolved)"]),
        ("alice", ["postmortem added"]),
    ]
    runner = changes[1]
    assert runner.runner and runner.author_name == "Tidings runner" and runner.person is None
    assert runner.trailers["Tidings-Source"] == ["alertmanager/prometheus"]
    assert [c.at.isoformat() for c in changes][:2] == [
        "2026-03-14T09:10:00+00:00",
        "2026-03-14T09:11:00+00:00",
    ]
    assert changes[2].author_email == "bob@example.com" and changes[2].subject == "Identified: a bad deploy"


def test_renames_are_followed(story: Path) -> None:
    subprocess.run(
        ["git", "-C", str(story), "mv", PATH, "content/incidents/2026-03-14-bad-deploy.md"], check=True
    )
    commit(story, ["content"], "Rename", author=ALICE)
    changes = history(story, "2026-03-14-bad-deploy")
    assert len(changes) == 7
    assert changes[-1].changes == ("renamed from 2026-03-14-api-errors",)
    assert changes[-1].incident == "2026-03-14-bad-deploy" and changes[0].incident == "2026-03-14-api-errors"


def test_trailers_alone_mark_a_runner_commit(story: Path) -> None:
    text = (story / PATH).read_text().replace("severity: critical", "severity: high")
    (story / PATH).write_text(text)
    commit(story, [PATH], "runner under another name", trailers={"Tidings-Journal-Seq": "42"}, author=BOB)
    last = history(story, "2026-03-14-api-errors")[-1]
    assert last.runner and last.who == "runner" and last.changes == ("severity critical -> high",)


def test_all_incidents_and_deletions(story: Path) -> None:
    other = "content/incidents/2026-03-15-web.md"
    (story / other).write_text(incident_text({**OPENED, "components": {"web": "partial_outage"}}))
    commit(story, [other], "Another", author=BOB)
    (story / other).unlink()
    commit(story, [other], "Drop it", author=BOB)
    changes = history(story)
    assert [(c.incident, c.changes[0]) for c in changes[-2:]] == [
        ("2026-03-15-web", "opened (investigating, severity high, components: web partial_outage)"),
        ("2026-03-15-web", "deleted"),
    ]
    assert len(changes) == 8


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ({"status": "resolved"}, {"status": "monitoring"}, ["reopened (status resolved -> monitoring)"]),
        ({"published": True}, {"published": False}, ["unpublished"]),
        (
            {"components": {"api": "major_outage", "web": "degraded_performance"}},
            {"components": {"api": "operational", "git": "partial_outage"}},
            ["components: api major_outage -> operational, git added (partial_outage), web removed"],
        ),
        (
            {"updates": [{"at": "t1", "status": "identified", "body": "x", "internal": True}]},
            {"updates": [{"at": "t1", "status": "identified", "body": "x"}]},
            ["update made public (identified)"],
        ),
        (
            {"assignees": ["alice"]},
            {"assignees": ["bob"]},
            ["assignee added: bob", "assignee removed: alice"],
        ),
        ({}, {"acknowledged_at": "2026-03-14T09:15:00Z"}, ["acknowledged"]),
        ({"postmortem": "a"}, {"postmortem": "b"}, ["postmortem edited"]),
        ({"policy": "a"}, {"policy": "b"}, ["policy changed"]),
        (
            {},
            {"pages": [{"key": "k1", "person": "amara", "rule": 1, "state": "pending"}]},
            ["page recorded (amara, rule 1)"],
        ),
        (
            {"pages": [{"key": "k1", "person": "amara", "rule": 1, "state": "pending"}]},
            {
                "pages": [
                    {
                        "key": "k1",
                        "person": "amara",
                        "rule": 1,
                        "state": "sent",
                        "deliveries": [
                            {"channel": "slack", "state": "sent"},
                            {"channel": "email", "state": "failed"},
                        ],
                    }
                ]
            },
            ["page to amara sent on slack", "page to amara failed on email"],
        ),
        ({}, {}, ["no change to the incident's fields (formatting or comments)"]),
    ],
)
def test_describe(old: dict[str, object], new: dict[str, object], words: list[str]) -> None:
    base = {"title": "T", "status": "investigating"}
    assert describe(Snapshot({**base, **old}, ""), Snapshot({**base, **new}, "")) == words


def test_broken_front_matter_and_summary_edits() -> None:
    good = snapshot("---\ntitle: T\nstatus: identified\n---\nBody\n")
    broken = snapshot("---\ntitle: [T\n---\nBody\n")
    assert broken.data is None
    assert describe(good, broken) == ["front matter broken (does not parse)"]
    assert describe(broken, good) == ["front matter fixed"]
    assert describe(good, snapshot("---\ntitle: T\nstatus: identified\n---\nNew body\n")) == [
        "summary edited"
    ]


def test_cli_text_json_and_errors(story: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    text = runner.invoke(main, ["log", "2026-03-14-api-errors", str(story)])
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    # Times in the site's timezone (Europe/Berlin), then the commit, who, and the words.
    assert lines[0].startswith("2026-03-14 10:10 +01:00  ")
    assert lines[1].split()[4:6] == ["runner", "internal"]
    assert lines[2].endswith(
        "published; components: api partial_outage -> major_outage; update added (identified)"
    )

    as_json = json.loads(
        runner.invoke(main, ["log", "--format", "json", "2026-03-14-api-errors", str(story)]).output
    )
    assert [c["who"] for c in as_json] == ["alice", "runner", "bob", "alice", "bob", "alice"]
    assert as_json[1]["trailers"]["Tidings-Fingerprint"] == ["3f1b2c4d"]

    everything = runner.invoke(main, ["-C", str(story), "log"])  # every incident: no INCIDENT
    assert everything.exit_code == 0 and "2026-03-14-api-errors" in everything.output
    # A folder is never taken for ROOT in INCIDENT's place (no guessing); the hint says how to ask.
    folder = runner.invoke(main, ["log", str(story), str(story)])
    assert folder.exit_code == 2 and f"no incident {str(story)!r}" in folder.output
    assert f"tidings -C {story} log" in folder.output

    typo = runner.invoke(main, ["log", "2026-03-14-api-erors", str(story)])
    assert typo.exit_code == 2 and "did you mean '2026-03-14-api-errors'?" in typo.output

    not_git = tmp_path / "plain"
    shutil.copytree(story, not_git, ignore=shutil.ignore_patterns(".git"))
    failed = runner.invoke(main, ["-C", str(not_git), "log"])
    assert failed.exit_code == 1 and "not in a git repository" in failed.output


def test_a_demo_incident_from_its_files_to_the_runner_and_back(tmp_path: Path) -> None:
    """`tidings log` on a demo incident in a git repo made from the demo's files."""
    root = tmp_path / "demo"
    tracked = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "ls-files", "-z", "content", ".gitlab"],
        capture_output=True, text=True, check=True,
    ).stdout.split("\0")  # fmt: skip
    for rel in filter(None, tracked):
        if (PROJECT_ROOT / rel).is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_ROOT / rel, root / rel)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    commit(root, ["."], "Import the demo", author=("Mateo García", "mateo.garcia@example.com"))
    rel = "content/incidents/2026-11-24-postgres-replica-lag.md"
    path = root / rel
    path.write_text(path.read_text().replace("status: investigating", "status: identified", 1))
    commit(root, [rel], "runner: updated incident", trailers={"Tidings-Source": "alertmanager/prometheus"})
    path.write_text(
        path.read_text()
        .replace("severity: unknown", "severity: medium")
        .replace("runbooks:", "published: true\nrunbooks:")
        .replace(
            "notes:",
            "  - at: 2026-11-24T03:10:00+01:00\n    status: identified\n"
            "    body: Replication on one database cluster is behind.\nnotes:",
        )
    )
    commit(
        root, [rel], "Publish the replica lag incident", author=("Amara Okafor", "amara.okafor@example.com")
    )

    run = subprocess.run(
        [str(Path(sys.executable).with_name("tidings")), "log", "2026-11-24-postgres-replica-lag", str(root)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    stories = [line.split("  ", 3)[2:] for line in run.stdout.splitlines()]
    assert [[who.strip(), words.strip()] for who, words in stories] == [
        ["mateo", "opened (investigating, severity unknown, components: postgres degraded_performance)"],
        ["runner", "status investigating -> identified"],
        ["amara", "severity unknown -> medium; published; update added (identified)"],
    ]


def test_the_runner_identity_can_be_set_for_verified_signatures(tmp_path):
    code = "from tidings.store.git import RUNNER_NAME as n, RUNNER_EMAIL as e; print(f'{n} <{e}>')"
    env = {**os.environ, "TIDINGS_RUNNER_NAME": "Status bot", "TIDINGS_RUNNER_EMAIL": "Bot@Example.com"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "Status bot <bot@example.com>"


def test_runner_commits_made_for_someone_name_them(tmp_path: Path) -> None:
    """Slack commands, ack links and commit quick actions are the runner's commits, made for a person."""
    from tidings.content.load import load
    from tidings.ops.incidents import acknowledge, apply_changes, apply_quick_actions_from_commits
    from tidings.runner.escalation.ack import VIA as ACK_VIA
    from tidings.runner.remote import RUNNER_TRAILER
    from tidings.runner.slack import Command, actor_for

    root = tmp_path / "demo"
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content")
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    commit(root, ["."], "Import the demo", author=("Mateo García", "mateo.garcia@example.com"))
    lag = "2026-11-24-postgres-replica-lag"
    when = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    repo = load(root).repo
    # An ack link, as runner/ack.py applies it.
    acknowledge(root, lag, when, by="amara", via=ACK_VIA, trailers={RUNNER_TRAILER: "ack"})
    # Slack comments: from someone people.yml knows by Slack id, and from someone it does not.
    amara = next(p for p in repo.people if p.id == "amara")
    comments = ((amara.chat["slack"], "amara.o", "/label ~db"), ("U0STRANGER", "kim", "/label ~x"))
    for minute, (user_id, name, text) in enumerate(comments, start=1):
        actor = actor_for(repo, Command("comment", user_id, name, incident_id=lag, text=text))
        at = when + timedelta(minutes=minute)
        apply_changes(root, lag, at, actor, text, internal=True, verb="Comment on")
    # Quick actions in a person's commit message, applied by the runner.
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=Jonas Weber", "-c", "user.email=jonas.weber@example.com",
         "commit", "-q", "--allow-empty", "-m", f"Raise it\n\n/severity high\n\nTidings-Incident: {lag}"],
        check=True,
    )  # fmt: skip
    apply_quick_actions_from_commits(root, "HEAD")
    changes = history(root, lag)
    assert [c.who for c in changes[1:]] == [
        "amara (via runner)",
        "amara (via runner)",
        "@kim (via runner)",
        "jonas (via runner)",
    ]
    assert all(c.runner for c in changes[1:]) and changes[1].requested_by == "amara"
    run = CliRunner().invoke(main, ["log", lag, str(root)])
    assert "  amara (via runner)  internal update added (investigating); acknowledged\n" in run.output

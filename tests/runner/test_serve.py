"""`tidings runner serve`: a real server on 127.0.0.1, real bodies, a bare remote, and kill -9."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.runner.conftest import RAW, TOKEN, remote_log, wait_for
from tidings.content.load import load
from tidings.runner.app import create_app
from tidings.runner.journal import read_entries
from tidings.store.git import git


def test_fire_and_resolve_over_http_are_committed_and_pushed(runner, clone):
    for name in ("single_1", "single_1", "single_2"):
        assert runner.post((RAW / f"{name}.body").read_bytes()) == 200
    runner.wait_idle()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any("resolved" in s for s in remote_log(clone)):
        time.sleep(0.1)
    remote = remote_log(clone)
    assert any("resolved" in s for s in remote), remote
    metrics = runner.metrics()
    assert metrics["tidings_runner_received_total"] == 3
    assert metrics["tidings_runner_duplicates_total"] >= 1
    (incident,) = [i for i in load(clone).repo.incidents if i.id.startswith("2026-11-22-apidown")]
    assert incident.status == "resolved"


def test_a_storm_then_kill_9_then_restart_loses_and_doubles_nothing(runner, clone):
    bodies = []
    for n in range(40):
        payload = json.loads((RAW / "single_1.body").read_bytes())
        payload["groupKey"] = f'{{}}:{{alertname="Storm", n="{n}"}}'
        payload["groupLabels"] = {"alertname": "Storm", "n": str(n)}
        payload["commonAnnotations"] = {"summary": f"Storm alert {n}"}
        payload["alerts"][0]["fingerprint"] = f"storm{n:04d}"
        bodies.append(json.dumps(payload).encode())
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(runner.post, bodies[:30]))
    assert statuses == [200] * 30
    runner.kill()  # mid-apply: the worker may be anywhere
    runner.start()
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(runner.post, bodies[25:]))  # five re-sent, ten new
    assert statuses == [200] * 15
    runner.wait_idle()
    storms = [i for i in load(clone).repo.incidents if i.title.startswith("Storm alert")]
    assert sorted(i.title for i in storms) == sorted(f"Storm alert {n}" for n in range(40))
    assert all(len(i.updates) == 1 for i in storms)  # nothing applied twice
    git(clone, "fsck", "--strict")
    assert git(clone, "status", "--porcelain") == ""


@pytest.fixture
def client(clone, monkeypatch):
    monkeypatch.setenv("TIDINGS_TOKEN_PROMETHEUS", TOKEN)
    with TestClient(create_app(clone, do_push=False)) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "headers", "body", "status"),
    [
        ("/alerts/alertmanager/nope", {"Authorization": f"Bearer {TOKEN}"}, b"{}", 404),
        ("/alerts/generic/prometheus", {"Authorization": f"Bearer {TOKEN}"}, b"{}", 404),
        ("/alerts/alertmanager/prometheus", {}, b"{}", 401),
        ("/alerts/alertmanager/prometheus", {"Authorization": "Bearer wrong"}, b"{}", 401),
        (
            "/alerts/alertmanager/prometheus",
            {"Authorization": f"Bearer {TOKEN}"},
            b"x" * (1024 * 1024 + 1),
            413,
        ),
        ("/alerts/alertmanager/prometheus", {"Authorization": f"Bearer {TOKEN}"}, b"{oops", 400),
        ("/alerts/alertmanager/prometheus", {"Authorization": f"Bearer {TOKEN}"}, b'{"version": "4"}', 422),
    ],
)
def test_bad_requests_are_refused_and_journal_nothing(client, clone, path, headers, body, status):
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == status, response.text
    entries, _ = read_entries(clone / ".git" / "tidings-runner" / "journal.jsonl")
    assert [e.record for e in entries if not e.record.get("mark")] == []  # the id mark only
    if status == 422:
        assert response.json()["field"] == "groupKey"


def test_the_token_is_never_logged(client, caplog):
    client.post(
        "/alerts/alertmanager/prometheus", content=b"{}", headers={"Authorization": "Bearer leaked-token"}
    )
    assert "leaked-token" not in caplog.text and TOKEN not in caplog.text


def _human_clone(remote: Path, into: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(remote), str(into)], check=True, capture_output=True)
    return into


def _human_commit(work: Path, message: str) -> None:
    ident = ["-c", "user.name=Bo", "-c", "user.email=bo@example.com"]
    subprocess.run(["git", *ident, "commit", "-qam", message], cwd=work, check=True, capture_output=True)
    subprocess.run(
        ["git", "push", "--quiet", "origin", "HEAD:main"], cwd=work, check=True, capture_output=True
    )


def test_remote_away_then_a_conflicting_human_edit_is_merged_by_reapplying(runner, clone, tmp_path):
    remote, away = tmp_path / "remote.git", tmp_path / "remote-away.git"
    assert runner.post((RAW / "single_1.body").read_bytes()) == 200
    wait_for(lambda: any("opened" in s for s in remote_log(clone)), what="the first push")
    rel = next((clone / "content" / "incidents").glob("2026-11-22-apidown*.md")).relative_to(clone)

    remote.rename(away)  # the remote goes down: the runner keeps committing locally
    assert runner.post((RAW / "single_2.body").read_bytes()) == 200
    wait_for(lambda: runner.metrics()["tidings_runner_push_failures_total"] >= 1, what="a failed push")
    assert "resolved" in git(clone, "log", "-1", "--format=%s")

    # Meanwhile a person, working on the remote, edits the same lines of the same incident.
    human = _human_clone(away, tmp_path / "human")
    path = human / rel
    text = path.read_text()
    text = text.replace("status: investigating\n", "status: identified # DB team on it\n", 1)
    path.write_text(text + "\nThe primary database ran out of connections.\n")
    _human_commit(human, "Identified: the database")
    away.rename(remote)  # back: the push is rejected, the rebase conflicts, the runner re-applies

    wait_for(lambda: "resolved" in remote_log(clone)[0], what="the runner's push after the human commit")
    log = remote_log(clone)
    assert log[1] == "Identified: the database" and log[0].startswith("runner: resolved"), log
    final = git(remote, "show", f"main:{rel}")
    assert "<<<<<<<" not in final and ">>>>>>>" not in final
    # The person's words stay; the runner's resolution lands on their version of the file.
    assert re.search(r"^status: resolved +# DB team on it$", final, re.MULTILINE), final
    assert final.endswith("The primary database ran out of connections.\n")
    assert "Alert resolved" in final
    assert runner.metrics()["tidings_runner_reapplied_total"] >= 1
    runner.wait_idle()
    git(clone, "fsck", "--strict")
    assert git(clone, "status", "--porcelain") == ""
    assert load(clone).errors == []


def test_a_broken_merge_holds_alerts_until_it_is_fixed(runner, clone, tmp_path):
    human = _human_clone(tmp_path / "remote.git", tmp_path / "human")
    site = human / ".gitlab" / "status-page.yml"
    good = site.read_text()
    site.write_text(good.replace("title:", "titel:", 1))
    _human_commit(human, "Typo")
    assert runner.post((RAW / "single_1.body").read_bytes()) == 200  # still acknowledged: it is journalled

    def health() -> dict:
        with urllib.request.urlopen(runner.url + "/healthz", timeout=5) as r:
            return json.loads(r.read())

    assert "errors" in wait_for(lambda: health()["reason"], what="the runner to report the broken repo")
    assert health()["journal_depth"] == 1
    site.write_text(good)
    _human_commit(human, "Fix the typo")
    wait_for(lambda: any("opened" in s for s in remote_log(clone)), what="the held alert to be applied")
    # The remote has the commit a moment before the worker marks it pushed: wait for that too.
    expected = {"status": "ok", "reason": "", "journal_depth": 0, "unpushed": False}
    wait_for(lambda: health() == expected, what="the runner to be idle and pushed")


def test_sigterm_is_a_graceful_stop_that_pushes_the_batch_in_hand(runner, clone):
    """SIGTERM mid-storm: the runner stops taking posts, finishes the batch it is applying, pushes it,
    and exits 0 in bounded time; what it had not started is applied after the restart, once."""
    import signal

    bodies = []
    for n in range(30):
        payload = json.loads((RAW / "single_1.body").read_bytes())
        payload["groupKey"] = f'{{}}:{{alertname="Term", n="{n}"}}'
        payload["groupLabels"] = {"alertname": "Term", "n": str(n)}
        payload["commonAnnotations"] = {"summary": f"Term alert {n}"}
        payload["alerts"][0]["fingerprint"] = f"term{n:04d}"
        bodies.append(json.dumps(payload).encode())
    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(runner.post, bodies)) == [200] * 30
    assert runner.process is not None
    runner.process.send_signal(signal.SIGTERM)
    assert runner.process.wait(timeout=60) == 0
    # Whatever it committed, it pushed: nothing is left only in the clone.
    assert git(clone, "rev-list", "--count", "origin/main..HEAD").strip() == "0"
    assert git(clone, "status", "--porcelain") == ""
    runner.start()
    runner.wait_idle()
    wait_for(lambda: len([i for i in load(clone).repo.incidents if i.title.startswith("Term alert")]) == 30)
    terms = [i for i in load(clone).repo.incidents if i.title.startswith("Term alert")]
    assert all(len(i.updates) == 1 for i in terms)  # nothing applied twice
    git(clone, "fsck", "--strict")

"""The alert API (`/api/alerts`) of a real `tidings runner serve` with a bare remote.

The alerts come in as they do in production (Alertmanager's captured group of three, posted to the
same runner); then the API reads them and changes them. What the remote holds is checked, not the
runner's working tree: a 2xx means journalled, and a 200 means committed and pushed.
"""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.runner.conftest import RAW, TOKEN, Runner, remote_log, wait_for
from tests.runner.test_slack_alerts import INCIDENT, changed_on_remote, on_remote, remote_alerts
from tidings.content.load import parse_content
from tidings.content.model import Incident
from tidings.runner import alerts_api
from tidings.runner.app import create_app
from tidings.store.git import git

API_TOKEN = "an-alert-api-token-for-tests"
OTHER = "2026-10-17-postgres-failover"  # a demo incident with no alerts


def call(
    runner: Runner,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = API_TOKEN,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """(status, JSON body, headers by lowercase name) of a request to the runner."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(runner.url + path, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status, json.loads(response.read()), headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), {k.lower(): v for k, v in exc.headers.items()}


def journal(clone: Path) -> str:
    path = clone / ".git/tidings-runner/journal.jsonl"
    return path.read_text() if path.exists() else ""


def remote_incident(clone: Path, incident_id: str) -> Incident:
    rel = f"content/incidents/{incident_id}.md"
    found = parse_content(rel, on_remote(clone, rel)).domain
    assert isinstance(found, Incident)
    return found


def commits_named(clone: Path, subject: str) -> int:
    return remote_log(clone).count(subject)


@pytest.fixture
def served(clone):
    """A real runner with the alert API on, and Alertmanager's group of three applied and pushed."""
    runner = Runner(clone, env={alerts_api.TOKEN_ENV: API_TOKEN})
    runner.start()
    try:
        assert runner.post((RAW / "group_1.body").read_bytes()) == 200
        wait_for(lambda: len(remote_alerts(clone)) == 3, what="the three alert records on the remote")
        runner.wait_idle()
        yield runner
    finally:
        if runner.process and runner.process.poll() is None:
            runner.kill()


def test_list_show_put_and_link(served, clone):
    first, second, third = sorted(remote_alerts(clone))
    status, found, headers = call(served, "GET", "/api/alerts")
    assert status == 200 and sorted(a["id"] for a in found) == [first, second, third]
    assert headers["x-total"] == "3" and {a["status"] for a in found} == {"triggered"}
    assert all(a["incident"] == INCIDENT for a in found)
    assert [a["id"] for a in call(served, "GET", "/api/alerts?status=resolved")[1]] == []
    assert len(call(served, "GET", f"/api/alerts?incident={INCIDENT}&status=open")[1]) == 3
    status, page, headers = call(served, "GET", "/api/alerts?per_page=2")
    assert len(page) == 2 and headers["x-next-page"] == "2"
    status, rest, headers = call(served, "GET", "/api/alerts?per_page=2&page=2")
    assert len(rest) == 1 and "x-next-page" not in headers
    status, shown, _ = call(served, "GET", f"/api/alerts/{first}")
    assert status == 200 and shown["id"] == first and shown["hosts"] == ["web-1"]
    assert [e["event"] for e in shown["events"]] == ["fired", "linked"]

    # GitLab's PUT .../alerts/:iid with status=acknowledged: one commit, naming the person; a 200
    # only once it is pushed.
    status, done, _ = call(served, "PUT", f"/api/alerts/{first}", {"status": "acknowledged", "by": "amara"})
    assert status == 200, done
    assert done["alert"]["status"] == "acknowledged" and done["alert"]["events"][-1]["by"] == "amara"
    assert done["pushed"] is True
    assert remote_log(clone)[0] == f"Acknowledge alert {first} by amara"
    assert done["commit"] == git(clone.parent / "remote.git", "rev-parse", "main").strip()
    message = git(clone.parent / "remote.git", "log", "-1", "--format=%an%n%B", "main")
    assert message.startswith("Tidings runner\n") and "Via the alert API." in message
    for trailer in (f"Tidings-Alert: {first}", "Tidings-Person: amara", "Tidings-Journal-Seq: "):
        assert trailer in message
    assert changed_on_remote(clone) == [f"content/alerts/{first}.yml"]  # two others still trigger

    # GitLab's own form: `curl --data "status=resolved"`; the reason lands in the alert's events.
    form = urllib.parse.urlencode({"status": "resolved", "by": "jonas", "reason": "rolled back"}).encode()
    status, done, _ = call(
        served,
        "PUT",
        f"/api/alerts/{second}",
        raw=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200, done
    assert (remote_alerts(clone)[second].status, remote_alerts(clone)[second].events[-1].reason) == (
        "resolved",
        "rolled back",
    )
    assert remote_log(clone)[0] == f"Resolve alert {second} by jonas"

    # The last one acknowledged: none is left triggered, so the incident is acknowledged too.
    status, done, _ = call(served, "PUT", f"/api/alerts/{third}", {"status": "acknowledged", "by": "priya"})
    assert status == 200 and done["incident_change"].endswith(
        "acknowledged: none of its alerts is left triggered"
    )
    assert remote_incident(clone, INCIDENT).acknowledged_at is not None
    assert changed_on_remote(clone) == sorted(
        [f"content/alerts/{third}.yml", f"content/incidents/{INCIDENT}.md"]
    )
    status, done, _ = call(served, "PUT", f"/api/alerts/{third}", {"status": "triggered", "by": "priya"})
    assert status == 200 and done["alert"]["status"] == "triggered"  # unacknowledged

    status, done, _ = call(served, "POST", f"/api/alerts/{third}/link", {"incident": OTHER, "by": "amara"})
    assert status == 200 and done["alert"]["incident"] == OTHER, done
    assert remote_log(clone)[0] == f"Link alert {third} to incident {OTHER} by amara"
    assert any(
        a.fingerprint == remote_alerts(clone)[third].fingerprint for a in remote_incident(clone, OTHER).alerts
    )
    assert git(clone, "status", "--porcelain") == ""


def test_refusals_answer_why_and_write_nothing(served, clone):
    first, second, _ = sorted(remote_alerts(clone))
    assert call(served, "PUT", f"/api/alerts/{first}", {"status": "acknowledged", "by": "amara"})[0] == 200
    served.wait_idle()
    before_log, before_journal = remote_log(clone), journal(clone)
    put = f"/api/alerts/{second}"
    cases: list[tuple[str, str, dict[str, Any], int, dict[str, str]]] = [
        # method, path, options for call, status, what the body says (key -> words in it)
        ("GET", "/api/alerts", {"token": None}, 401, {"error": "missing or wrong bearer token"}),
        ("GET", f"/api/alerts/{first}", {"token": "guessed"}, 401, {}),
        ("PUT", put, {"body": {"status": "resolved", "by": "amara"}, "token": TOKEN}, 401, {}),
        ("PUT", put, {"body": {"status": "resolved", "by": "amara"}, "token": ""}, 401, {}),
        ("PUT", f"/api/alerts/{first[:-1]}x", {"body": {"status": "resolved", "by": "amara"}}, 404,
         {"error": f"no alert '{first[:-1]}x'", "hint": f"did you mean '{first}'?"}),
        ("GET", f"/api/alerts/{first[:-1]}x", {}, 404, {"hint": f"did you mean '{first}'?"}),
        ("PUT", f"/api/alerts/{first}", {"body": {"status": "acknowledged", "by": "amara"}}, 409,
         {"error": f"cannot acknowledge alert {first}: it is acknowledged already; nothing was changed"}),
        ("PUT", put, {"body": {"status": "acknowledged"}}, 422, {"field": "by", "error": "'by' is required"}),
        ("PUT", put, {"body": {"status": "acknowledgd", "by": "amara"}}, 422,
         {"field": "status", "hint": "did you mean 'acknowledged'?"}),
        ("PUT", put, {"body": {"status": "resolved", "by": "amra"}}, 422,
         {"field": "by", "error": "no person 'amra' in people.yml", "hint": "did you mean 'amara'?"}),
        ("PUT", put, {"body": {"status": "resolved", "by": "amara", "reasn": "x"}}, 422,
         {"field": "reasn", "hint": "did you mean 'reason'?"}),
        ("PUT", put, {"body": {"status": 1, "by": "amara"}}, 422,
         {"field": "status", "error": "must be a string"}),
        ("PUT", put, {"body": {"status": "resolved", "by": "amara", "reason": "x" * 2001}}, 422,
         {"field": "reason"}),
        ("PUT", put, {"body": ["status", "resolved"]}, 422, {"field": "(body)"}),
        ("PUT", put, {"raw": b"status: resolved"}, 400, {"error": "the body is not JSON"}),
        ("PUT", put, {"raw": b"{" + b" " * (65 * 1024) + b"}"}, 413, {}),
        ("POST", f"{put}/link", {"body": {"incident": OTHER[:-1], "by": "amara"}}, 422,
         {"field": "incident", "error": f"(did you mean '{OTHER}'?)"}),
        ("POST", f"{put}/link", {"body": {"incident": INCIDENT, "by": "amara"}}, 409,
         {"error": f"belongs to incident {INCIDENT} already"}),
        ("GET", "/api/alerts?status=bogus", {}, 422, {"field": "status"}),
        ("GET", "/api/alerts?integration=prometeus", {}, 422, {"hint": "did you mean 'prometheus'?"}),
        ("GET", "/api/alerts?sort=asc", {}, 422, {"field": "sort"}),
        ("GET", "/api/alerts?since=yesterday", {}, 422, {"field": "since"}),
    ]  # fmt: skip
    for method, path, options, expected, says in cases:
        status, body, _ = call(served, method, path, **options)
        assert status == expected, (method, path, options.get("body"), body)
        for key, words in says.items():
            assert words in str(body.get(key)), (path, body)
    assert remote_log(clone) == before_log and journal(clone) == before_journal
    assert git(clone, "status", "--porcelain") == ""


def test_a_kill_9_right_after_a_2xx_still_lands_exactly_once(served, clone):
    first, second, _ = sorted(remote_alerts(clone))
    # Answered 200 (committed and pushed), then killed: the restart must not apply them again. (A
    # replay of both would acknowledge the alert again: each alone makes sense from where the other
    # left it.)
    for status_asked in ("acknowledged", "triggered"):
        answer = call(served, "PUT", f"/api/alerts/{first}", {"status": status_asked, "by": "amara"})
        assert answer[0] == 200, answer
    served.kill(signal.SIGKILL)
    served.start()
    # Answered 202 at once (journalled, fsynced), killed before the worker may even have looked.
    status, accepted, headers = call(
        served,
        "PUT",
        f"/api/alerts/{second}",
        {"status": "ignored", "by": "jonas", "reason": "flapping probe"},
        headers={"Prefer": "respond-async"},
    )
    assert (
        status == 202
        and accepted["status"] == "accepted"
        and headers["preference-applied"] == "respond-async"
    )
    served.kill(signal.SIGKILL)
    served.start()
    wait_for(
        lambda: f"Ignore alert {second} by jonas" in remote_log(clone), what="the ignore after the restart"
    )
    served.wait_idle()
    served.kill(signal.SIGKILL)  # and once more, idle: nothing is left to apply
    served.start()
    served.wait_idle()
    assert commits_named(clone, f"Acknowledge alert {first} by amara") == 1
    assert commits_named(clone, f"Unacknowledge alert {first} by amara") == 1
    assert commits_named(clone, f"Ignore alert {second} by jonas") == 1
    records = remote_alerts(clone)
    assert records[first].status == "triggered"
    assert [e.event for e in records[first].events][-2:] == ["acknowledged", "unacknowledged"]
    assert [e.event for e in records[first].events].count("acknowledged") == 1
    assert [e.event for e in records[second].events].count("ignored") == 1
    assert records[second].events[-1].reason == "flapping probe"
    assert git(clone, "status", "--porcelain") == ""


def test_a_change_held_by_a_broken_repo_survives_a_kill_9_and_lands_once_when_fixed(served, clone, tmp_path):
    """Deterministically journalled but not applied when killed: a person's broken push holds the worker."""
    first = sorted(remote_alerts(clone))[0]
    human = tmp_path / "human"
    git(tmp_path, "clone", "--quiet", str(tmp_path / "remote.git"), str(human))
    site = human / ".gitlab" / "status-page.yml"
    good = site.read_text()
    site.write_text(good.replace("title:", "titel:", 1))
    _human_push(human, "Typo")

    def health() -> dict[str, Any]:
        with urllib.request.urlopen(served.url + "/healthz", timeout=5) as r:
            return dict(json.loads(r.read()))

    # The first step after the typo fetches it and stops: the repo has errors.
    assert served.post((RAW / "single_1.body").read_bytes()) == 200
    wait_for(lambda: "errors" in health()["reason"], what="the runner to report the broken repo")
    body = {"status": "resolved", "by": "amara", "reason": "fixed upstream"}
    status, answer, _ = call(served, "PUT", f"/api/alerts/{first}", body, headers={"Prefer": "respond-async"})
    assert status == 202, answer
    assert health()["journal_depth"] == 2  # the alert and the change, journalled, neither applied
    served.kill(signal.SIGKILL)
    site.write_text(good)
    _human_push(human, "Fix the typo")
    served.start()
    wait_for(lambda: f"Resolve alert {first} by amara" in remote_log(clone), what="the held change")
    served.wait_idle()
    served.kill(signal.SIGKILL)
    served.start()
    served.wait_idle()
    assert commits_named(clone, f"Resolve alert {first} by amara") == 1
    resolved = remote_alerts(clone)[first]
    assert resolved.status == "resolved" and [e.event for e in resolved.events].count("resolved") == 1
    assert resolved.events[-1].reason == "fixed upstream"


def _human_push(work: Path, message: str) -> None:
    git(work, "-c", "user.name=Bo", "-c", "user.email=bo@example.com", "commit", "-qam", message)
    git(work, "push", "--quiet", "origin", "HEAD:main")


def test_with_the_remote_down_the_answer_says_not_pushed_and_the_push_follows(served, clone, tmp_path):
    first = sorted(remote_alerts(clone))[0]
    remote, away = tmp_path / "remote.git", tmp_path / "remote-away.git"
    remote.rename(away)
    status, done, _ = call(served, "PUT", f"/api/alerts/{first}", {"status": "acknowledged", "by": "amara"})
    assert status == 200 and done["pushed"] is False, done
    assert git(clone, "log", "-1", "--format=%s").strip() == f"Acknowledge alert {first} by amara"
    away.rename(remote)
    wait_for(lambda: remote_log(clone)[0] == f"Acknowledge alert {first} by amara", what="the late push")
    assert commits_named(clone, f"Acknowledge alert {first} by amara") == 1


def test_two_changes_racing(served, clone):
    first, second, third = sorted(remote_alerts(clone))
    requests = [
        (first, {"status": "acknowledged", "by": "amara"}),
        (first, {"status": "acknowledged", "by": "jonas"}),  # the same alert: one of them is too late
        (second, {"status": "ignored", "by": "priya"}),
        (third, {"status": "resolved", "by": "amara"}),
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda r: call(served, "PUT", f"/api/alerts/{r[0]}", r[1]), requests))
    statuses = [a[0] for a in answers]
    assert sorted(statuses[:2]) == [200, 409] and statuses[2:] == [200, 200], answers
    loser = answers[statuses.index(409)][1]
    assert f"cannot acknowledge alert {first}: it is acknowledged already" in loser["error"]
    winner = requests[statuses.index(200)][1]["by"]
    served.wait_idle()
    records = remote_alerts(clone)
    assert [e.by for e in records[first].events if e.event == "acknowledged"] == [winner]
    assert (records[second].status, records[third].status) == ("ignored", "resolved")
    assert commits_named(clone, f"Acknowledge alert {first} by {winner}") == 1
    assert (
        sum(s.endswith((f"alert {first} by amara", f"alert {first} by jonas")) for s in remote_log(clone))
        == 1
    )
    assert git(clone, "status", "--porcelain") == ""


def test_without_a_token_in_the_environment_the_api_is_off(clone, monkeypatch, caplog):
    monkeypatch.setenv("TIDINGS_TOKEN_PROMETHEUS", TOKEN)
    monkeypatch.delenv(alerts_api.TOKEN_ENV, raising=False)
    with TestClient(create_app(clone, do_push=False)) as client:
        for method, path in [
            ("GET", "/api/alerts"),
            ("GET", "/api/alerts/prometheus-0a065a0f43b1"),
            ("PUT", "/api/alerts/prometheus-0a065a0f43b1"),
            ("POST", "/api/alerts/prometheus-0a065a0f43b1/link"),
        ]:
            for header in ({}, {"Authorization": "Bearer "}, {"Authorization": f"Bearer {API_TOKEN}"}):
                response = client.request(
                    method, path, headers=header, json={"status": "resolved", "by": "amara"}
                )
                assert response.status_code == 401, (method, path, header)
        # With it set, a wrong token is refused; neither the one given nor the one set is ever logged.
        monkeypatch.setenv(alerts_api.TOKEN_ENV, API_TOKEN)
        assert client.get("/api/alerts", headers={"Authorization": "Bearer leaked-token"}).status_code == 401
        assert client.get("/api/alerts", headers={"Authorization": f"Bearer {API_TOKEN}"}).status_code == 200
    assert "leaked-token" not in caplog.text and API_TOKEN not in caplog.text
    assert "token not set: the alert API is off" in caplog.text

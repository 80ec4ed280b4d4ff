"""Acknowledging: `tidings incident ack`, and signed, expiring ack links served by the runner."""

from __future__ import annotations

import base64
import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from tests.runner.conftest import ACK_SECRET, TOKEN, commit_all, remote_log
from tests.runner.test_tick import ID, INCIDENT, REL, incident, minutes, pages
from tidings.cli.main import main
from tidings.ops.incidents import IncidentError, acknowledge
from tidings.runner.app import create_app
from tidings.runner.escalation.ack import BadToken, make_token, read_token
from tidings.runner.escalation.tick import tick_root
from tidings.store.git import git

SECRET = ACK_SECRET.encode()


@pytest.fixture
def opened(clone, paging):
    (clone / REL).write_text(INCIDENT)
    commit_all(clone, "Open the checkout incident")
    return clone


# --- tokens ----------------------------------------------------------------------------------------


def test_a_token_says_what_it_was_made_for_until_it_expires():
    token = make_token(SECRET, ID, "amara", minutes(60))
    claim = read_token(SECRET, token, minutes(59))
    assert (claim.incident, claim.person, claim.expires) == (ID, "amara", minutes(60))
    with pytest.raises(BadToken, match="expired"):
        read_token(SECRET, token, minutes(60))


def _altered(token: str) -> str:
    """The same signature on a payload that names another incident."""
    payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["i"] = "2026-11-24-postgres-replica-lag"
    forged = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{forged}.{signature}"


@pytest.mark.parametrize(
    "bad",
    [
        lambda t: make_token(b"another-secret-of-enough-length", ID, "amara", minutes(60)),  # forged
        _altered,
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: t.split(".")[0],  # no signature
        lambda t: "",
        lambda t: "not.a-token",
    ],
    ids=["forged", "altered-payload", "altered-signature", "unsigned", "empty", "garbage"],
)
def test_forged_or_altered_tokens_are_refused(bad):
    token = make_token(SECRET, ID, "amara", minutes(60))
    with pytest.raises(BadToken):
        read_token(SECRET, bad(token), minutes(1))


# --- the library and the command -------------------------------------------------------------------


def test_acknowledge_sets_the_time_adds_an_internal_update_and_commits(opened):
    result = acknowledge(opened, ID, minutes(3), by="amara")
    assert result.changed and result.commit
    inc = incident(opened)
    assert inc.acknowledged_at == minutes(3)
    last = inc.updates[-1]
    assert last.internal and last.author == "amara" and last.body.startswith("Acknowledged by amara")
    assert git(opened, "log", "-1", "--format=%s").strip() == f"Acknowledge incident {ID} by amara"
    again = acknowledge(opened, ID, minutes(4), by="jonas")
    assert not again.changed and "already acknowledged" in again.message
    assert incident(opened).acknowledged_at == minutes(3)
    with pytest.raises(IncidentError, match="did you mean"):
        acknowledge(opened, ID.replace("checkout", "checkuot"), minutes(4))


def test_incident_ack_command(opened, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(minutes(2).timestamp())))
    git(opened, "config", "user.email", "Jonas.Weber@example.com")
    git(opened, "config", "user.name", "Jonas Weber")
    run = CliRunner().invoke(main, ["incident", "ack", ID, str(opened)])
    assert run.exit_code == 0, run.output
    assert run.output.startswith(f"acknowledged incident {ID} by jonas (commit ")
    assert git(opened, "log", "-1", "--format=%an <%ae>").strip() == "Jonas Weber <Jonas.Weber@example.com>"
    run = CliRunner().invoke(main, ["incident", "ack", ID, str(opened)])
    assert run.exit_code == 0 and "already acknowledged" in run.output
    run = CliRunner().invoke(main, ["incident", "ack", "nope", str(opened)])
    assert run.exit_code == 2 and "no incident 'nope'" in run.output
    run = CliRunner().invoke(main, ["incident", "ack", ID, str(opened), "--by", "jonass"])
    assert run.exit_code == 2 and "did you mean 'jonas'" in run.output


def test_resolved_incidents_are_not_acknowledged(opened):
    resolved = "status: resolved\nresolved_at: 2026-11-17T16:00:00Z\n"
    (opened / REL).write_text((opened / REL).read_text().replace("status: investigating\n", resolved, 1))
    commit_all(opened, "Resolved")
    result = acknowledge(opened, ID, minutes(20))
    assert not result.changed and "already resolved" in result.message


# --- links served by the runner --------------------------------------------------------------------


@pytest.fixture
def runner_app(opened, monkeypatch):
    monkeypatch.setenv("TIDINGS_TOKEN_PROMETHEUS", TOKEN)
    with TestClient(create_app(opened, do_push=True)) as client:
        yield client


def _state(clone) -> tuple[str, str, str]:
    return git(clone, "rev-parse", "HEAD"), (clone / REL).read_text(), git(clone, "status", "--porcelain")


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("kind", ["forged", "altered", "expired", "garbage"])
def test_bad_links_get_403_and_change_nothing(runner_app, opened, kind, method):
    now = datetime.now(UTC)
    tokens = {
        "forged": make_token(b"another-secret-of-enough-length", ID, "amara", now + timedelta(hours=1)),
        "altered": _altered(make_token(SECRET, ID, "amara", now + timedelta(hours=1))),
        "expired": make_token(SECRET, ID, "amara", now - timedelta(seconds=1)),
        "garbage": "x.y",
    }
    before, remote_before = _state(opened), remote_log(opened)
    response = runner_app.request(method, f"/ack/{tokens[kind]}")
    assert response.status_code == 403
    assert "Nothing was changed" in response.text
    assert _state(opened) == before and remote_log(opened) == remote_before
    assert incident(opened).acknowledged_at is None


def test_a_valid_link_asks_first_then_acknowledges_commits_and_pushes(runner_app, opened):
    token = make_token(SECRET, ID, "amara", datetime.now(UTC) + timedelta(hours=1))
    before = _state(opened)
    asked = runner_app.get(f"/ack/{token}")
    assert asked.status_code == 200 and '<form method="post">' in asked.text
    assert _state(opened) == before  # a link scanner's GET acknowledges nothing
    done = runner_app.post(f"/ack/{token}")
    assert done.status_code == 200 and f"Acknowledged incident {ID} by amara" in done.text
    assert incident(opened).acknowledged_at is not None
    log = remote_log(opened)
    assert log[0] == f"Acknowledge incident {ID} by amara"
    assert git(opened, "status", "--porcelain") == ""
    again = runner_app.post(f"/ack/{token}")
    assert again.status_code == 200 and "already acknowledged" in again.text
    assert remote_log(opened) == log
    assert not (opened / ".git/tidings-runner/acks.jsonl").read_text().strip()


def test_no_secret_no_links(runner_app, opened, monkeypatch):
    token = make_token(SECRET, ID, "amara", datetime.now(UTC) + timedelta(hours=1))
    monkeypatch.delenv("TIDINGS_ACK_SECRET")
    assert runner_app.post(f"/ack/{token}").status_code == 403
    assert incident(opened).acknowledged_at is None


def test_the_link_in_a_page_stops_the_escalation(opened, monkeypatch, http_receiver):
    now = datetime.now(UTC).replace(microsecond=0)
    started = now - timedelta(minutes=1)
    stamp = started.isoformat().replace("+00:00", "Z")
    (opened / REL).write_text(INCIDENT.replace("2026-11-17T15:50:00Z", stamp))
    commit_all(opened, "A fresh incident")
    tick_root(opened, now)
    (slack,) = [r for r in http_receiver.at("/slack") if ID in r.body.decode()]
    url = slack.json()["blocks"][-1]["elements"][0]["url"]
    monkeypatch.setenv("TIDINGS_TOKEN_PROMETHEUS", TOKEN)
    with TestClient(create_app(opened, do_push=True)) as client:
        assert client.post(url.replace("https://runner.test", "")).status_code == 200
    assert incident(opened).acknowledged_at is not None
    tick_root(opened, now + timedelta(minutes=20))  # rule 2 (unless acknowledged) is due: it stays quiet
    assert [p[1] for p in pages(opened)] == [1]


def test_a_queued_ack_survives_a_down_remote(runner_app, opened, tmp_path):
    remote, away = tmp_path / "remote.git", tmp_path / "away.git"
    remote.rename(away)
    token = make_token(SECRET, ID, "amara", datetime.now(UTC) + timedelta(hours=1))
    assert runner_app.post(f"/ack/{token}").status_code == 200
    queued = (opened / ".git/tidings-runner/acks.jsonl").read_text()
    assert ID in queued  # committed locally; kept until the remote holds it
    away.rename(remote)
    tick_root(opened, datetime.now(UTC))
    assert "Acknowledge incident" in git(remote, "log", "--format=%s", "main")
    assert not (opened / ".git/tidings-runner/acks.jsonl").read_text().strip()


def test_an_ack_taken_while_the_remote_was_down_reaches_it_without_a_tick(opened, tmp_path):
    """`runner serve --tick-seconds 0`: no tick pushes the queued ack, so the ack link path must."""
    from tests.runner.conftest import Runner, wait_for

    remote, away = tmp_path / "remote.git", tmp_path / "away.git"
    runner = Runner(opened)  # --tick-seconds 0
    runner.start()
    try:

        def idle() -> bool:
            with urllib.request.urlopen(f"{runner.url}/healthz", timeout=5) as r:
                return json.loads(r.read())["unpushed"] is False

        wait_for(idle, what="the worker to have nothing to push")  # so nothing else pushes the ack
        remote.rename(away)
        token = make_token(SECRET, ID, "amara", datetime.now(UTC) + timedelta(hours=1))
        request = urllib.request.Request(f"{runner.url}/ack/{token}", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200 and "Acknowledged incident" in answer.read().decode()
        away.rename(remote)

        def pushed() -> bool:
            return f"Acknowledge incident {ID} by amara" in git(remote, "log", "--format=%s", "main")

        wait_for(pushed, timeout=20, what="the ack to reach the remote")
        wait_for(lambda: not (opened / ".git/tidings-runner/acks.jsonl").read_text().strip(), what="settled")
    finally:
        runner.kill()

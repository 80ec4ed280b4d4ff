"""Heartbeats (a dead man's switch): a Watchdog alert from a real Alertmanager, POST /heartbeat, and
the 'monitoring silent' alert that goes the way every alert goes, on real clones of a bare remote.

Time is the one thing the tests control: the runners run in this process (a real uvicorn server in a
thread each) with `tidings.clock.now` set by the test, so a ten-minute silence takes no ten minutes
and nothing sleeps.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn

from tests.runner.conftest import TOKEN, _run, commit_all, wait_for
from tests.runner.test_alertmanager import BINARY, Alertmanager
from tidings.content.load import load
from tidings.content.model import Incident, Integration
from tidings.runner.app import create_app
from tidings.runner.escalation import heartbeat
from tidings.runner.escalation.heartbeat import HeartbeatLog, alarms, beats, without_heartbeats
from tidings.runner.journal import read_entries
from tidings.runner.sources.events import Alert, AlertEvent
from tidings.store.git import git

T0 = datetime(2026, 11, 17, 15, 50, tzinfo=UTC)
SILENT = "Monitoring silent: no heartbeat from prometheus"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- the rules, on a state folder ------------------------------------------------------------------


def integration(**fields: object) -> Integration:
    data: dict[str, object] = {
        "id": "prometheus",
        "kind": "alertmanager",
        "token_env": "T",
        "policy": "default",
        "heartbeat": {"silent_after_minutes": 10},
        **fields,
    }
    return Integration.model_validate(data)


def test_silence_raises_once_and_a_heartbeat_resolves(tmp_path):
    log = HeartbeatLog(tmp_path)
    known = {"prometheus": integration()}
    assert alarms(log, known, at(60), at(0)) == []  # never heard from here: not watched
    log.saw("prometheus", at(0))
    assert alarms(log, known, at(9.99), at(0)) == []
    (raised,) = alarms(log, known, at(10), at(0))
    assert raised.raise_ and raised.last == at(0)
    log.set_raised("prometheus", at(10))
    assert alarms(log, known, at(30), at(0)) == []  # raised once, not at every check
    log.saw("prometheus", at(31))
    (resolved,) = alarms(log, known, at(31), at(0))
    assert not resolved.raise_
    # The state is on disk: a restarted runner reads it back.
    again = HeartbeatLog(tmp_path)
    assert (again.last("prometheus"), again.raised("prometheus")) == (at(31), at(10))


def test_a_runner_does_not_count_its_own_downtime_as_silence(tmp_path):
    log = HeartbeatLog(tmp_path)
    log.saw("prometheus", at(0))
    known = {"prometheus": integration()}
    # Down from minute 1 to minute 60: the first heartbeat after a restart may be a minute away.
    assert alarms(log, known, at(69), at(60)) == []
    assert [a.raise_ for a in alarms(log, known, at(70), at(60))] == [True]


def test_an_integration_that_no_longer_expects_heartbeats_resolves_its_alarm(tmp_path):
    log = HeartbeatLog(tmp_path)
    log.saw("prometheus", at(0))
    log.set_raised("prometheus", at(10))
    (done,) = alarms(log, {"prometheus": integration(heartbeat=None)}, at(20), at(0))
    assert not done.raise_
    payload = heartbeat.alarm_payload(done, at(20))
    assert payload["end_time"] == "2026-11-17T16:10:00Z" and "no longer expects" in payload["description"]
    assert alarms(log, {}, at(20), at(0)) == []  # gone from the config: nothing to raise it through


def test_heartbeat_alerts_are_taken_out_and_only_firing_ones_beat():
    def alert(name: str, state: str = "firing") -> Alert:
        return Alert(name, state, T0, None, labels={"alertname": name}, title=name)

    watched = integration(heartbeat={"silent_after_minutes": 5, "alerts": ["Watchdog", "DeadMansSwitch"]})
    mixed = AlertEvent("prometheus", "alertmanager", "g", "t", "", (alert("Watchdog"), alert("DiskFull")))
    assert beats(mixed, watched)
    assert [a.fingerprint for a in without_heartbeats(mixed, watched).alerts] == ["DiskFull"]
    stopped = AlertEvent("prometheus", "alertmanager", "g", "t", "", (alert("DeadMansSwitch", "resolved"),))
    assert not beats(stopped, watched) and without_heartbeats(stopped, watched).alerts == ()
    unwatched = integration(heartbeat=None)
    assert not beats(mixed, unwatched) and without_heartbeats(mixed, unwatched) is mixed


# --- runners in this process, on a clock the test sets ---------------------------------------------


class Clock:
    def __init__(self, now: datetime):
        self.now = now
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return self.now

    def set(self, now: datetime) -> None:
        with self.lock:
            self.now = now


@pytest.fixture
def fake_clock(monkeypatch) -> Clock:
    clock = Clock(T0)
    monkeypatch.setattr("tidings.clock.now", clock)
    return clock


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class InProcess:
    """`runner serve` as create_app under a real uvicorn server, in a thread of this process."""

    def __init__(self, root: Path, state: Path, tick_seconds: float | None = None):
        self.root, self.state = root, state
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(root, state_dir=state, tick_seconds=tick_seconds, heartbeat_seconds=0.05)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> InProcess:
        self.thread.start()
        wait_for(lambda: self.server.started, what="the runner to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def post(self, path: str, body: bytes = b"", token: str = TOKEN) -> int:
        request = urllib.request.Request(
            self.url + path, data=body, headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def last_heartbeat(self) -> datetime | None:
        return HeartbeatLog(self.state).last("prometheus")

    def journalled_alarms(self) -> list[dict]:
        entries, _ = read_entries(self.state / "journal.jsonl")
        return [e.record for e in entries if e.record.get("origin") == heartbeat.ORIGIN]


def expect_heartbeat(clone: Path, minutes: int = 10) -> None:
    path = clone / ".gitlab/integrations.yml"
    text = path.read_text().replace(
        "    reopen_minutes: 60\n",
        f"    reopen_minutes: 60\n    policy: default\n    heartbeat: {{silent_after_minutes: {minutes}}}\n",
        1,
    )
    path.write_text(text)
    commit_all(clone, "Prometheus sends a Watchdog heartbeat")
    result = load(clone)
    assert result.errors == [] and [w for w in result.warnings if "heartbeat" in w.code] == []


def remote_view(tmp_path: Path) -> Path:
    view = tmp_path / "view"
    if not view.exists():
        _run("git", "clone", "--quiet", str(tmp_path / "remote.git"), str(view), cwd=tmp_path)
    git(view, "pull", "--quiet", "--ff-only")
    return view


def silent_incidents(tmp_path: Path) -> list[Incident]:
    return [i for i in load(remote_view(tmp_path)).repo.incidents if i.title == SILENT]


def watchdog(ends_in_seconds: float) -> dict:
    """Prometheus' always-firing Watchdog, as Prometheus posts it (it stops when endsAt passes)."""
    now = datetime.now(UTC)
    return {
        "labels": {"alertname": "Watchdog", "severity": "none"},
        "annotations": {"summary": "An alert that should always be firing"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(seconds=ends_in_seconds)).isoformat(),
    }


@pytest.mark.skipif(BINARY is None, reason="script/test installs prometheus-alertmanager")
def test_a_watchdog_that_stops_trips_the_heartbeat_which_pages_and_recovers(
    clone, paging, http_receiver, fake_clock, monkeypatch, tmp_path
):
    monkeypatch.setenv("TIDINGS_TOKEN_PROMETHEUS", TOKEN)
    expect_heartbeat(clone)
    with InProcess(clone, tmp_path / "state", tick_seconds=0.1) as runner:
        am = Alertmanager(tmp_path, runner.url)
        try:
            am.send([watchdog(ends_in_seconds=1.5)])
            wait_for(lambda: runner.last_heartbeat() == T0, what="the Watchdog to arrive")
            # Then it stops (Prometheus is gone): Alertmanager sends it resolved, which is no heartbeat.
            wait_for(lambda: received(runner) >= 2, what="the Watchdog's resolution")
            wait_for(lambda: idle(runner), what="the runner to apply it")
            assert runner.last_heartbeat() == T0 and silent_incidents(tmp_path) == []
            fake_clock.set(at(10))  # ten minutes without a heartbeat
            wait_for(lambda: silent_incidents(tmp_path), what="the monitoring silent incident")
            (raised,) = silent_incidents(tmp_path)
            assert (raised.status, raised.policy, raised.components) == ("investigating", "default", {})
            assert raised.severity == "critical" and raised.started_at == at(10)
            assert "No heartbeat from integration 'prometheus' since 2026-11-17T15:50:00Z" in raised.body
            # It pages through the integration's policy, like any alert's incident.
            wait_for(
                lambda: any(p.state == "sent" for i in silent_incidents(tmp_path) for p in i.pages),
                what="the silence to page",
            )
            (page,) = [r for r in http_receiver.at("/slack") if raised.id in r.body.decode()]
            assert page.headers["Idempotency-Key"] == silent_incidents(tmp_path)[0].pages[0].key
            # Heartbeats come back: the alert resolves, and so does its incident.
            fake_clock.set(at(12))
            am.send([watchdog(ends_in_seconds=600)])
            wait_for(lambda: runner.last_heartbeat() == at(12), what="the Watchdog to come back")
            wait_for(
                lambda: silent_incidents(tmp_path)[0].status == "resolved", what="the incident to resolve"
            )
            (resolved,) = silent_incidents(tmp_path)
            assert resolved.resolved_at == at(12)
            assert [u.status for u in resolved.updates] == ["investigating", "resolved"]
        finally:
            am.stop()
    view = remote_view(tmp_path)
    titles = [i.title for i in load(view).repo.incidents]
    assert not [t for t in titles if "Watchdog" in t or "always be firing" in t]  # heartbeats never are
    subjects = git(view, "log", "--format=%s").splitlines()
    assert subjects.count(f"runner: opened incident {raised.id}") == 1
    assert subjects.count(f"runner: resolved incident {raised.id}") == 1


def received(runner: InProcess) -> float:
    with urllib.request.urlopen(runner.url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    return float(
        next(
            line.split()[1] for line in text.splitlines() if line.startswith("tidings_runner_received_total")
        )
    )


def idle(runner: InProcess) -> bool:
    with urllib.request.urlopen(runner.url + "/healthz", timeout=5) as r:
        health = json.loads(r.read())
    return health["journal_depth"] == 0 and not health["unpushed"]


def test_post_heartbeat_is_authenticated_and_on_disk_before_it_is_answered(
    clone, fake_clock, monkeypatch, tmp_path
):
    monkeypatch.setenv("TIDINGS_TOKEN_PROMETHEUS", TOKEN)
    monkeypatch.setenv("TIDINGS_TOKEN_UPTIME", "uptime-token")
    expect_heartbeat(clone)
    state = tmp_path / "state"
    with InProcess(clone, state) as runner:
        assert runner.post("/heartbeat/nope") == 404
        assert runner.post("/heartbeat/prometheus", token="wrong") == 401
        assert runner.post("/heartbeat/uptime-checks", token="uptime-token") == 404  # it expects none
        assert not (state / heartbeat.STATE_FILE).exists()  # refusals write nothing
        request = urllib.request.Request(
            runner.url + "/heartbeat/prometheus", data=b"", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            assert json.loads(r.read()) == {
                "status": "ok",
                "integration": "prometheus",
                "at": "2026-11-17T15:50:00Z",
            }
        assert json.loads((state / heartbeat.STATE_FILE).read_text()) == {
            "prometheus": {"last": "2026-11-17T15:50:00Z"}
        }
        assert urllib.request.urlopen(runner.url + "/healthz", timeout=5).status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(runner.url + "/heartbeat/prometheus", timeout=5)  # GET
        assert refused.value.code == 405


def test_runners_sharing_a_remote_raise_from_their_own_view_and_make_one_incident(
    clone, fake_clock, monkeypatch, tmp_path
):
    monkeypatch.setenv("TIDINGS_TOKEN_PROMETHEUS", TOKEN)
    expect_heartbeat(clone)
    other = tmp_path / "other"
    _run("git", "clone", "--quiet", str(tmp_path / "remote.git"), str(other), cwd=tmp_path)
    with InProcess(clone, tmp_path / "state-a") as a, InProcess(other, tmp_path / "state-b") as b:
        # A load balancer sends every heartbeat to runner A; B never gets one, so B never watches.
        for minute in (0, 5):
            fake_clock.set(at(minute))
            assert a.post("/heartbeat/prometheus") == 200
        fake_clock.set(at(15))  # ten minutes since A's last: A raises; B, which never heard one, does not
        wait_for(lambda: silent_incidents(tmp_path), what="A's alarm")
        # By the time A's alarm is applied, committed and pushed, B has checked dozens of times.
        wait_for(lambda: idle(a) and idle(b), what="both runners to settle")
        assert [r["origin"] for r in a.journalled_alarms()] == ["heartbeat"] and b.journalled_alarms() == []
        # Heartbeats come back, to both runners now (an HA pair): A resolves what it raised.
        fake_clock.set(at(16))
        assert a.post("/heartbeat/prometheus") == 200 and b.post("/heartbeat/prometheus") == 200
        wait_for(lambda: silent_incidents(tmp_path)[0].status == "resolved", what="the resolution")
        assert b.journalled_alarms() == []  # B had raised nothing
        # Both go silent at once: both raise, and the remote holds one incident, reopened once.
        fake_clock.set(at(26))
        wait_for(
            lambda: len(a.journalled_alarms()) == 3 and len(b.journalled_alarms()) == 1, what="two alarms"
        )
        wait_for(lambda: idle(a) and idle(b), what="both runners to settle")
        wait_for(lambda: silent_incidents(tmp_path)[0].status == "investigating", what="the reopening")
    (silent,) = silent_incidents(tmp_path)
    assert [u.status for u in silent.updates] == ["investigating", "resolved", "investigating"]
    assert silent.reopened_at == at(26)

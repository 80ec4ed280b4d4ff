"""Incident news in Slack channels by component and severity (`announce:`), told to a real local
HTTP receiver: by the library on a clone, and by the real runner server."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.runner.conftest import Runner, commit_all, wait_for
from tidings.cli.main import main
from tidings.content.model import AnnounceChannel
from tidings.ops.incidents import Actor, open_incident, resolve_incident
from tidings.runner import slack
from tidings.runner.escalation.announce import Announcer, Event, matches
from tidings.runner.remote import state_dir

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
ME = Actor("amara", ("Amara Okafor", "amara.okafor@example.com"), "amara")


def channel(**when: list[str]) -> AnnounceChannel:
    events = when.pop("events", ["opened", "resolved"])
    return AnnounceChannel.model_validate(
        {"id": "c", "kind": "slack", "url_env": "X", "when": when, "events": events}
    )


def event(kind: str = "opened", severity: str = "high", components: dict | None = None) -> Event:
    return Event(
        kind, "i", "sha", {"severity": severity, "components": components or {"postgres": "major_outage"}}
    )


def test_matching_by_component_severity_and_event() -> None:
    assert matches(channel(), event())
    assert matches(channel(components=["postgres", "storage"]), event())
    assert not matches(channel(components=["api"]), event())
    assert matches(channel(severities=["critical", "high"]), event())
    assert not matches(channel(severities=["critical"]), event())
    assert not matches(channel(components=["postgres"], severities=["critical"]), event())  # both must hold
    assert not matches(channel(events=["opened"]), event("resolved"))
    assert not matches(channel(components=["postgres"]), event(components={"api": "degraded_performance"}))


ANNOUNCE = """\
announce:
  - id: data-team             # database news that matters
    kind: slack
    url_env: TEST_DATA_URL
    when: {components: [postgres, storage], severities: [critical, high]}
  - id: critical-only
    kind: slack
    url_env: TEST_CRITICAL_URL
    when: {severities: [critical]}
    events: [opened]
  - id: everything
    kind: slack
    url_env: TEST_ALL_URL
"""


@pytest.fixture
def announcing(clone: Path, http_receiver, monkeypatch) -> dict[str, str]:
    path = clone / ".gitlab/notifications.yml"
    # The receiver is on loopback, which the runner calls only where the repo allows it.
    path.write_text(path.read_text().split("announce:")[0] + "allow_networks: [127.0.0.0/8]\n" + ANNOUNCE)
    commit_all(clone, "Announce incidents in team channels")
    env = {f"TEST_{name}_URL": f"{http_receiver.url}/{name.lower()}" for name in ("DATA", "CRITICAL", "ALL")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _push(clone: Path) -> None:
    from tidings.store.git import git

    git(clone, "push", "--quiet", "origin", "HEAD:refs/heads/main")


def _paths(http_receiver) -> list[tuple[str, str]]:
    return [(r.path, r.json()["text"]) for r in http_receiver.received]


def test_opened_and_resolved_reach_the_channels_that_want_them(clone, announcing, http_receiver) -> None:
    announcer = Announcer(clone, state_dir(clone), pushing=True)
    assert announcer.run_once(announcing) == []  # the first look remembers where the branch is
    opened = open_incident(
        clone, NOW, ME, title="DB primary down", severity="high", components=["postgres=major_outage"]
    )
    _push(clone)
    sent = announcer.run_once(announcing)
    assert [(r["channel"], r["event"], r["state"]) for r in sent] == [
        ("data-team", "opened", "sent"),
        ("everything", "opened", "sent"),
    ]
    text = f"Incident opened: DB primary down ({opened.incident_id})"
    assert _paths(http_receiver) == [("/data", text), ("/all", text)]
    message = http_receiver.at("/data")[0]
    blocks = message.json()["blocks"]
    assert (
        blocks[0]["text"]["text"]
        == ":rotating_light: Incident opened: *DB primary down* (high, investigating)"
    )
    assert (
        f"`{opened.incident_id}` · postgres major_outage · key {sent[0]['key']}"
        == blocks[1]["elements"][0]["text"]
    )
    assert message.headers["Idempotency-Key"] == sent[0]["key"]

    # Nothing new: nothing sent. An incident that arrives resolved (an import) was never open here.
    assert announcer.run_once(announcing) == []
    old = clone / "content/incidents/2020-01-01-old.md"
    old.write_text(
        "---\ntitle: Old\nseverity: critical\nstatus: resolved\nstarted_at: 2020-01-01T00:00:00Z\n"
        "resolved_at: 2020-01-01T01:00:00Z\n---\n"
    )
    commit_all(clone, "Import an old incident")
    assert announcer.run_once(announcing) == []

    resolve_incident(clone, opened.incident_id, NOW.replace(hour=10), ME, "Failed over.")
    _push(clone)
    sent = announcer.run_once(announcing)
    assert [(r["channel"], r["event"]) for r in sent] == [
        ("data-team", "resolved"),
        ("everything", "resolved"),
    ]
    assert http_receiver.at("/critical") == []  # neither critical nor (for resolved) an event it hears


def test_a_crash_before_the_mark_moves_sends_nothing_twice(clone, announcing, http_receiver) -> None:
    state = state_dir(clone)
    Announcer(clone, state, pushing=True).run_once(announcing)
    mark = (state / "announced.json").read_text()
    open_incident(clone, NOW, ME, title="Everything is slow", severity="critical")
    _push(clone)
    assert len(Announcer(clone, state, pushing=True).run_once(announcing)) == 2  # critical-only, everything
    (state / "announced.json").write_text(mark)  # as if the runner died before moving the mark
    assert Announcer(clone, state, pushing=True).run_once(announcing) == []
    assert len(http_receiver.received) == 2


def test_links_and_text_from_the_file_cannot_write_slack_markup(clone, announcing, http_receiver) -> None:
    """A link such as `https://x|Urgent:<!channel>` (hand-written; `/link` refuses it) stays one link."""
    announcer = Announcer(clone, state_dir(clone), pushing=True)
    announcer.run_once(announcing)
    (clone / "content/incidents/2026-11-24-db.md").write_text(
        "---\ntitle: DB <!here> & co\nseverity: critical\nstatus: investigating\n"
        "started_at: 2026-11-24T09:00:00Z\n"
        'links: {issue: "https://x|Urgent:<!channel>", call: "https://meet.example.com/a?b=1&c=<2>"}\n---\n'
    )
    commit_all(clone, "Open an incident by hand")
    assert [r["state"] for r in announcer.run_once(announcing)] == ["sent", "sent"]
    blocks = http_receiver.at("/all")[0].json()["blocks"]
    headline, context = blocks[0]["text"]["text"], blocks[1]["elements"][0]["text"]
    assert "*DB &lt;!here&gt; &amp; co*" in headline
    assert "<https://x%7CUrgent:%3C!channel%3E|Issue>" in context
    assert "<https://meet.example.com/a?b=1&amp;c=%3C2%3E|Call>" in context
    assert "<!" not in headline + context


def test_a_channel_whose_url_is_unset_is_recorded_as_failed(clone, announcing, http_receiver) -> None:
    announcer = Announcer(clone, state_dir(clone), pushing=True)
    announcer.run_once(announcing)
    open_incident(clone, NOW, ME, title="DB down", severity="critical", components=["postgres"])
    _push(clone)
    env = {k: v for k, v in announcing.items() if k != "TEST_DATA_URL"}
    sent = {r["channel"]: r for r in announcer.run_once(env)}
    assert sent["data-team"]["state"] == "failed" and "TEST_DATA_URL is not set" in sent["data-team"]["error"]
    assert sent["everything"]["state"] == "sent"


def test_validate_checks_the_components_named(clone, announcing) -> None:
    path = clone / ".gitlab/notifications.yml"
    path.write_text(path.read_text().replace("components: [postgres, storage]", "components: [postgress]"))
    result = CliRunner().invoke(main, ["validate", str(clone)])
    assert result.exit_code == 1
    assert (
        "announce[0].when.components[0]: unknown component 'postgress' (did you mean 'postgres'?)"
        in result.output
    )


def test_the_real_runner_announces_an_incident_declared_in_slack(clone, announcing, http_receiver) -> None:
    secret = "announce-test-slack-secret"
    runner = Runner(clone, env={**announcing, slack.SECRET_ENV: secret})
    runner.start()
    try:
        time.sleep(0.5)  # the first look: where the branch is now
        body = urllib.parse.urlencode(
            {
                "text": 'declare "Replica lag everywhere" sev:critical comp:storage',
                "user_id": "U04AMARA01",
                "user_name": "amara",
                "command": "/incident",
            }
        ).encode()
        stamp = str(int(time.time()))
        headers = {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": slack.sign(secret.encode(), stamp, body),
        }
        request = urllib.request.Request(runner.url + "/slack/commands", data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["response_type"] == "in_channel"
        got = wait_for(
            lambda: len(http_receiver.received) >= 3 and http_receiver.received, what="announcements"
        )
        assert sorted(r.path for r in got) == ["/all", "/critical", "/data"]
        assert all("Replica lag everywhere" in r.json()["text"] for r in got)
    finally:
        runner.kill()

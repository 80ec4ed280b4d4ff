"""Announcements of updates (`events: [updated]`): a public update added or made public, or a status
change short of resolving, told once to the channels that ask for it, escaped as opened and
resolved are. A clone of a bare remote, the real commands, a real local HTTP receiver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.runner.conftest import commit_all
from tidings.ops.incidents import Actor, acknowledge, open_incident, resolve_incident, update_incident
from tidings.runner.escalation.announce import MAX_TEXT, Announcer
from tidings.runner.remote import state_dir
from tidings.store.git import git

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
ME = Actor("amara", ("Amara Okafor", "amara.okafor@example.com"), "amara")

ANNOUNCE = """\
announce:
  - id: news                  # every step of database incidents
    kind: slack
    url_env: TEST_NEWS_URL
    when: {components: [postgres]}
    events: [opened, updated, resolved]
  - id: default               # opened and resolved only
    kind: slack
    url_env: TEST_DEFAULT_URL
"""


@pytest.fixture
def announcing(clone: Path, http_receiver, monkeypatch) -> dict[str, str]:
    path = clone / ".gitlab/notifications.yml"
    path.write_text(path.read_text().split("announce:")[0] + "allow_networks: [127.0.0.0/8]\n" + ANNOUNCE)
    commit_all(clone, "Announce incidents in team channels")
    env = {f"TEST_{name}_URL": f"{http_receiver.url}/{name.lower()}" for name in ("NEWS", "DEFAULT")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _push(clone: Path) -> None:
    git(clone, "push", "--quiet", "origin", "HEAD:refs/heads/main")


def _minutes(n: int) -> datetime:
    return NOW + timedelta(minutes=n)


def _told(announcer: Announcer, env: dict[str, str]) -> list[tuple[str, str]]:
    return [(r["channel"], r["event"]) for r in announcer.run_once(env)]


def test_public_updates_and_status_changes_are_news_internal_ones_are_not(
    clone, announcing, http_receiver
) -> None:
    announcer = Announcer(clone, state_dir(clone), pushing=True)
    announcer.run_once(announcing)
    opened = open_incident(
        clone, NOW, ME, title="DB primary down", severity="high", components=["postgres=major_outage"]
    )
    incident = opened.incident_id
    _push(clone)
    assert _told(announcer, announcing) == [("news", "opened"), ("default", "opened")]

    # An internal update (a Slack comment, say) and an acknowledgement stay in the incident.
    update_incident(clone, incident, _minutes(1), ME, "Looking at the primary's disk.", internal=True)
    acknowledge(clone, incident, _minutes(2), by="amara")
    _push(clone)
    assert _told(announcer, announcing) == []

    # A public update is news, for the channel that wants updates.
    update_incident(clone, incident, _minutes(3), ME, "We are failing over to the standby.")
    _push(clone)
    assert _told(announcer, announcing) == [("news", "updated")]
    message = http_receiver.at("/news")[-1].json()
    assert message["text"] == f"Incident updated: DB primary down ({incident})"
    blocks = message["blocks"]
    assert blocks[0]["text"]["text"] == ":memo: Incident updated: *DB primary down* (high, investigating)"
    assert blocks[1]["text"]["text"] == "*investigating*: We are failing over to the standby."
    assert blocks[2]["elements"][0]["text"].startswith(f"`{incident}` · postgres major_outage · ")

    # A status change alone (its update is internal) says what the status was.
    update_incident(clone, incident, _minutes(4), ME, status="identified")
    _push(clone)
    assert _told(announcer, announcing) == [("news", "updated")]
    blocks = http_receiver.at("/news")[-1].json()["blocks"]
    assert blocks[0]["text"]["text"] == ":memo: Incident updated: *DB primary down* (high, identified)"
    assert len(blocks) == 2  # no public update to quote
    assert "status investigating → identified" in blocks[1]["elements"][0]["text"]

    # Resolving is `resolved`, not also `updated`; the default channel hears it too.
    resolve_incident(clone, incident, _minutes(5), ME, "Failed over; writes work again.")
    _push(clone)
    assert _told(announcer, announcing) == [("news", "resolved"), ("default", "resolved")]
    assert [r.path for r in http_receiver.received].count("/default") == 2  # opened, resolved


def test_the_same_status_change_twice_is_news_twice(clone, announcing, http_receiver) -> None:
    """A fix that does not hold: monitoring, identified again, monitoring again: each is told."""
    announcer = Announcer(clone, state_dir(clone), pushing=True)
    announcer.run_once(announcing)
    incident = open_incident(clone, NOW, ME, title="DB slow", components=["postgres"]).incident_id
    _push(clone)
    announcer.run_once(announcing)
    told = []
    for n, status in enumerate(("monitoring", "identified", "monitoring", "identified"), start=1):
        update_incident(clone, incident, _minutes(n), ME, status=status)
        _push(clone)
        told += _told(announcer, announcing)
    assert told == [("news", "updated")] * 4
    said = [m.json()["blocks"][1]["elements"][0]["text"] for m in http_receiver.at("/news")[1:]]
    assert [s.split(" · ")[1] for s in said] == [
        "status investigating → monitoring",
        "status monitoring → identified",
        "status identified → monitoring",
        "status monitoring → identified",
    ]


def test_an_update_made_public_by_hand_is_news_once(clone, announcing, http_receiver) -> None:
    announcer = Announcer(clone, state_dir(clone), pushing=True)
    announcer.run_once(announcing)
    incident = open_incident(clone, NOW, ME, title="DB slow", components=["postgres"]).incident_id
    update_incident(clone, incident, _minutes(1), ME, "Reads are slow for some customers.", internal=True)
    _push(clone)
    announcer.run_once(announcing)
    path = clone / f"content/incidents/{incident}.md"
    text = path.read_text()
    assert text.count("    internal: true\n") == 2  # the opening update and the one to publish
    last = text.rindex("    internal: true\n")  # the update to publish
    path.write_text(text[:last] + text[last + len("    internal: true\n") :])
    commit_all(clone, "Tell customers")
    assert _told(announcer, announcing) == [("news", "updated")]
    assert (
        http_receiver.at("/news")[-1].json()["blocks"][1]["text"]["text"]
        == "*investigating*: Reads are slow for some customers."
    )
    # Editing its words afterwards is no news of its own.
    path.write_text(path.read_text().replace("for some customers", "for about 5% of customers"))
    commit_all(clone, "Fix a number")
    assert _told(announcer, announcing) == []


def test_text_from_the_update_cannot_write_slack_markup_and_long_text_is_cut(
    clone, announcing, http_receiver
) -> None:
    announcer = Announcer(clone, state_dir(clone), pushing=True)
    announcer.run_once(announcing)
    incident = open_incident(clone, NOW, ME, title="DB <!here> & co", components=["postgres"]).incident_id
    _push(clone)
    announcer.run_once(announcing)
    body = "Ping <!channel> & see <https://evil.example|the dashboard>.\nSecond line *bold*."
    update_incident(clone, incident, _minutes(1), ME, body)
    _push(clone)
    assert _told(announcer, announcing) == [("news", "updated")]
    blocks = http_receiver.at("/news")[-1].json()["blocks"]
    headline, said = blocks[0]["text"]["text"], blocks[1]["text"]["text"]
    assert "*DB &lt;!here&gt; &amp; co*" in headline
    assert said == (
        "*investigating*: Ping &lt;!channel&gt; &amp; see &lt;https://evil.example|the dashboard&gt;. "
        "Second line *bold*."
    )
    assert "<!" not in headline + said and "<https" not in said

    update_incident(clone, incident, _minutes(2), ME, "&" * (MAX_TEXT * 2))
    _push(clone)
    announcer.run_once(announcing)
    said = http_receiver.at("/news")[-1].json()["blocks"][1]["text"]["text"]
    assert len(said) <= MAX_TEXT + 2 and said.endswith(" …")
    assert said[: -len(" …")].endswith("&amp;")  # cut between escapes, never inside one

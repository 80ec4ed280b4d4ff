"""The paging rules through the real tick: real clones of a bare remote, real HTTP and SMTP receivers.

Late pages, people's contact rules step by step, maintenance that quiets paging, and ticks racing
each other (separate processes, two clones) that still page once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from tests.runner.conftest import _run, commit_all, remote_log
from tests.runner.test_tick import ID, REL, _alert, _tidings, _z, incident, minutes, remote_incident
from tidings.content.load import load
from tidings.content.model import Incident
from tidings.ops.incidents import acknowledge
from tidings.runner.escalation.rules import page_key, step_key
from tidings.runner.escalation.tick import tick_root
from tidings.store.git import git

CONTACT = """\
    contact:
      - {channel: slack}
      - {channel: mail, after_minutes: 5}
      - {channel: hook, after_minutes: 10}
"""


def give_contact_rules(clone: Path, *people: str) -> None:
    """These people are reached on Slack at once, by e-mail after 5 minutes, by webhook after 10."""
    path = clone / "content/people.yml"
    text = path.read_text()
    for person in people:
        anchor = f"  - id: {person}\n"
        start = text.index(anchor)
        end = text.find("\n  - id:", start + 1)
        end = len(text) if end == -1 else end + 1
        text = text[:end] + CONTACT + text[end:] if end != len(text) else text + CONTACT
    path.write_text(text)
    commit_all(clone, f"Contact rules for {', '.join(people)}")
    assert load(clone).errors == []


@pytest.fixture
def opened(clone, paging):
    from tests.runner.test_tick import INCIDENT

    (clone / REL).write_text(INCIDENT)
    commit_all(clone, "Open the checkout incident")
    return clone


def received(http_receiver, smtp_receiver) -> dict[str, list[str]]:
    return {
        "slack": [r.headers["Idempotency-Key"] for r in http_receiver.at("/slack")],
        "hook": [r.headers["Idempotency-Key"] for r in http_receiver.at("/hook")],
        "mail": [m["Idempotency-Key"] for m in smtp_receiver.messages],
    }


# --- late pages ------------------------------------------------------------------------------------


def test_a_late_tick_pages_who_is_on_call_now_and_the_record_says_how_late(
    opened, http_receiver, smtp_receiver
):
    # The runner was down from before 16:50 Berlin until 17:21: amara's business hours ended at 17:00.
    result = tick_root(opened, minutes(31))
    assert [(d.rule, d.person, d.late is not None) for d in result.recorded] == [
        (1, "jonas", True),
        (2, "liam", False),
        (3, "amara", False),
    ]
    first = incident(opened).pages[0]
    assert (first.person, first.due_at, first.late_minutes, first.state) == ("jonas", minutes(0), 31, "sent")
    assert incident(opened).pages[1].late_minutes is None
    remote = remote_incident(opened)
    assert "due_at: 2026-11-17T15:50:00Z" in remote and "late_minutes: 31" in remote
    body = git(opened.parent / "remote.git", "log", "-1", "--skip=1", "--format=%B", "main")
    assert f"- page jonas for {ID}: default rule 1, round 1, 31 min late ({first.key})" in body
    (mail,) = [m for m in smtp_receiver.messages if m["Idempotency-Key"] == first.key]
    text = mail.get_payload(decode=True).decode()
    assert "This page is 31 minutes late" in text and "Tue 2026-11-17 16:50 CET" in text
    assert mail["To"].addresses[0].addr_spec == "jonas.weber@example.com"
    (hook,) = [r for r in http_receiver.at("/hook") if r.headers["Idempotency-Key"] == first.key]
    assert hook.json()["late_minutes"] == 31 and hook.json()["person"]["id"] == "jonas"


def test_eleven_days_late_from_the_command_line(opened, paging):
    run = _tidings("runner", "tick", str(opened), env=paging, now=minutes(11 * 24 * 60))
    assert run.returncode == 0, run.stdout + run.stderr
    pages = incident(opened).pages
    assert [(p.round, p.rule, p.person) for p in pages] == [(2, 1, "mateo"), (2, 2, "mateo"), (2, 3, "amara")]
    assert [p.late_minutes for p in pages] == [15795, 15780, 15765]
    assert f"{ID}: mateo, default rule 1, round 2" in run.stdout


# --- contact rules ---------------------------------------------------------------------------------


def test_contact_rules_step_through_channels_until_acknowledged(opened, paging, http_receiver, smtp_receiver):
    give_contact_rules(opened, "amara")
    first = tick_root(opened, minutes(0))
    key = page_key(ID, "default", 1, 1)
    assert [(d.step, d.channels) for d in first.recorded] == [(1, ("slack",))]
    assert received(http_receiver, smtp_receiver) == {"slack": [key], "hook": [], "mail": []}
    assert tick_root(opened, minutes(4)).recorded == []
    second = tick_root(opened, minutes(5))
    assert [(d.step, d.channels, d.follows) for d in second.recorded] == [(2, ("mail",), key)]
    two = step_key(key, 2)
    assert received(http_receiver, smtp_receiver) == {"slack": [key], "hook": [], "mail": [two]}
    (mail,) = smtp_receiver.messages
    assert "Not acknowledged yet: step 2 of your contact rules." in mail.get_payload(decode=True).decode()
    assert mail["Message-ID"] == f"<{two}.mail@example.com>"
    assert tick_root(opened, minutes(6)).recorded == []
    ack = _tidings("incident", "ack", ID, str(opened), "--by", "amara", "--push", env=paging, now=minutes(7))
    assert ack.returncode == 0, ack.stderr
    assert tick_root(opened, minutes(14)).recorded == []  # step 3 (the webhook, at 10) is called off
    assert received(http_receiver, smtp_receiver)["hook"] == []
    pages = incident(opened).pages
    assert [(p.step, p.channels, p.state, [d.channel for d in p.deliveries]) for p in pages] == [
        (1, ["slack"], "sent", ["slack"]),
        (2, ["mail"], "sent", ["mail"]),
    ]
    remote = remote_incident(opened)
    assert f"key: {two}" in remote and "channels: [mail]" in remote and "step: 2" in remote
    assert "page amara for incident 2026-11-17-checkout-down (default rule 1, round 1, step 2)" in "\n".join(
        remote_log(opened)
    )


def test_without_contact_rules_a_page_goes_to_every_channel_as_before(opened, http_receiver, smtp_receiver):
    give_contact_rules(opened, "jonas")  # not amara
    tick_root(opened, minutes(0))
    (page,) = incident(opened).pages
    assert (page.step, page.channels) == (None, [])
    key = page_key(ID, "default", 1, 1)
    assert received(http_receiver, smtp_receiver) == {"slack": [key], "hook": [key], "mail": [key]}


def test_a_step_waiting_for_the_remote_is_called_off_by_an_ack(
    opened, http_receiver, smtp_receiver, tmp_path
):
    give_contact_rules(opened, "amara")
    tick_root(opened, minutes(0))
    remote, away = tmp_path / "remote.git", tmp_path / "away.git"
    remote.rename(away)
    two = step_key(page_key(ID, "default", 1, 1), 2)
    assert tick_root(opened, minutes(5)).waiting == [two]
    assert acknowledge(opened, ID, minutes(6), by="amara").changed
    late = tick_root(opened, minutes(8))  # past the remote's grace: it would go out on the local record
    assert late.cancelled == [two] and late.deliveries == []
    assert smtp_receiver.messages == []
    away.rename(remote)
    tick_root(opened, minutes(9))
    step = incident(opened).pages[1]
    assert step.state == "cancelled" and "acknowledged at 2026-11-17T15:56:00Z" in str(step.error)


def _racing_ticks(roots: list[Path], now: datetime, env: dict[str, str]) -> None:
    tidings = str(Path(sys.executable).parent / "tidings")
    environment = {**os.environ, **env, "SOURCE_DATE_EPOCH": str(int(now.timestamp()))}
    procs = [
        subprocess.Popen(
            [tidings, "runner", "tick", str(root)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for root in roots
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs


def test_racing_ticks_on_two_clones_send_late_pages_and_contact_steps_once(
    opened, paging, http_receiver, smtp_receiver, tmp_path
):
    give_contact_rules(opened, "amara", "jonas")
    other = tmp_path / "other"
    _run("git", "clone", "--quiet", str(tmp_path / "remote.git"), str(other), cwd=tmp_path)
    # 17:34 Berlin, nothing ticked yet: rule 1 is 44 minutes late (to jonas, on call now), rule 2 is
    # within the grace (liam, who has no contact rules: every channel), rule 3 on time (amara).
    _racing_ticks([opened, other, opened, other], minutes(44), paging)
    git(opened, "pull", "--quiet", "--ff-only")
    pages = incident(opened).pages
    assert [(p.rule, p.person, p.step, p.late_minutes) for p in pages] == [
        (1, "jonas", 1, 44),
        (2, "liam", None, None),
        (3, "amara", 1, None),
    ]
    # Round 2 starts at 17:35 (jonas again, on Slack), and five minutes after jonas and amara were
    # reached on Slack, they get their e-mails, once.
    _racing_ticks([other, opened, other, opened], minutes(50), paging)
    git(opened, "pull", "--quiet", "--ff-only")
    pages = incident(opened).pages
    assert [(p.round, p.rule, p.person, p.step, p.state) for p in pages[3:]] == [
        (2, 1, "jonas", 1, "sent"),
        (1, 1, "jonas", 2, "sent"),
        (1, 3, "amara", 2, "sent"),
    ]
    rule_1, rule_2, rule_3 = (page_key(ID, "default", 1, n) for n in (1, 2, 3))
    round_2 = page_key(ID, "default", 2, 1)
    got = {channel: Counter(keys) for channel, keys in received(http_receiver, smtp_receiver).items()}
    assert got == {
        "slack": Counter([rule_1, rule_2, rule_3, round_2]),
        "hook": Counter([rule_2]),
        "mail": Counter([rule_2, step_key(rule_1, 2), step_key(rule_3, 2)]),
    }
    remote = remote_incident(opened)
    assert all(remote.count(f"key: {p.key}") == 1 for p in pages)
    assert "state: pending" not in remote


# --- maintenance quiets paging ---------------------------------------------------------------------

MAINTENANCE = """\
---
title: API database upgrade
scheduled_for: 2026-11-17T15:00:00Z
scheduled_until: 2026-11-17T17:00:00Z
components: [api]
published: {published}
updates:
  - at: 2026-11-17T15:00:00Z
    status: in_progress
    body: The upgrade has started.
---
"""
WINDOW_END = 70  # minutes after 15:50 UTC


def _maintenance(clone: Path, published: bool = True) -> None:
    path = clone / "content/maintenance/2026-11-17-api-upgrade.md"
    path.write_text(MAINTENANCE.format(published=str(published).lower()))
    commit_all(clone, "Maintenance on the API")


def _quiet_incident(clone: Path) -> Incident:
    found = load(clone).repo.get("incidents", "2026-11-17-checkout-fails")
    assert isinstance(found, Incident)
    return found


def _notes(inc: Incident) -> list[str]:
    return [u.body.split("\n")[0] for u in inc.updates if u.author == "runner" and u.internal][1:]


def test_an_alert_in_maintenance_is_recorded_pages_nobody_and_says_why(
    clone, paging, http_receiver, tmp_path
):
    _maintenance(clone)
    assert _alert(clone, tmp_path, minutes(0), start_time=_z(minutes(0))) == "opened"
    for t in (0, 10, 69):
        assert tick_root(clone, minutes(t)).recorded == []
    assert http_receiver.received == []
    quiet = _quiet_incident(clone)
    assert quiet.pages == [] and quiet.status == "investigating"  # recorded all the same
    assert _notes(quiet) == ["Not paging: its component api is in maintenance '2026-11-17-api-upgrade'."]
    assert "when the window ends (at 2026-11-17T17:00:00Z) if the incident" in quiet.updates[-1].body
    assert (
        remote_log(clone)[0] == "runner: incident 2026-11-17-checkout-fails pages nobody during maintenance"
    )
    remote = git(clone.parent / "remote.git", "show", f"main:{quiet.path}")
    assert "Not paging: its component api" in remote and "pages:" not in remote
    # The window ends, the alert still fires: escalation starts, counted from the window's end.
    result = tick_root(clone, minutes(WINDOW_END))
    assert [(d.rule, d.person, d.fires_at, d.late) for d in result.recorded] == [
        (1, "jonas", minutes(WINDOW_END), None)
    ]
    assert [d.state for d in result.deliveries] == ["sent"] * 3
    after = _quiet_incident(clone)
    assert _notes(after) == [
        "Not paging: its component api is in maintenance '2026-11-17-api-upgrade'.",
        "Paging from 2026-11-17T17:00:00Z: the maintenance ended and the incident is still open.",
    ]
    assert tick_root(clone, minutes(WINDOW_END + 14)).recorded == []
    assert [d.rule for d in tick_root(clone, minutes(WINDOW_END + 15)).recorded] == [2]
    assert len(_notes(_quiet_incident(clone))) == 2  # each said once


def test_an_alert_that_resolves_inside_the_window_never_pages(clone, paging, http_receiver, tmp_path):
    _maintenance(clone)
    assert _alert(clone, tmp_path, minutes(0), start_time=_z(minutes(0))) == "opened"
    tick_root(clone, minutes(1))
    end = {"start_time": _z(minutes(0)), "end_time": _z(minutes(20))}
    assert _alert(clone, tmp_path, minutes(20), **end) == "resolved"
    assert tick_root(clone, minutes(WINDOW_END + 30)).recorded == []
    assert http_receiver.received == [] and _quiet_incident(clone).pages == []


@pytest.mark.parametrize("setting", ["page_during_maintenance", "unpublished"])
def test_an_integration_that_pages_during_maintenance_and_a_draft_window_page_at_once(
    clone, paging, http_receiver, tmp_path, setting
):
    if setting == "unpublished":
        _maintenance(clone, published=False)
    else:
        _maintenance(clone)
        integrations = clone / ".gitlab/integrations.yml"
        text = integrations.read_text().replace(
            "    impact: major_outage\n", "    impact: major_outage\n    page_during_maintenance: true\n"
        )
        integrations.write_text(text)
        commit_all(clone, "Uptime checks page during maintenance")
    assert _alert(clone, tmp_path, minutes(0), start_time=_z(minutes(0))) == "opened"
    result = tick_root(clone, minutes(0))
    assert [(d.rule, d.person) for d in result.recorded] == [(1, "amara")]
    assert _notes(_quiet_incident(clone)) == []


def test_a_crash_while_sending_a_contact_step_resends_it_once_with_its_key(opened, paging, smtp_receiver):
    from tests.runner.test_tick import CRASHING_TICK

    give_contact_rules(opened, "amara")
    tick_root(opened, minutes(0))
    crash = subprocess.run(
        [sys.executable, "-c", CRASHING_TICK, str(opened), minutes(5).isoformat(), "after-send"],
        env={**os.environ, **paging},
        capture_output=True,
        text=True,
        check=False,
    )
    assert crash.returncode == 17, crash.stderr
    two = step_key(page_key(ID, "default", 1, 1), 2)
    assert f"key: {two}" in remote_incident(opened)  # recorded and pushed before it was sent
    assert [m["Idempotency-Key"] for m in smtp_receiver.messages] == [two]
    again = tick_root(opened, minutes(6))
    assert again.recorded == [] and [(d.key, d.channel) for d in again.deliveries] == [(two, "mail")]
    assert tick_root(opened, minutes(7)).deliveries == []
    assert [m["Idempotency-Key"] for m in smtp_receiver.messages] == [
        two,
        two,
    ]  # the same page, twice at most
    assert [(p.step, p.state) for p in incident(opened).pages] == [(1, "sent"), (2, "sent")]

"""The escalation tick on real clones of a bare remote, paging real local receivers (HTTP, SMTP)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.runner.conftest import _run, commit_all, remote_log
from tidings.content.load import load
from tidings.content.model import Incident
from tidings.ops.incidents import acknowledge
from tidings.runner.escalation.notifiers import send_once
from tidings.runner.escalation.rules import page_key
from tidings.runner.escalation.tick import CLAIM_LEASE, tick, tick_root
from tidings.runner.outbound import networks
from tidings.runner.remote import Clone
from tidings.store.git import git

# Tuesday 2026-11-17, 16:50 in Berlin: ten minutes before the primary schedule's business-hours
# layer hands over to the weekly layer (17:00 CET).
START = datetime(2026, 11, 17, 15, 50, tzinfo=UTC)
ID = "2026-11-17-checkout-down"
REL = f"content/incidents/{ID}.md"
INCIDENT = f"""\
---
title: Checkout is down
severity: critical
status: investigating
started_at: {START.isoformat().replace("+00:00", "Z")}
components:
  api: major_outage
updates:
  - at: {START.isoformat().replace("+00:00", "Z")}
    status: investigating
    body: Checkout fails for every customer.
    internal: true
---
Checkout fails.
"""


def minutes(n: float) -> datetime:
    return START + timedelta(minutes=n)


@pytest.fixture
def opened(clone, paging):
    """A person opened the incident (policy `default` through component api) and pushed it."""
    (clone / REL).write_text(INCIDENT)
    commit_all(clone, "Open the checkout incident")
    return clone


def incident(root: Path) -> Incident:
    result = load(root)
    assert result.errors == []
    found = result.repo.get("incidents", ID)
    assert isinstance(found, Incident)
    return found


def remote_incident(clone: Path) -> str:
    return git(clone.parent / "remote.git", "show", f"main:{REL}")


def pages(root: Path) -> list[tuple[int, int, str | None, str]]:
    return [(p.round, p.rule, p.person, p.state) for p in incident(root).pages]


def keys_received(http_receiver, smtp_receiver) -> dict[str, list[str]]:
    got = {
        "slack": [r.headers["Idempotency-Key"] for r in http_receiver.at("/slack")],
        "hook": [r.headers["Idempotency-Key"] for r in http_receiver.at("/hook")],
        "mail": [m["Idempotency-Key"] for m in smtp_receiver.messages],
    }
    return got


def test_rule_1_pages_at_once_on_every_channel_recorded_before_it_is_sent(
    opened, http_receiver, smtp_receiver
):
    key = page_key(ID, "default", 1, 1)
    seen_on_remote = []

    def sender(channel, message, timeout, env, now):
        # At the moment of sending, the remote already holds the page's record.
        seen_on_remote.append(key in remote_incident(opened) and "state: pending" in remote_incident(opened))
        send_once(channel, message, timeout, env, now, allowed=networks(["127.0.0.0/8"]))

    result = tick_root(opened, minutes(0), sender=sender)
    assert result.ok and [(d.channel, d.state) for d in result.deliveries] == [
        ("slack", "sent"),
        ("hook", "sent"),
        ("mail", "sent"),
    ]
    assert seen_on_remote == [True, True, True]
    assert keys_received(http_receiver, smtp_receiver) == {"slack": [key], "hook": [key], "mail": [key]}
    assert smtp_receiver.recipients == [["amara.okafor@example.com"]]
    (page,) = incident(opened).pages
    assert (page.key, page.round, page.rule, page.schedule, page.person, page.state) == (
        key, 1, 1, "primary", "amara", "sent"
    )  # fmt: skip
    assert [(d.channel, d.state, d.attempts) for d in page.deliveries] == [
        ("slack", "sent", 1),
        ("hook", "sent", 1),
        ("mail", "sent", 1),
    ]
    log = remote_log(opened)
    assert log[1].startswith(
        "runner: page amara for incident 2026-11-17-checkout-down (default rule 1, round 1)"
    )
    assert log[0] == f"runner: escalation: 1 delivery results recorded for incident {ID}"
    assert git(opened, "status", "--porcelain") == ""


def test_rule_2_only_after_its_delay_and_a_second_tick_pages_nobody(opened, http_receiver, smtp_receiver):
    tick_root(opened, minutes(0))
    assert tick_root(opened, minutes(0)).recorded == []
    assert tick_root(opened, minutes(14)).recorded == []
    result = tick_root(opened, minutes(15))
    assert [(d.round, d.rule, d.person) for d in result.recorded] == [(1, 2, "liam")]
    assert tick_root(opened, minutes(15)).recorded == []
    assert pages(opened) == [(1, 1, "amara", "sent"), (1, 2, "liam", "sent")]
    received = keys_received(http_receiver, smtp_receiver)
    assert (
        received["slack"]
        == received["hook"]
        == received["mail"]
        == [
            page_key(ID, "default", 1, 1),
            page_key(ID, "default", 1, 2),
        ]
    )


def _tidings(*args: str, env: dict[str, str], now: datetime) -> subprocess.CompletedProcess[str]:
    tidings = str(Path(sys.executable).parent / "tidings")
    return subprocess.run(
        [tidings, *args],
        env={**os.environ, **env, "SOURCE_DATE_EPOCH": str(int(now.timestamp()))},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_demo_policy_walks_to_the_lead_and_stops_at_ack_then_resolve(opened, paging, http_receiver):
    for t in (0, 5, 10):
        tick_root(opened, minutes(t))
    ack = _tidings("incident", "ack", ID, str(opened), "--by", "amara", "--push", env=paging, now=minutes(12))
    assert ack.returncode == 0, ack.stderr
    assert ack.stdout.startswith(f"acknowledged incident {ID} by amara")
    for t in range(15, 75, 5):
        tick_root(opened, minutes(t))
    # Rule 2 (unless acknowledged) never fired; rule 3 (unless resolved) paged the lead anyway, and
    # round 2 (from minute 45) only its rule 3, at minute 75.
    assert pages(opened) == [(1, 1, "amara", "sent"), (1, 3, "amara", "sent")]
    tick_root(opened, minutes(75))
    assert pages(opened)[-1] == (2, 3, "amara", "sent")

    resolved = "status: resolved\nresolved_at: 2026-11-17T17:10:00Z\n"
    (opened / REL).write_text((opened / REL).read_text().replace("status: investigating\n", resolved, 1))
    commit_all(opened, "Resolved")
    assert tick_root(opened, minutes(200)).recorded == []
    assert len(pages(opened)) == 3
    assert len(http_receiver.at("/slack")) == 3
    assert load(opened).errors == []


def test_repeat_and_a_schedule_across_the_hand_off(opened):
    # Ticking every five minutes for 80 minutes walks both rounds of the default policy.
    for t in range(0, 81, 5):
        tick_root(opened, minutes(t))
    assert pages(opened) == [
        (1, 1, "amara", "sent"),  # 16:50 Berlin: business hours, amara
        (1, 2, "liam", "sent"),
        (1, 3, "amara", "sent"),
        (2, 1, "jonas", "sent"),  # 17:35 Berlin: after the 17:00 hand-off, the weekly layer's jonas
        (2, 2, "liam", "sent"),
        (2, 3, "amara", "sent"),
    ]


def test_a_late_first_tick_after_the_hand_off_pages_who_was_on_call_then(opened):
    result = tick_root(opened, minutes(12))  # 17:02 Berlin; rule 1 fired at 16:50
    assert [(d.rule, d.person) for d in result.recorded] == [(1, "amara")]


def test_two_ticks_at_once_on_one_clone_page_once(opened, paging, http_receiver, smtp_receiver):
    tidings = str(Path(sys.executable).parent / "tidings")
    env = {**os.environ, **paging, "SOURCE_DATE_EPOCH": str(int(minutes(16).timestamp()))}
    procs = [
        subprocess.Popen(
            [tidings, "runner", "tick", str(opened)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    expected = [page_key(ID, "default", 1, 1), page_key(ID, "default", 1, 2)]
    received = keys_received(http_receiver, smtp_receiver)
    assert {k: sorted(v) for k, v in received.items()} == {
        c: sorted(expected) for c in ("slack", "hook", "mail")
    }
    assert sorted(p[:3] for p in pages(opened)) == [(1, 1, "amara"), (1, 2, "liam")]


def test_two_clones_ticking_at_once_page_once(opened, paging, http_receiver, smtp_receiver, tmp_path):
    other = tmp_path / "other"
    _run("git", "clone", "--quiet", str(tmp_path / "remote.git"), str(other), cwd=tmp_path)
    tidings = str(Path(sys.executable).parent / "tidings")
    env = {**os.environ, **paging, "SOURCE_DATE_EPOCH": str(int(minutes(31).timestamp()))}
    procs = [
        subprocess.Popen(
            [tidings, "runner", "tick", str(root)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for root in (opened, other, opened, other)
    ]
    outputs = [p.communicate(timeout=90) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    expected = sorted(page_key(ID, "default", 1, n) for n in (1, 2, 3))
    received = keys_received(http_receiver, smtp_receiver)
    assert {k: sorted(v) for k, v in received.items()} == {c: expected for c in ("slack", "hook", "mail")}
    remote = remote_incident(opened)
    assert sorted(remote.count(f"key: {k}") for k in expected) == [1, 1, 1]
    assert "state: pending" not in remote  # every page's deliveries were recorded by its sender


CRASHING_TICK = """
import os, sys
from datetime import datetime
from pathlib import Path
from tidings.runner.escalation import notifiers
from tidings.runner.escalation.tick import tick_root
from tidings.runner.outbound import networks

def crash(channel, message, timeout, env, now):
    if sys.argv[3] == "after-send":
        notifiers.send_once(channel, message, timeout, env, now, allowed=networks(["127.0.0.0/8"]))
    os._exit(17)  # the process dies: no cleanup, no ledger line, the kernel drops the lock

tick_root(Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2]), sender=crash)
"""


@pytest.mark.parametrize("when", ["before-send", "after-send"])
def test_a_crash_between_commit_and_send_resends_once_with_the_same_key(
    opened, paging, http_receiver, smtp_receiver, when
):
    run = subprocess.run(
        [sys.executable, "-c", CRASHING_TICK, str(opened), minutes(0).isoformat(), when],
        env={**os.environ, **paging},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 17, run.stderr
    key = page_key(ID, "default", 1, 1)
    assert f"key: {key}" in remote_incident(opened) and "state: pending" in remote_incident(opened)
    sent_before = len(http_receiver.at("/slack"))
    assert sent_before == (1 if when == "after-send" else 0)

    result = tick_root(opened, minutes(1))
    assert result.recorded == [] and result.ok
    assert [d.channel for d in result.deliveries] == ["slack", "hook", "mail"]
    # Resent once, with the same idempotency key: a receiver sees one page or the same page twice.
    assert [r.headers["Idempotency-Key"] for r in http_receiver.at("/slack")] == [key] * (sent_before + 1)
    assert [m["Idempotency-Key"] for m in smtp_receiver.messages] == [key]
    assert pages(opened) == [(1, 1, "amara", "sent")]
    assert tick_root(opened, minutes(2)).deliveries == []  # and never again
    assert len(http_receiver.at("/slack")) == sent_before + 1


def test_a_failing_channel_is_retried_with_backoff_then_recorded_as_failed(
    opened, paging, http_receiver, smtp_receiver
):
    http_receiver.plan = [500, 503, 200]  # slack: fails twice, then works
    smtp_receiver.plan = ["451 4.3.0 try later", "451 4.3.0 try later", "451 4.3.0 try later"]
    waits: list[float] = []
    result = tick_root(opened, minutes(0), sleep=waits.append)
    outcome = {d.channel: (d.state, d.attempts, d.error) for d in result.deliveries}
    assert outcome["slack"] == ("sent", 3, None)
    assert outcome["hook"] == ("sent", 1, None)
    assert outcome["mail"][:2] == ("failed", 3) and "451" in str(outcome["mail"][2])
    assert waits == [0.01, 0.02, 0.01, 0.02]  # exponential backoff, per channel
    assert not result.ok
    (page,) = incident(opened).pages
    assert page.state == "sent"  # it reached amara on two channels; the failure is on record all the same
    failed = [d for d in page.deliveries if d.state == "failed"]
    assert [(d.channel, d.attempts) for d in failed] == [("mail", 3)] and "451" in str(failed[0].error)
    assert "451" in remote_incident(opened)


def test_every_channel_failing_fails_the_page_and_the_command(
    opened, paging, http_receiver, smtp_receiver, monkeypatch
):
    monkeypatch.delenv("TEST_SLACK_URL")
    paging = {k: v for k, v in paging.items() if k != "TEST_SLACK_URL"}
    http_receiver.plan = [404]
    config = opened / ".gitlab" / "notifications.yml"
    config.write_text(config.read_text().replace(f"port: {smtp_receiver.port}", f"port: {_closed_port()}"))
    commit_all(opened, "Break the mail channel")
    run = _tidings("runner", "tick", str(opened), env=paging, now=minutes(0))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "failed" in run.stdout and "TEST_SLACK_URL is not set" in run.stdout and "HTTP 404" in run.stdout
    (page,) = incident(opened).pages
    assert page.state == "failed" and page.error and "TEST_SLACK_URL" in page.error
    assert [(d.channel, d.state) for d in page.deliveries] == [
        ("slack", "failed"),
        ("hook", "failed"),
        ("mail", "failed"),
    ]
    assert [d.attempts for d in page.deliveries][:2] == [1, 1]  # a missing secret and a 404 are not retried


def test_a_down_remote_holds_the_page_until_the_record_is_pushed(opened, http_receiver, tmp_path):
    remote, away = tmp_path / "remote.git", tmp_path / "away.git"
    remote.rename(away)
    result = tick_root(opened, minutes(0))
    assert [d.person for d in result.recorded] == ["amara"] and result.deliveries == []
    assert result.waiting == [page_key(ID, "default", 1, 1)] and not result.ok
    assert http_receiver.received == []
    away.rename(remote)
    result = tick_root(opened, minutes(1))
    assert result.recorded == [] and [d.state for d in result.deliveries] == ["sent"] * 3
    assert pages(opened) == [(1, 1, "amara", "sent")]


def test_a_remote_unreachable_for_two_minutes_does_not_silence_paging(opened, http_receiver, tmp_path):
    remote, away = tmp_path / "remote.git", tmp_path / "away.git"
    remote.rename(away)  # say GitLab itself is what is down
    assert tick_root(opened, minutes(0)).waiting == [page_key(ID, "default", 1, 1)]
    assert tick_root(opened, minutes(1)).deliveries == []  # still within the grace period
    late = tick_root(opened, minutes(2))
    assert [d.state for d in late.deliveries] == ["sent"] * 3  # the local commit is the record now
    assert tick_root(opened, minutes(3)).deliveries == []  # and it is sent once
    away.rename(remote)
    back = tick_root(opened, minutes(4))
    assert back.deliveries == [] and pages(opened) == [(1, 1, "amara", "sent")]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens there once it is closed


def _pending_by_someone_else(clone: Path, at: datetime) -> str:
    key = page_key(ID, "default", 1, 1)
    stamp = at.isoformat().replace("+00:00", "Z")
    text = (
        (clone / REL)
        .read_text()
        .replace(
            "---\nCheckout fails.",
            textwrap.dedent(f"""\
            pages:
              - key: {key}
                at: {stamp}
                policy: default
                round: 1
                rule: 1
                schedule: primary
                person: amara
                by: ci-job-4711
                state: pending
            ---
            Checkout fails."""),
        )
    )
    (clone / REL).write_text(text)
    commit_all(clone, "A CI job recorded a page and was killed")
    return key


def test_a_page_another_runner_recorded_is_left_to_it_until_its_claim_expires(opened, http_receiver):
    key = _pending_by_someone_else(opened, minutes(0))
    assert tick_root(opened, minutes(1)).deliveries == []  # its own runner may be sending it right now
    assert http_receiver.received == []
    later = minutes(0) + CLAIM_LEASE
    result = tick_root(opened, later)
    assert result.taken_over == [key] and [d.state for d in result.deliveries] == ["sent"] * 3
    (page,) = incident(opened).pages
    assert page.by != "ci-job-4711" and page.claimed_at == later and page.state == "sent"
    assert [r.headers["Idempotency-Key"] for r in http_receiver.at("/slack")] == [key]


def test_nobody_on_call_and_no_channels_are_recorded_not_dropped(clone, http_receiver):
    (clone / "content/oncall/policies/night.yml").write_text(
        "name: Night\nrules:\n  - {after_minutes: 0, schedule: primary}\n"
    )
    text = INCIDENT.replace("components:", "policy: night\ncomponents:", 1)
    (clone / REL).write_text(text.replace("2026-11-17T15:50:00Z", "2025-06-01T00:00:00Z"))
    (clone / ".gitlab" / "notifications.yml").unlink()
    commit_all(clone, "An incident before any rotation starts, no notifications config")
    result = tick_root(clone, datetime(2025, 6, 1, 0, 1, tzinfo=UTC))
    assert [(d.schedule, d.person) for d in result.recorded] == [("primary", None)]
    (page,) = incident(clone).pages
    assert (
        page.state == "failed"
        and page.error == "nobody is on call in schedule 'primary' at 2025-06-01T00:00:00Z"
    )
    assert http_receiver.received == []


def test_an_invalid_repo_pages_nobody(opened, http_receiver):
    site = opened / ".gitlab" / "status-page.yml"
    site.write_text(site.read_text().replace("title:", "titel:", 1))
    commit_all(opened, "Typo")
    result = tick_root(opened, minutes(0))
    assert "errors" in result.blocked and result.recorded == []
    assert http_receiver.received == []


def test_without_a_remote_the_local_commit_is_the_record(opened, http_receiver):
    git(opened, "remote", "remove", "origin")
    result = tick(Clone.open(opened), minutes(0))
    assert result.ok and [d.state for d in result.deliveries] == ["sent"] * 3
    assert pages(opened) == [(1, 1, "amara", "sent")]


def test_the_page_messages(opened, http_receiver, smtp_receiver):
    tick_root(opened, minutes(0))
    (slack,) = http_receiver.at("/slack")
    payload = slack.json()
    assert payload["text"].startswith("<@U04AMARA01> paged: Checkout is down")
    assert payload["unfurl_links"] is False
    button = payload["blocks"][-1]["elements"][0]
    assert button["text"]["text"] == "Acknowledge" and button["url"].startswith("https://runner.test/ack/")
    (hook,) = http_receiver.at("/hook")
    body = hook.json()
    assert body["idempotency_key"] == page_key(ID, "default", 1, 1)
    assert body["incident"]["id"] == ID and body["person"]["id"] == "amara" and body["rule"] == 1
    assert body["ack_url"] == button["url"]
    (mail,) = smtp_receiver.messages
    assert mail["Subject"] == "[Lumen Cloud Status] Page: Checkout is down (critical)"
    assert mail["Message-ID"] == f"<{page_key(ID, 'default', 1, 1)}.mail@example.com>"
    text = mail.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert "Tue 2026-11-17 16:50 CET" in text  # in amara's own timezone
    assert button["url"] in text and f"tidings incident ack {ID}" in text
    assert json.loads(hook.body)["text"] == text


def test_an_ack_merged_while_our_record_waited_for_the_remote_is_seen_before_planning(opened, tmp_path):
    remote, away = tmp_path / "remote.git", tmp_path / "away.git"
    remote.rename(away)
    assert tick_root(opened, minutes(0)).waiting  # rule 1 recorded here, not pushed
    away.rename(remote)
    person = tmp_path / "person"
    _run("git", "clone", "--quiet", str(remote), str(person), cwd=tmp_path)
    ack = _tidings("incident", "ack", ID, str(person), "--by", "jonas", "--push", env={}, now=minutes(3))
    assert ack.returncode == 0, ack.stderr
    tick_root(opened, minutes(16))  # rule 2 is due, unless acknowledged: it is
    final = remote_incident(opened)
    assert "acknowledged_at: 2026-11-17T15:53:00Z" in final and "<<<<<<<" not in final
    assert page_key(ID, "default", 1, 2) not in final
    assert [p[:3] for p in pages(opened)] in ([], [(1, 1, "amara")])
    assert load(opened).errors == []


def _z(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _alert(clone: Path, tmp_path: Path, at: datetime, **fields: str) -> str:
    """`tidings runner apply` of a generic alert (checkout fails on api) posted at `at`; what it did."""
    from tidings.runner.service import apply_payload

    payload = {"title": "Checkout fails", "service": "api", "fingerprint": "checkout", **fields}
    os.environ["SOURCE_DATE_EPOCH"] = str(int(at.timestamp()))
    try:
        done = apply_payload(clone, "generic", json.dumps(payload).encode(), "uptime-checks", do_push=True)
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]
    return done.outcome.action


def test_a_reopened_incident_escalates_again_from_its_reopening(clone, paging, http_receiver, tmp_path):
    assert _alert(clone, tmp_path, minutes(0), start_time=_z(minutes(0))) == "opened"
    incident_id = "2026-11-17-checkout-fails"
    rel = f"content/incidents/{incident_id}.md"
    first = tick_root(clone, minutes(0))
    assert [(d.rule, d.person) for d in first.recorded] == [(1, "amara")]
    assert acknowledge(clone, incident_id, minutes(2), by="amara").changed
    end = {"start_time": _z(minutes(0)), "end_time": _z(minutes(10))}
    assert _alert(clone, tmp_path, minutes(10), **end) == "resolved"
    # Fired again 20 minutes later, within reopen_minutes: the same incident, open again.
    assert _alert(clone, tmp_path, minutes(30), start_time=_z(minutes(30))) == "reopened"
    reopened = load(clone).repo.get("incidents", incident_id)
    assert isinstance(reopened, Incident)
    assert (reopened.status, reopened.reopened_at) == ("investigating", minutes(30))
    assert reopened.acknowledged_at is None  # the new opening needs its own acknowledgement
    again = tick_root(clone, minutes(30))  # 17:20 Berlin: primary's weekly layer, jonas
    assert [(d.round, d.rule, d.person) for d in again.recorded] == [(1, 1, "jonas")]
    assert again.recorded[0].key == page_key(incident_id, "default", 1, 1, minutes(30))
    assert again.recorded[0].key != first.recorded[0].key
    assert [d.state for d in again.deliveries] == ["sent"] * 3
    # Rule 2 counts from the reopening too (15 minutes), and an acknowledgement stops it again.
    assert tick_root(clone, minutes(44)).recorded == []
    assert [(d.rule, d.person) for d in tick_root(clone, minutes(45)).recorded] == [(2, "liam")]
    assert acknowledge(clone, incident_id, minutes(46), by="amara").changed
    git(clone, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    assert "reopened_at: 2026-11-17T16:20:00Z" in git(clone.parent / "remote.git", "show", f"main:{rel}")
    assert tick_root(clone, minutes(59)).recorded == []


def test_an_alert_on_no_component_pages_through_the_integrations_policy(
    clone, paging, http_receiver, tmp_path
):
    integrations = clone / ".gitlab/integrations.yml"
    fallback = "    impact: major_outage\n    policy: default   # when no component gives one\n"
    integrations.write_text(integrations.read_text().replace("    impact: major_outage\n", fallback))
    commit_all(clone, "Uptime checks page through the default policy")
    unknown = {"service": "payments", "severity": "critical", "title": "Payments down", "fingerprint": "pay"}
    assert _alert(clone, tmp_path, minutes(0), start_time=_z(minutes(0)), **unknown) == "opened"
    on_api = {"title": "API down", "fingerprint": "api"}
    assert _alert(clone, tmp_path, minutes(0), start_time=_z(minutes(0)), **on_api) == "opened"
    repo = load(clone).repo
    assert repo.get("incidents", "2026-11-17-payments-down").policy == "default"
    assert repo.get("incidents", "2026-11-17-api-down").policy is None  # api's own policy applies
    result = tick_root(clone, minutes(0))
    assert sorted((d.incident, d.person) for d in result.recorded) == [
        ("2026-11-17-api-down", "amara"),
        ("2026-11-17-payments-down", "amara"),
    ]


def test_a_page_waiting_for_the_remote_is_not_sent_once_acknowledged(opened, http_receiver, tmp_path):
    remote, away = tmp_path / "remote.git", tmp_path / "away.git"
    remote.rename(away)
    assert tick_root(opened, minutes(0)).waiting == [page_key(ID, "default", 1, 1)]
    # Acknowledged meanwhile in this clone (an ack link the runner took while the remote was down).
    assert acknowledge(opened, ID, minutes(1), by="amara").changed
    late = tick_root(opened, minutes(3))  # past the grace: it would go out on the local record
    assert late.deliveries == [] and http_receiver.received == []
    assert late.cancelled == [page_key(ID, "default", 1, 1)]
    (page,) = incident(opened).pages
    assert page.state == "cancelled" and "acknowledged at 2026-11-17T15:51:00Z" in str(page.error)
    away.rename(remote)
    assert tick_root(opened, minutes(4)).deliveries == [] and http_receiver.received == []
    assert "state: cancelled" in remote_incident(opened)


def test_after_an_ack_only_the_pages_of_rules_unless_resolved_go_out(opened, http_receiver, tmp_path):
    remote, away = tmp_path / "remote.git", tmp_path / "away.git"
    tick_root(opened, minutes(0))
    remote.rename(away)
    rule_2, rule_3 = page_key(ID, "default", 1, 2), page_key(ID, "default", 1, 3)
    assert sorted(tick_root(opened, minutes(30)).waiting) == sorted([rule_2, rule_3])
    assert acknowledge(opened, ID, minutes(31), by="amara").changed
    late = tick_root(opened, minutes(33))
    assert late.cancelled == [rule_2]  # unless: acknowledged
    assert {d.key for d in late.deliveries} == {rule_3}  # unless: resolved, so the lead is still paged
    away.rename(remote)
    assert [(p.rule, p.state) for p in incident(opened).pages] == [(1, "sent"), (2, "cancelled"), (3, "sent")]


def test_a_clock_that_steps_back_an_hour_and_forward_a_day_never_pages_twice(
    opened, http_receiver, smtp_receiver
):
    """The machine's clock jumps (NTP stepping it, a VM resumed): ticks at any of those instants,
    in any order, send each page at most once on each channel, and the clone stays sound."""
    for at in (0, -60, 1, -60, 24 * 60, 24 * 60 - 60, 24 * 60 + 1, -60, 24 * 60):
        result = tick_root(opened, minutes(at))
        assert not result.blocked, (at, result.blocked)
    got = keys_received(http_receiver, smtp_receiver)
    for channel, keys in got.items():
        assert len(keys) == len(set(keys)), (channel, keys)  # never the same page twice on a channel
    sent = {(p.round, p.rule) for p in incident(opened).pages if p.state == "sent"}
    assert (1, 1) in sent and len(sent) == len({k for keys in got.values() for k in keys})
    git(opened, "fsck", "--strict")
    assert git(opened, "status", "--porcelain") == ""

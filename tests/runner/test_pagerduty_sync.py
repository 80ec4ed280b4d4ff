"""Two-way sync: a person's acknowledgement and resolution of a PagerDuty alert are told to PagerDuty,
once each; PagerDuty's own changes, arriving as its webhooks, are never told back.

A real clone of a bare remote, the real commands (`tidings runner apply`, `tidings alert ack`), and a
real HTTP server standing in for PagerDuty's REST API.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.runner.sources_setup import add_integrations, body
from tidings.cli.main import main
from tidings.content.load import load
from tidings.runner.escalation.pagerduty_sync import PagerDutySync
from tidings.runner.service import apply_payload
from tidings.store.git import git

TOKEN = "pd-rest-token"


def test_people_s_changes_are_told_once_and_pagerduty_s_own_never(clone, http_receiver, tmp_path):
    add_integrations(clone)
    integrations = clone / ".gitlab" / "integrations.yml"
    text = integrations.read_text()
    integrations.write_text(
        text.replace(
            "from: oncall@example.com}", f"from: oncall@example.com, api_url: '{http_receiver.url}'}}"
        )
    )
    notifications = clone / ".gitlab" / "notifications.yml"  # the stand-in is on loopback: allowed on purpose
    notifications.write_text(notifications.read_text() + "allow_networks: [127.0.0.0/8]\n")
    git(
        clone,
        "-c",
        "user.name=Ada",
        "-c",
        "user.email=ada@example.com",
        "commit",
        "-qam",
        "Sync to the stand-in",
    )
    git(clone, "push", "-q", "origin", "HEAD:main")
    env = {"TEST_PD_API_TOKEN": TOKEN}
    state = tmp_path / "state"
    sync = PagerDutySync(clone, state, pushing=True)
    assert sync.run_once(env) == []  # the first look only marks where it starts

    apply_payload(clone, "pagerduty", body("pagerduty/triggered.json"), "pagerduty", do_push=True)
    (record,) = [a for a in load(clone).repo.alerts if a.integration == "pagerduty"]
    assert sync.run_once(env) == []  # PagerDuty told us: nothing to tell it
    run = CliRunner().invoke(
        main, ["-C", str(clone), "alert", "ack", record.id, "--author", "Ada <ada@example.com>", "--push"]
    )
    assert run.exit_code == 0, run.output
    told = sync.run_once(env)
    assert [(t["incident"], t["status"], t["state"]) for t in told] == [
        (record.fingerprint, "acknowledged", "sent")
    ]
    (request,) = http_receiver.received
    assert request.method == "PUT" and request.path == f"/incidents/{record.fingerprint}"
    assert request.headers["Authorization"] == f"Token token={TOKEN}"
    assert request.headers["From"] == "oncall@example.com"
    assert json.loads(request.body) == {"incident": {"type": "incident_reference", "status": "acknowledged"}}
    assert sync.run_once(env) == [] and PagerDutySync(clone, state, pushing=True).run_once(env) == []  # once

    # PagerDuty's own resolve comes back as its webhook: applied here, never told back.
    apply_payload(clone, "pagerduty", body("pagerduty/resolved.json"), "pagerduty", do_push=True)
    assert sync.run_once(env) == [] and len(http_receiver.received) == 1

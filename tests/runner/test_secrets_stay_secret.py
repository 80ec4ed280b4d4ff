"""Secrets never leave the environment: not into commits, built sites, the runner's log or /metrics.

A full scenario on a real runner (its log at debug level kept), with a known value planted in every
secret it reads: the integration's bearer token, the webhook signing secret, the Slack webhook URL,
the ack-link secret, the Slack signing secret, the alert API token. Alerts arrive (some with wrong
tokens), pages go out on every channel, an ack link is followed, a Slack command is run, both sites
are built; then every commit (messages, trailers, diffs), every built file, the log, the state folder
and /metrics are searched for each planted value.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.runner.conftest import RAW, TOKEN, Runner, remote_log, wait_for
from tidings.runner.escalation.ack import ack_url, make_token
from tidings.store.git import git

PLANTED = {
    "TIDINGS_TOKEN_PROMETHEUS": TOKEN,  # what the captured Alertmanager sends; planted as it is
    "TEST_HOOK_SECRET": "planted-webhook-signing-secret-4a1f",
    "TIDINGS_ACK_SECRET": "planted-ack-secret-of-some-length-9c2e",
    "TIDINGS_SLACK_SIGNING_SECRET": "planted-slack-signing-secret-77d0",
    "TIDINGS_ALERT_API_TOKEN": "planted-alert-api-token-5be3",
}


def test_no_secret_is_ever_written_logged_or_served(clone, paging, http_receiver, tmp_path):
    slack_url = f"{http_receiver.url}/slack/planted-slack-path-3e8a"  # a Slack webhook URL is a secret
    env = {**PLANTED, "TEST_SLACK_URL": slack_url, "TEST_HOOK_SECRET": PLANTED["TEST_HOOK_SECRET"]}
    secrets = [*PLANTED.values(), "planted-slack-path-3e8a"]
    state = tmp_path / "state"
    log = tmp_path / "runner.log"
    runner = Runner(clone, args=("--tick-seconds", "1", "--state-dir", str(state)), env=env, log=log)
    tidings = str(Path(sys.executable).parent / "tidings")
    runner.start()
    try:
        assert runner.post((RAW / "single_1.body").read_bytes()) == 200
        assert runner.post((RAW / "single_1.body").read_bytes(), token="wrong-token") == 401
        wait_for(lambda: any("opened" in s for s in remote_log(clone)), what="the incident")
        wait_for(lambda: http_receiver.at("/hook"), timeout=60, what="a page on the webhook")
        incident = next(p.stem for p in (clone / "content" / "incidents").glob("2026-11-22-apidown*.md"))
        expires = datetime.now(UTC) + timedelta(hours=1)
        token = make_token(PLANTED["TIDINGS_ACK_SECRET"].encode(), incident, "amara", expires)
        link = ack_url(runner.url + "/", token)
        urllib.request.urlopen(urllib.request.Request(link, data=b"", method="POST"), timeout=30).read()
        body = urllib.parse.urlencode(
            {"command": "/incident", "text": f"timeline {incident}", "user_id": "U1", "user_name": "amara"}
        ).encode()
        stamp = str(int(time.time()))
        secret = PLANTED["TIDINGS_SLACK_SIGNING_SECRET"].encode()
        signature = "v0=" + hmac.new(secret, f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        slack = urllib.request.Request(
            runner.url + "/slack/commands", data=body,
            headers={"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature},
        )  # fmt: skip
        urllib.request.urlopen(slack, timeout=30).read()
        with urllib.request.urlopen(runner.url + "/metrics", timeout=10) as r:
            metrics = r.read().decode()
        remote = clone.parent / "remote.git"
        wait_for(lambda: "Acknowledge" in git(remote, "log", "--format=%s", "main"), what="the ack pushed")
    finally:
        runner.kill()
    for site, extra in (("public", []), ("internal", ["--internal"])):
        build = [tidings, "build", str(clone), "--out", str(tmp_path / site), *extra]
        subprocess.run(build, check=True, capture_output=True, env={**os.environ, **env})
    history = git(clone, "log", "--all", "-p", "--format=%H%n%an <%ae>%n%B")
    places = {"git history": history, "runner log": log.read_text(errors="replace"), "/metrics": metrics}
    for folder in (tmp_path / "public", tmp_path / "internal", state):
        for path in folder.rglob("*"):
            if path.is_file():
                places[str(path.relative_to(tmp_path))] = path.read_bytes().decode(errors="replace")
    assert len(places) > 50 and "page" in places["runner log"].lower()  # there was a lot to search
    assert http_receiver.at("/slack/planted-slack-path-3e8a")  # the secrets were used, not idle
    leaks = [f"{name}: {where}" for where, text in places.items() for name in secrets if name in text]
    assert leaks == []

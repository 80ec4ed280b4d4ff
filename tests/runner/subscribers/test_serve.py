"""Subscribers end to end: real `runner serve --public-port` processes, a bare remote, a person's push,
runner commits, aiosmtpd and an HTTP receiver, the pages job's deploy report, and kill -9."""

from __future__ import annotations

import functools
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from email.message import Message
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.runner.conftest import ENV, RAW, Runner, _free_port, wait_for
from tests.runner.receivers import HttpReceiver, Received, SmtpReceiver
from tests.runner.subscribers.conftest import subscribing
from tidings.content.load import load
from tidings.runner.escalation.notifiers import verify_signature
from tidings.runner.subscribers.store import Store
from tidings.store.git import git

TIDINGS = str(Path(sys.executable).parent / "tidings")
DEPLOY_TOKEN = "a-deploy-token-for-tests"


class PublicRunner(Runner):
    """`tidings -v runner serve --public-port`, its log in a file (read for addresses afterwards)."""

    def __init__(self, root: Path, state: Path, log: Path):
        super().__init__(
            root, ("--tick-seconds", "0", "--state-dir", str(state)), {"TIDINGS_DEPLOY_TOKEN": DEPLOY_TOKEN}
        )
        self.state = state
        self.log = log
        self.public_port = _free_port()
        self.public = f"http://127.0.0.1:{self.public_port}"

    def start(self) -> None:
        command = [TIDINGS, "-v", "runner", "serve", str(self.root), "--port", str(self.port),
                   "--public-port", str(self.public_port), *self.args]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env={**os.environ, **ENV, **self.env}, stdout=subprocess.DEVNULL, stderr=log
            )

        def up() -> bool:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    assert r.status == 200
                conn = http.client.HTTPConnection("127.0.0.1", self.public_port, timeout=1)
                conn.request("GET", "/subscribe")
                return conn.getresponse().status == 303
            except OSError:
                return False

        wait_for(up, 30, "the runner and its public listener")

    def form(self, path: str, fields: dict[str, str | list[str]]) -> tuple[int, str]:
        body = urllib.parse.urlencode(fields, doseq=True).encode()
        return _call(urllib.request.Request(self.public + path, data=body))

    def deployed(self, commit: str, token: str = DEPLOY_TOKEN) -> int:
        request = urllib.request.Request(
            self.url + "/deployed",
            data=json.dumps({"commit": commit}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        return _call(request)[0]


def _call(request: urllib.request.Request) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def person_clone(clone: Path) -> Path:
    """A person's own clone of the bare remote: what they push is a merge reaching the branch."""
    work = clone.parent / "person"
    if not work.exists():
        subprocess.run(["git", "clone", "--quiet", str(clone.parent / "remote.git"), str(work)], check=True)
    git(work, "pull", "--quiet", "--ff-only")
    return work


def as_person(work: Path, *args: str) -> None:
    run = subprocess.run([TIDINGS, *args, str(work)], cwd=work, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr


def remote_head(clone: Path) -> str:
    return git(clone.parent / "remote.git", "rev-parse", "main").strip()


def held(state: Path) -> list[str]:
    return [u.event for u in Store.open(state).held()]


def mails_to(smtp: SmtpReceiver, address: str) -> list[Message]:
    with smtp.lock:
        return [m for m, to in zip(smtp.messages, smtp.recipients, strict=True) if address in to]


def link(mail: Message, kind: str) -> str:
    body = mail.get_content().replace("\r\n", "\n")  # type: ignore[attr-defined]
    return next(word for word in body.split() if f"/{kind}/" in word)


@pytest.fixture
def receivers(smtp_receiver: SmtpReceiver, http_receiver: HttpReceiver) -> tuple[SmtpReceiver, HttpReceiver]:
    def answer(got: Received) -> tuple[int, bytes]:
        data = json.loads(got.body)
        if data.get("type") == "subscription.challenge":
            return 200, data["challenge"].encode()
        return 200, b"ok"

    http_receiver.answer = answer
    return smtp_receiver, http_receiver


def test_subscribers_hear_of_a_person_s_merge_and_a_runner_commit_once_each_after_the_deploy(
    clone: Path, tmp_path: Path, receivers: tuple[SmtpReceiver, HttpReceiver]
) -> None:
    smtp, hooks = receivers
    state = tmp_path / "state"
    runner = PublicRunner(clone, state, tmp_path / "runner.log")
    subscribing(clone, smtp.port, release="deployed", endpoint=runner.public + "/")
    runner.start()
    try:
        # A reader subscribes by e-mail (every component) and confirms from the mail's link.
        assert runner.form("/subscribe", {"email": "Ann@Example.com"})[0] == 200
        confirmation = wait_for(lambda: mails_to(smtp, "ann@example.com"), 30, "the confirmation mail")[0]
        url = link(confirmation, "confirm")
        assert url.startswith(runner.public + "/confirm/")
        status, page = _call(urllib.request.Request(url))
        assert status == 200 and "Confirm" in page
        status, page = _call(urllib.request.Request(url, method="POST"))
        assert status == 200 and "You are subscribed" in page
        # A webhook subscribes for the API, and echoes the challenge.
        assert runner.form("/subscribe", {"webhook": f"{hooks.url}/hook", "component": "api"})[0] == 200
        wait_for(lambda: len(Store.open(state).subscribers()) == 2, 30, "the webhook's confirmation")
        challenge = hooks.at("/hook")[0].json()
        secret = challenge["secret"].encode()

        # An alert opens an incident: the runner's commit, unpublished, tells nobody.
        assert runner.post((RAW / "single_1.body").read_bytes()) == 200
        runner.wait_idle()
        pushed = lambda: "opened" in git(clone.parent / "remote.git", "log", "--format=%s")  # noqa: E731
        wait_for(pushed, 30, "the runner's push")
        work = person_clone(clone)
        (incident,) = [i.id for i in load(work).repo.incidents if i.id.startswith("2026-11-22-apidown")]

        # A person publishes it and pushes: held until the pages job reports the deploy.
        as_person(
            work,
            "incident",
            "publish",
            incident,
            "--body",
            "The API does not answer; we are on it.",
            "--push",
        )
        wait_for(lambda: held(state) == ["published"], 30, "the update to be found")
        assert len(mails_to(smtp, "ann@example.com")) == 1 and len(hooks.at("/hook")) == 1  # nothing yet
        assert runner.deployed(remote_head(clone), token="wrong") == 401
        assert runner.deployed(remote_head(clone)) == 200
        published = wait_for(lambda: mails_to(smtp, "ann@example.com")[1:], 30, "the notification")[0]
        assert published["Subject"].endswith("(Investigating)")
        assert "The API does not answer; we are on it." in published.get_content()  # type: ignore[attr-defined]
        assert published["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        hook = wait_for(lambda: hooks.at("/hook")[1:], 30, "the webhook notification")[0]
        assert hook.json()["event"] == "published" and hook.json()["incident"]["id"] == incident
        signed = (hook.headers["X-Tidings-Timestamp"], hook.body, hook.headers["X-Tidings-Signature"])
        assert verify_signature(secret, *signed, datetime.now(UTC))

        # The alert resolves: the runner's commit resolves the published incident.
        assert runner.post((RAW / "single_2.body").read_bytes()) == 200
        runner.wait_idle()
        wait_for(lambda: held(state) == ["status"], 30, "the resolution to be found")
        assert runner.deployed(remote_head(clone)) == 200
        resolved = wait_for(lambda: mails_to(smtp, "ann@example.com")[2:], 30, "the resolution mail")[0]
        assert resolved["Subject"].endswith("(Resolved)")
        wait_for(lambda: hooks.at("/hook")[2:], 30, "the webhook resolution")

        # Unsubscribing in one click (RFC 8058) stops the mail.
        one_click = urllib.request.Request(link(resolved, "unsubscribe"), data=b"List-Unsubscribe=One-Click")
        assert _call(one_click)[0] == 200
        assert [s.kind for s in Store.open(state).subscribers()] == ["webhook"]
        metrics = urllib.request.urlopen(runner.url + "/metrics", timeout=5).read().decode()
    finally:
        runner.kill()
    assert len(mails_to(smtp, "ann@example.com")) == 3 and len(hooks.at("/hook")) == 3  # once each
    # The addresses are in the runner's database and nowhere else: no log line, commit or metric.
    log = (tmp_path / "runner.log").read_text(encoding="utf-8")
    assert "subscriber 1" in log  # the log does speak of subscribers, by number
    history = git(clone.parent / "remote.git", "log", "-p", "--all")
    for secret_text in ("ann@example.com", "Ann@Example.com", hooks.url, f"{hooks.url}/hook"):
        assert secret_text not in log and secret_text not in history and secret_text not in metrics


def test_kill_9_during_a_send_out_misses_nobody(
    clone: Path, tmp_path: Path, smtp_receiver: SmtpReceiver
) -> None:
    """300 subscribers, the runner killed mid send-out and started again: every one told, a message
    the server had accepted in the instant before the kill sent again with the same Message-ID."""
    total = 300
    smtp_receiver.delay = 0.01  # each message takes the server 10 ms to accept
    state = tmp_path / "state"
    Store.open(state).add_subscribers([("email", f"reader{n}@example.com", []) for n in range(total)], 0)
    subscribing(clone, smtp_receiver.port, release="pushed")
    runner = PublicRunner(clone, state, tmp_path / "runner.log")
    runner.start()
    try:
        work = person_clone(clone)
        as_person(
            work,
            "incident",
            "publish",
            "2026-11-24-postgres-replica-lag",
            "--body",
            "Reads may be stale.",
            "--push",
        )
        wait_for(lambda: len(smtp_receiver.messages) >= total // 3, 60, "the send-out to start")
        runner.kill()  # kill -9, mid send-out
        at_kill = len(smtp_receiver.messages)
        runner.start()
        wait_for(lambda: len({m["Message-ID"] for m in smtp_receiver.messages}) >= total, 120, "everyone")
        wait_for(lambda: Store.open(state).pending() == 0, 30, "the outbox to empty")
    finally:
        runner.kill()
    ids = [m["Message-ID"] for m in smtp_receiver.messages]
    recipients = sorted({to for tos in smtp_receiver.recipients for to in tos})
    duplicates = len(ids) - len(set(ids))
    print(f"kill -9 after {at_kill} of {total}: sent {len(set(ids))}, duplicates {duplicates}, "
          f"missed {total - len(recipients)}")  # fmt: skip
    assert recipients == sorted(f"reader{n}@example.com" for n in range(total))  # nobody missed
    # At most one message per SMTP connection was in flight at the kill; sent again, it is the same one.
    assert duplicates <= 2
    assert len(ids) == len(smtp_receiver.recipients)
    assert all(re.fullmatch(r"<[0-9a-f]{32}-\d+@example\.com>", i) for i in ids)


def test_the_subscribe_page_works_without_javascript(
    clone: Path, tmp_path: Path, smtp_receiver: SmtpReceiver
) -> None:
    """The built page in Chromium with scripts off: the form reaches the runner, the mail comes."""
    from playwright.sync_api import sync_playwright

    from tests.generator.test_browser import CHROMIUM, CHROMIUM_ARGS
    from tidings.generator.build import build

    runner = PublicRunner(clone, tmp_path / "state", tmp_path / "runner.log")
    subscribing(clone, smtp_receiver.port, endpoint=runner.public + "/")
    runner.start()
    site = tmp_path / "public"
    build(clone, site)
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(site))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(java_script_enabled=False).new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            page.get_by_role("link", name="Subscribe", exact=True).click()
            page.get_by_label("E-mail address").fill("reader@example.com")
            page.get_by_label("Postgres Databases").check()
            page.get_by_role("button", name="Subscribe").click()
            assert page.url == runner.public + "/subscribe"
            assert page.locator("h1").inner_text() == "Check your inbox"
            browser.close()
        mail = wait_for(lambda: mails_to(smtp_receiver, "reader@example.com"), 30, "the confirmation mail")[0]
        assert "for Postgres Databases." in mail.get_content()  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        runner.kill()

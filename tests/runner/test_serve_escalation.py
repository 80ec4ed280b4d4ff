"""`tidings runner serve` with the escalation tick: alerts, pages and ack links in one real process."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from tests.runner.conftest import RAW, Runner, wait_for
from tidings.content.load import load
from tidings.store.git import git

# Just after the captured alert started (2026-11-22T16:19:41Z), pinned so the test is the same every run.
NOW = datetime(2026, 11, 22, 16, 20, tzinfo=UTC)


def _remote_repo(clone, tmp_path):
    """The remote's main as a fresh checkout, loaded."""
    view = tmp_path / "view"
    if not view.exists():
        git(tmp_path, "clone", "--quiet", str(tmp_path / "remote.git"), str(view))
    git(view, "pull", "--quiet", "--ff-only")
    return load(view).repo


def _storm(n: int) -> bytes:
    payload = json.loads((RAW / "single_1.body").read_bytes())
    payload["groupKey"] = f'{{}}:{{alertname="Storm", n="{n}"}}'
    payload["groupLabels"] = {"alertname": "Storm", "n": str(n)}
    payload["commonAnnotations"] = {"summary": f"Storm alert {n}"}
    payload["alerts"][0]["fingerprint"] = f"storm{n:04d}"
    return json.dumps(payload).encode()


def test_alerts_pages_and_an_ack_link_in_one_runner(clone, paging, http_receiver, smtp_receiver, tmp_path):
    runner = Runner(
        clone, args=("--tick-seconds", "0.2"), env={**paging, "SOURCE_DATE_EPOCH": str(int(NOW.timestamp()))}
    )
    runner.start()
    try:
        assert runner.post((RAW / "single_1.body").read_bytes()) == 200
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(runner.post, [_storm(n) for n in range(12)])) == [200] * 12

        def settled():
            repo = _remote_repo(clone, tmp_path)
            opened = [i for i in repo.incidents if i.title.startswith(("Storm alert", "ApiDown"))]
            done = len(opened) == 13 and all(i.pages and i.pages[0].state == "sent" for i in opened)
            return repo if done else None

        repo = wait_for(settled, timeout=60, what="every new incident paged and its deliveries recorded")
        opened = [i for i in repo.incidents if i.title.startswith(("Storm alert", "ApiDown"))]
        assert all(len(i.pages) == 1 for i in opened)  # rule 1, once each
        every_key = [p.key for i in repo.incidents for p in i.pages]
        assert len(every_key) == len(set(every_key))
        runner.wait_idle()
        received = Counter(r.headers["Idempotency-Key"] for r in http_receiver.at("/slack"))
        assert all(received[k] == 1 for k in every_key) and set(received) == set(every_key)
        assert Counter(m["Idempotency-Key"] for m in smtp_receiver.messages) == received

        # The ack link in the API incident's Slack message, followed on this runner.
        (api,) = [i for i in opened if i.title.startswith("ApiDown")]
        (slack,) = [r for r in http_receiver.at("/slack") if r.headers["Idempotency-Key"] == api.pages[0].key]
        link = slack.json()["blocks"][-1]["elements"][0]["url"].replace("https://runner.test", runner.url)
        with urllib.request.urlopen(link, timeout=10) as response:
            assert response.status == 200 and b'method="post"' in response.read()
        request = urllib.request.Request(link, data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert b"Acknowledged incident" in response.read()
        acked = _remote_repo(clone, tmp_path).get("incidents", api.id)
        assert acked is not None and acked.acknowledged_at == NOW  # type: ignore[attr-defined]

        assert runner.post((RAW / "single_2.body").read_bytes()) == 200  # the alert resolves

        def resolved():
            found = _remote_repo(clone, tmp_path).get("incidents", api.id)
            return found is not None and found.status == "resolved"  # type: ignore[attr-defined]

        wait_for(resolved, timeout=30, what="the resolution to be pushed")
        runner.wait_idle()
    finally:
        runner.kill()
    git(clone, "fsck", "--strict")
    assert load(clone).errors == []
    assert Counter(r.headers["Idempotency-Key"] for r in http_receiver.at("/slack")) == received


def test_sigterm_while_pages_hang_stops_in_bounded_time_and_the_rest_go_out_after(
    clone, http_receiver, tmp_path
):
    """The only channel accepts connections and never answers: a tick with a dozen pages would try
    for minutes. A SIGTERM stops the runner in seconds (exit 0); the pages it had not begun are
    sent by the next start, once each, when the channel is fixed."""
    import signal
    import socket
    import threading

    from tests.runner.conftest import ACK_SECRET, HOOK_SECRET, commit_all

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    accepted: list[socket.socket] = []

    def swallow() -> None:  # take every connection, answer none
        while True:
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                return

    threading.Thread(target=swallow, daemon=True).start()
    settings = clone / ".gitlab" / "notifications.yml"

    def channel(url: str) -> None:
        settings.write_text(
            "runner_url: https://runner.test/\n"
            "retry: {attempts: 3, backoff_seconds: 1, timeout_seconds: 3}\n"
            "allow_networks: [127.0.0.0/8]\n"
            f"channels:\n  - {{id: hook, kind: webhook, url: '{url}', secret_env: TEST_HOOK_SECRET}}\n"
        )
        commit_all(clone, "Page through one webhook")

    channel(f"http://127.0.0.1:{silent.getsockname()[1]}/hook")
    env = {
        "TIDINGS_ACK_SECRET": ACK_SECRET,
        "TEST_HOOK_SECRET": HOOK_SECRET,
        "SOURCE_DATE_EPOCH": str(int(NOW.timestamp())),
    }
    runner = Runner(clone, args=("--tick-seconds", "0.5"), env=env, log=tmp_path / "runner.log")
    runner.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(runner.post, [_storm(n) for n in range(12)])) == [200] * 12
        wait_for(lambda: accepted, timeout=60, what="a page on its way to the silent channel")
        assert runner.process is not None
        runner.process.send_signal(signal.SIGTERM)
        # Bounded: the send in hand (3 s), the batch in hand, and slack for a busy machine; without
        # the stop, 12 pages x 3 tries x 3 s take minutes.
        assert runner.process.wait(timeout=40) == 0
        tried = len(accepted)
        assert tried < 12 * 3  # it did not go on trying them all

        silent.close()
        runner.process = None
        channel(f"{http_receiver.url}/hook")
        runner.start()

        def all_sent():
            repo = _remote_repo(clone, tmp_path)
            storms = [i for i in repo.incidents if i.title.startswith("Storm alert")]
            pages = [p for i in storms for p in i.pages]
            done = len(storms) == 12 and pages and all(p.state in ("sent", "failed") for p in pages)
            return pages if done else None

        pages = wait_for(all_sent, timeout=120, what="every page sent or given up")
        runner.wait_idle()
        received = Counter(r.headers["Idempotency-Key"] for r in http_receiver.at("/hook"))
        assert all(n == 1 for n in received.values()), received  # none twice
        sent = {p.key for p in pages if p.state == "sent"}
        assert sent <= set(received)  # every page recorded as sent went out, once
        everything = {p.key for i in _remote_repo(clone, tmp_path).incidents for p in i.pages}
        assert set(received) <= everything  # (the demo's open incidents are paged too)
        assert len(sent) >= 12 - tried  # at least those it never began went out after the restart
    finally:
        if runner.process and runner.process.poll() is None:
            runner.kill()

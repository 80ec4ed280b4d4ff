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

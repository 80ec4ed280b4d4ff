"""The journal: what was acknowledged stays on disk through compaction, torn writes and restarts."""

from __future__ import annotations

import asyncio
import errno
import os
import time

from tidings.runner import journal as jmod
from tidings.runner.journal import Journal, read_entries


def on_disk(folder) -> list[int]:
    """The seqs of the entries in the file (a compaction's mark is not an entry)."""
    return [e.seq for e in read_entries(folder / "journal.jsonl")[0] if not e.record.get("mark")]


def test_a_compaction_right_after_a_write_keeps_the_new_entry(tmp_path, monkeypatch):
    monkeypatch.setattr(jmod, "COMPACT_AFTER", 1)

    async def main() -> int:
        journal = Journal(tmp_path)
        await journal.append({"n": 1})
        real_write = journal._write

        def write_then_the_worker_compacts(data, entries):
            real_write(data, entries)  # seq 2 is fsynced...
            journal.compact(1)  # ...and the worker, having pushed seq 1, compacts at once

        monkeypatch.setattr(journal, "_write", write_then_the_worker_compacts)
        seq = await journal.append({"n": 2})
        journal.close()
        return seq

    assert asyncio.run(main()) == 2
    assert on_disk(tmp_path) == [2]


def test_a_full_disk_leaves_no_torn_line_and_acknowledges_nothing(tmp_path, monkeypatch):
    async def main() -> tuple[int, BaseException | None, int]:
        journal = Journal(tmp_path)
        first = await journal.append({"n": 1})
        real_write = os.write
        calls = {"n": 0}

        def half_then_enospc(fd, data):
            calls["n"] += 1
            if calls["n"] == 1:
                return real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(jmod.os, "write", half_then_enospc)
        failure = None
        try:
            await journal.append({"n": 2})
        except OSError as exc:
            failure = exc
        monkeypatch.setattr(jmod.os, "write", real_write)
        third = await journal.append({"n": 3})
        journal.close()
        return first, failure, third

    first, failure, third = asyncio.run(main())
    assert first == 1 and isinstance(failure, OSError) and third == 3
    assert on_disk(tmp_path) == [1, 3]  # no half line glued to the next append
    assert Journal(tmp_path).last_seq == 3


def test_repeats_that_change_nothing_do_not_pile_up(clone, monkeypatch):
    from starlette.testclient import TestClient

    from tests.runner.conftest import RAW, TOKEN
    from tidings.runner.app import create_app

    monkeypatch.setenv("TIDINGS_TOKEN_PROMETHEUS", TOKEN)
    monkeypatch.setattr(jmod, "COMPACT_AFTER", 5)  # rewrite the file soon, so what is kept shows on disk
    body = (RAW / "single_1.body").read_bytes()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(clone, do_push=False)) as client:
        for _ in range(30):  # repeat_interval re-sends: one change, then 29 that change nothing
            response = client.post("/alerts/alertmanager/prometheus", content=body, headers=headers)
            assert response.status_code == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and client.get("/healthz").json()["journal_depth"]:
            time.sleep(0.05)
    assert len(on_disk(clone / ".git" / "tidings-runner")) < 10  # not 30
    journal = Journal(clone / ".git" / "tidings-runner")
    assert journal.last_seq >= 30  # seqs are never reused
    journal.close()

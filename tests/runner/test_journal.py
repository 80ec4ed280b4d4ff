"""The journal: what was acknowledged stays on disk through compaction, torn writes and restarts."""

from __future__ import annotations

import asyncio
import errno
import os

from tidings.runner import journal as jmod
from tidings.runner.journal import Journal, read_entries


def on_disk(folder) -> list[int]:
    return [e.seq for e in read_entries(folder / "journal.jsonl")[0]]


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

"""The journal: what was acknowledged stays on disk through compaction, torn writes and restarts."""

from __future__ import annotations

import asyncio
import errno
import os
import time

from tidings.runner import journal as jmod
from tidings.runner.journal import Journal, read_entries
from tidings.runner.worker import last_applied_seq, legacy_applied_seq
from tidings.store.git import git


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


def test_a_journal_keeps_its_id_through_compactions_and_restarts(tmp_path, monkeypatch):
    monkeypatch.setattr(jmod, "COMPACT_AFTER", 1)

    async def main() -> str:
        journal = Journal(tmp_path)
        await journal.append({"n": 1})
        journal.compact(1)  # rewrites the file: the id must survive it
        await journal.append({"n": 2})
        journal.close()
        return journal.id

    made = asyncio.run(main())
    again = Journal(tmp_path)
    assert again.id == made and len(made) == 16 and not again.legacy
    assert again.trailers(7) == {"Tidings-Journal": made, "Tidings-Journal-Seq": "7"}
    assert on_disk(tmp_path) == [2]
    again.close()
    (tmp_path / "journal.jsonl").unlink()  # a lost journal is a new journal: it never claims old commits
    fresh = Journal(tmp_path)
    assert fresh.id != made
    fresh.close()


def _commit(root, message: str) -> None:
    (root / "f").write_text(message)
    git(root, "add", "f")
    git(root, "-c", "user.name=R", "-c", "user.email=r@x", "commit", "-qm", message)


def test_applied_seq_is_read_from_this_journals_commits_only(tmp_path):
    root = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(root))
    assert last_applied_seq(root, "aaaa") == 0  # no commits at all
    _commit(root, "mine\n\nTidings-Journal: aaaa\nTidings-Journal-Seq: 3")
    _commit(root, "theirs\n\nTidings-Journal: bbbb\nTidings-Journal-Seq: 40")
    _commit(root, "a person's\n\nNo trailers.")
    assert last_applied_seq(root, "aaaa") == 3  # not the other runner's 40
    assert last_applied_seq(root, "bbbb") == 40
    assert last_applied_seq(root, "cccc") == 0


def test_a_journal_from_before_ids_is_adopted_from_its_untagged_commits(tmp_path):
    root = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(root))
    _commit(root, "runner: old\n\nTidings-Journal-Seq: 2")  # what runners wrote before journals had ids
    _commit(root, "theirs\n\nTidings-Journal: bbbb\nTidings-Journal-Seq: 9")
    state = tmp_path / "state"
    state.mkdir()
    (state / "journal.jsonl").write_text("".join(f'{{"n":{n},"seq":{n}}}\n' for n in (1, 2, 3)))
    journal = Journal(state)
    assert journal.legacy
    assert legacy_applied_seq(root) == 2
    journal.adopt(legacy_applied_seq(root))
    assert [e.seq for e in journal.after(0)] == [3]  # 1 and 2 were applied by the old runner
    assert last_applied_seq(root, journal.id) == 0  # so 3 is applied on start
    journal.close()
    reopened = Journal(state)
    assert not reopened.legacy and reopened.id == journal.id and on_disk(state) == [3]
    assert reopened.last_seq == 3
    reopened.close()

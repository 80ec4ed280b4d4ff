"""The journal: every accepted request, appended and fsynced before the sender hears 2xx.

One JSON object a line in `journal.jsonl`. Appends from concurrent requests are grouped: one
write and one fsync cover every request waiting at that moment (group commit), so a storm costs
a handful of fsyncs, not one each. A torn last line (a crash mid-write) is dropped on start: its
request was never acknowledged.

Entries stay until they are committed and pushed; `compact` then drops them, rewriting the file
(atomically) only once enough dead lines have piled up, so the journal stays small on a runner
that lives for months.

Every journal has an id of its own, written in the file's first line (a mark) when it is made and
kept through every compaction. Commits that apply entries carry it beside the seq
(`Tidings-Journal` and `Tidings-Journal-Seq` trailers): seqs count per journal, so a runner
decides what it has applied from its own journal's commits only, never from another runner's
sharing the remote. A lost journal file takes its id with it, so a new one never mistakes old
commits for its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Rewrite the file once this many lines in it are no longer needed.
COMPACT_AFTER = 1000
# The trailers of a commit that applies journal entries: whose journal, and up to which seq.
ID_TRAILER = "Tidings-Journal"
SEQ_TRAILER = "Tidings-Journal-Seq"


@dataclass(frozen=True)
class Entry:
    seq: int
    record: dict[str, Any]


def _fsync_dir(folder: Path) -> None:
    """Make a file's creation or rename durable, not only its contents."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n").encode()


def read_entries(path: Path) -> tuple[list[Entry], int]:
    """(entries in order, byte length of the intact part); a torn last line is not part of it."""
    if not path.exists():
        return [], 0
    entries, good = [], 0
    with path.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break  # torn by a crash mid-write: never acknowledged
            good += len(line)
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                log.error("journal %s: skipping a line that is not JSON", path)
                continue
            entries.append(Entry(int(data["seq"]), data))
    return entries, good


class Journal:
    def __init__(self, folder: Path):
        """Open (or create) the journal in `folder`; new seqs start above any in it.

        A journal written before journals had ids is `legacy` (with `legacy_entries`): it is given
        an id now, and the caller must say which of its entries are applied (`adopt`), since old
        commits do not name their journal.
        """
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.path = folder / "journal.jsonl"
        entries, good = read_entries(self.path)
        if self.path.exists() and self.path.stat().st_size > good:
            os.truncate(self.path, good)  # a torn line would glue itself to the next append
        self._seq = max([0, *(e.seq for e in entries)])
        # A compaction that kept nothing leaves a mark of the last seq, so seqs are never reused.
        self._entries = [e for e in entries if not e.record.get("mark")]
        ids = [e.record["journal"] for e in entries if e.record.get("mark") and e.record.get("journal")]
        self.legacy = not ids and bool(self._entries)
        self.id = ids[0] if ids else secrets.token_hex(8)
        self._dead = 0
        self._lock = threading.Lock()  # the file is written from worker threads
        if not ids:
            self._rewrite(self._seq, self._entries)  # the id goes in first, before any append
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        _fsync_dir(folder)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tidings-journal")
        self._pending: list[tuple[bytes, Entry, asyncio.Future[int]]] = []
        self._flushing = False
        self.appended = asyncio.Event()

    def trailers(self, seq: int) -> dict[str, str]:
        """The trailers of a commit that applies this journal's entries up to `seq`."""
        return {ID_TRAILER: self.id, SEQ_TRAILER: str(seq)}

    def adopt(self, applied: int) -> None:
        """A legacy journal: forget the entries up to `applied`, as its untagged commits tell."""
        with self._lock:
            self._entries = [e for e in self._entries if e.seq > applied]
            self._rewrite(self._seq, self._entries)
            self._reopen()
            self.legacy = False

    @property
    def last_seq(self) -> int:
        return self._seq

    def after(self, seq: int, limit: int | None = None) -> list[Entry]:
        """Entries with a seq above `seq`, oldest first."""
        with self._lock:
            found = [e for e in self._entries if e.seq > seq]
        return found[:limit] if limit else found

    def waiting(self, seq: int) -> int:
        """How many entries have a seq above `seq`."""
        with self._lock:
            return sum(1 for e in self._entries if e.seq > seq)

    async def append(self, record: dict[str, Any]) -> int:
        """Write `record` durably; returns its seq once it is on disk."""
        self._seq += 1
        entry = Entry(self._seq, {**record, "seq": self._seq})
        line = _line(entry.record)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((line, entry, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                data = b"".join(line for line, _, _ in batch)
                entries = [entry for _, entry, _ in batch]
                try:
                    # Its own thread: git work in the shared pool (acks, ticks) must never hold up
                    # the fsync that every acknowledgement waits for.
                    await asyncio.get_running_loop().run_in_executor(self._writer, self._write, data, entries)
                except OSError as exc:
                    for _, _, future in batch:
                        future.set_exception(exc)
                    continue
                for _, entry, future in batch:
                    future.set_result(entry.seq)
                self.appended.set()
        finally:
            self._flushing = False

    def _write(self, data: bytes, entries: list[Entry]) -> None:
        # One lock around the write and the in-memory list: a compaction in between would rewrite
        # the file from a list that lacks these entries, and lose them.
        with self._lock:
            size = os.fstat(self._fd).st_size
            view = memoryview(data)
            try:
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
                os.fsync(self._fd)
            except OSError:
                # Disk full, say: take the part-written batch back out, or its torn end would glue
                # itself to the next append. None of it was acknowledged.
                os.ftruncate(self._fd, size)
                raise
            self._entries.extend(entries)

    def compact(self, upto: int) -> None:
        """Forget entries with seq <= `upto` (they are committed and pushed)."""
        with self._lock:
            keep = [e for e in self._entries if e.seq > upto]
            self._dead += len(self._entries) - len(keep)
            self._entries = keep
            if self._dead < COMPACT_AFTER:
                return
            self._rewrite(upto, keep)
            self._reopen()
            self._dead = 0
            log.info("journal compacted: %d entries kept", len(keep))

    def _reopen(self) -> None:
        """Append to the file a rewrite put in place (the old descriptor names the replaced one)."""
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND, 0o600)

    def _rewrite(self, upto: int, keep: list[Entry]) -> None:
        """Replace the file (atomically) by the id mark and `keep`; held under the lock."""
        tmp = self.folder / "journal.jsonl.tmp"
        with tmp.open("wb") as handle:
            handle.write(_line({"mark": True, "journal": self.id, "seq": upto}))
            for entry in keep:
                handle.write(_line(entry.record))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.folder)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        os.close(self._fd)

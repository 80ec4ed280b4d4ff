"""The journal: every accepted request, appended and fsynced before the sender hears 2xx.

One JSON object a line in `journal.jsonl`. Appends from concurrent requests are grouped: one
write and one fsync cover every request waiting at that moment (group commit), so a storm costs
a handful of fsyncs, not one each. A torn last line (a crash mid-write) is dropped on start: its
request was never acknowledged.

Entries stay until they are committed and pushed; `compact` then drops them, rewriting the file
(atomically) only once enough dead lines have piled up, so the journal stays small on a runner
that lives for months.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Rewrite the file once this many lines in it are no longer needed.
COMPACT_AFTER = 1000


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
    def __init__(self, folder: Path, min_seq: int = 0):
        """Open (or create) the journal in `folder`; new seqs start above `min_seq` and above any in it.

        `min_seq` is the last seq already applied in git: if the journal file was lost, new entries
        must still not reuse seqs that the worker would take as applied.
        """
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.path = folder / "journal.jsonl"
        entries, good = read_entries(self.path)
        if self.path.exists() and self.path.stat().st_size > good:
            os.truncate(self.path, good)  # a torn line would glue itself to the next append
        self._seq = max([min_seq, *(e.seq for e in entries)])
        # A compaction that kept nothing leaves a mark of the last seq, so seqs are never reused.
        self._entries = [e for e in entries if not e.record.get("mark")]
        self._dead = 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        _fsync_dir(folder)
        self._lock = threading.Lock()  # the file is written from worker threads
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tidings-journal")
        self._pending: list[tuple[bytes, Entry, asyncio.Future[int]]] = []
        self._flushing = False
        self.appended = asyncio.Event()

    @property
    def last_seq(self) -> int:
        return self._seq

    def after(self, seq: int, limit: int | None = None) -> list[Entry]:
        """Entries with a seq above `seq`, oldest first."""
        with self._lock:
            found = [e for e in self._entries if e.seq > seq]
        return found[:limit] if limit else found

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
            tmp = self.folder / "journal.jsonl.tmp"
            with tmp.open("wb") as handle:
                handle.write(_line({"mark": True, "seq": upto}))
                for entry in keep:
                    handle.write(_line(entry.record))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
            _fsync_dir(self.folder)
            os.close(self._fd)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND, 0o600)
            self._dead = 0
            log.info("journal compacted: %d entries kept", len(keep))

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        os.close(self._fd)

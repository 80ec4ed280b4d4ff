"""The journal: every accepted request, appended and fsynced before the sender hears 2xx.

One JSON object a line in `journal.jsonl`. Appends from concurrent requests are grouped: one
write and one fsync cover every request waiting at that moment (group commit), so a storm costs
a handful of fsyncs, not one each. A torn last line (a crash mid-write) is ignored on reading: its
request was never acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Entry:
    seq: int
    record: dict[str, Any]


class Journal:
    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "journal.jsonl"
        self._seq = max((e.seq for e in self.read()), default=0)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._pending: list[tuple[bytes, asyncio.Future[int]]] = []
        self._flushing = False
        self.appended = asyncio.Event()

    @property
    def last_seq(self) -> int:
        return self._seq

    def read(self, after: int = 0) -> list[Entry]:
        """Entries with seq > after, in order; a torn last line is skipped."""
        if not self.path.exists():
            return []
        entries = []
        with self.path.open("rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # torn by a crash mid-write: never acknowledged
                try:
                    data = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if data.get("seq", 0) > after:
                    entries.append(Entry(data["seq"], data))
        return entries

    async def append(self, record: dict[str, Any]) -> int:
        """Write `record` durably; returns its seq once it is on disk."""
        self._seq += 1
        seq = self._seq
        line = (json.dumps({**record, "seq": seq}, separators=(",", ":"), sort_keys=True) + "\n").encode()
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((line, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                data = b"".join(line for line, _ in batch)
                try:
                    await asyncio.to_thread(self._write, data)
                except OSError as exc:
                    for _, future in batch:
                        future.set_exception(exc)
                    continue
                for line, future in batch:
                    future.set_result(json.loads(line)["seq"])
                self.appended.set()
        finally:
            self._flushing = False

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)

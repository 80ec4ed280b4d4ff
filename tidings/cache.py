"""A cache of parsed content files, keyed by content hash, under `ROOT/.tidings-cache/` (safe to delete).

Parsing and validating a file is most of what loading costs; a file whose bytes (and path) are
unchanged parses to the same result, so the result is kept. The key also covers the code that
parses, so a new Tidings never reads an old entry. The cache is one pickle, rewritten (atomically)
only when an entry was added or dropped; entries for files that no longer exist are dropped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHE_DIR = ".tidings-cache"
PARSING_MODULES = (
    "cache.py",
    "model.py",
    "documents.py",
    "load.py",
    "checks.py",
    "errors.py",
    "diagnostics.py",
)


@cache
def code_fingerprint() -> str:
    """A hash of the modules that decide what a parsed file holds."""
    here = Path(__file__).parent
    digest = hashlib.blake2b(digest_size=16)
    for name in (
        "cache.py",
        "model.py",
        "documents.py",
        "load.py",
        "checks.py",
        "errors.py",
        "diagnostics.py",
    ):
        path = here / name
        digest.update(path.read_bytes() if path.exists() else name.encode())
    return digest.hexdigest()


class ParseCache:
    """`get(key)` / `put(key, value)` for one run; `save()` keeps what this run used."""

    def __init__(self, root: Path, name: str = "parsed"):
        self.path = root / CACHE_DIR / f"{name}.pickle"
        self._old: dict[str, Any] = {}
        self._used: dict[str, Any] = {}
        self._added = 0
        self.hits = 0
        try:
            with self.path.open("rb") as handle:
                stored = pickle.load(handle)
            if isinstance(stored, dict) and stored.get("code") == code_fingerprint():
                self._old = stored["entries"]
        except FileNotFoundError:
            pass
        except Exception as exc:  # a torn or foreign file: start afresh, it is only a cache
            log.info("ignoring the cache at %s: %s", self.path, exc)

    @staticmethod
    def key(rel: str, raw: bytes) -> str:
        return hashlib.blake2b(rel.encode() + b"\0" + raw, digest_size=20).hexdigest()

    def get(self, key: str) -> Any | None:
        value = self._used.get(key) or self._old.get(key)
        if value is not None:
            self.hits += 1
            self._used[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        self._used[key] = value
        self._added += 1

    def save(self) -> None:
        """Write the entries this run used, when they differ from what was stored."""
        if not self._added and len(self._used) == len(self._old):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        gitignore = self.path.parent / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("# Tidings' build cache: safe to delete.\n*\n")
        fd, tmp = tempfile.mkstemp(prefix=".parsed-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump({"code": code_fingerprint(), "entries": self._used}, handle, protocol=5)
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

"""A cache of parsed content files, keyed by content hash, under `ROOT/.tidings-cache/` (safe to delete).

Parsing and validating a file is most of what loading costs; a file whose bytes (and path) are
unchanged parses to the same result, so the result is kept. The key also covers the code that
parses, so a new Tidings never reads an old entry. The cache is one pickle, rewritten (atomically)
only when an entry was added or dropped; entries for files that no longer exist are dropped.

A pickle runs code when it is read, and the cache sits in the repo's work tree, where a merge
request could put one. So each file is signed (HMAC-SHA256) with a key only this user has
(`~/.cache/tidings/cache-key`, made on first use), and a file whose signature does not match is
never unpickled: a cache from anywhere else is simply not used.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import pickle
import tempfile
import time
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHE_DIR = ".tidings-cache"
MAGIC = b"tidings-cache-1\n"


# A file written less than this long ago may be written again without its times moving (they are
# coarse: a few milliseconds on ext4, two seconds on FAT), so its stat cannot yet stand for its bytes.
# Git's index calls such an entry "racily clean" and checks its content; so do we.
RACY_NS = 3_000_000_000


def settled(mtime_ns: int) -> bool:
    """Whether a file last modified at `mtime_ns` is old enough for its stat to stand for its bytes."""
    return time.time_ns() - mtime_ns > RACY_NS


@cache
def code_fingerprint() -> str:
    """A hash of every module of Tidings: a new or edited Tidings reads no old entry."""
    package = PACKAGE
    digest = hashlib.blake2b(digest_size=16)
    for path in code_files():
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


PACKAGE = Path(__file__).resolve().parent.parent  # tidings/


def code_files() -> list[Path]:
    """Every module of the tidings package, sorted. Following symlinks: in a checkout,
    tidings/generator and tidings/runner link to the top-level folders (pyproject.toml)."""
    return sorted(
        Path(folder, name)
        for folder, _, names in os.walk(PACKAGE, followlinks=True)
        for name in names
        if name.endswith(".py")
    )


def user_cache_dir() -> Path:
    """This user's cache folder for Tidings ($XDG_CACHE_HOME/tidings, or ~/.cache/tidings)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tidings"


def outside_cache(root: Path, purpose: str) -> Path:
    """A cache folder for `root` outside it, in the user's cache: for commands that must leave the
    repo exactly as they found it (`tidings validate`)."""
    tag = hashlib.blake2b(str(root.resolve()).encode(), digest_size=8).hexdigest()
    return user_cache_dir() / purpose / f"{root.resolve().name}-{tag}"


@cache
def signing_key() -> bytes:
    """This user's key for signing cache files (`TIDINGS_CACHE_KEY_FILE`, or ~/.cache/tidings/cache-key)."""
    base = user_cache_dir()
    path = Path(os.environ.get("TIDINGS_CACHE_KEY_FILE") or base / "cache-key")
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except OSError:
        pass
    key = os.urandom(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
    except FileExistsError:
        return path.read_bytes()  # another process made it first
    except OSError:
        log.info("no place for a cache key (%s): the cache lasts for this run only", path)
    return key


def signed(payload: bytes) -> bytes:
    """`payload` with this user's signature before it (see verified)."""
    return MAGIC + hmac.new(signing_key(), payload, hashlib.sha256).digest() + payload


def verified(data: bytes) -> bytes | None:
    """The payload of a file this user signed, or None (a foreign, torn or tampered file)."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 32:
        return None
    mac, payload = data[len(MAGIC) : len(MAGIC) + 32], data[len(MAGIC) + 32 :]
    expected = hmac.new(signing_key(), payload, hashlib.sha256).digest()
    return payload if hmac.compare_digest(mac, expected) else None


class ParseCache:
    """`get(key)` / `put(key, value)` for one run; `save()` keeps what this run used.

    Stored as a base pickle and a small delta beside it (what was added and dropped since the
    base was written), so saving after one edited file writes a few kilobytes, not the whole
    history again; the base is rewritten once the delta grows.
    """

    def __init__(self, root: Path, name: str = "parsed", folder: Path | None = None):
        """A cache of `root`'s files, kept in `folder` (default ROOT/.tidings-cache)."""
        self.root, self.name = root, name
        self.folder = folder if folder is not None else root / CACHE_DIR
        self._children: dict[str, ParseCache] = {}
        self.path = self.folder / f"{name}.pickle"
        self.delta_path = self.folder / f"{name}-delta.pickle"
        self._old: dict[str, Any] = {}
        self._base_keys: set[str] = set()
        self._generation = ""
        self._base_stamp = self._stamp()  # taken before reading: a base replaced meanwhile is not ours
        self._used: dict[str, Any] = {}
        self._added = 0
        self.hits = 0
        try:
            base = self._read(self.path)
            if base is not None:
                self._old, self._generation = base["entries"], base["generation"]
                self._base_keys = set(self._old)
                delta = self._read(self.delta_path)
                if delta is not None and delta["base"] == self._generation:
                    self._old.update(delta["added"])
                    for key in delta["dropped"]:
                        self._old.pop(key, None)
        except Exception as exc:  # a torn or foreign file: start afresh, it is only a cache
            log.info("ignoring the cache at %s: %s", self.path, exc)
            self._old, self._base_keys, self._generation = {}, set(), ""

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | None:
        try:
            payload = verified(path.read_bytes())
        except FileNotFoundError:
            return None
        if payload is None:
            log.warning("ignoring %s: not signed by this user's key, so it is never unpickled", path)
            return None
        stored = pickle.loads(payload)  # signed by us: safe to read
        return stored if isinstance(stored, dict) and stored.get("code") == code_fingerprint() else None

    @staticmethod
    def key(rel: str, raw: bytes) -> str:
        return hashlib.blake2b(rel.encode() + b"\0" + raw, digest_size=20).hexdigest()

    def get(self, key: str) -> Any | None:
        value = self._used.get(key)
        if value is None:
            value = self._old.get(key)
        if value is not None:
            self.hits += 1
            self._used[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        self._used[key] = value
        self._added += 1

    def child(self, name: str) -> ParseCache:
        """A cache of its own for files only some runs read (alert records: validate reads them, a
        public build does not): a run that leaves them unread leaves their entries as they were,
        where one cache would drop them as unused."""
        if name not in self._children:
            self._children[name] = ParseCache(self.root, f"{self.name}-{name}", self.folder)
        return self._children[name]

    def next_run(self, saved: bool = True) -> None:
        """Start another run with what this one used as the stored entries, without reading the file
        again: a process that builds again and again (`tidings serve`) keeps its parsed files in
        memory, where reading ten thousand back from the pickle costs seconds. `saved`: this run
        ended with `save()`; when it did not (a build that failed), the entries of both runs are kept."""
        for child in self._children.values():
            child.next_run(saved)
        old = self._used if saved else {**self._old, **self._used}
        self._old, self._used, self._added, self.hits = old, {}, 0, 0

    def save(self) -> None:
        """Write the entries this run used, when they differ from what was stored (children too)."""
        for child in self._children.values():
            child.save()
        if not self._added and len(self._used) == len(self._old):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        gitignore = self.path.parent / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("# Tidings' build cache: safe to delete.\n*\n")
        added = {k: v for k, v in self._used.items() if k not in self._base_keys}
        dropped = [k for k in self._base_keys if k not in self._used]
        # A delta only means something beside the base it was made against: another process may have
        # replaced or removed that base since this one read it (a long `tidings serve`).
        small = len(added) + len(dropped) <= max(50, len(self._used) // 20)
        if self._generation and small and self._base_stamp == self._stamp():
            self._write(self.delta_path, {"base": self._generation, "added": added, "dropped": dropped})
            return
        generation = hashlib.blake2b(os.urandom(16), digest_size=8).hexdigest()
        self._write(self.path, {"generation": generation, "entries": self._used})
        self.delta_path.unlink(missing_ok=True)
        self._generation, self._base_keys = generation, set(self._used)  # what the file now holds
        self._base_stamp = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        """The identity of the base file as it is now (None when there is none)."""
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def _write(self, path: Path, data: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(signed(pickle.dumps({"code": code_fingerprint(), **data}, protocol=5)))
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

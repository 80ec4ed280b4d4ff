"""Writing outputs: refuse two outputs at one path, write into a temporary folder, swap it in."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath


class OutputClash(Exception):
    """Two renderers produced the same output path."""


def write_site(outputs: Iterable[tuple[str, bytes]], out: Path) -> int:
    """Write every (path, bytes) under `out`, replacing what was there only once all are written."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    seen: set[str] = set()
    try:
        for rel, data in outputs:
            clean = PurePosixPath(rel)
            if clean.is_absolute() or ".." in clean.parts:
                raise ValueError(f"output path {rel!r} leaves the site")
            if rel in seen:
                raise OutputClash(f"two outputs want {rel}")
            seen.add(rel)
            target = staging / clean
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        os.chmod(staging, 0o755)
        old = out.with_name(f".{out.name}-old")
        if old.exists():
            shutil.rmtree(old)
        if out.exists():
            out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(seen)

"""Writing outputs: refuse two outputs at one path, write into a temporary folder, swap it in."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

# Left in every site Tidings writes: a folder without it is never replaced (it may be anything).
MARKER = ".tidings-site"


class OutputClash(Exception):
    """Two renderers produced the same output path."""


class UnsafeOutput(Exception):
    """The output folder is one that replacing would destroy something (the repo, its content)."""


def check_output(out: Path, root: Path) -> None:
    """Refuse an output folder that is, holds, or sits inside the sources, or a folder of other files."""
    out, root = out.resolve(), root.resolve()
    if out == root or root.is_relative_to(out):
        raise UnsafeOutput(
            f"{out} holds the status repo itself: build into a folder of its own, e.g. {root}/public"
        )
    for source in (root / "content", root / ".gitlab", root / ".git", root / "site_templates"):
        if out == source or out.is_relative_to(source):
            raise UnsafeOutput(f"{out} is inside {source.relative_to(root)}/: build into a folder of its own")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise UnsafeOutput(
            f"{out} holds files Tidings did not write: empty it or pick another folder (it is replaced whole)"
        )


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
        (staging / MARKER).write_text("Written by `tidings build`, which replaces this folder whole.\n")
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

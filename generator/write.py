"""Writing outputs: refuse two outputs at one path, write into a temporary folder, swap it in.

An incremental build takes over the files of the previous build whose key is unchanged (a hard
link: the file is not rewritten, not even touched), and renders the rest. Files without a key
are rendered every time, and linked too when their bytes come out the same. What was built is
recorded in ROOT/.tidings-cache/ (the manifest), together with the identity of the marker file of
the folder it was written to: a folder that was replaced or edited since is not trusted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tidings.content.cache import CACHE_DIR
from tidings.content.diagnostics import Diagnostic
from tidings.errors import TidingsError, UsageError
from tidings.generator.problems import BuildFailed, template_diagnostic

if TYPE_CHECKING:
    from tidings.generator.pages import Output

# Left in every site Tidings writes: a folder without it is never replaced (it may be anything).
MARKER = ".tidings-site"
# Below this many pages to render, processes cost more than they save.
PARALLEL_MIN = 400


class OutputClash(TidingsError):
    """Two renderers produced the same output path."""


class UnsafeOutput(UsageError):
    """The output folder is one that replacing would destroy something (the repo, its content)."""

    def __init__(self, reason: str):
        super().__init__(f"refusing to build there: {reason}")


def check_output(out: Path, root: Path) -> None:
    """Refuse an output folder that is, holds, or sits inside the sources, or a folder of other files."""
    out, root = out.resolve(), root.resolve()
    if out == root or root.is_relative_to(out):
        raise UnsafeOutput(
            f"{out} holds the status repo itself: build into a folder of its own ({root}/public)"
        )
    for source in (
        root / "content",
        root / ".gitlab",
        root / ".git",
        root / "site_templates",
        root / CACHE_DIR,
    ):
        if out == source or out.is_relative_to(source):
            raise UnsafeOutput(f"{out} is inside {source.relative_to(root)}/: build into a folder of its own")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise UnsafeOutput(
            f"{out} holds files Tidings did not write: empty it or pick another folder (it is replaced whole)"
        )


@dataclass
class Manifest:
    """What the last build into `out` wrote: each path's key, and the marker file it left."""

    root: Path
    out: Path
    keys: dict[str, str | None] = field(default_factory=dict)
    marker: list[int] = field(default_factory=list)
    stamp: str = ""  # the inputs of that build (generator.build.input_stamp)
    warning_list: list[Diagnostic] = field(default_factory=list)
    files: dict[str, list[int]] = field(default_factory=dict)  # path -> [size, mtime_ns] as written

    def __post_init__(self) -> None:
        name = hashlib.blake2b(str(self.out.resolve()).encode(), digest_size=8).hexdigest()
        self.path = self.root / CACHE_DIR / f"site-{name}.json"
        try:
            stored = json.loads(self.path.read_text())
            self.keys, self.marker, self.stamp = stored["keys"], stored["marker"], stored["stamp"]
            self._warnings, self.files = stored["warnings"], stored["files"]
        except (OSError, ValueError, KeyError, TypeError):
            self.keys, self.marker, self.stamp, self._warnings, self.files = {}, [], "", [], {}

    def warnings(self) -> list[Diagnostic]:
        """The warnings of the build the manifest records."""
        return [Diagnostic(**w) for w in self._warnings]

    def trusted(self) -> bool:
        """Whether `out` still holds what the manifest says (same marker file, untouched)."""
        try:
            stat = (self.out / MARKER).stat()
        except OSError:
            return False
        return self.marker == [stat.st_ino, stat.st_mtime_ns]

    def intact(self, rel: str) -> bool:
        """Whether the file at `rel` in `out` is the one the last build wrote (not edited or removed)."""
        try:
            stat = os.stat(os.path.join(self.out, rel))
        except OSError:
            return False
        return self.files.get(rel) == [stat.st_size, stat.st_mtime_ns]

    def all_intact(self) -> bool:
        return self.trusted() and all(self.intact(rel) for rel in self.keys)

    def save(self, keys: dict[str, str | None]) -> None:
        stat = (self.out / MARKER).stat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        files = {}
        for rel in keys:
            written = os.stat(os.path.join(self.out, rel))
            files[rel] = [written.st_size, written.st_mtime_ns]
        stored = {
            "marker": [stat.st_ino, stat.st_mtime_ns],
            "keys": keys,
            "files": files,
            "stamp": self.stamp,
            "warnings": [dataclasses.asdict(w) for w in self.warning_list],
        }
        tmp.write_text(json.dumps(stored, sort_keys=True))
        os.replace(tmp, self.path)


@dataclass(frozen=True)
class Written:
    files: int
    rendered: int
    reused: int


# The outputs a forked worker renders: set before the fork, so workers inherit them without pickling.
_JOBS: list[Output] = []


class Progress(Protocol):
    """Told how many pages there are to render, then each time some are done (a progress bar)."""

    def start(self, total: int) -> None: ...
    def advance(self, done: int) -> None: ...


def _render_into(staging: Path, start: int, stop: int) -> list[Any]:
    """Render jobs[start:stop] into staging; template errors come back as diagnostics."""
    from jinja2 import TemplateError

    problems = []
    for job in _JOBS[start:stop]:
        try:
            data = job.render()
        except (TemplateError, RecursionError) as exc:
            problems.append(template_diagnostic(exc))
            continue
        target = os.path.join(staging, job.path)  # its folder exists: write_site made every folder
        with open(target, "wb") as handle:
            handle.write(data)
    return problems


def _render_chunk(args: tuple[Path, int, int]) -> tuple[int, list[Any]]:
    staging, start, stop = args
    return stop - start, _render_into(staging, start, stop)


def _render_all(jobs: list[Output], staging: Path, workers: int, progress: Progress | None) -> None:
    global _JOBS
    parallel = workers > 1 and len(jobs) >= PARALLEL_MIN and "fork" in multiprocessing.get_all_start_methods()
    # Chunks: a few a worker, so one slow chunk does not hold the rest; small enough for a smooth bar.
    step = max(1, min(200, -(-len(jobs) // (workers * 4)))) if parallel else 50
    chunks = [(staging, n, min(n + step, len(jobs))) for n in range(0, len(jobs), step)]
    if progress is not None:
        progress.start(len(jobs))
    problems: list[Any] = []
    _JOBS = jobs
    try:
        if parallel:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for done, found in pool.imap_unordered(_render_chunk, chunks):
                    problems += found
                    if progress is not None:
                        progress.advance(done)
        else:
            for chunk in chunks:
                done, found = _render_chunk(chunk)
                problems += found
                if progress is not None:
                    progress.advance(done)
    finally:
        _JOBS = []
    if problems:
        raise BuildFailed(sorted(set(problems)))  # one mistake in base.html is one message, not one a page


def _same_file(path: str, data: bytes) -> bool:
    try:
        if os.stat(path).st_size != len(data):
            return False
        with open(path, "rb") as handle:
            return handle.read() == data
    except OSError:
        return False


def write_site(
    outputs: Iterable[Output],
    out: Path,
    manifest: Manifest | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> Written:
    """Write every output under `out`, replacing what was there only once all are written."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    previous = manifest.keys if manifest is not None and manifest.trusted() else {}
    keys: dict[str, str | None] = {}
    jobs: list[Output] = []
    reused = 0
    try:
        # Plain strings and os calls: at ten thousand files, pathlib's objects cost more than the I/O.
        stage, old_root = str(staging), str(out)
        folders: set[str] = set()
        for output in outputs:
            rel = output.path
            if rel.startswith("/") or ".." in rel.split("/"):
                raise ValueError(f"output path {rel!r} leaves the site")
            if rel in keys:
                raise OutputClash(f"two outputs want {rel}")
            keys[rel] = output.key
            target, old = os.path.join(stage, rel), os.path.join(old_root, rel)
            folder = os.path.dirname(target)
            if folder not in folders:
                os.makedirs(folder, exist_ok=True)
                folders.add(folder)
            reusable = manifest is not None and previous.get(rel) == output.key and manifest.intact(rel)
            if output.key is not None and reusable:
                try:
                    os.link(old, target)
                    reused += 1
                    continue
                except OSError:
                    pass  # gone from the old folder after all: render it
                jobs.append(output)
            elif output.key is None:
                data = output.render()
                if previous and _same_file(old, data):
                    try:
                        os.link(old, target)  # the same bytes as before: keep the file as it was
                        reused += 1
                        continue
                    except OSError:
                        pass  # a file system without hard links: write it
                    with open(target, "wb") as handle:
                        handle.write(data)
                else:
                    with open(target, "wb") as handle:
                        handle.write(data)
            else:
                jobs.append(output)
        _render_all(jobs, staging, workers, progress)
        (staging / MARKER).write_text("Written by `tidings build`, which replaces this folder whole.\n")
        os.chmod(staging, 0o755)
        retired = out.with_name(f".{out.name}-old")
        if retired.exists():
            shutil.rmtree(retired)
        if out.exists():
            out.rename(retired)
        staging.rename(out)
        shutil.rmtree(retired, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if manifest is not None:
        manifest.save(keys)
    return Written(files=len(keys), rendered=len(keys) - reused, reused=reused)

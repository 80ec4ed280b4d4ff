"""Writing outputs: refuse two outputs at one path; write a new site into a temporary folder and swap
it in, or update the previous one in place.

An incremental build takes over the files of the previous build whose key is unchanged (they are
not rewritten, not even touched), and renders the rest. Files without a key are rendered every
time, and kept too when their bytes come out the same. What was built is recorded in
ROOT/.tidings-cache/ (the manifest), together with the identity of the marker file of the folder it
was written to: a folder that was replaced or edited since is not trusted.

A first build (or one into a folder the manifest does not vouch for) renders everything into a
temporary folder beside `out` and swaps it in whole. A build into a trusted folder updates it in
place: the pages it renders go to a temporary folder first (so a template error leaves the site as
it was), then each replaces its old file atomically (a rename), files no output wants are removed,
and a journal in ROOT/.tidings-cache/ names every path being changed until the manifest says what
the folder holds: a build that is interrupted half way is repaired by the next one, which trusts
none of the paths the journal names. At ten thousand incidents, an edit then costs the few files
it changes, not a new folder of hard links and the removal of the old one.
"""

from __future__ import annotations

import contextlib
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
            stat = os.stat(f"{self.out}/{rel}")
        except OSError:
            return False
        return self.files.get(rel) == [stat.st_size, stat.st_mtime_ns]

    def all_intact(self) -> bool:
        return self.trusted() and all(self.intact(rel) for rel in self.keys)

    @property
    def journal(self) -> Path:
        """Where an in-place update names the paths it is changing, until the manifest is saved."""
        return self.path.with_suffix(".journal")

    def interrupted(self) -> set[str]:
        """The paths an interrupted in-place update was changing: none of them is to be trusted."""
        try:
            paths = json.loads(self.journal.read_text())
        except FileNotFoundError:
            return set()
        except (OSError, ValueError):
            return {"*"}  # a torn journal: trust nothing
        return set(paths) if isinstance(paths, list) else {"*"}

    def begin(self, paths: Iterable[str]) -> None:
        """Name the paths about to change, durably, before the first of them is touched."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.journal.with_suffix(".journal-tmp")
        with open(tmp, "w") as handle:
            json.dump(sorted(set(paths) | self.interrupted() - {"*"}), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.journal)

    def save(self, keys: dict[str, str | None], untouched: set[str] | None = None) -> None:
        """Record what `out` now holds. `untouched`: paths this build found intact and left alone,
        whose recorded size and time stand (not stat'ed again: at 10k files that is most of them)."""
        stat = (self.out / MARKER).stat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        files = {}
        untouched = untouched or set()
        for rel in keys:
            if rel in untouched:
                files[rel] = self.files[rel]
                continue
            written = os.stat(f"{self.out}/{rel}")
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
        self.journal.unlink(missing_ok=True)  # the manifest now says what every path holds


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
    """Write every output under `out`: a new folder swapped in whole once complete, or (into a folder
    the manifest vouches for) the previous site updated in place, file by file, under a journal."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    in_place = manifest is not None and manifest.trusted()
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    previous = manifest.keys if manifest is not None and in_place else {}
    doubtful = manifest.interrupted() if manifest is not None and in_place else set()
    if "*" in doubtful:
        previous = {}
    keys: dict[str, str | None] = {}
    jobs: list[Output] = []
    fresh: list[str] = []  # paths written into staging: new bytes for `out`
    untouched: set[str] = set()  # paths found intact in `out` and left as they are
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
            # Joined by hand: rel is relative and never leaves the site (checked above).
            target, old = f"{stage}/{rel}", f"{old_root}/{rel}"
            folder = rel.rpartition("/")[0]
            if folder not in folders:
                os.makedirs(f"{stage}/{folder}", exist_ok=True)
                folders.add(folder)
            if (
                output.key is not None
                and previous.get(rel) == output.key
                and rel not in doubtful
                and manifest is not None
                and manifest.intact(rel)
            ):
                if in_place:
                    reused += 1  # the file in `out` is already this one
                    untouched.add(rel)
                    continue
                try:
                    os.link(old, target)
                    reused += 1
                    continue
                except OSError:
                    pass  # gone from the old folder after all: render it
                jobs.append(output)
            elif output.key is None:
                data = output.render()
                if previous and rel not in doubtful and _same_file(old, data):
                    if in_place:
                        reused += 1
                        continue
                    try:
                        os.link(old, target)  # the same bytes as before: keep the file as it was
                        reused += 1
                        continue
                    except OSError:
                        pass  # a file system without hard links: write it
                with open(target, "wb") as handle:
                    handle.write(data)
                fresh.append(rel)
            else:
                jobs.append(output)
        _render_all(jobs, staging, workers, progress)
        fresh += [job.path for job in jobs]
        if in_place and manifest is not None:
            _update_in_place(staging, out, fresh, set(keys), manifest)
            shutil.rmtree(staging, ignore_errors=True)
        else:
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
        manifest.save(keys, untouched)  # and the journal goes: the manifest now says what `out` holds
    return Written(files=len(keys), rendered=len(keys) - reused, reused=reused)


def _stale(out: str, wanted: set[str]) -> tuple[list[str], list[str]]:
    """Files (and symlinks) in `out` that no output wants, and every folder below `out`, deepest first."""
    found, folders = [], []
    for folder, dirnames, filenames in os.walk(out):
        rel_folder = os.path.relpath(folder, out)
        prefix = "" if rel_folder == "." else rel_folder.replace(os.sep, "/") + "/"
        if prefix:
            folders.append(folder)
        for name in [d for d in dirnames if os.path.islink(os.path.join(folder, d))]:
            dirnames.remove(name)
            found.append(prefix + name)
        found += [prefix + name for name in filenames if prefix + name not in wanted]
    folders.sort(key=lambda f: f.count(os.sep), reverse=True)
    return [rel for rel in found if rel != MARKER], folders


def _update_in_place(
    staging: Path, out: Path, fresh: list[str], wanted: set[str], manifest: Manifest
) -> None:
    """Move each freshly written file over its old one (atomic per file) and remove what no output
    wants, with every path named in the journal first: an interruption leaves the next build a list
    of what to distrust. The folder then holds what a swapped-in one would, and nothing else."""
    stage, root = str(staging), str(out)
    stale, folders = _stale(root, wanted)
    manifest.begin([*fresh, *stale])
    for rel in fresh:
        target = os.path.join(root, rel)
        folder = os.path.dirname(target)
        if not os.path.isdir(folder) or os.path.islink(folder):
            if os.path.lexists(folder):
                os.unlink(folder)  # a file (or link) where a folder of pages belongs: not ours
            os.makedirs(folder, exist_ok=True)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)  # a folder where a page belongs: not ours either
        os.replace(os.path.join(stage, rel), target)
    for rel in stale:
        os.unlink(os.path.join(root, rel))
    for folder in folders:  # deepest first, so a folder emptied by its subfolders' removal goes too
        with contextlib.suppress(OSError):
            os.rmdir(folder)  # only an empty one: a swapped-in folder would not have it

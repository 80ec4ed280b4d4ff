"""`tidings build`: load -> validate -> public view -> render -> write.

The renderers and the model are imported only once the build knows it has work to do: a rebuild
whose inputs did not change stops after a few stat calls, before Jinja, pydantic or Markdown load.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from tidings import clock
from tidings.content.cache import CACHE_DIR, ParseCache, code_fingerprint, settled
from tidings.content.diagnostics import Diagnostic
from tidings.content.layout import ALERTS_DIR, SITE_FILE
from tidings.generator.problems import BuildFailed, template_diagnostic
from tidings.generator.write import Manifest, Progress, check_output
from tidings.site_templates import TEMPLATE_DIR

if TYPE_CHECKING:
    from jinja2 import Environment

    from tidings.generator.pages import Output

STATIC_ASSETS = ("style.css", "localtime.js")
# The folders of a status repo a build reads.
INPUT_FOLDERS = ("content", ".gitlab", "site_templates")


@dataclass(frozen=True)
class BuildResult:
    out: Path
    files: int
    warnings: list[Diagnostic]
    rendered: int = 0  # files rendered this time
    reused: int = 0  # files taken over unchanged from the previous build
    inputs_unchanged: bool = False  # nothing read had changed: the build stopped at once


def _files_under(folder: Path) -> list[Path]:
    """Every file below `folder`, symlinked folders followed (once each), sorted."""
    out, seen = [], set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames.clear()
            continue
        seen.add(real)
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        out += [Path(dirpath) / name for name in filenames]
    return sorted(out)


def public_module() -> Path:
    """The public view's module: it decides what every page may show, so it is in every page's key.
    Found without importing it (a build with nothing to do never imports the model)."""
    spec = importlib.util.find_spec("tidings.content.public")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin)


def context_key(root: Path, templates: bool = True) -> str:
    """What every keyed page depends on besides its own item: code, templates, site settings, libraries.
    `templates=False`: the same without the templates, for outputs no template makes (feeds)."""
    digest = hashlib.blake2b(digest_size=20)
    here = Path(__file__).parent
    sources = [*sorted(here.glob("*.py")), public_module()]
    for folder in (TEMPLATE_DIR, root / "site_templates") if templates else ():
        if folder.is_dir():
            sources += _files_under(folder)
    sources.append(root / SITE_FILE)
    for path in sources:
        digest.update(str(path).encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"-")
    for package in ("jinja2", "markdown", "nh3", "tidings"):
        digest.update(f"{package}={version(package)}".encode())
    return digest.hexdigest()


def build(
    root: Path,
    out: Path,
    now: datetime | None = None,
    cache: bool = True,
    workers: int = 1,
    progress: Progress | None = None,
    warm: Warm | None = None,
) -> BuildResult:
    """Build the public site of the status repo at `root` into `out`; refuse (writing nothing) on errors.

    With `cache`, parsed files are kept in ROOT/.tidings-cache/ and pages whose inputs did not change
    are kept from the previous build in `out` (not rewritten) instead of being rendered again:
    the result is byte for byte what a cold build writes. `workers` > 1 renders in that many processes;
    0 means one a CPU core. `warm`: what this process kept from its previous build (see `Rebuilds`).
    """
    workers = workers or os.cpu_count() or 1
    check_output(out, root)
    # A build makes hundreds of thousands of objects that all live to the end: the cyclic garbage
    # collector would walk them again and again for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(root, out, now, cache, workers, progress, warm)
    finally:
        if collecting:
            gc.enable()


def input_stamp(root: Path, key: str, now: datetime) -> str:
    """Everything a build reads, by name, size and times (as git's index does), with the code and the clock.

    Equal stamps mean an equal site: the build can stop before it loads anything.
    """
    digest = hashlib.blake2b(f"{key}\0{code_fingerprint()}\0{now.isoformat()}".encode(), digest_size=20)
    stack = [os.path.join(str(root), top) for top in INPUT_FOLDERS]
    # Alert records are never read by a public build: a storm of them changes nothing here.
    skip = {os.path.realpath(os.path.join(str(root), ALERTS_DIR))}
    found, seen = [], set()
    racy: list[str] = []
    while stack:
        folder = stack.pop()
        real = os.path.realpath(folder)
        if real in seen or real in skip:  # a symlinked folder met twice (or a loop); alert records
            continue
        seen.add(real)
        try:
            with os.scandir(folder) as scan:
                for entry in scan:
                    try:
                        # Symlinks followed, as the loader follows them: a linked content folder counts.
                        if entry.is_dir():
                            stack.append(entry.path)
                            continue
                        stat = entry.stat()
                    except OSError:
                        found.append(f"{entry.path}\0unreadable")
                        continue
                    found.append(f"{entry.path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}")
                    if not settled(stat.st_mtime_ns):
                        racy.append(entry.path)
        except (FileNotFoundError, NotADirectoryError):
            found.append(f"{folder}\0missing")
    for line in sorted(found):
        digest.update(line.encode() + b"\n")
    # A file written just now could be written again before its times move: it counts by its bytes
    # (as git's index checks a racily clean entry). So does one dated in the future.
    for path in sorted(racy):
        try:
            with open(path, "rb") as handle:
                digest.update(hashlib.blake2b(handle.read(), digest_size=20).digest())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def _build(
    root: Path,
    out: Path,
    now: datetime | None,
    cache: bool,
    workers: int,
    progress: Progress | None,
    warm: Warm | None,
) -> BuildResult:
    now = now or clock.now()
    key = context_key(root)
    manifest = Manifest(root, out) if cache else None
    stamp = input_stamp(root, key, now) if manifest is not None else ""
    if manifest is not None and manifest.stamp == stamp and manifest.all_intact():
        # Nothing it reads has changed since the last build into `out`, at the same clock: done.
        files = len(manifest.keys)
        return BuildResult(out, files, manifest.warnings(), rendered=0, reused=files, inputs_unchanged=True)
    from jinja2 import TemplateError

    from tidings.content.load import load
    from tidings.content.public import public_view
    from tidings.generator import markup
    from tidings.generator.api import render_api
    from tidings.generator.badges import render_badges
    from tidings.generator.calendar import render_calendar
    from tidings.generator.favicon import Favicon
    from tidings.generator.feeds import render_feeds
    from tidings.generator.pages import Output, render_pages
    from tidings.generator.site import Site
    from tidings.generator.templates import environment
    from tidings.generator.write import write_site

    parse_cache = (warm.parse_cache if warm else ParseCache(root)) if cache else None
    # Lazy: of an incident the cache kept, only its summary is read unless its page is rendered.
    # Alert records are internal: never read here.
    result = load(root, parse_cache, alerts=False, lazy=True)
    if result.errors:
        raise BuildFailed(result.errors)
    site = Site(repo=public_view(result.repo, result.public), now=now)
    # The key covers the templates, the site settings and the code: an equal key, an equal environment
    # (whose compiled templates a warm process keeps).
    env = warm.environments.get(key) if warm is not None else None
    if env is None:
        compiled = root / CACHE_DIR / "templates" if cache else None
        env = environment(site.repo.root, site.repo.site.timezone, compiled)
        if warm is not None:
            warm.environments = {key: env}

    def whole(items: Iterator[tuple[str, bytes]]) -> Iterator[Output]:
        for path, data in items:
            yield Output(path, lambda data=data: data)  # type: ignore[misc]

    def outputs() -> Iterator[Output]:
        yield from render_pages(site, env, key)
        yield from render_feeds(site, context_key(root, templates=False))
        yield from whole(render_api(site))
        yield from whole(render_badges(site))
        yield from whole(render_calendar(site))
        for name in STATIC_ASSETS:
            source = env.loader.get_source(env, name)[0].encode()  # type: ignore[union-attr]
            yield Output(f"static/{name}", lambda source=source: source)  # type: ignore[misc]
        icon = env.globals["favicon"]
        assert isinstance(icon, Favicon)
        yield Output(icon.path, icon.source.read_bytes)

    if manifest is not None:
        manifest.stamp, manifest.warning_list = stamp, result.warnings
    try:
        with markup.kept(parse_cache.child("markup") if parse_cache is not None else None):
            written = write_site(outputs(), out, manifest, workers, progress)
    except (TemplateError, RecursionError) as exc:
        raise BuildFailed([template_diagnostic(exc)]) from None
    if parse_cache is not None:
        parse_cache.save()
    return BuildResult(
        out=out,
        files=written.files,
        warnings=result.warnings,
        rendered=written.rendered,
        reused=written.reused,
    )


@dataclass
class Warm:
    """What a process that builds one repo again and again keeps from one build to the next."""

    parse_cache: ParseCache
    environments: dict[str, Environment] = field(default_factory=dict)  # by context key


class Rebuilds:
    """Builds of one repo into one folder, again and again in one process (`tidings serve`).

    Parsed files stay in memory from one build to the next: reading them back from the cache file
    is most of what a rebuild after one edit costs at ten thousand incidents. The cache file is
    still written, so the next process starts warm too.
    """

    def __init__(self, root: Path, out: Path):
        self.root, self.out = root, out
        self.warm: Warm | None = None
        self._used = False  # the last build read the cache (one whose inputs were unchanged did not)
        self._saved = True  # ... and saved it (a failed build raises first: next_run keeps both runs)

    def __call__(self, now: datetime | None = None) -> BuildResult:
        if self.warm is None:
            self.warm = Warm(ParseCache(self.root))
        elif self._used:
            self.warm.parse_cache.next_run(self._saved)
        self._used, self._saved = True, False
        # One process: forking beside a server's threads is unsafe, and rebuilds are small.
        result = build(self.root, self.out, now=now, cache=True, workers=1, warm=self.warm)
        self._used, self._saved = not result.inputs_unchanged, True
        return result

"""Build benchmark, run by hand: `.venv/bin/python bench/build.py [1000 10000 50000]`. Prints a table.

Corpora come from real text: GitHub's status history (../shared/data/githubstatus-history.json,
790 incidents and maintenances) is imported once with `tidings import statuspage`, then its
incident files are copied, each copy shifted back in time by a multiple of the history's span,
until the corpus holds N incidents. Each build runs as its own `tidings build` process, so peak
RSS is that process's own, and its CPU time (user + system) is reported beside the wall time: on a
machine shared with other work, the wall time says what a user waited and the CPU time what the
build itself cost.

For each size (default 1,000 and 10,000): cold build (no cache, empty output), rebuild with no
change (same clock), the same an hour later (the pages about now are rendered again), rebuild after
editing one incident, after adding one, peak RSS of the cold and the edit build, files and bytes
written; and `tidings serve`'s edit-to-reload time: a real browser (Debian's chromium, through
Playwright) shows an incident page, the incident file is written, and the time is taken when the
reloaded page shows the new title (three edits, each reported). cState (the Hugo status page) is
timed on the same corpus in the same run at 1,000 and 2,000 incidents (bench/cstate.py: Hugo from
`.venv/bin/python bench/cstate.py --install`, the theme from $CSTATE_DIR or a local mirror); without
them, the table says why.
Targets (issue 20): 1k cold at least 10x faster than cState; 10k cold 5 s and 400 MB; 50k 30 s;
one edit at 10k 1 s, byte-identical to a cold build; serve's edit-to-reload at 10k 1 s; no change
at 10k kept at about 0.2 s.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT.parent / "shared" / "data" / "githubstatus-history.json"
TIDINGS = str(Path(sys.executable).parent / "tidings")
ALIASES = ["GitHub Actions=Actions", "GitHub Packages=Packages", "GitHub Pages=Pages"]
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
SPAN = timedelta(days=6 * 366)  # more than the history covers, so copies never overlap
# Builds run at a pinned clock, as a CI job does with the commit's time (reproducible builds).
EPOCH = 1796155200  # 2026-12-01T20:00:00Z
CHROMIUM = "/usr/bin/chromium"  # Debian's, as the browser tests use
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]


def run(*args: str) -> float:
    """Run a command; its wall time in seconds (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def timed_build(root: Path, out: Path, *extra: str, clock: int = EPOCH) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MB) of one `tidings build` process, at the clock
    SOURCE_DATE_EPOCH gives. CPU is user + system time of the process and the workers it forked."""
    start = time.perf_counter()
    command = [TIDINGS, "build", str(root), "--out", str(out), *extra]
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(clock)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"tidings build failed on {root}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the process and its reaped workers
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, int(usage.ru_maxrss / 1024)


def serve_reloads(root: Path, edits: int = 3) -> list[float]:
    """Seconds from writing an incident file to the open browser showing the reloaded page, per edit,
    with `tidings serve` running (warm: its first build is done before the browser opens)."""
    from playwright.sync_api import sync_playwright

    incidents = sorted((root / "content" / "incidents").glob("*.md"))
    victim = incidents[len(incidents) // 3]
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH)}
    process = subprocess.Popen(
        [TIDINGS, "-q", "serve", str(root), "--port", "0"], stdout=subprocess.PIPE, text=True, env=env
    )
    times = []
    try:
        assert process.stdout is not None
        url = re.search(r"http://127\.0\.0\.1:\d+/", process.stdout.readline())
        if url is None:
            raise SystemExit("tidings serve did not start")
        page_url = url.group(0) + f"incidents/{victim.stem}.html"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(page_url)
                for n in range(edits):
                    title = f"Served edit {n}"
                    text = re.sub(r"(?m)^title: .*$", f"title: {title}", victim.read_text(), count=1)
                    start = time.perf_counter()
                    victim.write_text(text)
                    page.wait_for_function(
                        "t => document.querySelector('h1') && document.querySelector('h1').innerText === t",
                        arg=title,
                        timeout=120000,
                        polling=20,
                    )
                    times.append(time.perf_counter() - start)
                    time.sleep(1)  # let the server settle before the next edit
            finally:
                browser.close()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    return times


# cState's templates look at every page for each incident page: its time grows with the square of the
# corpus (about 3.5x from 1,000 to 2,000), so it is timed at these sizes only.
CSTATE_SIZES = (1000, 2000)


def cstate_cold(root: Path, tmp: Path) -> tuple[str, float | None]:
    """cState's cold build of the same corpus, in the same run (bench/cstate.py): (the cell, seconds)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import cstate

    try:
        wall, cpu, _, _ = cstate.cstate_run(root, tmp / "cstate")
    except cstate.CStateUnavailable as error:
        return f"not measured ({error})", None
    finally:
        shutil.rmtree(tmp / "cstate", ignore_errors=True)
    return f"{wall:.2f} ({cpu:.2f}) s", wall


def base_repo(tmp: Path) -> Path:
    """The GitHub history imported into a fresh status repo."""
    base = tmp / "github"
    (base / ".gitlab").mkdir(parents=True)
    (base / "content" / "incidents").mkdir(parents=True)
    (base / ".gitlab" / "status-page.yml").write_text(
        "title: GitHub Status\nbase_url: https://status.example.com/\ntimezone: UTC\nservices: []\n"
    )
    args = [TIDINGS, "-q", "import", "statuspage", str(HISTORY), str(base)]
    for alias in ALIASES:
        args += ["--component-alias", alias]
    run(*args)
    return base


def shift(text: str, by: timedelta) -> str:
    def moved(match: re.Match[str]) -> str:
        value = match.group(0)
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00")) - by
        out = stamp.isoformat()
        return out.replace("+00:00", "Z") if value.endswith("Z") else out

    return STAMP.sub(moved, text)


def corpus(base: Path, size: int, tmp: Path) -> Path:
    """A copy of `base` whose incidents are repeated, shifted in time, up to `size` of them."""
    root = tmp / f"corpus-{size}"
    shutil.copytree(base, root, ignore=shutil.ignore_patterns(".tidings-cache", "public", ".git"))
    folder = root / "content" / "incidents"
    originals = sorted(folder.glob("*.md"))
    texts = [(p.stem, p.read_text()) for p in originals]
    count, copy = len(originals), 1
    while count < size:
        for stem, text in texts:
            if count >= size:
                break
            (folder / f"{stem}-c{copy}.md").write_text(shift(text, SPAN * copy))
            count += 1
        copy += 1
    if count > size:  # a size below the history: keep the newest
        for path in sorted(folder.glob("*.md"))[: count - size]:
            path.unlink()
    # As a checkout made a while ago: a file written in the last seconds is never taken as unchanged
    # by its stat (tidings.content.cache.settled), which a user's repo only meets right after a pull.
    an_hour_ago = time.time() - 3600
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (an_hour_ago, an_hour_ago))
    return root


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def _time(result: tuple[float, float, int]) -> str:
    wall, cpu, _ = result
    return f"{wall:.2f} ({cpu:.2f}) s"


def measure(root: Path, size: int, serve: bool) -> dict[str, str]:
    out = root.parent / f"public-{size}"
    cold = timed_build(root, out, "--no-cache")
    files, total = folder_size(out)
    shutil.rmtree(out)
    timed_build(root, out)  # fills the cache and the manifest
    unchanged = timed_build(root, out)
    later = timed_build(root, out, clock=EPOCH + 3600)  # nothing changed but the clock
    incidents = sorted((root / "content" / "incidents").glob("*.md"))
    victim = incidents[len(incidents) // 2]
    victim.write_text(victim.read_text().replace("title: ", "title: Edited, ", 1))
    edited = timed_build(root, out, clock=EPOCH + 3600)
    (root / "content" / "incidents" / f"{victim.stem}-added.md").write_text(victim.read_text())
    added = timed_build(root, out, clock=EPOCH + 3600)
    reloads = serve_reloads(root) if serve else []
    cstate, cstate_wall = cstate_cold(root, root.parent) if size in CSTATE_SIZES else ("-", None)
    ratio = f"{cstate_wall / cold[0]:.1f}x" if cstate_wall else "-"
    return {
        "incidents": f"{size:,}",
        "cold": _time(cold),
        "no change": _time(unchanged),
        "an hour later": _time(later),
        "one edited": _time(edited),
        "one added": _time(added),
        "serve edit to reload": " / ".join(f"{t:.2f}" for t in reloads) + " s" if reloads else "-",
        "cState cold": cstate,
        "cState / cold": ratio,
        "peak RSS cold / edit": f"{cold[2]} / {edited[2]} MB",
        "files": f"{files:,}",
        "bytes": f"{total / 1e6:.1f} MB",
        "_cold": str(cold[0]),
    }


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000]
    serve = Path(CHROMIUM).exists()
    with tempfile.TemporaryDirectory(prefix="tidings-bench-") as tmp_name:
        tmp = Path(tmp_name)
        start = time.perf_counter()
        base = base_repo(tmp)
        print(f"imported the GitHub history in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        rows = []
        for size in sizes:
            root = corpus(base, size, tmp)
            rows.append(measure(root, size, serve))
            print(f"measured {size:,}", file=sys.stderr)
            shutil.rmtree(root.parent / f"public-{size}", ignore_errors=True)
            shutil.rmtree(root, ignore_errors=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("times: wall (CPU of the build process and its workers)")
    columns = [c for c in rows[0] if not c.startswith("_")]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    print("  ".join(c.rjust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(row[c].rjust(widths[c]) for c in columns))
    by_size = {int(r["incidents"].replace(",", "")): float(r["_cold"]) for r in rows}
    if 1000 in by_size and 10000 in by_size:
        print(f"growth: cold(10k) / cold(1k) = {by_size[10000] / by_size[1000]:.1f}")
    print("cState: Hugo's cState theme over the same corpus (bench/cstate.py), at 1,000 and 2,000 only")
    if not serve:
        print(f"serve: not measured ({CHROMIUM} is missing: script/test-tools installs it)")


if __name__ == "__main__":
    main()

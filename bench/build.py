"""Build benchmark, run by hand: `.venv/bin/python bench/build.py [1000 10000 50000]`. Prints a table.

Corpora come from real text: GitHub's status history (../shared/data/githubstatus-history.json,
790 incidents and maintenances) is imported once with `tidings import statuspage`, then its
incident files are copied, each copy shifted back in time by a multiple of the history's span,
until the corpus holds N incidents. Each build runs as its own `tidings build` process, so peak
RSS is that process's own.

For each size: cold build (no cache, empty output), rebuild with no change (same clock), the same
an hour later (the pages about now are rendered again), rebuild after editing one incident, after
adding one, peak RSS of the cold build, files and bytes written.
Targets (issue 5): 10k cold under 5 s and under 400 MB; 50k under 30 s; time(10k)/time(1k) at
most 12; no-change rebuild at 10k under 0.5 s; one edited or added incident under 1 s.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
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


def run(*args: str) -> float:
    """Run a command; its wall time in seconds (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def timed_build(root: Path, out: Path, *extra: str, clock: int = EPOCH) -> tuple[float, int]:
    """(seconds, peak RSS in MB) of one `tidings build` process, at the clock SOURCE_DATE_EPOCH gives."""
    start = time.perf_counter()
    command = [TIDINGS, "build", str(root), "--out", str(out), *extra]
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(clock)}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"tidings build failed on {root}")
    return elapsed, int(usage.ru_maxrss / 1024)


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
    return root


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def measure(root: Path, size: int) -> dict[str, str]:
    out = root.parent / f"public-{size}"
    cold, rss = timed_build(root, out, "--no-cache")
    files, total = folder_size(out)
    shutil.rmtree(out)
    timed_build(root, out)  # fills the cache and the manifest
    unchanged, _ = timed_build(root, out)
    later, _ = timed_build(root, out, clock=EPOCH + 3600)  # nothing changed but the clock
    incidents = sorted((root / "content" / "incidents").glob("*.md"))
    victim = incidents[len(incidents) // 2]
    victim.write_text(victim.read_text().replace("title: ", "title: Edited, ", 1))
    edited, _ = timed_build(root, out, clock=EPOCH + 3600)
    (root / "content" / "incidents" / f"{victim.stem}-added.md").write_text(victim.read_text())
    added, _ = timed_build(root, out, clock=EPOCH + 3600)
    return {
        "incidents": f"{size:,}",
        "cold": f"{cold:.2f} s",
        "no change": f"{unchanged:.2f} s",
        "an hour later": f"{later:.2f} s",
        "one edited": f"{edited:.2f} s",
        "one added": f"{added:.2f} s",
        "peak RSS (cold)": f"{rss} MB",
        "files": f"{files:,}",
        "bytes": f"{total / 1e6:.1f} MB",
        "_cold": str(cold),
    }


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000, 50000]
    with tempfile.TemporaryDirectory(prefix="tidings-bench-") as tmp_name:
        tmp = Path(tmp_name)
        start = time.perf_counter()
        base = base_repo(tmp)
        print(f"imported the GitHub history in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        rows = []
        for size in sizes:
            root = corpus(base, size, tmp)
            rows.append(measure(root, size))
            print(f"measured {size:,}", file=sys.stderr)
            shutil.rmtree(root.parent / f"public-{size}", ignore_errors=True)
            shutil.rmtree(root, ignore_errors=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    columns = [c for c in rows[0] if not c.startswith("_")]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    print("  ".join(c.rjust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(row[c].rjust(widths[c]) for c in columns))
    by_size = {int(r["incidents"].replace(",", "")): float(r["_cold"]) for r in rows}
    if 1000 in by_size and 10000 in by_size:
        print(f"growth: cold(10k) / cold(1k) = {by_size[10000] / by_size[1000]:.1f}")


if __name__ == "__main__":
    main()

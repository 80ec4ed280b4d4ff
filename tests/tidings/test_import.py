"""`tidings import`: real Statuspage and cState history becomes a valid status repo, idempotently.

The Statuspage tests import slices of GitHub's real history (../shared/data), build the site and
read it as a GitHub status reader would; bad input is refused naming the record, with the tree
byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import io
import json
import shlex
import time
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import MINIMAL_SITE, PROJECT_ROOT, SHARED
from tidings.cli.main import main
from tidings.content.load import load
from tidings.generator.build import build
from tidings.ops.importers import plan, plan_import
from tidings.ops.importers.statuspage import html_to_markdown, parse_statuspage

GITHUB = SHARED / "data" / "githubstatus-history.json"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# GitHub renamed three components in 2022; the history names them both ways.
ALIASES = ["GitHub Actions=Actions", "GitHub Packages=Packages", "GitHub Pages=Pages"]
ALIAS_ARGS = [arg for alias in ALIASES for arg in ("--component-alias", alias)]

SITE_WITH_COMMENTS = MINIMAL_SITE.replace("title: Example Status", "title: Example Status  # keep me") + (
    "# the end of the file, a comment to keep\n"
)


@pytest.fixture(scope="module")
def history() -> dict[str, Any]:
    return json.loads(GITHUB.read_text(encoding="utf-8"))


def github_slice(history: dict[str, Any], size: int = 40) -> dict[str, Any]:
    """The first `size` records; from 30 on, with each kind of real content in it: maintenance,
    HTML breaks and links, unicode, no components, components under their old names."""
    records = history["incidents"]
    chosen: dict[str, dict[str, Any]] = {}

    def take(predicate: Any, n: int) -> None:
        for r in [r for r in records if predicate(r) and r["id"] not in chosen][: max(0, n)]:
            chosen[r["id"]] = r

    if size >= 30:
        take(lambda r: r["kind"] == "maintenance", 5)
        take(lambda r: any("<br" in u["body"] for u in r["updates"]), 6)
        take(lambda r: any("<a " in u["body"] for u in r["updates"]), 2)
        take(lambda r: any(ord(c) > 127 for c in r["name"] + "".join(u["body"] for u in r["updates"])), 4)
        take(lambda r: not r["components"], 5)
        take(lambda r: any(name.startswith("GitHub ") for name in r["components"]), 3)
    take(lambda r: True, size - len(chosen))
    ordered = [r for r in records if r["id"] in chosen]
    data = {"source": history["source"], "components": history["components"], "incidents": ordered}
    return json.loads(json.dumps(data))  # a copy: tests change it


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def tree(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under root: relative path -> (sha256, mtime_ns)."""
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def tidings(*args: str | Path) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args])


def import_statuspage(file: Path, root: Path, *extra: str) -> Any:
    return tidings("import", "statuspage", file, root, *ALIAS_ARGS, *extra)


class Page(HTMLParser):
    """A page as a reader sees it: its text (no scripts or styles) and its links."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hrefs: set[str] = set()
        self._skip = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "a":
            self.hrefs |= {v for k, v in attrs if k == "href" and v}

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def text_of(html: str) -> str:
    return Page(html).text


# --- the GitHub history -------------------------------------------------------------------------


@pytest.fixture
def imported(tmp_path, make_repo, history):
    """A status repo with a comment in its site file and one incident of its own, plus 40 GitHub records."""
    root = make_repo({".gitlab/status-page.yml": SITE_WITH_COMMENTS})
    data = github_slice(history)
    source = write_json(tmp_path / "github.json", data)
    run = import_statuspage(source, root)
    assert run.exit_code == 0, run.output
    return root, source, data, run


def test_a_github_slice_imports_into_a_valid_repo(imported):
    root, _, data, run = imported
    maintenance = [r for r in data["incidents"] if r["kind"] == "maintenance"]
    assert f"{len(data['incidents'])} created, 0 updated, 0 unchanged" in run.output
    assert "12 components and 0 groups added" in run.output

    result = load(root)
    assert result.errors == []
    assert result.warnings == [] or all(w.code == "no-base-url" for w in result.warnings)
    repo = result.repo
    # Its own incident and components are still there, and the site file kept its comments.
    assert repo.get("incidents", "2026-03-14-api-errors") is not None
    site_text = (root / ".gitlab/status-page.yml").read_text()
    assert "title: Example Status  # keep me" in site_text
    assert site_text.endswith("# the end of the file, a comment to keep\n")
    assert [c.name for c in repo.components][:2] == ["API", "Web App"]
    assert {c.name for c in repo.components} >= {"Git Operations", "Actions", "Copilot", "Codespaces"}

    by_source = {i.source.id: i for i in repo.incidents if i.source}
    by_source |= {m.source.id: m for m in repo.maintenance if m.source}
    assert len(repo.maintenance) == len(maintenance)
    assert len(by_source) == len(data["incidents"])
    for record in data["incidents"]:
        item = by_source[record["id"]]
        assert item.title == " ".join(record["name"].split())
        assert item.published
        assert len(item.updates) == len(record["updates"])
        assert item.source is not None and item.source.url == record["shortlink"]
        assert "<br" not in "".join(u.body for u in item.updates)


def test_renamed_components_are_mapped_and_impact_follows_the_incident(imported, history):
    root, _, data, _ = imported
    repo = load(root).repo
    by_source = {i.source.id: i for i in repo.incidents if i.source}
    old_name = next(
        r for r in data["incidents"] if r["kind"] == "incident" and "GitHub Actions" in r["components"]
    )
    assert "actions" in by_source[old_name["id"]].components
    impacts = {"critical": "major_outage", "major": "partial_outage", "minor": "degraded_performance"}
    severities = {"critical": "critical", "major": "high", "minor": "medium", "none": "unknown"}
    for record in (r for r in data["incidents"] if r["kind"] == "incident"):
        incident = by_source[record["id"]]
        assert incident.severity == severities[record["impact"]]
        assert incident.status == "resolved"
        if record["impact"] in impacts:
            assert set(incident.components.values()) <= {impacts[record["impact"]]}
        assert incident.resolved_at is not None and incident.resolved_at >= incident.started_at
        assert incident.started_at <= incident.updates[0].at


def test_times_keep_their_offset_and_precision(imported):
    root, _, data, _ = imported
    record = next(r for r in data["incidents"] if r["kind"] == "incident")
    repo = load(root).repo
    incident = next(i for i in repo.incidents if i.source and i.source.id == record["id"])
    text = (root / "content/incidents" / f"{incident.id}.md").read_text()
    assert f"at: {record['updates'][0]['display_at']}" in text  # e.g. 2020-11-18T23:02:10.386Z
    assert incident.updates[0].at == datetime.fromisoformat(record["updates"][0]["display_at"])
    assert incident.id.startswith(record["created_at"][:10])


def test_the_built_site_shows_githubs_components_and_titles(imported):
    root, _, data, _ = imported
    repo = load(root).repo
    latest = max(repo.incidents, key=lambda i: i.started_at)
    out = root / "public"
    build(root, out, now=(latest.resolved_at or latest.started_at) + timedelta(hours=1))

    index = (out / "index.html").read_text()
    shown = text_of(index)
    for name in ("Git Operations", "API Requests", "Pull Requests", "Actions", "Codespaces", "Copilot"):
        assert name in shown
    assert latest.title in shown

    history_text = " ".join(text_of(p.read_text()) for p in (out / "history").glob("*.html"))
    for item in repo.incidents:
        page = out / "incidents" / f"{item.id}.html"
        assert page.is_file(), page
        if item.source:
            assert item.title in history_text
    for item in repo.maintenance:
        assert (out / "maintenance" / f"{item.id}.html").is_file()

    # An update written with <br /> and <a href> upstream: paragraphs and a real link on the page.
    linked = next(
        (r, u)
        for r in data["incidents"]
        for u in r["updates"]
        if "<a " in u["body"] and "<br" not in u["body"]
    )
    item = next(
        x for x in (*repo.incidents, *repo.maintenance) if x.source and x.source.id == linked[0]["id"]
    )
    folder = "incidents" if linked[0]["kind"] == "incident" else "maintenance"
    hrefs = Page((out / folder / f"{item.id}.html").read_text()).hrefs
    href = linked[1]["body"].split('href="', 1)[1].split('"', 1)[0]
    assert href in hrefs
    broken = next(
        (r, u)
        for r in data["incidents"]
        for u in r["updates"]
        if "<br /><br />" in u["body"] and r["kind"] == "incident"
    )
    item = next(i for i in repo.incidents if i.source and i.source.id == broken[0]["id"])
    page_html = (out / "incidents" / f"{item.id}.html").read_text()
    first, second = broken[1]["body"].split("<br /><br />", 1)
    assert f"<p>{first.strip()[:40]}" in page_html
    assert f"<p>{second.strip()[:40]}" in page_html

    api = json.loads((out / "api/v2/incidents.json").read_text())
    listed = {i["id"]: i for i in api["incidents"]}
    for item in repo.incidents:
        assert listed[item.id]["name"] == item.title
    severities = {"critical": "critical", "major": "major", "minor": "minor", "none": "none"}
    for record in (r for r in data["incidents"] if r["kind"] == "incident"):
        item = next(i for i in repo.incidents if i.source and i.source.id == record["id"])
        assert listed[item.id]["impact"] == severities[record["impact"]]  # what Statuspage said


def test_importing_again_changes_nothing(imported):
    root, source, data, _ = imported
    before = tree(root)
    run = import_statuspage(source, root)
    assert run.exit_code == 0, run.output
    assert f"0 created, 0 updated, {len(data['incidents'])} unchanged" in run.output
    assert tree(root) == before  # not one byte, not one mtime


def test_a_changed_upstream_incident_updates_its_file_and_keeps_local_edits(imported):
    root, source, data, _ = imported
    record = next(r for r in data["incidents"] if r["kind"] == "incident" and r["components"])
    repo = load(root).repo
    incident = next(i for i in repo.incidents if i.source and i.source.id == record["id"])
    path = root / "content/incidents" / f"{incident.id}.md"
    # Someone adds a label and a comment to the imported file.
    text = path.read_text().replace(
        "published: true\n", "published: true  # checked by alice\nlabels: [github]\n"
    )
    path.write_text(text)
    others = {k: v for k, v in tree(root).items() if k != f"content/incidents/{incident.id}.md"}

    record["name"] = "A better title, written later"
    record["updates"].append(
        {
            "status": "resolved",
            "body": "Post-incident note.<br />Thanks for your patience.",
            "created_at": "2030-01-01T00:00:00Z",
            "display_at": "2030-01-01T00:00:00Z",
        }
    )
    write_json(source, data)
    run = import_statuspage(source, root)
    assert run.exit_code == 0, run.output
    assert f"0 created, 1 updated, {len(data['incidents']) - 1} unchanged" in run.output
    assert {k: v for k, v in tree(root).items() if k != f"content/incidents/{incident.id}.md"} == others

    after = load(root)
    assert after.errors == []
    updated = after.repo.get("incidents", incident.id)  # same id: a new title does not rename the file
    assert updated.title == "A better title, written later"
    assert updated.labels == ["github"]
    assert updated.updates[-1].body == "Post-incident note.\n\nThanks for your patience.\n"
    assert "published: true  # checked by alice" in path.read_text()

    again = tree(root)
    assert "0 updated" in import_statuspage(source, root).output
    assert tree(root) == again


def test_the_full_github_history_imports_as_the_readme_says(tmp_path, history):
    lines = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip().startswith("$ tidings import statuspage"))
    command, i = "", first
    while True:
        command += " " + lines[i].strip().removesuffix("\\")
        if not lines[i].endswith("\\"):
            break
        i += 1
    args = shlex.split(command)[2:]  # after "$ tidings"
    assert args[2:4] == ["githubstatus-history.json", "github-status"]
    args[2:4] = [str(GITHUB), str(tmp_path / "github-status")]
    start = time.perf_counter()
    run = tidings(*args)
    took = time.perf_counter() - start
    assert run.exit_code == 0, run.output
    assert run.output.strip() == lines[i + 1].strip()

    result = load(tmp_path / "github-status")
    assert result.errors == []
    repo = result.repo
    assert repo.site.title == "GitHub Status"
    assert (len(repo.incidents), len(repo.maintenance)) == (760, 30)
    assert sum(len(i.updates) for i in (*repo.incidents, *repo.maintenance)) == 3868
    assert {i.source.id for i in (*repo.incidents, *repo.maintenance) if i.source} == {
        r["id"] for r in history["incidents"]
    }
    assert took < 60, f"the import took {took:.1f} s"


# --- bad input: the record named, nothing written ---------------------------------------------


def _first_maintenance(data: dict[str, Any]) -> int:
    return next(i for i, r in enumerate(data["incidents"]) if r["kind"] == "maintenance")


def _long_one(data: dict[str, Any]) -> int:
    """A record from the middle of the slice with at least three updates."""
    return next(i for i, r in enumerate(data["incidents"]) if i >= 10 and len(r["updates"]) >= 3)


def _break(kind: str, data: dict[str, Any]) -> str | dict[str, Any] | list[Any]:
    incidents = data["incidents"]
    if kind == "missing id":
        del incidents[3]["id"]
    elif kind == "bad time":
        update = incidents[_long_one(data)]["updates"][2]
        update["created_at"] = "the 5th, around noon"
        del update["display_at"]
    elif kind == "no timezone":
        incidents[_first_maintenance(data)]["scheduled_for"] = "2021-01-09T10:00:00"
    elif kind == "unknown component":
        incidents[9]["components"] = ["Git Operations", "Gti Operations"]
    elif kind == "unknown status":
        incidents[2]["updates"][0]["status"] = "fixed"
    elif kind == "updates not a list":
        incidents[6]["updates"] = "none"
    elif kind == "duplicate":
        incidents[8] = json.loads(json.dumps(incidents[7]))
    elif kind == "not json":
        return '{"incidents": [{"id": "x",'
    elif kind == "wrong shape":
        return [incidents[0]]
    elif kind == "no incidents key":
        return {"data": incidents}
    return data


BAD = {
    "missing id": "incidents[3]: id: missing",
    "bad time": "incidents[{k}] (id {idk}): updates[2].created_at: not a time: 'the 5th, around noon'",
    "no timezone": "incidents[{m}] (id {idm}): scheduled_for: '2021-01-09T10:00:00' has no timezone",
    "unknown component": "incidents[9] (id {id9}): components[1]: unknown component 'Gti Operations' "
    "(did you mean 'Git Operations'?",
    "unknown status": "incidents[2] (id {id2}): updates[0].status: 'fixed' is not one of",
    "updates not a list": "incidents[6] (id {id6}): updates: not a list (a string)",
    "duplicate": "incidents[8] (id {id7}): the same {kind7} as incidents[7] (id {id7})",
    "not json": "bad.json: not JSON: Expecting",
    "wrong shape": "not a Statuspage v2 document: expected an object with 'incidents', "
    "'scheduled_maintenances' or 'components' (got a list)",
    "no incidents key": "(got an object with keys data)",
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_input_names_the_record_and_writes_nothing(kind, tmp_path, make_repo, history):
    root = make_repo()
    data = github_slice(history)
    ids = {f"id{i}": r["id"] for i, r in enumerate(data["incidents"])}
    m = _first_maintenance(data)
    ids["kind7"] = data["incidents"][7]["kind"]
    k = _long_one(data)
    ids |= {"m": str(m), "idm": data["incidents"][m]["id"], "k": str(k), "idk": data["incidents"][k]["id"]}
    broken = _break(kind, data)
    source = tmp_path / "bad.json"
    source.write_text(broken if isinstance(broken, str) else json.dumps(broken), encoding="utf-8")
    before = tree(root)

    run = import_statuspage(source, root)
    assert run.exit_code == 1, run.output
    assert BAD[kind].format(**ids) in run.output
    assert "nothing was written" in run.output
    assert tree(root) == before


def test_every_problem_is_reported_with_a_hint_for_renamed_components(tmp_path, history):
    root = tmp_path / "new"
    run = tidings("import", "statuspage", GITHUB, root)  # no aliases
    assert run.exit_code == 1
    assert "unknown component 'GitHub Actions' (did you mean 'Actions'?" in run.output
    assert "--component-alias 'GitHub Actions=Actions'" in run.output
    assert (
        "hint: components named but not defined: 'GitHub Actions' (63x), 'GitHub Packages' (18x)"
        in run.output
    )
    assert "Error: 89 problems in githubstatus-history.json; nothing was written" in run.output
    assert not root.exists()


def test_an_alias_to_an_unknown_component_names_the_alias_and_its_target(tmp_path, history):
    root = tmp_path / "new"
    aliases = ["GitHub Actions=Actoins", "GitHub Packages=Packages", "GitHub Pages=Pages"]
    run = tidings(
        "import", "statuspage", GITHUB, root, *(a for x in aliases for a in ("--component-alias", x))
    )
    assert run.exit_code == 1
    assert (
        "unknown component 'Actoins', from --component-alias 'GitHub Actions=Actoins' "
        "(did you mean 'Actions'? NEW must be a component of the input or of the status repo)"
    ) in run.output
    assert "unknown component 'GitHub Actions'" not in run.output  # the input is right, the flag is not
    assert "hint: --component-alias whose NEW is no component: 'GitHub Actions=Actoins' (63x)" in run.output
    assert "components named but not defined" not in run.output
    assert not root.exists()


def test_a_failed_write_puts_back_what_it_wrote(tmp_path, make_repo, history, monkeypatch):
    root = make_repo()
    source = write_json(tmp_path / "github.json", github_slice(history, size=10))
    before = tree(root)
    real = plan.write_atomic
    calls = {"n": 0}

    def flaky(path: Path, text: str) -> None:
        calls["n"] += 1
        if calls["n"] == 6:
            raise OSError(28, "No space left on device")
        real(path, text)

    monkeypatch.setattr(plan, "write_atomic", flaky)
    from tidings.ops.importers.statuspage import read_statuspage

    planned = plan_import(root, read_statuspage(source), dict(a.split("=") for a in ALIASES))
    with pytest.raises(OSError):
        planned.write()
    assert {k: v[0] for k, v in tree(root).items()} == {k: v[0] for k, v in before.items()}


def test_usage_errors_exit_2(tmp_path, make_repo):
    root = make_repo()
    assert tidings("import", "statuspage", tmp_path / "missing.json", root).exit_code == 2
    source = write_json(tmp_path / "s.json", {"incidents": []})
    run = tidings("import", "statuspage", source, root, "--component-alias", "no-equals-sign")
    assert run.exit_code == 2 and "is not OLD=NEW" in run.output
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("not a status repo")
    run = tidings("import", "statuspage", source, stray)
    assert run.exit_code == 2 and "is not a status repo" in run.output
    assert [p.name for p in stray.iterdir()] == ["notes.txt"]


def test_dry_run_and_quiet(tmp_path, make_repo, history):
    root = make_repo()
    source = write_json(tmp_path / "github.json", github_slice(history, size=5))
    before = tree(root)
    run = import_statuspage(source, root, "--dry-run")
    assert run.exit_code == 0, run.output
    assert "dry run, nothing written: 5 created, 0 updated, 0 unchanged" in run.output
    assert "created  content/" in run.output
    assert tree(root) == before
    run = import_statuspage(source, root, "--quiet")
    assert run.exit_code == 0 and run.output == ""  # and no progress bar: this is not a terminal
    assert len(tree(root)) > len(before)


def test_a_progress_bar_only_on_a_terminal(monkeypatch):
    from tidings.cli import common

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert common.progress_bar(silent=False) is None  # pytest's stderr is no terminal
    terminal = Terminal()
    monkeypatch.setattr(common.sys, "stderr", terminal)
    assert common.progress_bar(silent=True) is None
    bar = common.progress_bar(silent=False)
    assert bar is not None
    assert list(bar([1, 2, 3], "Importing")) == [1, 2, 3]
    assert "Importing" in terminal.getvalue()


def test_the_global_quiet_flag_quiets_the_import(tmp_path, make_repo, history):
    root = make_repo()
    source = write_json(tmp_path / "github.json", github_slice(history, size=3))
    run = tidings("-q", "import", "statuspage", source, root, *ALIAS_ARGS)
    assert run.exit_code == 0 and run.output == ""


# --- Statuspage API responses --------------------------------------------------------------------


def test_statuspage_api_responses_import_components_groups_incidents_and_maintenance(tmp_path):
    root = tmp_path / "kestrel"
    for name in ("summary.json", "incidents.json", "scheduled-maintenances.json"):
        run = tidings("import", "statuspage", FIXTURES / "statuspage" / name, root)
        assert run.exit_code == 0, run.output
    result = load(root)
    assert result.errors == [] and result.warnings == []
    repo = result.repo
    site = repo.site
    assert (site.title, site.timezone, site.base_url) == (
        "Kestrel Status",
        "America/Chicago",
        "https://status.kestrel.example/",
    )
    assert [(g.id, g.name) for g in repo.groups] == [("europe", "Europe"), ("americas", "Americas")]
    assert [(c.id, c.name, c.group) for c in repo.components] == [
        ("dashboard", "Dashboard", None),
        ("api", "API", "europe"),
        ("cdn", "CDN", "europe"),
        ("americas-api", "API", "americas"),
    ]
    outage = repo.get("incidents", "2026-01-15-dashboard-and-eu-api-unavailable")
    assert outage.severity == "critical" and outage.status == "resolved"  # from 'postmortem'
    assert outage.components == {"dashboard": "major_outage", "api": "major_outage"}  # the worst each was
    assert outage.postmortem is not None and "**alert**" in outage.postmortem
    assert [u.status for u in outage.updates] == ["investigating", "monitoring", "resolved", "resolved"]
    assert "[our blog](https://kestrel.example/blog/tls)" in outage.updates[0].body
    ongoing = repo.get("incidents", "2026-03-02-slow-api-responses-in-the-americas")
    assert ongoing.status == "identified" and ongoing.resolved_at is None
    assert ongoing.components == {"americas-api": "degraded_performance"}
    assert ongoing.started_at.isoformat() == "2026-03-02T10:41:07.311000-06:00"
    notice = repo.get("incidents", "2025-11-03-delayed-invoice-e-mails-billing-notice")
    assert notice.severity == "unknown" and notice.components == {}
    assert notice.updates[-1].body == "This incident has been resolved."  # the empty body upstream
    done = repo.get("maintenance", "2025-12-07-cdn-provider-migration")
    assert done.status == "completed" and done.components == ["cdn"]
    upcoming = repo.get("maintenance", "2026-04-12-database-upgrade")
    assert upcoming.status is None  # follows the clock
    assert upcoming.components == ["dashboard", "api", "americas-api"]

    before = tree(root)
    for name in ("summary.json", "incidents.json", "scheduled-maintenances.json"):
        run = tidings("import", "statuspage", FIXTURES / "statuspage" / name, root)
        assert "0 created, 0 updated" in run.output
    assert tree(root) == before


def test_a_new_status_repo_gets_a_description_given_or_written_from_the_source(tmp_path, history):
    """Every page's <meta name="description"> falls back to it (Statuspage's API has no such field)."""
    source = write_json(tmp_path / "github.json", github_slice(history, size=10))
    run = import_statuspage(source, tmp_path / "written", "--title", "GitHub Status")
    assert run.exit_code == 0, run.output
    names = [c["name"] for c in history["components"]]
    assert load(tmp_path / "written").repo.site.description == (
        f"Current status and incident history of GitHub: {', '.join(names[:3])} and {len(names) - 3} more."
    )
    given = "Live and past status of GitHub.com:  Git, Actions,\nPages and more."
    run = import_statuspage(source, tmp_path / "given", "--description", given)
    assert run.exit_code == 0, run.output
    site = load(tmp_path / "given").repo.site
    assert (site.title, site.description) == (
        "Status",
        "Live and past status of GitHub.com: Git, Actions, Pages and more.",
    )
    # The components of a small source are all named; a source with no name gives none.
    batch = parse_statuspage(json.loads((FIXTURES / "statuspage" / "summary.json").read_text()))
    assert plan.written_description("Kestrel Status", batch) == (
        "Current status and incident history of Kestrel: Dashboard, API, CDN and 1 more."
    )
    batch.components = batch.components[:2]
    assert (
        plan.written_description("Status", batch) == "Current status and incident history: Dashboard and API."
    )


def test_description_and_title_leave_an_existing_site_file_alone(tmp_path, make_repo, history):
    root = make_repo({".gitlab/status-page.yml": SITE_WITH_COMMENTS})
    source = write_json(tmp_path / "github.json", github_slice(history, size=5))
    run = import_statuspage(source, root, "--title", "Other", "--description", "Other words.")
    assert run.exit_code == 0, run.output
    site = load(root).repo.site
    assert (site.title, site.description) == ("Example Status", "")


def test_statuspage_html_becomes_markdown():
    assert html_to_markdown("One.<br />Two.<br><br/>Three.") == "One.\n\nTwo.\n\nThree."
    assert html_to_markdown('See <a href="https://x.example/a_(b)">the <b>docs</b></a>.') == (
        "See [the docs](https://x.example/a_%28b%29)."
    )
    assert html_to_markdown('<a href="javascript:alert(1)">click</a>') == "click"
    assert html_to_markdown("<i>Duplicate</i> and <strong>bold</strong>") == "*Duplicate* and **bold**"
    assert html_to_markdown("<ul><li>one</li><li>two</li></ul>") == "- one\n\n- two"
    assert html_to_markdown("line\r\nnext \x07") == "line\n\nnext"
    assert html_to_markdown("<script>x()</script>") == "<script>x()</script>"  # left for nh3 to drop


def test_components_json_alone_adds_components():
    batch = parse_statuspage({"components": [{"id": "a1", "name": "API", "group": False, "group_id": None}]})
    assert [c.name for c in batch.components] == ["API"] and batch.problems == []
    batch = parse_statuspage({"components": [{"name": "API"}], "incidents": {"oops": 1}})
    assert batch.problems == ["incidents: not a list (a object)", "components[0]: id: missing"]


# --- cState -------------------------------------------------------------------------------------


def test_a_cstate_site_imports_and_builds(tmp_path):
    root = tmp_path / "harbor"
    run = tidings("import", "cstate", FIXTURES / "cstate", root)
    assert run.exit_code == 0, run.output
    assert "6 created, 0 updated, 0 unchanged; 5 components and 2 groups added" in run.output
    assert "skipped content/issues/2025-12-01-draft.md (a draft)" in run.output
    result = load(root)
    assert result.errors == [] and result.warnings == []
    repo = result.repo
    assert (repo.site.title, repo.site.timezone) == ("Harbor Status", "Europe/Berlin")
    assert repo.site.description == "Is Harbor up? Live status of the Harbor app, API and regions."
    assert [(c.id, c.group) for c in repo.components] == [
        ("web-app", "core"),
        ("api", "core"),
        ("frankfurt", "regions"),
        ("sao-paulo", "regions"),
        ("docs", None),  # in cState's untitled category
    ]
    assert repo.components[0].url == "https://app.harbor.example/"

    outage = repo.get("incidents", "2025-03-04-api-outage")
    assert (outage.severity, outage.status) == ("critical", "resolved")
    assert outage.components == {"api": "major_outage", "frankfurt": "major_outage"}
    assert [u.status for u in outage.updates] == ["investigating", "identified", "monitoring", "resolved"]
    assert outage.updates[0].at.isoformat() == "2025-03-04T09:12:00+01:00"  # Berlin, winter
    assert (
        outage.updates[1].body
        == "A load balancer in Frankfurt dropped **most** connections after a firmware update."
    )
    assert outage.resolved_at is not None and outage.resolved_at.isoformat() == "2025-03-04T10:41:00+01:00"

    slow = repo.get("incidents", "2025-05-19-slow-dashboard")
    assert slow.started_at.isoformat() == "2025-05-19T14:30:00+02:00"  # Berlin, summer
    assert slow.components == {"web-app": "partial_outage"} and slow.severity == "high"
    assert slow.body.startswith("Pages of the dashboard took up to thirty seconds")
    assert [u.status for u in slow.updates] == ["investigating", "resolved"]

    failover = repo.get("incidents", "2025-07-02-region-failover")
    assert failover.postmortem is not None and failover.postmortem.startswith("A power fault")
    assert (
        failover.updates[-1].status == "resolved"
        and failover.updates[-1].body == "All traffic is back in São Paulo."
    )

    notice = repo.get("incidents", "2025-09-10-docs-maintenance")
    assert (notice.severity, notice.components) == ("low", {"docs": "operational"})
    news = repo.get("incidents", "2025-10-01-new-region")
    assert len(news.updates) == 1 and "_São Paulo_" in news.updates[0].body
    ongoing = repo.get("incidents", "2025-11-20-webhooks-delayed")
    assert (ongoing.status, ongoing.resolved_at) == ("identified", None)

    out = root / "public"
    build(root, out, now=datetime.fromisoformat("2025-11-20T18:00:00+00:00"))
    shown = text_of((out / "index.html").read_text())
    assert "São Paulo" in shown and "Webhook deliveries delayed" in shown

    before = tree(root)
    run = tidings("import", "cstate", FIXTURES / "cstate", root)
    assert "0 created, 0 updated, 6 unchanged" in run.output
    assert tree(root) == before


def _copy(src: Path, dst: Path) -> Path:
    for path in src.rglob("*"):
        if path.is_file():
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    return dst


def test_cstate_bad_input_names_the_file_and_writes_nothing(tmp_path, make_repo):
    site = _copy(FIXTURES / "cstate", tmp_path / "site")
    issue = site / "content/issues/2025-05-19-slow-dashboard.md"
    issue.write_text(issue.read_text().replace("affected: [Web App]", "affected: [Web Ap]"))
    other = site / "content/issues/2025-09-10-docs-maintenance.md"
    other.write_text(other.read_text().replace("date: 2025-09-10 22:00:00", "date: last tuesday"))
    root = make_repo()
    before = tree(root)
    run = tidings("import", "cstate", site, root)
    assert run.exit_code == 1, run.output
    assert (
        "content/issues/2025-05-19-slow-dashboard.md: affected[0]: unknown component 'Web Ap' "
        "(did you mean 'Web App'?" in run.output
    )
    assert "content/issues/2025-09-10-docs-maintenance.md:3:7: date: not a time: 'last tuesday'" in run.output
    assert tree(root) == before

    (site / "config.yml").unlink()
    run = tidings("import", "cstate", site, root)
    assert run.exit_code == 1 and "no config.yml" in run.output

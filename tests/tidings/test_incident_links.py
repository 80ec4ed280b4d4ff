"""Related links as GitLab's `/link <URL> <text>` has them: a list of named links, and files that
still keep the first form (`links: {issue, chat, call}`), read everywhere and rewritten only when
their links change. Real repos (the demo, committed), the real commands, the built internal site.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from tidings.cli.main import main
from tidings.content.documents import plain, read_markdown
from tidings.content.load import load
from tidings.content.model import Incident
from tidings.generator.build import build
from tidings.generator.internal import build_internal
from tidings.ops.history import history

from ..conftest import PROJECT_ROOT

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
LAG = "2026-11-24-postgres-replica-lag"  # demo: no links
API = "2026-07-08-api-errors"  # demo: links in the first form, issue, chat and call
API_REL = f"content/incidents/{API}.md"
FIRST_FORM = (
    "links:\n"
    "  issue: https://gitlab.example.com/lumen/ops/-/issues/1481\n"
    "  chat: https://chat.example.com/lumen/channels/inc-1481\n"
    "  call: https://meet.example.com/inc-1481\n"
)


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "status"
    root.mkdir()
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.name", "Amara Okafor")
    _git(root, "config", "user.email", "amara.okafor@example.com")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "Start")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(NOW.timestamp())))
    return root


def tidings(root: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, str(root)], catch_exceptions=False)


def incident(root: Path, incident_id: str) -> Incident:
    result = load(root)
    assert [d.as_text() for d in result.errors] == []
    found = result.repo.get("incidents", incident_id)
    assert isinstance(found, Incident)
    return found


def links(root: Path, incident_id: str) -> list[tuple[str | None, str]]:
    return [(link.text, link.url) for link in incident(root, incident_id).links]


def test_link_with_a_text_adds_a_named_link_and_a_second_one_adds_another(repo: Path) -> None:
    """GitLab's exact form, which was refused ("takes one argument, not 4")."""
    body = "/link https://example.slack.com/archives/123456789 Dedicated Slack channel"
    result = tidings(repo, "incident", "update", LAG, "--body", body)
    assert result.exit_code == 0, result.output
    result = tidings(
        repo, "incident", "update", LAG, "--body", '/link https://grafana.example.com/d/pg "Replica lag"'
    )
    assert result.exit_code == 0, result.output
    assert links(repo, LAG) == [
        ("Dedicated Slack channel", "https://example.slack.com/archives/123456789"),
        ("Replica lag", "https://grafana.example.com/d/pg"),
    ]
    text = (repo / f"content/incidents/{LAG}.md").read_text()
    assert (
        "links:\n"
        "  - {url: https://example.slack.com/archives/123456789, text: Dedicated Slack channel}\n"
        "  - {url: https://grafana.example.com/d/pg, text: Replica lag}\n"
    ) in text
    message = _git(repo, "log", "-1", "--format=%B")
    assert "- link added: Replica lag (https://grafana.example.com/d/pg)\n" in message
    # The timeline says it, and so does `tidings log`, naming the person.
    assert incident(repo, LAG).updates[-1].body == (
        "Link added: Replica lag (https://grafana.example.com/d/pg) by amara (via the command line)."
    )
    last = history(repo, LAG)[-1]
    assert last.who == "amara"
    assert "link added: Replica lag (https://grafana.example.com/d/pg)" in last.changes
    # The same link again changes nothing; the same URL with another text renames it.
    before = _git(repo, "rev-parse", "HEAD")
    result = tidings(
        repo, "incident", "update", LAG, "--body", "/link https://grafana.example.com/d/pg Replica lag"
    )
    assert "nothing to change" in result.output and _git(repo, "rev-parse", "HEAD") == before
    tidings(repo, "incident", "update", LAG, "--body", "/link https://grafana.example.com/d/pg Lag dashboard")
    assert links(repo, LAG)[1] == ("Lag dashboard", "https://grafana.example.com/d/pg")
    assert "link renamed: Replica lag -> Lag dashboard (https://grafana.example.com/d/pg)" in (
        history(repo, LAG)[-1].changes
    )


def test_link_and_zoom_without_a_text_work_as_they_always_did(repo: Path) -> None:
    """`/link URL` is the issue link, `/zoom URL` the call link; a second /zoom moves the call."""
    body = "/link https://gitlab.example.com/ops/-/issues/7\n/zoom https://zoom.us/j/1"
    assert tidings(repo, "incident", "update", LAG, "--body", body).exit_code == 0
    assert tidings(repo, "incident", "update", LAG, "--body", "/zoom https://zoom.us/j/2").exit_code == 0
    assert links(repo, LAG) == [
        ("Issue", "https://gitlab.example.com/ops/-/issues/7"),
        ("Call", "https://zoom.us/j/2"),
    ]
    assert "link Call: https://zoom.us/j/1 -> https://zoom.us/j/2" in history(repo, LAG)[-1].changes
    assert "- link Call: https://zoom.us/j/1 -> https://zoom.us/j/2\n" in _git(
        repo, "log", "-1", "--format=%B"
    )


def test_the_first_form_is_read_as_the_list_it_means_and_left_as_it_is(repo: Path) -> None:
    assert FIRST_FORM in (repo / API_REL).read_text()
    assert links(repo, API) == [
        ("Issue", "https://gitlab.example.com/lumen/ops/-/issues/1481"),
        ("Chat", "https://chat.example.com/lumen/channels/inc-1481"),
        ("Call", "https://meet.example.com/inc-1481"),
    ]
    assert only_the_demos_overdue_item(tidings(repo, "validate"))
    shown = tidings(repo, "incident", "show", API)
    assert "  link: Chat https://chat.example.com/lumen/channels/inc-1481\n" in shown.output
    data = json.loads(tidings(repo, "incident", "show", API, "--format", "json").output)
    assert data["links"][0] == {"url": "https://gitlab.example.com/lumen/ops/-/issues/1481", "text": "Issue"}
    # A change that is not to the links leaves them in the form the file has.
    assert tidings(repo, "incident", "update", API, "--body", "Postmortem published.").exit_code == 0
    assert FIRST_FORM in (repo / API_REL).read_text()
    # The same Call link in another form is no change either: nothing is rewritten.
    before = _git(repo, "rev-parse", "HEAD")
    result = tidings(repo, "incident", "update", API, "--body", "/zoom https://meet.example.com/inc-1481")
    assert "nothing to change" in result.output and _git(repo, "rev-parse", "HEAD") == before
    assert FIRST_FORM in (repo / API_REL).read_text()


def test_a_link_added_to_a_file_of_the_first_form_migrates_it_on_write(repo: Path) -> None:
    path = repo / API_REL
    path.write_text(path.read_text().replace("links:\n", "links:  # kept since the first postmortem\n"))
    _git(repo, "commit", "-qam", "A comment by hand")
    result = tidings(
        repo, "incident", "update", API, "--body", "/link https://grafana.example.com/d/api API dashboard"
    )
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert (
        "  - {url: https://gitlab.example.com/lumen/ops/-/issues/1481, text: Issue}\n"
        "  - {url: https://chat.example.com/lumen/channels/inc-1481, text: Chat}\n"
        "  - {url: https://meet.example.com/inc-1481, text: Call}\n"
        "  - {url: https://grafana.example.com/d/api, text: API dashboard}\n"
    ) in text
    assert "issue:" not in text
    assert links(repo, API)[3] == ("API dashboard", "https://grafana.example.com/d/api")
    # `tidings log` tells the commit by what it added; the rewrite of the form is no change of its own.
    last = history(repo, API)[-1]
    assert [c for c in last.changes if c.startswith("link")] == [
        "link added: API dashboard (https://grafana.example.com/d/api)"
    ]
    assert "links changed" not in last.changes
    # Only the incident's file changed, and every other file keeps its first form.
    assert _git(repo, "show", "--name-only", "--format=", "HEAD").split() == [API_REL]
    assert (
        "  issue: https://gitlab.example.com/lumen/ops/-/issues/1533\n"
        in (repo / "content/incidents/2026-09-11-dns-resolution.md").read_text()
    )
    assert only_the_demos_overdue_item(tidings(repo, "validate"))


def test_mistakes_in_either_form_point_at_the_line_with_a_did_you_mean(repo: Path) -> None:
    path = repo / API_REL
    path.write_text(
        path.read_text()
        .replace("  issue: https://gitlab", "  isue: https://gitlab")
        .replace("  call: https://meet.example.com/inc-1481", "  call: meet.example.com")
    )
    result = tidings(repo, "validate")
    assert result.exit_code == 1
    assert f"{API_REL}:43:3: error: links.isue: unknown key 'isue' (did you mean 'issue'?)" in result.output
    assert f"{API_REL}:45:9: error: links.call: 'meet.example.com' is not a URL" in result.output
    path.write_text(path.read_text().split("links:")[0] + "links:\n  - {url: nope, txt: X}\n---\n")
    result = tidings(repo, "validate")
    assert f"{API_REL}:43:11: error: links[0].url: 'nope' is not a URL" in result.output
    assert "links[0].txt: unknown key 'txt' (did you mean 'text'?)" in result.output


def test_link_mistakes_are_refused_with_the_line_and_write_nothing(repo: Path) -> None:
    before = _git(repo, "rev-parse", "HEAD")
    for body, error in (
        ("/link", "line 1: /link needs an argument"),
        ("/link chat.example.com Team chat", "line 1: /link: 'chat.example.com' is not a URL"),
        ("/link https://x|<!channel> Urgent", "which a URL cannot hold (write %7C)"),
    ):
        result = tidings(repo, "incident", "update", LAG, "--body", body)
        assert result.exit_code == 2 and error in result.output, result.output
    assert _git(repo, "rev-parse", "HEAD") == before and _git(repo, "status", "--porcelain") == ""


def test_a_template_s_links_of_the_first_form_open_a_list(repo: Path) -> None:
    (repo / "content/templates/with-links.md").write_text(
        "---\ntitle: Chat is down\nlinks: {chat: https://chat.example.com/c/ops, call: https://meet.example.com/ops}\n"
        "---\n/link https://status.chat.example.com Vendor status\n"
    )
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "A template")
    assert tidings(repo, "incident", "open", "--template", "with-links").exit_code == 0
    new_id = "2026-11-24-chat-is-down"
    assert links(repo, new_id) == [
        ("Chat", "https://chat.example.com/c/ops"),
        ("Call", "https://meet.example.com/ops"),
        ("Vendor status", "https://status.chat.example.com"),
    ]
    assert (
        "links:\n  - {url: https://chat.example.com/c/ops, text: Chat}\n"
        in (repo / f"content/incidents/{new_id}.md").read_text()
    )


def test_the_schema_accepts_both_forms_and_what_the_validator_refuses_it_refuses(repo: Path) -> None:
    """Editors check files with the committed schema: a migrated file and an untouched one both pass."""
    schema = json.loads((repo / ".gitlab/schemas/incident.schema.json").read_text())
    added = tidings(repo, "incident", "update", API, "--body", "/link https://grafana.example.com/d/api API")
    assert added.exit_code == 0, added.output

    def data(rel: str) -> dict[str, object]:
        found = plain(read_markdown(repo / rel, rel).data)
        assert isinstance(found, dict)
        return found

    migrated = data(API_REL)
    assert isinstance(migrated["links"], list) and len(migrated["links"]) == 4
    jsonschema.validate(migrated, schema)
    first = data("content/incidents/2026-09-11-dns-resolution.md")
    assert isinstance(first["links"], dict)
    jsonschema.validate(first, schema)
    for wrong in (
        [{"text": "no URL"}],
        [{"url": "https://x.example.com", "txt": "X"}],
        {"isue": "https://gitlab.example.com/1"},
        "https://gitlab.example.com/1",
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**migrated, "links": wrong}, schema)


class _Anchors(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.anchors: list[tuple[str, str]] = []
        self._href: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self.anchors.append((self._href, data))
            self._href = None


def test_the_internal_page_lists_the_links_and_the_public_site_never_shows_them(
    repo: Path, tmp_path: Path
) -> None:
    tidings(
        repo,
        "incident",
        "update",
        API,
        "--body",
        "/link https://grafana.example.com/d/api API <dashboard> & more",
    )
    tidings(repo, "incident", "update", LAG, "--body", "/link https://grafana.example.com/d/pg")
    build_internal(repo, tmp_path / "internal")
    page = _Anchors((tmp_path / "internal" / f"incidents/{API}.html").read_text())
    assert [
        a
        for a in page.anchors
        if a[0].startswith(("https://gitlab", "https://chat", "https://meet", "https://grafana"))
    ] == [
        ("https://gitlab.example.com/lumen/ops/-/issues/1481", "Issue"),
        ("https://chat.example.com/lumen/channels/inc-1481", "Chat"),
        ("https://meet.example.com/inc-1481", "Call"),
        ("https://grafana.example.com/d/api", "API <dashboard> & more"),  # escaped in the HTML, read back
    ]
    lag = _Anchors((tmp_path / "internal" / f"incidents/{LAG}.html").read_text())
    assert ("https://grafana.example.com/d/pg", "Issue") in lag.anchors
    build(repo, tmp_path / "public")
    public = "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in (tmp_path / "public").rglob("*")
        if p.is_file()
    )
    for url in ("grafana.example.com", "chat.example.com/lumen", "meet.example.com/inc-1481", "issues/1481"):
        assert url not in public, url


def only_the_demos_overdue_item(run) -> bool:
    """Valid, and warned only of the demo's overdue review action item (it has one on purpose)."""
    return run.exit_code == 0 and run.output.endswith("[overdue-action-item]\n0 errors, 1 warning\n")

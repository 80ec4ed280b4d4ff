"""Round-trip edits: comments, order and formatting kept; invalid edits write nothing."""

from __future__ import annotations

import pytest
from ruamel.yaml.comments import CommentedMap

from tidings.content.load import load
from tidings.store.edit import EditError, editing, new_editable, read_editable, save

INCIDENT = """\
---
# yaml-language-server: $schema=../../.gitlab/schemas/incident.schema.json
title: API errors   # short, for the page
severity: high
status: investigating
published: true
started_at: 2026-03-14T09:00:00Z
components:
  api: major_outage   # the whole API
updates:
  - at: 2026-03-14T09:05:00Z
    status: investigating
    body: |
      We are looking.

      More text.
---
The body
stays *as it is*.
"""


def test_unchanged_file_round_trips_byte_for_byte(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(INCIDENT)
    assert read_editable(path, "incident").render() == INCIDENT


def test_an_edit_changes_only_what_it_changes(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(INCIDENT)
    with editing(path, "incident", "a.md") as f:
        f.data["status"] = "identified"
        update = CommentedMap(
            [("at", "2026-03-14T09:30:00Z"), ("status", "identified"), ("body", "Found it.")]
        )
        f.data["updates"].append(update)
    expected = INCIDENT.replace("status: investigating\npublished", "status: identified\npublished").replace(
        "      More text.\n",
        "      More text.\n  - at: 2026-03-14T09:30:00Z\n    status: identified\n    body: Found it.\n",
    )
    assert path.read_text() == expected


def test_an_invalid_edit_raises_and_writes_nothing(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(INCIDENT)
    with pytest.raises(EditError) as failure, editing(path, "incident", "a.md") as f:
        f.data["status"] = "fixed"
    assert failure.value.diagnostics[0].field == "status"
    assert failure.value.diagnostics[0].line == 5
    assert path.read_text() == INCIDENT
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]  # no temporary file left


def test_a_new_file_loads_as_valid_content(make_repo):
    root = make_repo()
    path = root / "content" / "incidents" / "2026-03-20-new.md"
    edit = new_editable(
        path,
        "incident",
        {
            "title": "Fresh",
            "status": "investigating",
            "started_at": "2026-03-20T10:00:00Z",
            "components": {"api": "degraded_performance"},
        },
        body="Opened by a test.\n",
        schema_modeline="../../.gitlab/schemas/incident.schema.json",
    )
    save(edit, "content/incidents/2026-03-20-new.md")
    text = path.read_text()
    assert text.startswith(
        "---\n# yaml-language-server: $schema=../../.gitlab/schemas/incident.schema.json\n"
    )
    result = load(root)
    assert result.errors == []
    assert result.repo.get("incidents", "2026-03-20-new").body == "Opened by a test.\n"


HOSTILE = ["a\x1b[31mred\x1b[0m", "nul\x00byte", "bell\x07", "cr\rlf\r\n", "nel\x85next", "lone \ud800 half",
           "end\ufffe", "multi\nline\x1b[1m\n  indented", "tab\tkept"]  # fmt: skip


@pytest.mark.parametrize("text", HOSTILE)
def test_text_a_file_cannot_hold_is_cleaned_so_the_file_always_parses(make_repo, text):
    root = make_repo()
    rel = "content/incidents/2026-03-14-api-errors.md"
    with editing(root / rel, "incident", rel) as edit:
        edit.data["title"] = "Title " + text.replace("\n", " ")
        edit.data["updates"][0]["body"] = text
    result = load(root)
    assert result.errors == [], [d.as_text() for d in result.errors]
    (incident,) = result.repo.incidents
    for bad in "\x1b\x00\x07\r\x85\ud800\ufffe":
        assert bad not in incident.title and bad not in incident.updates[0].body
    assert "\t" in incident.updates[0].body or "\t" not in text


def test_a_file_broken_by_hand_is_an_edit_error_not_a_traceback(make_repo):
    root = make_repo()
    rel = "content/incidents/2026-03-14-api-errors.md"
    (root / rel).write_text('---\ntitle: "never closed\n---\n')
    with pytest.raises(EditError, match="does not parse"):
        read_editable(root / rel, "incident")

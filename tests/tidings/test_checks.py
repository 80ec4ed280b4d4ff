"""Checks across files: file types of the layout, references to unreadable files, a future start."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from tests.conftest import MINIMAL_SITE
from tidings.content.checks import check_layout
from tidings.content.load import load

SCHEDULE = """\
name: Primary
timezone: UTC
rotations:
  - name: Weekly
    starts_at: 2026-03-02T09:00:00
    rotation_length: 1
    rotation_length_unit: weeks
    participants: [alice, bob]
"""

PEOPLE = """\
people:
  - {id: alice, name: Alice, email: alice@example.com, timezone: UTC}
  - {id: bob, name: Bob, email: bob@example.com, timezone: UTC}
"""


def _messages(diagnostics) -> list[str]:
    return [f"{d.path}: {d.message}" for d in diagnostics]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda root: (root / "content/incidents").write_text("x\n"),
            "content/incidents is a file, expected a folder",
        ),
        (
            lambda root: (root / "content/incidents").symlink_to(root / "nowhere"),
            f"content/incidents is a broken symlink (to '{os.sep}",
        ),
        (
            lambda root: (root / "content/people.yml").mkdir(),
            "content/people.yml is a folder, expected a file",
        ),
        (
            lambda root: (root / ".gitlab/notifications.yml").mkdir(),
            ".gitlab/notifications.yml is a folder, expected a file",
        ),
        (
            lambda root: (root / ".gitlab/integrations.yml").mkdir(),
            ".gitlab/integrations.yml is a folder, expected a file",
        ),
        (
            lambda root: (root / "content/oncall").write_text(""),
            "content/oncall is a file, expected a folder",
        ),
    ],
)
def test_a_file_where_a_folder_belongs_and_back_is_an_error(make_repo, make, message):
    root = make_repo({"content/maintenance/.keep": ""})
    (root / "content/incidents").rename(root / "incidents.moved")
    assert check_layout(root) == []
    make(root)
    found = check_layout(root)
    assert len(found) == 1, _messages(found)
    assert found[0].severity == "error" and found[0].code == "wrong-file-type"
    assert found[0].message.startswith(message)
    assert found[0].path == message.split(" ")[0]


def test_people_yml_as_a_folder_gives_no_unknown_person_errors(make_repo):
    # The folder itself is check_layout's error; each use of alice and bob being "unknown" would bury it.
    root = make_repo({"content/oncall/schedules/primary.yml": SCHEDULE, "content/people.yml/x": ""})
    assert [d for d in load(root).errors if d.code == "unknown-reference"] == []
    (root / "content/people.yml/x").unlink()
    (root / "content/people.yml").rmdir()
    (root / "content/people.yml").write_text(PEOPLE.replace("bob", "carol"))
    unknown = [d.message for d in load(root).errors if d.code == "unknown-reference"]
    assert unknown == ["unknown person 'bob'"]  # a readable people.yml still has its references checked


def test_a_policies_file_instead_of_the_folder_gives_no_unknown_policy_errors(make_repo):
    site = MINIMAL_SITE.replace("    group: core\n", "    group: core\n    policy: default\n")
    root = make_repo({".gitlab/status-page.yml": site, "content/oncall/policies": "oops\n"})
    assert [d for d in load(root).errors if d.code == "unknown-reference"] == []


def test_a_site_file_that_does_not_parse_gives_one_error_not_one_per_component(make_repo):
    broken = MINIMAL_SITE.replace("  - name: Web App\n", "\t- name: Web App\n")
    runbook = "---\ntitle: API down\nservices: [api, web]\n---\nSteps.\n"
    maintenance = (
        "---\ntitle: DB\nscheduled_for: 2026-03-28T22:00:00Z\nscheduled_until: 2026-03-29T00:00:00Z\n"
        "components: [api]\n---\n"
    )
    files = {"content/runbooks/api-down.md": runbook, "content/maintenance/db.md": maintenance}
    root = make_repo({**files, ".gitlab/status-page.yml": broken})
    errors = load(root).errors
    assert [(d.path, d.code) for d in errors] == [(".gitlab/status-page.yml", "yaml-syntax")], _messages(
        errors
    )

    (root / ".gitlab/status-page.yml").write_text(MINIMAL_SITE.replace("id: web", "id: webapp"))
    unknown = [d.message for d in load(root).errors if d.code == "unknown-reference"]
    assert unknown == ["unknown component 'web'"]  # a site file that parses: references are checked


FUTURE = """\
---
title: From the future
status: investigating
published: {published}
started_at: 2027-06-01T10:00:00Z
components: {{api: major_outage}}
updates:
  - {{at: 2027-06-01T10:05:00Z, status: investigating, body: Soon.}}
---
"""


def test_a_published_incident_starting_in_the_future_is_warned_about(make_repo, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())))
    root = make_repo(
        {
            "content/incidents/soon.md": FUTURE.format(published="true"),
            "content/incidents/draft.md": FUTURE.format(published="false"),
        }
    )
    result = load(root)
    future = [d for d in result.diagnostics if d.code == "future-start"]
    assert [(d.path, d.line, d.severity, d.field) for d in future] == [
        ("content/incidents/soon.md", 5, "warning", "started_at")
    ]
    assert "starts in the future (2027-06-01T10:00:00+00:00)" in future[0].message
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(datetime(2027, 6, 2, tzinfo=UTC).timestamp())))
    assert [d for d in load(root).diagnostics if d.code == "future-start"] == []

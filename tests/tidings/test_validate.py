"""`tidings validate`: every planted problem reported with file:line and a suggestion, nothing written."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import MINIMAL_INCIDENT as MINIMAL_INCIDENT_TEXT
from tests.conftest import MINIMAL_SITE as MINIMAL_SITE_TEXT
from tidings.cli.main import main
from tidings.content.load import load

SITE = """\
title: Planted Errors Inc.
timezone: Europe/Berln
base_url: https://status.example.com/
groups:
  - id: core
    name: Core
services:
  - name: API
    group: core
  - name: Web App
    id: web
    grup: core
  - name: Database
    id: web
incidents:
  publish: true
  limit: 10
"""

INCIDENT = """\
---
title: Broken API
severity: hihg
status: identified
published: true
started_at: 2026-03-14T09:00:00
components:
  apii: major_outage
  web: partial_outtage
runbooks: [api-erors]
updates:
  - at: 2026-03-14T09:20:00Z
    status: investigating
    body: Looking.
  - at: 2026-03-14T09:10:00Z
    status: identified
    body: Found it.
---
Body.
"""

RESOLVED_EARLY = """\
---
title: Time travel
status: resolved
published: true
started_at: 2026-04-01T10:00:00Z
resolved_at: 2026-04-01T09:00:00Z
updates:
  - at: 2026-04-01T10:00:00Z
    status: resolved
    body: Done.
    internal: true
---
"""

RUNBOOK = """\
---
title: API errors
services: [api]
---
# Steps
"""

PEOPLE = """\
people:
  - id: alice
    name: Alice
    timezone: Europe/Berlin
  - id: bob
    name: Bob
    timezone: America/New_Yrok
"""

SCHEDULE = """\
name: Primary
timezone: Europe/Berlin
rotations:
  - name: Weekly
    starts_at: 2026-01-05T09:00:00
    rotation_length: 1
    rotation_length_unit: weks
    participants: [alice, bobb]
"""

POLICY = """\
name: Default
rules:
  - after_minutes: 0
    schedule: primray
  - after_minutes: 15
    person: alice
    schedule: primary
"""

BAD_YAML = """\
---
title: [unclosed
status: resolved
---
"""

# (path, line, column, field, code, text the hint must contain)
EXPECTED = [
    (".gitlab/status-page.yml", 2, 11, "timezone", "unknown-timezone", "Europe/Berlin"),
    (".gitlab/status-page.yml", 12, 5, "services[1].grup", "unknown-key", "'group'"),
    (".gitlab/status-page.yml", 14, 9, "services[2].id", "duplicate-id", ""),
    ("content/incidents/broken-api.md", 3, 11, "severity", "bad-value", "'high'"),
    ("content/incidents/broken-api.md", 6, 13, "started_at", "timestamp-without-timezone", "Z"),
    ("content/incidents/broken-api.md", 8, 3, "components.apii", "unknown-reference", "'api'"),
    ("content/incidents/broken-api.md", 9, 8, "components.web", "bad-value", "'partial_outage'"),
    ("content/incidents/broken-api.md", 10, 12, "runbooks[0]", "unknown-reference", "'api-errors'"),
    ("content/incidents/broken-api.md", 15, 9, "updates[1].at", "updates-out-of-order", "oldest first"),
    ("content/incidents/time-travel.md", 6, 14, "resolved_at", "time-order", "started_at"),
    ("content/incidents/time-travel.md", 4, 12, "published", "no-public-update", "internal"),
    ("content/incidents/Bad Name.md", 1, 1, "", "bad-id", "bad-name.md"),
    ("content/incidents/Bad Name.md", 3, 7, "", "yaml-syntax", "line 2"),
    ("content/people.yml", 7, 15, "people[1].timezone", "unknown-timezone", "America/New_York"),
    (
        "content/oncall/schedules/primary.yml",
        7,
        27,
        "rotations[0].rotation_length_unit",
        "bad-value",
        "'weeks'",
    ),
    (
        "content/oncall/schedules/primary.yml",
        8,
        27,
        "rotations[0].participants[1]",
        "unknown-reference",
        "'bob'",
    ),
    ("content/oncall/policies/default.yml", 4, 15, "rules[0].schedule", "unknown-reference", "'primary'"),
    ("content/oncall/policies/default.yml", 5, 5, "rules[1]", "invalid", ""),
    ("content/incidnets", 1, 1, "", "unknown-file", "'incidents'"),
]


@pytest.fixture
def planted(make_repo):
    return make_repo(
        {
            ".gitlab/status-page.yml": SITE,
            "content/incidents/broken-api.md": INCIDENT,
            "content/incidents/time-travel.md": RESOLVED_EARLY,
            "content/incidents/Bad Name.md": BAD_YAML,
            "content/runbooks/api-errors.md": RUNBOOK,
            "content/people.yml": PEOPLE,
            "content/oncall/schedules/primary.yml": SCHEDULE,
            "content/oncall/policies/default.yml": POLICY,
            "content/incidnets/x.md": INCIDENT,
        },
        minimal=False,
    )


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_every_planted_error_is_reported_with_its_place_and_a_suggestion(planted):
    result = load(planted)
    found = {(d.path, d.line, d.column, d.field, d.code): d for d in result.diagnostics}
    for path, line, column, field, code, hint in EXPECTED:
        key = (path, line, column, field, code)
        assert key in found, f"missing {key}; got:\n" + "\n".join(d.as_text() for d in result.diagnostics)
        assert hint in found[key].hint, found[key].as_text()
    # Nothing beyond what was planted, bar warnings that follow from it.
    unexpected = [
        d.as_text()
        for d in result.errors
        if (d.path, d.line, d.column, d.field, d.code) not in {e[:5] for e in EXPECTED}
    ]
    assert unexpected == []


def test_validate_changes_no_file_and_exits_1(planted):
    before = _tree_digest(planted)
    run = CliRunner().invoke(main, ["validate", str(planted)])
    assert run.exit_code == 1, run.output
    assert _tree_digest(planted) == before
    assert "content/incidents/broken-api.md:3:11: error: severity: 'hihg' is not one of" in run.output
    assert "(did you mean 'high'?)" in run.output
    assert run.output.rstrip().endswith(f"{len(load(planted).errors)} errors, 1 warning")


def test_clean_repo_exits_0(make_repo):
    run = CliRunner().invoke(main, ["validate", str(make_repo())])
    assert run.exit_code == 0, run.output
    assert run.output == "0 errors, 0 warnings\n"


def test_usage_errors_exit_2(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(tmp_path)]).exit_code == 2  # not a status repo
    assert runner.invoke(main, ["validate", str(tmp_path / "missing")]).exit_code == 2
    assert runner.invoke(main, ["validate", "--format", "xml", str(tmp_path)]).exit_code == 2


def test_strict_turns_warnings_into_failure(make_repo):
    root = make_repo({"content/incidents/2026-03-14-api-errors.md": INCIDENT_WARNING_ONLY})
    runner = CliRunner()
    relaxed = runner.invoke(main, ["validate", str(root)])
    assert relaxed.exit_code == 0, relaxed.output
    assert "warning: status: status is resolved but resolved_at is not set" in relaxed.output
    assert runner.invoke(main, ["validate", "--strict", str(root)]).exit_code == 1


INCIDENT_WARNING_ONLY = """\
---
title: No end time
status: resolved
published: true
started_at: 2026-03-14T09:00:00+01:00
updates:
  - at: 2026-03-14T09:30:00+01:00
    status: resolved
    body: Fixed.
---
"""


def test_json_format(planted):
    run = CliRunner().invoke(main, ["validate", "--format", "json", str(planted)])
    doc = json.loads(run.output)
    assert doc["errors"] == len(load(planted).errors)
    first = doc["diagnostics"][0]
    assert set(first) == {"path", "line", "column", "field", "message", "severity", "code", "hint"}


def test_codequality_report_for_gitlab(planted, tmp_path):
    report = tmp_path / "gl-code-quality-report.json"
    run = CliRunner().invoke(main, ["validate", "--format", "codequality", "-o", str(report), str(planted)])
    assert run.exit_code == 1
    issues = json.loads(report.read_text())
    assert len(issues) == len(load(planted).diagnostics)
    for issue in issues:
        assert set(issue) == {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert isinstance(issue["location"]["lines"]["begin"], int)
        assert not issue["location"]["path"].startswith("/")
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    # A second run gives the same fingerprints, so GitLab can compare a merge request with its target.
    CliRunner().invoke(
        main, ["validate", "--format", "codequality", "-o", str(tmp_path / "b.json"), str(planted)]
    )
    assert json.loads((tmp_path / "b.json").read_text()) == issues


def test_the_installed_command_runs(planted):
    run = subprocess.run(
        [str(Path(sys.executable).parent / "tidings"), "validate", str(planted)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert "error" in run.stdout and run.stderr == ""


def test_small_slips_get_useful_words(make_repo, tmp_path):
    incident = MINIMAL_INCIDENT_TEXT.replace("api: major_outage", "api: degraded").replace(
        "started_at: 2026-03-14T09:00:00Z", "started_at: 2026-03-14"
    )
    root = make_repo(
        {
            "content/incidents/2026-03-14-api-errors.md": incident,
            "content/incidents/quote.md": '---\ntitle: "never closed\nseverity: high\n---\n',
            "content/incidents/notes.txt": "stray",
        }
    )
    out = CliRunner().invoke(main, ["validate", str(root)]).output
    assert "did you mean 'degraded_performance'?" in out
    # a hint that is itself a valid time, in the site's timezone (Europe/Berlin) on that date
    assert "'2026-03-14T00:00:00+01:00'" in out
    assert (
        "content/incidents/quote.md:2:8: error: front matter does not parse" in out
    )  # where the quote opened
    assert "not an incident file" in out


def test_an_unwritable_report_is_a_usage_error(make_repo, tmp_path):
    run = CliRunner().invoke(
        main, ["validate", str(make_repo()), "-o", str(tmp_path / "no" / "such" / "r.json")]
    )
    assert run.exit_code == 2 and "cannot write the report" in run.output


def test_a_site_without_base_url_is_warned_about(make_repo):
    root = make_repo(
        {".gitlab/status-page.yml": MINIMAL_SITE_TEXT.replace("base_url: https://status.example.com/\n", "")}
    )
    out = CliRunner().invoke(main, ["validate", str(root)]).output
    assert "warning: base_url: no base_url" in out


def test_odd_files_are_named_not_tracebacks(make_repo):
    root = make_repo()
    incidents = root / "content" / "incidents"
    (incidents / "loop.md").symlink_to("loop.md")
    (incidents / "bad.md").write_bytes(b"---\ntitle: a\n\xff\xfe bad\n---\n")
    (incidents / "folder.md").mkdir()
    run = CliRunner().invoke(main, ["validate", str(root)])
    assert run.exit_code == 1 and "Traceback" not in run.output
    assert "content/incidents/loop.md:1:1: error: cannot read" in run.output
    assert "content/incidents/bad.md:3:1: error: not UTF-8 text" in run.output
    assert "content/incidents/folder.md:1:1: warning: a folder, not an incident file" in run.output


@pytest.mark.parametrize(
    ("value", "words"),
    [("9999-12-31T23:59:59-12:00", "out of range"), ("0001-01-01T00:00:00+14:00", "out of range"),
     ("1700000000", "is not a timestamp")],
)  # fmt: skip
def test_timestamps_a_page_cannot_show_are_errors_not_crashes(make_repo, tmp_path, value, words):
    incident = MINIMAL_INCIDENT_TEXT.replace("started_at: 2026-03-14T09:00:00Z", f"started_at: {value}")
    root = make_repo({"content/incidents/2026-03-14-api-errors.md": incident})
    run = CliRunner().invoke(main, ["validate", str(root)])
    assert run.exit_code == 1 and "started_at" in run.output and words in run.output, run.output
    built = CliRunner().invoke(main, ["build", str(root), "--out", str(tmp_path / "public")])
    assert built.exit_code == 1 and "Traceback" not in built.output


def test_front_matter_that_is_never_closed_says_so(make_repo):
    root = make_repo({"content/incidents/open.md": "---\ntitle: x\nseverity: high\n"})
    run = CliRunner().invoke(main, ["validate", str(root)])
    assert "content/incidents/open.md:1:1: error: the front matter is not closed" in run.output


def test_an_integrations_policy_must_exist(make_repo):
    root = make_repo(
        {
            ".gitlab/integrations.yml": "integrations:\n  - id: uptime\n    kind: generic\n"
            "    token_env: TIDINGS_TOKEN_UPTIME\n    policy: defualt\n",
            "content/oncall/policies/default.yml": (
                "name: Default\nrules:\n  - after_minutes: 0\n    person: amara\n"
            ),
            "content/people.yml": "people:\n  - id: amara\n    name: Amara\n",
        }
    )
    run = CliRunner().invoke(main, ["validate", str(root)])
    assert "integrations[0].policy: unknown policy 'defualt' (did you mean 'default'?)" in run.output, (
        run.output
    )


ALERT_RECORD = """\
title: Disk full
status: triggered
integration: prometheus
source: alertmanager
fingerprint: disk-1
first_seen: 2026-03-14T10:00:00Z
last_seen: 2026-03-14T10:00:00Z
starts_at: 2026-03-14T10:00:00Z
incident: {incident}
"""


def test_alert_records_are_checked_without_being_kept_and_a_second_run_reads_only_changes(
    make_repo, tmp_path
):
    from tidings.content.cache import ParseCache

    root = make_repo(
        {
            "content/incidents/2026-03-14-disk.md": INCIDENT_WARNING_ONLY,
            "content/alerts/prometheus-000000000001.yml": ALERT_RECORD.format(incident="2026-03-14-disk"),
            "content/alerts/prometheus-000000000002.yml": ALERT_RECORD.format(incident="2026-03-14-dsk"),
            "content/alerts/prometheus-000000000003.yml": ALERT_RECORD.format(incident="x").replace(
                "status: triggered", "status: sleeping"
            ),
        }
    )
    kept = {d for d in load(root).diagnostics if d.path.startswith("content/alerts/")}
    assert sorted((d.path[-6:], d.line, d.field) for d in kept) == [
        ("02.yml", 9, "incident"),  # an incident that is not there, with a did-you-mean
        ("03.yml", 2, "status"),  # not a status
        ("03.yml", 9, "incident"),
    ]
    assert any("did you mean '2026-03-14-disk'" in d.hint for d in kept)

    folder = tmp_path / "cache"
    for expected_hits in (0, 3):
        cache = ParseCache(root, folder=folder)
        checked = load(root, cache, alerts="check")
        assert {d for d in checked.diagnostics if d.path.startswith("content/alerts/")} == kept
        assert checked.repo.alerts == ()  # checked, not kept
        assert cache.child("checked-alerts").hits == expected_hits  # the second run parsed none
        cache.save()
    # The incident it names goes away: the unchanged record is found wanting all the same.
    (root / "content/incidents/2026-03-14-disk.md").unlink()
    again = load(root, ParseCache(root, folder=folder), alerts="check")
    assert any(d.path.endswith("01.yml") and d.code == "unknown-reference" for d in again.diagnostics)


def test_a_time_without_an_offset_is_hinted_with_the_site_s_offset_on_that_date(make_repo):
    # MINIMAL_SITE is in Europe/Berlin: +01:00 in winter, +02:00 in summer; the hint follows the date.
    winter = MINIMAL_INCIDENT_TEXT.replace(
        "started_at: 2026-03-14T09:00:00Z", "started_at: 2026-03-14T09:00:00"
    )
    summer = MINIMAL_INCIDENT_TEXT.replace("started_at: 2026-03-14T09:00:00Z", "started_at: 2026-07-14 09:00")
    root = make_repo({"content/incidents/winter.md": winter, "content/incidents/summer.md": summer})
    run = CliRunner().invoke(main, ["validate", str(root)])
    assert run.exit_code == 1
    lines = {line.split(":", 1)[0]: line for line in run.stdout.splitlines() if "no timezone" in line}
    assert lines["content/incidents/winter.md"].endswith(
        "(if it is Europe/Berlin time (the site's), write '2026-03-14T09:00:00+01:00' (its offset on that "
        "date), or in UTC '2026-03-14T08:00:00Z') [timestamp-without-timezone]"
    )
    assert (
        "write '2026-07-14T09:00:00+02:00' (its offset on that date), or in UTC '2026-07-14T07:00:00Z'"
        in (lines["content/incidents/summer.md"])
    )

    # A site in UTC: UTC it is.
    utc = make_repo(
        {
            ".gitlab/status-page.yml": MINIMAL_SITE_TEXT.replace("Europe/Berlin", "UTC"),
            "content/incidents/w.md": winter,
        },
        name="utc",
    )
    out = CliRunner().invoke(main, ["validate", str(utc)]).stdout
    assert (
        "(write it in UTC as '2026-03-14T09:00:00Z', or with an offset such as '2026-03-14T09:00:00+01:00')"
        in out
    )

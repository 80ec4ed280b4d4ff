"""The incident file format (tidings.store.incident_file) and reading one file's text through the loader.

The writers (the runner, the incident commands, ack links, the importers) are run for real on a copy
of the demo committed in tmp_path, with a bare remote where the remote's copy of a file matters.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from ruamel.yaml.comments import CommentedSeq

from tidings.content.documents import read_front_matter
from tidings.content.load import load, parse_content
from tidings.content.model import Incident, Integration
from tidings.ops.incidents import Actor, acknowledge, open_incident, update_incident
from tidings.runner.apply import apply_event
from tidings.runner.remote import Clone
from tidings.runner.sources import generic
from tidings.store.edit import EditableFile, new_editable, read_editable, save
from tidings.store.incident_file import (
    INCIDENTS,
    add_update,
    block_text,
    new_incident_path,
    parse_stamp,
    reopen,
    schema_modeline,
    stamp,
    stamp_as_given,
    trimmed_text,
    update_entry,
    update_id,
    verbatim_text,
)

from ..conftest import PROJECT_ROOT

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
WHOLE_SECONDS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
AMARA = Actor(name="amara", person="amara")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The demo committed in a clone of a bare remote, pushed."""
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    root = tmp_path / "work"
    _git(tmp_path, "clone", "-q", str(remote), str(root))
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "Start")
    _git(root, "push", "-q", "origin", "HEAD:refs/heads/main")
    return root


def _uptime(root: Path) -> Integration:
    (found,) = [i for i in load(root).repo.integrations if i.id == "uptime-checks"]
    return found


def _fire(root: Path, payload: dict[str, str], now: datetime) -> str:
    """Apply a generic alert as the runner does; the incident's id."""
    repo = load(root).repo
    integration = _uptime(root)
    outcome = apply_event(root, repo, generic.parse(payload, integration), integration, now)
    assert outcome.changed and outcome.incident_id is not None
    return outcome.incident_id


def _loaded(root: Path, incident_id: str) -> Incident:
    result = load(root)
    assert [d.as_text() for d in result.errors] == []
    found = result.repo.get("incidents", incident_id)
    assert isinstance(found, Incident)
    return found


# --- stamps --------------------------------------------------------------------------------------


def test_stamps_are_utc_with_z_and_whole_seconds_unless_exact():
    berlin = timezone(timedelta(hours=1))
    when = datetime(2026, 11, 25, 10, 0, 5, 250000, tzinfo=berlin)
    assert stamp(when) == "2026-11-25T09:00:05Z"
    assert stamp(when, exact=True) == "2026-11-25T09:00:05.250000Z"  # an alert's start identifies a re-fire
    assert stamp(when.replace(microsecond=0), exact=True) == "2026-11-25T09:00:05Z"


def test_imported_times_keep_their_offset_and_precision():
    assert stamp_as_given(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert stamp_as_given(datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)) == "2026-01-02T03:04:05.120Z"
    minus5 = timezone(timedelta(hours=-5))
    assert (
        stamp_as_given(datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=minus5))
        == "2026-01-02T03:04:05.123456-05:00"
    )


def test_parse_stamp_reads_what_stamp_writes_and_refuses_the_rest():
    when = datetime(2026, 11, 25, 9, 0, 5, 250000, tzinfo=UTC)
    assert parse_stamp(stamp(when, exact=True)) == when
    assert parse_stamp("2026-11-25T10:00:05+01:00") == when.replace(microsecond=0)
    assert parse_stamp("2026-11-25T09:00:05") is None  # no timezone: never guessed
    assert parse_stamp("yesterday") is None
    assert parse_stamp(None) is None


# --- text and updates ----------------------------------------------------------------------------


def _written(tmp_path: Path, body: object) -> str:
    """The YAML line(s) a value is written as, in a real rendered file (with a key after it)."""
    edit = new_editable(tmp_path / "x.md", "incident", {"body": body, "internal": True})
    return edit.render().split("---\n")[1].removesuffix("internal: true\n")


def test_the_three_text_rules(tmp_path):
    # People's text: one line is trimmed; a block keeps its indentation, ends in one newline.
    assert trimmed_text("  Found it.  ") == "Found it."
    assert _written(tmp_path, trimmed_text("\n  code\nmore\n\n\n")) == "body: |2\n\n    code\n  more\n"
    # Imported text: a block ends in one newline; one line stays as it is.
    assert _written(tmp_path, block_text("a\nb\n\n")) == "body: |\n  a\n  b\n"
    assert block_text(" one line ") == " one line "
    # Alert text: as the sender wrote it, so a trailing newline stays (`|+`).
    assert _written(tmp_path, verbatim_text("Alert fired.\n- `x` Disk full\n")) == (
        "body: |+\n  Alert fired.\n  - `x` Disk full\n\n"
    )
    assert verbatim_text("one line") == "one line"


def test_an_update_entry_keeps_the_files_key_order():
    entry = update_entry(stamp(T0), "identified", "Found it.", internal=True, author="amara")
    assert list(entry.items()) == [
        ("at", "2026-11-25T09:00:00Z"),
        ("status", "identified"),
        ("body", "Found it."),
        ("internal", True),
        ("author", "amara"),
        ("id", entry["id"]),  # its identity, last: tidings log pairs updates by it
    ]
    assert len(entry["id"]) == 8 and entry["id"] == update_id(entry)  # a replay writes the same id


def test_updates_in_one_timeline_never_share_an_id():
    updates = CommentedSeq()
    for _ in range(3):  # the same words at the same second: three updates all the same
        add_update(updates, update_entry(stamp(T0), "identified", "Paged.", author="runner"))
    assert len({u["id"] for u in updates}) == 3
    assert list(update_entry(stamp(T0), "resolved", "Fixed.")) == ["at", "status", "body", "id"]


def test_add_update_inserts_in_time_order_after_equal_and_unreadable_times():
    updates = CommentedSeq(
        [
            update_entry(stamp(T0), "investigating", "first"),
            update_entry("not a time", "investigating", "by hand"),
            update_entry(stamp(T0 + timedelta(hours=2)), "identified", "later"),
        ]
    )
    add_update(updates, update_entry(stamp(T0 + timedelta(hours=1)), "identified", "between"))
    add_update(updates, update_entry(stamp(T0 + timedelta(hours=2)), "identified", "same time"))
    add_update(updates, update_entry(stamp(T0 - timedelta(hours=1)), "investigating", "earliest"))
    # An entry whose time cannot be read is a wall: nothing moves before it.
    assert [u["body"] for u in updates] == ["first", "by hand", "earliest", "between", "later", "same time"]


def test_reopen_puts_reopened_at_after_started_at_and_clears_the_ack(tmp_path):
    path = tmp_path / "content/incidents/x.md"
    data = {"title": "T", "status": "resolved", "started_at": stamp(T0), "acknowledged_at": stamp(T0)}
    edit = new_editable(path, "incident", {**data, "resolved_at": stamp(T0 + timedelta(hours=1))})
    reopen(edit.data, T0 + timedelta(hours=2, microseconds=7))
    assert list(edit.data) == ["title", "status", "started_at", "reopened_at"]
    assert edit.data["reopened_at"] == "2026-11-25T11:00:00Z"


# --- new files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["incident", "maintenance", "runbook", "schedule", "policy"])
def test_the_schema_modeline_points_at_the_schema_from_the_files_folder(kind):
    folder = {"incident": "content/incidents", "maintenance": "content/maintenance",
              "runbook": "content/runbooks", "schedule": "content/oncall/schedules",
              "policy": "content/oncall/policies"}[kind]  # fmt: skip
    assert (PROJECT_ROOT / folder / schema_modeline(kind)).resolve().is_file()
    assert (PROJECT_ROOT / folder / schema_modeline(kind)).resolve().name == f"{kind}.schema.json"
    assert schema_modeline("incident") == "../../.gitlab/schemas/incident.schema.json"


def test_every_writer_puts_the_same_modeline_on_a_new_incident(clone):
    opened = open_incident(clone, T0, AMARA, title="Checkout slow")
    fired = _fire(clone, {"title": "Disk full", "fingerprint": "d1", "start_time": stamp(T0)}, T0)
    files = (clone / opened.rel, clone / INCIDENTS / f"{fired}.md")
    lines = {path.read_text().splitlines()[1] for path in files}
    assert lines == {f"# yaml-language-server: $schema={schema_modeline('incident')}"}


def test_incidents_and_maintenance_share_one_id_space(tmp_path):
    (tmp_path / "content/maintenance").mkdir(parents=True)
    (tmp_path / "content/maintenance/2026-11-25-db-upgrade.md").write_text("---\n---\n")
    assert new_incident_path(tmp_path, "DB upgrade!", T0)[0] == "2026-11-25-db-upgrade-2"
    incident_id, path = new_incident_path(tmp_path, "Other", T0 - timedelta(minutes=1))
    assert (incident_id, path) == ("2026-11-25-other", tmp_path / INCIDENTS / "2026-11-25-other.md")


# --- the runner and the commands write alike -----------------------------------------------------


def test_the_runners_and_the_commands_updates_are_ordered_and_stamped_alike(clone):
    """One incident written by the runner, a person, an ack and the runner again, out of time order."""
    payload = {"title": "Homepage down", "service": "web", "fingerprint": "home-1", "start_time": stamp(T0)}
    incident_id = _fire(clone, payload, T0 + timedelta(seconds=1, microseconds=500))
    later = T0 + timedelta(hours=2, microseconds=999_999)
    update_incident(clone, incident_id, later, AMARA, body="  We know why.  ", do_commit=False)
    acknowledge(clone, incident_id, T0 + timedelta(minutes=30, microseconds=1), by="amara", do_commit=False)
    # A late delivery: the alert fired again, applied at a time before the person's update.
    again = {**payload, "start_time": stamp(T0 + timedelta(minutes=50), exact=True)}
    _fire(clone, again, T0 + timedelta(hours=1, microseconds=3))

    data = read_editable(clone / INCIDENTS / f"{incident_id}.md", "incident").data
    written = [(u["at"], u["author"], u.get("internal", False)) for u in data["updates"]]
    assert written == [
        ("2026-11-25T09:00:01Z", "runner", True),
        ("2026-11-25T09:30:00Z", "amara", True),
        ("2026-11-25T10:00:00Z", "runner", True),
        ("2026-11-25T11:00:00Z", "amara", False),
    ]
    assert all(WHOLE_SECONDS_Z.match(str(data[k])) for k in ("started_at", "acknowledged_at"))
    assert data["updates"][3]["body"] == "We know why."
    assert data["alerts"][0]["starts_at"] == "2026-11-25T09:50:00Z"
    found = _loaded(clone, incident_id)
    assert [u.at for u in found.updates] == sorted(u.at for u in found.updates)


# --- reading one file's text through the loader --------------------------------------------------


def test_the_remote_copy_of_an_acknowledged_incident_reads_through_the_loader(clone):
    opened = open_incident(clone, T0, AMARA, title="Checkout slow")
    rel = opened.rel
    acknowledge(clone, opened.incident_id, T0 + timedelta(minutes=5), by="amara")
    remote = Clone.open(clone)
    assert remote.pushing
    assert remote.remote_text(rel) is None  # the remote does not hold it until it is pushed
    _git(clone, "push", "-q", "origin", "HEAD:refs/heads/main")
    _git(clone, "fetch", "-q", "origin")
    parsed = parse_content(rel, remote.remote_text(rel) or "", clone)
    assert isinstance(parsed.domain, Incident)
    assert parsed.domain.acknowledged_at == T0 + timedelta(minutes=5)
    assert parsed.domain.id == opened.incident_id and parsed.domain.path == rel
    assert parsed.doc.diagnostics == []


def test_an_invalid_copy_gives_no_model_and_says_why():
    rel = f"{INCIDENTS}/2026-11-25-broken.md"
    parsed = parse_content(
        rel, "---\ntitle: Broken\nstatus: on fire\nstarted_at: 2026-11-25T09:00:00Z\n---\n"
    )
    assert parsed.domain is None
    assert [d.field for d in parsed.doc.diagnostics] == ["status"]
    assert parse_content(rel, "no front matter\n").domain is None
    with pytest.raises(ValueError, match="not in a content folder"):
        parse_content("content/people.yml", "people: []\n")


def test_reading_a_past_version_keeps_invalid_data_and_refuses_alias_bombs():
    data, body = read_front_matter("---\ntitle: T\nstatus: on fire\n---\nBody\n")
    assert (data, body) == ({"title": "T", "status": "on fire"}, "Body\n")
    assert read_front_matter("---\n# nothing\n---\nBody\n") == (None, "Body\n")
    assert read_front_matter("just text\n") == (None, "just text\n")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    assert read_front_matter(f"---\n{bomb}---\nBody\n") == (None, "Body\n")
    # ruamel reads `!!str` where the fast parser declines: the same values either way.
    assert read_front_matter("---\nid: !!str 12\n---\n")[0] == {"id": "12"}


def test_an_editable_file_is_what_the_loader_reads(tmp_path):
    """What the store writes, the loader reads back as the same incident (a round trip through both)."""
    rel = f"{INCIDENTS}/2026-11-25-x.md"
    edit: EditableFile = new_editable(
        tmp_path / rel,
        "incident",
        {
            "title": "X",
            "status": "investigating",
            "started_at": stamp(T0),
            "updates": CommentedSeq([update_entry(stamp(T0), "investigating", trimmed_text("a\nb"))]),
        },
        schema_modeline=schema_modeline("incident"),
    )
    save(edit, rel)
    parsed = parse_content(rel, (tmp_path / rel).read_text(), tmp_path)
    assert isinstance(parsed.domain, Incident)
    assert parsed.domain.updates[0].body == "a\nb\n"

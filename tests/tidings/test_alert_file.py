"""Alert records as the store writes them: the fast writer's text is what the round-trip writer would
write for ordinary records, and whatever the text, a record reads back as it was given."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from tidings.content.documents import fast_load
from tidings.content.load import parse_content
from tidings.content.model import AlertRecord
from tidings.store import alert_file
from tidings.store.alert_file import AlertIndex, alert_key, event_entry, new_record, rel_of
from tidings.store.edit import clean_text, new_editable
from tidings.store.incident_file import schema_modeline

AT = datetime(2026, 11, 22, 16, 19, 41, 692000, tzinfo=UTC)


def fields(**over: object) -> dict[str, object]:
    return {
        "title": "ApiDown on api-1:8080",
        "status": "triggered",
        "integration": "prometheus",
        "source": "alertmanager",
        "fingerprint": "747c372d08f14e3c",
        "group": "am-0123456789abcdef",
        "severity": "critical",
        "component": "api",
        "hosts": ["api-1:8080"],
        "monitoring_tool": "Prometheus",
        "links": {"source": "http://prometheus.example:9090/graph?g0.expr=up%7Bjob%3D%22api%22%7D+%3D%3D+0"},
        "description": "ApiDown: api at api-1:8080 is not answering",
        "first_seen": "2026-11-22T16:19:41.692Z",
        "last_seen": "2026-11-22T16:19:41.692Z",
        "starts_at": "2026-11-22T16:19:41.692Z",
        "fired": 1,
        "incident": "2026-11-22-apidown-on-api-1-8080",
        **over,
    }


def ruamel_text(data: dict[str, object]) -> str:
    tree = {k: v for k, v in data.items() if v not in (None, "", [], {})}
    tree["events"] = CommentedSeq(CommentedMap(e) for e in tree["events"])  # type: ignore[union-attr]
    if "\n" in str(tree.get("description", "")):  # how ruamel writes a block, as the fast writer does
        tree["description"] = LiteralScalarString(str(tree["description"]))
    edit = new_editable(
        Path("x.yml"), "alert", tree, markdown=False, schema_modeline=schema_modeline("alert")
    )
    return edit.render()


def test_the_fast_writer_writes_what_the_round_trip_writer_would():
    for over in ({}, {"description": "line one\nline two"}, {"hosts": [], "links": {}, "status": "ignored"}):
        data = {
            **fields(**over),
            "events": [dict(event_entry(AT, "fired")), dict(event_entry(AT, "linked", incident="x"))],
        }
        ordered = {k: data[k] for k in [*alert_file.AlertFile.model_fields] if k in data}
        fast = alert_file._emit({k: v for k, v in ordered.items() if v not in (None, "", [], {})})
        assert fast == ruamel_text(ordered), over


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    title=text.filter(lambda t: clean_text(t).strip()),
    description=text,
    host=text.filter(lambda t: t.strip()),
    link=st.text(alphabet=string.ascii_letters + string.digits + "/:.?=&%#-_", max_size=30),
)
def test_any_text_reads_back_as_given(tmp_path, title, description, host, link):
    root = tmp_path
    url = "https://example.com/" + link
    rel = new_record(
        root,
        "prometheus-0123456789ab",
        fields(title=title, description=description, hosts=[host], links={"dashboard": url}),
        [event_entry(AT, "fired", reason=title)],
    )
    parsed = parse_content(rel, (root / rel).read_text(encoding="utf-8"), root)
    record = parsed.domain
    assert isinstance(record, AlertRecord), [d.as_text() for d in parsed.doc.diagnostics]
    # The store drops what a file cannot hold, as every writer does (a NUL, a terminal colour code).
    assert record.title == clean_text(title) and record.description == clean_text(description)
    assert record.hosts == ([clean_text(host)] if clean_text(host) else []) and record.links == {
        "dashboard": url
    }
    assert record.events[0].reason == clean_text(title)


def test_ids_come_from_the_integration_and_the_fingerprint(tmp_path):
    key = alert_key("prometheus", "747c372d08f14e3c")
    assert key.startswith("prometheus-") and len(key) == len("prometheus-") + 12
    assert alert_key("prometheus", "747c372d08f14e3c") == key != alert_key("grafana", "747c372d08f14e3c")
    index = AlertIndex(tmp_path)
    assert index.newest("prometheus", "747c372d08f14e3c") is None
    assert index.next_id("prometheus", "747c372d08f14e3c") == key
    new_record(tmp_path, key, fields(), [event_entry(AT, "fired")])
    again = AlertIndex(tmp_path)
    assert again.newest("prometheus", "747c372d08f14e3c") == key
    assert again.next_id("prometheus", "747c372d08f14e3c") == f"{key}-2"
    assert rel_of(key) == f"content/alerts/{key}.yml"


def _edit_both_ways(tmp_path: Path, text: str, change) -> tuple[str, str]:
    """The record edited through open_record/save_record, and through the round trip alone."""
    from tidings.store.edit import read_editable, save

    path = tmp_path / rel_of("prometheus-0123456789ab")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    edit = alert_file.open_record(tmp_path, "prometheus-0123456789ab")
    change(edit)
    alert_file.save_record(edit)
    fast = path.read_text()
    path.write_text(text)
    slow = read_editable(path, "alert", markdown=False)
    change(slow)
    save(slow, rel_of("prometheus-0123456789ab"))
    return fast, path.read_text()


def _refire(edit) -> None:
    edit.data["fired"] = int(edit.data["fired"]) + 1
    edit.data["status"] = "triggered"
    alert_file.add_event(edit, event_entry(AT, "reopened"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=text.filter(lambda t: clean_text(t).strip()), reason=text)
def test_an_edit_of_a_record_writes_what_the_round_trip_would(tmp_path, title, reason):
    """The runner's edits of records it wrote go through the fast writer: whatever the text, the
    record reads back as the round trip's edit of it does."""
    rel = new_record(tmp_path, "prometheus-0123456789ab", fields(title=title), [event_entry(AT, "fired")])
    text = (tmp_path / rel).read_text()

    def ignore(edit) -> None:
        edit.data["status"] = "ignored"
        alert_file.add_event(edit, event_entry(AT, "ignored", by="amara", reason=reason))

    for change in (_refire, ignore):
        fast, slow = _edit_both_ways(tmp_path, text, change)
        # The two writers may quote odd text differently (the fast one quotes `)` or `yes`); the
        # bytes of ordinary records are held equal below.
        assert fast_load(fast) == fast_load(slow)


@pytest.mark.parametrize(
    ("title", "reason"),
    [
        ("ApiDown on api-1:8080", "The Sydney probe flaps at night; ticket SYN-212 with the vendor."),
        ("CPU usage > 90%", "False alarm: the load test of 14:00."),
        ("HTTPS check failed: app.example.com from ap-southeast-2", ""),
    ],
)
def test_an_edit_of_an_ordinary_record_is_byte_for_byte_the_round_trips(tmp_path, title, reason):
    rel = new_record(tmp_path, "prometheus-0123456789ab", fields(title=title), [event_entry(AT, "fired")])
    text = (tmp_path / rel).read_text()

    def ignore(edit) -> None:
        edit.data["status"] = "ignored"
        alert_file.add_event(edit, event_entry(AT, "ignored", by="amara", reason=reason))

    for change in (_refire, ignore):
        fast, slow = _edit_both_ways(tmp_path, text, change)
        assert fast == slow


def test_a_record_a_person_edited_keeps_every_byte_they_wrote(tmp_path):
    rel = new_record(tmp_path, "prometheus-0123456789ab", fields(), [event_entry(AT, "fired")])
    text = (
        (tmp_path / rel)
        .read_text()
        .replace("severity: critical\n", "severity: critical  # paged at night: keep critical\n")
    )
    (tmp_path / rel).write_text(text)
    edit = alert_file.open_record(tmp_path, "prometheus-0123456789ab")
    assert not isinstance(edit, alert_file._Canonical)  # not the fast writer's text any more
    fast, slow = _edit_both_ways(tmp_path, text, _refire)
    assert fast == slow and "# paged at night: keep critical" in fast

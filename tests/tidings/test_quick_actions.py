"""Quick actions: what counts as one, what is stored instead, and how each changes an incident."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tidings.content.model import Person
from tidings.ops.quick_actions import QuickActionError, apply, describe, parse, resolve
from tidings.store.edit import read_editable

PEOPLE = [
    Person(id="amara", name="Amara Okafor", chat={"slack": "U04AMARA01"}),
    Person(id="jonas", name="Jonas Weber"),
]
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def test_action_lines_are_taken_out_of_the_body() -> None:
    parsed = parse("We rolled back.\n  /severity LOW\n/status monitoring\nWatching it.\n")
    assert [(a.name, a.args, a.line) for a in parsed.actions] == [
        ("severity", ("low",), 2),
        ("status", ("monitoring",), 3),
    ]
    assert parsed.body == "We rolled back.\nWatching it."
    assert describe(parsed.actions) == ["severity low", "status monitoring"]


@pytest.mark.parametrize(
    "text",
    [
        "/var/log is full on db-3",  # a path, not `/word` and a space
        "Run `/severity high` later",  # not at the start of the line
        "```\n/etc is mounted read-only\n```",  # in a code fence
        "~~~\n/tmp\n~~~",
        "http://example.com/status",
    ],
)
def test_what_is_not_an_action(text: str) -> None:
    parsed = parse(text)
    assert parsed.actions == ()
    assert parsed.body == text


@pytest.mark.parametrize(
    ("text", "actions"),
    [
        # A ~~~ line inside a ``` block is text: only ``` closes it (CommonMark).
        ("```\nq\n~~~\n/severity critical\n```", []),
        ("~~~\n```\n/severity critical\n~~~\n/severity low", ["/severity low"]),
        # A closing fence is at least as long as the opening one, and nothing follows it.
        ("````\n```\n/severity critical\n````\n/label ~db", ["/label ~db"]),
        ("```\n``` not a close\n/severity critical\n`````\n/label ~db", ["/label ~db"]),
        # Backticks after ``` make it inline code, not a fence.
        ("```a`b\n/severity low", ["/severity low"]),
    ],
)
def test_a_fence_closes_only_with_its_own_character(text: str, actions: list[str]) -> None:
    assert [a.text for a in parse(text).actions] == actions


def test_link_urls_with_characters_chat_links_give_meaning_are_errors() -> None:
    with pytest.raises(QuickActionError) as caught:
        parse("/link https://x|Urgent:<!channel>\n/zoom https://zoom.us/j/<1>")
    assert [str(p) for p in caught.value.problems] == [
        "line 1: /link: 'https://x|Urgent:<!channel>' has a '|', which a URL cannot hold (write %7C)",
        "line 2: /zoom: 'https://zoom.us/j/<1>' has a '<', which a URL cannot hold (write %3C)",
    ]
    assert parse("/zoom https://zoom.us/j/1?pwd=a&x=%7C").actions[0].args == (
        "https://zoom.us/j/1?pwd=a&x=%7C",
    )


def test_only_actions_leave_no_body() -> None:
    assert parse("/publish\n\n/resolve\n").body == ""


def test_arguments_quotes_and_slack_escapes() -> None:
    parsed = parse(
        '/label ~db ~"customer facing" network\n'
        "/link <https://gitlab.example.com/ops/-/issues/1|#1>\n"
        "/zoom <https://zoom.us/j/1>\n"
        "/assign <@U04AMARA01|amara> @jonas\n"
    )
    assert [a.args for a in parsed.actions] == [
        ("db", "customer facing", "network"),
        ("https://gitlab.example.com/ops/-/issues/1",),
        ("https://zoom.us/j/1",),
        ("slack:U04AMARA01", "jonas"),
    ]
    assert resolve(parsed.actions, PEOPLE)[3].args == ("amara", "jonas")


def test_unknown_people_and_slack_ids() -> None:
    actions = parse("/assign @amaar\n/assign <@U999>").actions
    with pytest.raises(QuickActionError) as caught:
        resolve(actions, PEOPLE)
    assert [str(p) for p in caught.value.problems] == [
        "line 1: /assign: unknown person 'amaar' (did you mean 'amara'?)",
        "line 2: /assign: no person in people.yml has Slack id U999",
    ]


def test_an_unknown_action_is_an_error_with_a_hint() -> None:
    with pytest.raises(
        QuickActionError, match=r"line 1: unknown quick action '/lable' \(did you mean '/label'\?\)"
    ):
        parse("/lable ~db")


def test_apply_changes_the_tree_and_says_what_changed(tmp_path: Path) -> None:
    path = tmp_path / "i.md"
    path.write_text(
        "---\ntitle: T\nseverity: low  # why: few users\nstatus: investigating\n"
        "started_at: 2026-11-24T09:00:00Z\nlabels: [db]\n---\nBody\n"
    )
    edit = read_editable(path, "incident")
    actions = resolve(
        parse("/severity high\n/label ~db ~net\n/assign @jonas\n/zoom https://z.example/1\n/resolve").actions,
        PEOPLE,
    )
    applied = apply(actions, edit, NOW)
    assert applied.changes == [
        "severity low -> high",
        "label net",
        "assigned jonas",
        "link added: Call (https://z.example/1)",
        "resolved",
    ]
    assert applied.status == "resolved"
    text = edit.render()
    assert re.search(r"^severity: high +# why: few users$", text, re.MULTILINE)
    assert "labels: [db, net]\n" in text and "assignees: [jonas]\n" in text
    assert "resolved_at: 2026-11-24T09:30:00Z\n" in text
    # Applying the same again changes nothing.
    assert apply(actions, edit, NOW).changes == []


def test_the_readme_lists_every_action_and_every_command() -> None:
    from click import Group

    from tidings.cli.incident import incident
    from tidings.ops.quick_actions import SPECS

    from ..conftest import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = re.findall(r"^\| `/([a-z-]+)", readme, re.MULTILINE)  # `/ack-alerts` has a hyphen
    assert table == list(SPECS)
    assert isinstance(incident, Group)
    listed = set()
    for line in re.findall(r"^    tidings incident (\S+)", readme, re.MULTILINE):
        listed |= set(line.split("|"))
    assert listed == set(incident.commands)

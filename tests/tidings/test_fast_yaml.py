"""The fast (libyaml) parser reads every value exactly as the round-trip parser does, or declines."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import PROJECT_ROOT
from tidings.content.documents import (
    fast_load,
    make_yaml,
    plain,
    read_markdown,
    read_yaml,
    split_front_matter,
)

TRICKY = ["yes", "no", "on", "off", "true", "True", "FALSE", "y", "012", "0o17", "0x1F", "1_000", "1:20",
          "+12", "-3", ".5", "1.", "1e3", "1.5e-3", ".inf", "-.inf", ".nan", "~", "null", "", "0b101",
          "2026-01-01", "2026-01-01T10:00:00Z", "1.0.0", "00", "-0", "+0.5", "1__0", "0x_1", "08", "09.5",
          "1e", "inf", "NaN", ".NaN", "_1", "-_1", "+.5e3", "-0o7", "0o8", "1_e3", "1.5_", "!!str 12",
          "'12'", '"true"', "[1, 2]", "{a: 1}", "&a 1", ">\n  folded", "!", "! x", "<<: {a: 1}",
          "[a, a]", "{a: 1, a: 2}", "+_", "-_"]  # fmt: skip


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def agrees(text: str) -> None:
    try:
        fast = fast_load(text)
    except Exception:
        return  # declined: the round-trip parser reads it instead
    try:
        slow = plain(make_yaml().load(text))
    except (ValueError, IndexError):
        return  # ruamel crashes on a few scalars such as `-_` and `+_`; the fast reading is a string
    assert same(fast, slow), (text, fast, slow)


def test_tricky_scalars_resolve_alike():
    for value in TRICKY:
        agrees(f"k: {value}\n")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789+-._eExobEINFnaftrulsyo~ :", max_size=8))
def test_random_scalars_resolve_alike(value):
    agrees(f"k: {value}\n")


def test_every_demo_file_reads_the_same_both_ways():
    files = [
        *PROJECT_ROOT.joinpath("content").rglob("*.yml"),
        *PROJECT_ROOT.joinpath(".gitlab").glob("*.yml"),
    ]
    for path in [*files, *PROJECT_ROOT.joinpath("content").rglob("*.md")]:
        text = path.read_text()
        if path.suffix == ".md":
            parts = split_front_matter(text)
            if parts is None:
                continue
            text = parts[0]
        assert same(fast_load(text), plain(make_yaml().load(text))), path


def test_duplicate_keys_are_declined_and_worded_by_the_round_trip_parser(tmp_path: Path):
    path = tmp_path / "x.yml"
    path.write_text("a: 1\nb: 2\na: 3\n")
    doc = read_yaml(path, "x.yml")
    assert doc.data is None and "duplicate key" in doc.diagnostics[0].message
    assert doc.diagnostics[0].line == 3


def test_positions_come_from_the_round_trip_parser_on_demand(tmp_path: Path):
    path = tmp_path / "i.md"
    path.write_text("---\ntitle: x\nupdates:\n  - at: 2026-01-01T00:00:00Z\n    status: nope\n---\nBody\n")
    doc = read_markdown(path, "i.md")
    assert doc.data == {"title": "x", "updates": [{"at": "2026-01-01T00:00:00Z", "status": "nope"}]}
    assert doc.position(("updates", 0, "status")) == (5, 13)
    assert doc.body == "Body\n"


def test_an_alias_bomb_is_refused_at_once_on_both_paths(tmp_path: Path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]  # 9^10 values
    # A `!` tag makes the fast parser decline while composing: the second file goes through ruamel.
    for name, text in (("fast.yml", "\n".join(lines)), ("ruamel.yml", "t: !\n" + "\n".join(lines))):
        path = tmp_path / name
        path.write_text(text + "\n")
        doc = read_yaml(path, name)
        assert doc.data is None and "expands to more than" in doc.diagnostics[0].message
    loop = tmp_path / "loop.yml"
    loop.write_text("a: &a [*a]\n")
    assert read_yaml(loop, "loop.yml").data is None

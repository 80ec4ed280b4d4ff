"""A broken file never crashes the loader: hypothesis mutates valid files, only diagnostics come out."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PROJECT_ROOT
from tidings.content.diagnostics import Diagnostic
from tidings.content.load import load

# The demo's own files are the valid starting points: every kind of file, real content.
SOURCES = sorted(
    str(p.relative_to(PROJECT_ROOT))
    for p in [
        *(
            PROJECT_ROOT / ".gitlab" / name
            for name in ("status-page.yml", "integrations.yml", "notifications.yml")
        ),
        *(PROJECT_ROOT / "content").rglob("*"),
    ]
    if p.is_file() and p.name != "README.md"
)

NASTY = st.sampled_from(
    [":", "- ", "[", "{", "*", "&a", "!!python/object:os.system", "%TAG", "---", "...", "\t", "'", '"', "|",
     ">", "? ", "@", "`", "#", "~", "null", "0x1F", "1e999", "9" * 40, "2026-13-45T25:61:00", "yes",
     "\\u0000", "é", "🚨", "\u202e", "key: [unclosed", "  nested: {a: 1", "<<: *missing"]
)  # fmt: skip
VALUES = st.sampled_from(
    ["[]", "{}", "null", "~", "123456789012345678901234567890", "-1", "3.5", "true", '""',
     "2026-01-01T00:00:00", "2026-01-01", "[a, b]", "{a: 1}", "!!binary aGVsbG8=", "&anchor x", "*anchor"]
)  # fmt: skip


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file, new content): one of the demo's files, changed in one of many ways."""
    rel = draw(st.sampled_from(SOURCES))
    lines = (PROJECT_ROOT / rel).read_text(encoding="utf-8").splitlines(keepends=True)
    n = draw(st.integers(0, len(lines) - 1))
    how = draw(
        st.sampled_from(
            ["delete", "duplicate", "swap", "insert", "replace-value", "indent", "truncate", "bytes"]
        )
    )
    if how == "delete":
        del lines[n]
    elif how == "duplicate":
        lines.insert(n, lines[n])
    elif how == "swap":
        m = draw(st.integers(0, len(lines) - 1))
        lines[n], lines[m] = lines[m], lines[n]
    elif how == "insert":
        text = draw(st.one_of(NASTY, st.text(min_size=1, max_size=30).filter(lambda t: "\x00" not in t)))
        lines.insert(n, text + draw(st.sampled_from(["\n", "", ": x\n"])))
    elif how == "replace-value" and ":" in lines[n]:
        key = lines[n].split(":", 1)[0]
        lines[n] = f"{key}: {draw(VALUES)}\n"
    elif how == "indent":
        lines[n] = draw(st.sampled_from(["", " ", "   ", "\t"])) + lines[n].lstrip()
    elif how == "truncate":
        lines = lines[:n]
    text = "".join(lines).encode("utf-8")
    if how == "bytes":
        cut = draw(st.integers(0, len(text)))
        text = (
            text[:cut] + draw(st.sampled_from([b"\xff\xfe", b"\xc3", b"\x00", b"\xed\xa0\x80"])) + text[cut:]
        )
    return rel, text


def _copy_demo(target: Path) -> None:
    shutil.copytree(PROJECT_ROOT / ".gitlab", target / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", target / "content")


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()
    }


@settings(
    max_examples=int(os.environ.get("TIDINGS_FUZZ_EXAMPLES", "100")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(changes=st.lists(mutation(), min_size=1, max_size=3))
def test_mutated_files_give_diagnostics_never_a_traceback(changes: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _copy_demo(root)
        for rel, data in changes:
            (root / rel).write_bytes(data)
        before = _digest(root)
        first = load(root)
        second = load(root)
        assert _digest(root) == before  # loading never writes
        assert first.diagnostics == second.diagnostics  # and is deterministic
        for d in first.diagnostics:
            assert isinstance(d, Diagnostic)
            assert not Path(d.path).is_absolute() and ".." not in Path(d.path).parts
            assert d.line >= 1 and d.column >= 1
            assert d.severity in ("error", "warning") and d.message


def test_every_demo_file_is_a_mutation_source() -> None:
    kinds = {Path(s).parts[1] for s in SOURCES}
    assert kinds >= {"status-page.yml", "integrations.yml", "notifications.yml", "incidents", "maintenance",
                     "runbooks", "people.yml", "oncall", "alerts", "templates"}  # fmt: skip

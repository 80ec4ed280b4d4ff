"""A broken import file never crashes `tidings import` and never half-writes the repo.

Hypothesis mutates a slice of GitHub's real Statuspage history (../shared/data): keys dropped,
values of the wrong type, nonsense dates and statuses, HTML and control characters, a cut or
corrupted file. Whatever comes in, the command exits 0, 1 or 2 with words, never a traceback; when
it refuses (non-zero), the repo is byte for byte as it was; when it takes the file, the repo
validates. `bench/fuzz.py` runs it long.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import MINIMAL_SITE, SHARED
from tests.tidings.test_import import ALIAS_ARGS
from tidings.cli.main import main
from tidings.content.load import load

HISTORY = json.loads((SHARED / "data" / "githubstatus-history.json").read_text(encoding="utf-8"))
BASE = {
    "source": HISTORY["source"],
    "components": HISTORY["components"],
    "incidents": HISTORY["incidents"][:6],
}
ODD = st.sampled_from(
    [None, "", 0, -1, 1e308, True, [], {}, "2026-13-45T25:61:00Z", "yesterday", "<script>x</script>",
     "\x00\x1b[31m", "🚨" * 50, "a" * 5000, "investigating", "major_outage", {"name": "x"}, ["a", 1]]
)  # fmt: skip


def _paths(node: Any, at: tuple = ()) -> list[tuple]:
    """Every path to a value in the document."""
    found = [at]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*at, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*at, i))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        how = draw(st.sampled_from(["drop", "odd", "text", "duplicate"]))
        if how == "drop":
            del parent[path[-1]]
        elif how == "odd":
            parent[path[-1]] = draw(ODD)
        elif how == "text":
            parent[path[-1]] = draw(st.text(max_size=40))
        elif isinstance(parent, list):
            parent.append(parent[path[-1]])
        if not data or not isinstance(data, dict):
            break
    text = json.dumps(data, ensure_ascii=False).encode()
    if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:  # now and then, a cut or corrupted file
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from([b"", b"\xff\xfe", b"\xc3", b"}}"]))
    return text


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@settings(
    max_examples=int(os.environ.get("TIDINGS_FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(source=mutated())
def test_a_mutated_statuspage_export_is_taken_or_refused_whole(source: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        (root / ".gitlab").mkdir(parents=True)
        (root / ".gitlab" / "status-page.yml").write_text(MINIMAL_SITE)
        file = Path(tmp) / "export.json"
        file.write_bytes(source)
        before = _digest(root)
        run = CliRunner().invoke(main, ["import", "statuspage", str(file), str(root), *ALIAS_ARGS])
        assert run.exit_code in (0, 1, 2), run.output
        assert run.exception is None or isinstance(run.exception, SystemExit), repr(run.exception)
        assert "Traceback" not in run.output
        if run.exit_code != 0:
            assert run.output.strip()  # said why
            assert _digest(root) == before  # and wrote nothing
        else:
            assert [d.as_text() for d in load(root).errors] == []
        shutil.rmtree(root)


def _with(change) -> bytes:
    data = json.loads(json.dumps(BASE))
    change(data)
    return json.dumps(data).encode()


# Found by the fuzzing above, kept: each was a traceback (TypeError: unhashable type: 'list').
REGRESSIONS = [
    _with(lambda d: d["incidents"][0]["updates"][2].__setitem__("status", [])),
    _with(lambda d: d["incidents"][1].__setitem__("impact", {"name": "x"})),
    _with(lambda d: d["incidents"][4].__setitem__("kind", ["a", 1])),
]


def test_regressions_found_by_fuzzing() -> None:
    for source in REGRESSIONS:
        test_a_mutated_statuspage_export_is_taken_or_refused_whole.hypothesis.inner_test(source)  # type: ignore[attr-defined]

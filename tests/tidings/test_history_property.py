"""`tidings log` describes every commit exactly, whatever the timing.

Random sequences of commands (updates, acknowledgements, status changes, publishing) and hand edits
(an update's words changed, one made internal or public, one deleted, one written by hand without
an id, two swapped) land on one incident at random, often equal, times; each step is one commit.
The words `tidings log` gives each commit must be the words the step itself says it did.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml.comments import CommentedMap

from tidings.ops.history import history
from tidings.ops.incidents import Actor, acknowledge, set_published, update_incident
from tidings.store.edit import EditError, read_editable, save

from ..conftest import PROJECT_ROOT

LAG = "2026-11-24-postgres-replica-lag"
REL = f"content/incidents/{LAG}.md"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
AMARA = Actor(name="amara", author=("Amara Okafor", "amara.okafor@example.com"), person="amara")
STATUSES = ("investigating", "identified", "monitoring")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


def _repo(base: Path) -> Path:
    root = base / "status"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.name", "Amara Okafor")
    _git(root, "config", "user.email", "amara.okafor@example.com")
    _git(root, "config", "commit.gpgsign", "false")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "Start")
    return root


def _by_hand(root: Path, change, message: str) -> list[str] | None:
    """Edit the incident file as a person would, commit it; the words it should be logged with."""
    edit = read_editable(root / REL, "incident")
    updates = edit.data["updates"]
    expected = change(updates)
    if expected is None:
        return None
    try:
        save(edit, REL)
    except EditError:  # an edit validate would refuse (the last public update made internal): not made
        return None
    _git(root, "commit", "-qam", message)
    return expected


def _status(u) -> str:
    return str(u.get("status"))


def step_strategy():
    when = st.integers(min_value=0, max_value=3)  # seconds after T0: equal times are common
    return st.one_of(
        st.tuples(st.just("update"), when, st.booleans(), st.sampled_from([None, *STATUSES])),
        st.tuples(st.just("ack"), when),
        st.tuples(st.just("publish"), when),
        st.tuples(st.just("edit"), st.integers(0, 20)),
        st.tuples(st.just("toggle"), st.integers(0, 20)),
        st.tuples(st.just("delete"), st.integers(0, 20)),
        st.tuples(st.just("hand-add"), when, st.booleans()),
        st.tuples(st.just("swap"), st.integers(0, 20)),
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step_strategy(), min_size=3, max_size=7))
def test_the_log_says_what_each_commit_did(tmp_path, steps):
    root = _repo(tmp_path)
    expected: list[list[str]] = []
    state = {"status": "investigating", "acked": False, "published": False}
    for n, step in enumerate(steps):
        kind = step[0]
        if kind == "update":
            _, sec, internal, status = step
            result = update_incident(
                root, LAG, T0 + timedelta(seconds=sec), AMARA, f"Step {n}.", status=status, internal=internal
            )
            new_status = status or state["status"]
            words = [f"{'internal update' if internal else 'update'} added ({new_status})"]
            if status and status != state["status"]:
                words.insert(0, f"status {state['status']} -> {status}")
                state["status"] = status
            assert result.commit
            expected.append(words)
        elif kind == "ack":
            result = acknowledge(root, LAG, T0 + timedelta(seconds=step[1]), by="amara", author=AMARA.author)
            if result.changed:
                state["acked"] = True
                expected.append([f"internal update added ({state['status']})", "acknowledged"])
        elif kind == "publish":
            if state["published"]:
                continue
            result = set_published(root, LAG, T0 + timedelta(seconds=step[1]), AMARA, True, f"Public {n}.")
            state["published"] = True
            expected.append(["published", f"update added ({state['status']})"])
        elif kind in ("edit", "toggle", "delete", "swap"):

            def change(updates, kind=kind, pick=step[1]):
                if not updates:
                    return None
                u = updates[pick % len(updates)]
                if kind == "edit":
                    u["body"] = f"{u['body']} (corrected)"
                    return [f"{'internal update' if u.get('internal') else 'update'} edited ({_status(u)})"]
                if kind == "toggle":
                    if u.get("internal"):
                        del u["internal"]
                        return [f"update made public ({_status(u)})"]
                    u["internal"] = True
                    return [f"update made internal ({_status(u)})"]
                if kind == "delete":
                    if len(updates) == 1:
                        return None  # an incident keeps one update
                    updates.remove(u)
                    return [f"update removed ({_status(u)})"]
                i = pick % len(updates)
                j = (i + 1) % len(updates)
                # Only updates of the same second can trade places: the timeline stays in time order.
                if i == j or updates[i] == updates[j] or updates[i].get("at") != updates[j].get("at"):
                    return None
                updates[i], updates[j] = updates[j], updates[i]
                return ["no change to the incident's fields (formatting or comments)"]

            words = _by_hand(root, change, f"By hand: {kind}")
            if words is not None:
                expected.append(words)
        elif kind == "hand-add":
            _, sec, internal = step

            def add(updates, sec=sec, internal=internal, n=n):
                entry = CommentedMap(
                    [("at", (T0 + timedelta(seconds=sec)).strftime("%Y-%m-%dT%H:%M:%SZ")),
                     ("status", state["status"]), ("body", f"By hand {n}.")]
                )  # fmt: skip
                if internal:
                    entry["internal"] = True
                # Written where it belongs in time, as a person keeps a timeline in order.
                at = entry["at"]
                index = len(updates)
                while (
                    index > 0 and str(updates[index - 1]["at"]) > at and "Z" in str(updates[index - 1]["at"])
                ):
                    index -= 1
                updates.insert(index, entry)
                return [f"{'internal update' if internal else 'update'} added ({state['status']})"]

            words = _by_hand(root, add, "By hand: added")
            if words is not None:
                expected.append(words)
    logged = [c.changes for c in history(root, LAG) if c.subject != "Start"]
    # The demo's own commit opened it; the rest are ours, oldest first.
    ours = [list(words) for words in logged[-len(expected) :]] if expected else []
    assert [sorted(w) for w in ours] == [sorted(w) for w in expected]

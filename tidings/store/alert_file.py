"""The one writer of alert records (`content/alerts/<id>.yml`): their ids, new files, status and events.

An alert's id comes from what identifies it: its integration and a hash of its fingerprint
(`prometheus-3f9a0c1d2e4b`), so two runners receiving the same alert write the same file (the second
push then finds it there and changes nothing), and the runner finds a record without reading the
rest. An alert that fires again long after it was resolved is a new record: `-2`, `-3`, ...

Records are edited through tidings.store.edit like every content file (round trip, validated,
atomic); new ones, which a storm writes by the thousand, are emitted straight from validated data.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from tidings.content.documents import fast_load, plain
from tidings.content.layout import ALERTS_DIR
from tidings.content.model import AlertFile
from tidings.store.edit import (
    EditableFile,
    EditError,
    clean_text,
    new_editable,
    read_editable,
    save,
    write_atomic,
)
from tidings.store.incident_file import schema_modeline, stamp


def alert_key(integration: str, fingerprint: str) -> str:
    """The id of the first record of an alert: `<integration>-<12 hex of its fingerprint's hash>`."""
    return f"{integration}-{hashlib.sha256(fingerprint.encode()).hexdigest()[:12]}"


def rel_of(alert_id: str) -> str:
    return f"{ALERTS_DIR}/{alert_id}.yml"


class AlertIndex:
    """The ids of the alert records in a repo, read once (a directory listing, not the files)."""

    def __init__(self, root: Path):
        self.root = root
        folder = root / ALERTS_DIR
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            names = []
        self.ids = {name[: -len(".yml")] for name in names if name.endswith(".yml")}

    def records(self, integration: str, fingerprint: str) -> list[str]:
        """The ids of this alert's records, oldest first: the key, then `-2`, `-3`, ..."""
        key = alert_key(integration, fingerprint)
        found = []
        n = 1
        while (candidate := key if n == 1 else f"{key}-{n}") in self.ids:
            found.append(candidate)
            n += 1
        return found

    def newest(self, integration: str, fingerprint: str) -> str | None:
        found = self.records(integration, fingerprint)
        return found[-1] if found else None

    def next_id(self, integration: str, fingerprint: str) -> str:
        """The id a new record of this alert takes."""
        key = alert_key(integration, fingerprint)
        count = len(self.records(integration, fingerprint))
        return key if count == 0 else f"{key}-{count + 1}"

    def add(self, alert_id: str) -> None:
        self.ids.add(alert_id)


def event_entry(
    at: datetime,
    event: str,
    by: str | None = None,
    reason: str | None = None,
    incident: str | None = None,
) -> CommentedMap:
    """One entry of an alert's `events:` list, keys in a fixed order."""
    entry = CommentedMap()
    entry["at"] = stamp(at)
    entry["event"] = event
    if by:
        entry["by"] = by
    if reason:
        entry["reason"] = reason
    if incident:
        entry["incident"] = incident
    return entry


def new_record(root: Path, alert_id: str, fields: Mapping[str, Any], events: Iterable[CommentedMap]) -> str:
    """Write a new alert record (validated, atomic); its path relative to the root."""
    rel = rel_of(alert_id)
    data: dict[str, Any] = {}
    for key in AlertFile.model_fields:  # the model's order: what a reader sees first comes first
        if key == "events":
            data["events"] = [_cleaned(dict(e)) for e in events]
        elif key in fields:
            value = _cleaned(fields[key])
            if value not in (None, "", [], {}):
                data[key] = value
    text = _emit(data)
    if text is None or not _reads_back(text, data):
        # Something our emitter does not write plainly: the round-trip writer words it (slower).
        data["events"] = CommentedSeq(CommentedMap(e) for e in data["events"])
        edit = new_editable(
            root / rel, "alert", data, markdown=False, schema_modeline=schema_modeline("alert")
        )
        save(edit, rel)
        return rel
    try:
        AlertFile.model_validate(data)
    except ValidationError as exc:
        raise EditError(f"{rel}: not a valid alert record: {exc.errors()[0]['msg']}") from exc
    write_atomic(root / rel, text)
    return rel


# --- a fast writer for new records -----------------------------------------------------------------
# A storm writes a thousand records in one batch; ruamel's round trip takes ~20 ms a file, this ~0.3.
# It writes what ruamel would (2-space mappings, lists indented under their key) for the values a
# record holds, so a later round-trip edit changes only what it edits; `_reads_back` holds it to
# the data (libyaml reads the text back) and anything else goes through the round-trip writer.

_PLAIN = re.compile(r"^[A-Za-z0-9_./+-][A-Za-z0-9 _./@+()\[\]=,;:#'<>!?*&%$~^`|-]*$")
_NOT_PLAIN = re.compile(
    r"^(?:true|false|yes|no|on|off|null|~|[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|"
    r"[-+]?\.(?:inf|nan)|0x[0-9a-fA-F]+|0o[0-7]+)$",
    re.IGNORECASE,
)
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$")


def _cleaned(value: Any) -> Any:
    """Text as a file can hold it (tidings.store.edit.clean_text), empty strings left out of lists."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [v for v in (_cleaned(item) for item in value) if v != ""]
    if isinstance(value, dict):
        return {k: _cleaned(v) for k, v in value.items()}
    return value


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str) or "\n" in value:
        return None
    if _STAMP.match(value):
        return value
    if (
        _PLAIN.match(value)
        and not _NOT_PLAIN.match(value)
        and not value.endswith((" ", ":"))
        and ": " not in value
        and " #" not in value
        and not value.startswith("- ")
    ):
        return value
    if value.isprintable():
        return "'" + value.replace("'", "''") + "'"  # as ruamel quotes what cannot be plain
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _block(text: str, indent: str) -> str | None:
    """A multi-line text as a literal block (`|`, `|+` when it ends in blank lines), or None."""
    if text.startswith((" ", "\t")) or any(line.rstrip(" \t") != line for line in text.split("\n")):
        return None
    if not text.endswith("\n"):
        chomp, body = "-", text
    elif text.endswith("\n\n"):
        return None
    else:
        chomp, body = "", text[:-1]
    lines = "\n".join((indent + line) if line else "" for line in body.split("\n"))
    return f"|{chomp}\n{lines}"


def _emit(data: Mapping[str, Any]) -> str | None:
    out = [f"# yaml-language-server: $schema={schema_modeline('alert')}"]
    for key, value in data.items():
        if isinstance(value, list) and key == "events":
            out.append(f"{key}:")
            for entry in value:
                for n, (k, v) in enumerate(entry.items()):
                    text = _scalar(v)
                    if text is None:
                        return None
                    out.append(f"{'  - ' if n == 0 else '    '}{k}: {text}")
        elif isinstance(value, list):
            out.append(f"{key}:")
            for item in value:
                text = _scalar(item)
                if text is None:
                    return None
                out.append(f"  - {text}")
        elif isinstance(value, dict):
            out.append(f"{key}:")
            for k, v in value.items():
                text, name = _scalar(v), _scalar(k)
                if text is None or name is None:
                    return None
                out.append(f"  {name}: {text}")
        elif isinstance(value, str) and "\n" in value:
            block = _block(value, "  ")
            if block is None:
                out.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
            else:
                out.append(f"{key}: {block}")
        else:
            text = _scalar(value)
            if text is None:
                return None
            out.append(f"{key}: {text}")
    return "\n".join(out) + "\n"


def _reads_back(text: str, data: Mapping[str, Any]) -> bool:
    try:
        return bool(fast_load(text) == plain(dict(data)))
    except Exception:  # anything libyaml refuses: not ours to write this way
        return False


class _Canonical(EditableFile):
    """A record exactly as the fast writer wrote it (no comment, no hand formatting): edited as
    plain data and written by the fast writer again, not through the round trip."""


def open_record(root: Path, alert_id: str) -> EditableFile:
    """A record opened for editing. The runner edits records on every re-fire and resolve; ruamel's
    round trip (read, write, read back) cost ~20 ms a record, most of a busy runner's time, so a
    record the fast writer would write byte for byte as it is is read by libyaml instead; any other
    (a person's comment, their own layout) keeps the round trip and with it every byte they wrote."""
    path = root / rel_of(alert_id)
    text = path.read_text(encoding="utf-8")
    try:
        data = fast_load(text)
    except Exception:  # broken by hand: the round trip says how, as for every file
        data = None
    if isinstance(data, dict) and _emit(data) == text:
        tree = CommentedMap(data)
        if isinstance(data.get("events"), list):
            tree["events"] = CommentedSeq(
                CommentedMap(e) if isinstance(e, dict) else e for e in data["events"]
            )
        return _Canonical(path=path, kind="alert", data=tree, markdown=False)
    return read_editable(path, "alert", markdown=False)


def add_event(edit: EditableFile, entry: CommentedMap) -> None:
    edit.data.setdefault("events", CommentedSeq()).append(entry)


def set_status(edit: EditableFile, status: str) -> None:
    edit.data["status"] = status


def save_record(edit: EditableFile) -> str:
    rel = rel_of(edit.path.stem)
    if isinstance(edit, _Canonical):
        data = _cleaned(plain(edit.data))
        text = _emit(data)
        if text is not None and _reads_back(text, data):
            try:
                AlertFile.model_validate(data)
            except ValidationError as exc:
                raise EditError(
                    f"{rel}: the edit would make the file invalid: {exc.errors()[0]['msg']}"
                ) from exc
            write_atomic(edit.path, text)
            return rel
        # A value the fast writer does not write plainly (a multi-line reason): the round trip,
        # on the file as it is, so everything the edit did not change is worded as before.
        edit = _onto_round_trip(edit, data)
    save(edit, rel)
    return rel


def _onto_round_trip(edit: EditableFile, data: dict[str, Any]) -> EditableFile:
    """The file opened for the round trip, with the changes of `edit` (now `data`) made on it."""
    tree = read_editable(edit.path, "alert", markdown=False)
    for key in [k for k in tree.data if k not in data]:
        del tree.data[key]
    for key, value in data.items():
        before = plain(tree.data.get(key))
        if before == value:
            continue
        if key == "events" and isinstance(before, list) and before == value[: len(before)]:
            tree.data[key].extend(CommentedMap(e) for e in value[len(before) :])  # events only grow
        elif key == "events":
            tree.data[key] = CommentedSeq(CommentedMap(e) for e in value)
        else:
            tree.data[key] = value
    return tree

"""The one way to change content files: round-trip YAML that keeps comments, order and formatting.

The runner, the incident commands and the importers all write through here, so a commit's diff
shows only what changed. Writes are atomic (a temporary file renamed over the old one) and are
validated first: an edit that would make the file invalid raises and writes nothing.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap

from tidings.content.checks import check_file
from tidings.content.diagnostics import Diagnostic
from tidings.content.documents import Document, make_yaml, plain, split_front_matter
from tidings.content.model import FILE_MODELS
from tidings.content.model_errors import diagnostics_from
from tidings.errors import TidingsError


class EditError(TidingsError):
    """An edit could not be made; nothing was written."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None):
        super().__init__(message)
        self.diagnostics = diagnostics or []


@dataclass
class EditableFile:
    """A content file opened for editing: `data` is the live YAML tree, `body` the Markdown after it."""

    path: Path
    kind: str
    data: CommentedMap
    body: str = ""
    markdown: bool = True

    def render(self) -> str:
        buffer = io.StringIO()
        make_yaml().dump(self.data, buffer)
        yaml_text = buffer.getvalue()
        if not self.markdown:
            return yaml_text
        return f"---\n{yaml_text}---\n{self.body}"


def read_editable(path: Path, kind: str, markdown: bool = True) -> EditableFile:
    """Open a YAML file or a Markdown file with front matter for a round-trip edit."""
    text = path.read_text(encoding="utf-8")
    body = ""
    if markdown:
        parts = split_front_matter(text)
        if parts is None:
            raise EditError(f"{path}: no front matter")
        front, body, _ = parts
    else:
        front = text
    try:
        data = make_yaml().load(front) if front.strip() else CommentedMap()
    except Exception as exc:  # a file broken by hand: say so, as `tidings validate` would
        raise EditError(f"{path}: the YAML does not parse ({str(exc).splitlines()[0]})") from exc
    if not isinstance(data, CommentedMap):
        raise EditError(f"{path}: the YAML is not a mapping of keys")
    return EditableFile(path=path, kind=kind, data=data, body=body, markdown=markdown)


def new_editable(
    path: Path,
    kind: str,
    data: dict[str, Any],
    body: str = "",
    markdown: bool = True,
    schema_modeline: str | None = None,
) -> EditableFile:
    """A file that does not exist yet, with keys in the order given."""
    tree = CommentedMap()
    for key, value in data.items():
        tree[key] = value
    if schema_modeline:
        tree.yaml_set_start_comment(f"yaml-language-server: $schema={schema_modeline}")
    return EditableFile(path=path, kind=kind, data=tree, body=body, markdown=markdown)


def check(edit: EditableFile, rel: str) -> None:
    """Raise EditError with diagnostics when the edited file would not validate."""
    model = FILE_MODELS[edit.kind]
    doc = Document(path=edit.path, rel=rel, data=edit.data, line_offset=1 if edit.markdown else 0)
    try:
        valid = model.model_validate(plain(edit.data))
    except ValidationError as exc:
        problems = diagnostics_from(exc, doc, model)
        raise EditError(f"{rel}: the edit would make the file invalid", problems) from exc
    problems = [d for d in check_file(doc, valid) if d.severity == "error"]
    if problems:
        first = problems[0]
        raise EditError(f"{rel}: the edit would make the file invalid: {first.message}", problems)


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so a reader (or a crash) sees the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# What YAML cannot hold in a file (its printable set): C0 controls but tab and newline, DEL, C1
# controls, surrogates, U+FFFE/U+FFFF. Alert payloads and chat messages carry them (terminal colour
# codes, stray NULs); written raw they make a file that no longer parses.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """Text as a file can hold it: newlines as \\n, unprintable characters dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x85", "\n")
    return _UNPRINTABLE.sub("", text)


def _clean_tree(node: Any) -> Any:
    """Every string in the tree cleaned, keeping ruamel's string types (a `|` block stays one)."""
    if isinstance(node, dict):
        for key in list(node):
            node[key] = _clean_tree(node[key])
        return node
    if isinstance(node, list):
        for i, item in enumerate(node):
            node[i] = _clean_tree(item)
        return node
    if isinstance(node, str):
        cleaned = clean_text(node)
        return node if cleaned == node else type(node)(cleaned)
    return node


def save(edit: EditableFile, rel: str) -> None:
    """Clean, validate, check the text reads back as the data, then write atomically."""
    _clean_tree(edit.data)
    edit.body = clean_text(edit.body)
    check(edit, rel)
    text = edit.render()
    front = text
    if edit.markdown:
        parts = split_front_matter(text)
        front = parts[0] if parts else ""
    try:
        again = make_yaml().load(front)
    except Exception as exc:  # ruamel wrote something it cannot read: never put that on disk
        raise EditError(f"{rel}: the edited file would not parse ({exc})") from exc
    if plain(again) != plain(edit.data):
        raise EditError(f"{rel}: the edited file would not read back as written")
    write_atomic(edit.path, text)


@contextmanager
def editing(path: Path, kind: str, rel: str, markdown: bool = True) -> Iterator[EditableFile]:
    """`with editing(path, "incident", rel) as f: f.data["status"] = "resolved"` saves on success."""
    edit = read_editable(path, kind, markdown)
    yield edit
    save(edit, rel)

"""Reading YAML files and Markdown files with YAML front matter, keeping every value's line and column.

Nothing here raises on bad input: a file that does not parse gives a Document with `data=None` and
a diagnostic. Timestamps are kept as strings (the model parses them) so a timestamp without a
timezone can be reported instead of being silently read as local time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.resolver import VersionedResolver

from .diagnostics import Diagnostic

FRONT_MATTER_FENCE = "---"


class _StringTimestampResolver(VersionedResolver):
    """YAML 1.2 resolution minus implicit timestamps: `2026-03-01T10:00` stays a string.

    Used for dumping too, so such strings are written back unquoted.
    """

    def add_version_implicit_resolver(self, version: Any, tag: Any, regexp: Any, first: Any) -> None:
        if tag == "tag:yaml.org,2002:timestamp":
            return
        super().add_version_implicit_resolver(version, tag, regexp, first)


def make_yaml() -> YAML:
    """A round-trip YAML instance: keeps comments and order, gives positions, forbids duplicate keys."""
    yaml = YAML(typ="rt")
    yaml.Resolver = _StringTimestampResolver
    yaml.allow_duplicate_keys = False
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


@dataclass
class Document:
    """One parsed file: its data (a ruamel tree, or None when it did not parse) and where it starts."""

    path: Path  # absolute
    rel: str  # relative to the repo root
    data: Any = None
    body: str = ""  # Markdown after the front matter ("" for YAML files)
    body_line: int = 1  # 1-based line where the body starts
    line_offset: int = 0  # lines before the YAML starts (1 for front matter after '---')
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def position(self, loc: Sequence[str | int], key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at `loc`, or of the deepest part of it that exists.

        With key=True the position of the last mapping key is given instead of its value, which is
        what a person wants to see for an unknown key.
        """
        node = self.data
        line, col = self.line_offset + 1, 1
        for i, part in enumerate(loc):
            last = i == len(loc) - 1
            if isinstance(node, CommentedMap) and part in node:
                try:
                    kl, kc = node.lc.key(part)
                    vl, vc = node.lc.value(part)
                except (KeyError, TypeError, AttributeError):
                    break
                if last and key:
                    line, col = kl, kc
                else:
                    # A value on the next line (a block) is better pointed at by its key.
                    line, col = (kl, kc) if isinstance(node[part], CommentedMap | CommentedSeq) else (vl, vc)
                line, col = line + self.line_offset + 1, col + 1
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                try:
                    il, ic = node.lc.item(part)
                except (KeyError, TypeError, AttributeError):
                    break
                line, col = il + self.line_offset + 1, ic + 1
                node = node[part]
            else:
                break
        return line, col


def plain(node: Any) -> Any:
    """The ruamel tree as plain dicts, lists, str, int, float, bool and None (what the model reads)."""
    if isinstance(node, dict):
        return {plain(k) if not isinstance(k, str) else str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _yaml_error(rel: str, exc: YAMLError, line_offset: int, what: str) -> Diagnostic:
    line, col = line_offset + 1, 1
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if isinstance(exc, MarkedYAMLError) and mark is not None:
        line, col = mark.line + line_offset + 1, mark.column + 1
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None) or ""
    context_mark = getattr(exc, "context_mark", None)
    hint = ""
    if context and context_mark is not None and context_mark.line + line_offset + 1 != line:
        # The parser notices late; where the construct began is often where the mistake is.
        hint = f"{context.removeprefix('while ')} that starts on line {context_mark.line + line_offset + 1}"
    message = (
        f"{what} has a duplicate key: {problem}"
        if "duplicate" in context
        else f"{what} does not parse: {problem}"
    )
    return Diagnostic(rel, line, col, "", message.strip(), code="yaml-syntax", hint=hint)


def _read_text(path: Path, rel: str) -> tuple[str | None, Diagnostic | None]:
    try:
        return path.read_text(encoding="utf-8"), None
    except UnicodeDecodeError as exc:
        return None, Diagnostic(rel, 1, 1, "", f"not UTF-8 text ({exc.reason})", code="encoding")
    except OSError as exc:
        return None, Diagnostic(rel, 1, 1, "", f"cannot read: {exc.strerror}", code="io")


def parse_yaml(text: str, path: Path, rel: str, line_offset: int = 0, what: str = "YAML") -> Document:
    doc = Document(path=path, rel=rel, line_offset=line_offset)
    try:
        data = make_yaml().load(text)
    except YAMLError as exc:
        doc.diagnostics.append(_yaml_error(rel, exc, line_offset, what))
        return doc
    except Exception as exc:  # ruamel raises a few plain errors on odd input; never a traceback
        doc.diagnostics.append(
            Diagnostic(rel, line_offset + 1, 1, "", f"{what} does not parse: {exc}", code="yaml-syntax")
        )
        return doc
    doc.data = CommentedMap() if data is None else data
    return doc


def read_yaml(path: Path, rel: str) -> Document:
    """Parse a YAML file."""
    text, problem = _read_text(path, rel)
    if text is None:
        doc = Document(path=path, rel=rel)
        doc.diagnostics.append(problem)  # type: ignore[arg-type]
        return doc
    return parse_yaml(text, path, rel)


_FENCE = re.compile(r"^---[ \t]*$", re.MULTILINE)


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(front matter, body, body's 1-based first line), or None when the file has no front matter."""
    text = text.removeprefix("\ufeff")
    if not (text.startswith("---\n") or text.startswith("---\r\n") or text.rstrip() == "---"):
        return None
    first_nl = text.find("\n")
    rest = text[first_nl + 1 :] if first_nl >= 0 else ""
    end = _FENCE.search(rest)
    if end is None:
        return None
    front = rest[: end.start()]
    after = rest[end.end() :]
    after = after[1:] if after.startswith("\n") else after
    body_line = front.count("\n") + 3  # opening fence, the front matter lines, closing fence
    return front, after, body_line


def read_markdown(path: Path, rel: str) -> Document:
    """Parse a Markdown file whose YAML front matter sits between two `---` lines."""
    text, problem = _read_text(path, rel)
    if text is None:
        doc = Document(path=path, rel=rel)
        doc.diagnostics.append(problem)  # type: ignore[arg-type]
        return doc
    parts = split_front_matter(text)
    if parts is None:
        doc = Document(path=path, rel=rel)
        doc.diagnostics.append(
            Diagnostic(
                rel,
                1,
                1,
                "",
                "no front matter: the file must start with a '---' line, then YAML, then '---'",
                code="front-matter",
            )
        )
        return doc
    front, body, body_line = parts
    doc = parse_yaml(front, path, rel, line_offset=1, what="front matter")
    doc.body, doc.body_line = body, body_line
    return doc

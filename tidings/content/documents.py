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

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.resolver import VersionedResolver

from tidings.content.diagnostics import Diagnostic
from tidings.errors import TidingsError

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


def _int(value: str) -> int:
    digits = value.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("+-")
    for prefix, base in (("0o", 8), ("0x", 16), ("0b", 2)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits)  # YAML 1.2: a leading zero is still decimal


def _float(value: str) -> float:
    lowered = value.lower()
    if lowered.endswith(".inf"):
        return float("-inf") if lowered.startswith("-") else float("inf")
    if lowered == ".nan":
        return float("nan")
    return float(value.replace("_", ""))


class FastLoader(pyyaml.CSafeLoader):
    """libyaml's C parser, resolving scalars as `make_yaml()` does (YAML 1.2 core, no timestamps).

    Loading is most of a build's time and ruamel's round-trip parser is pure Python; this reads
    the same files about twenty times faster. It gives values only: positions, needed only for
    a diagnostic, come from the round-trip parser on demand (Document.position). Anything it
    refuses (duplicate keys, odd tags) is parsed again by ruamel, which words the error.
    """

    # PyYAML's table of implicit resolvers, our own (not the base class's); its stubs declare it
    # an instance variable, so it cannot be a ClassVar here.
    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        # PyYAML's resolve, without path resolvers (we have none): called for every node.
        if kind is pyyaml.ScalarNode:
            if not implicit[0] and not implicit[1]:
                raise _Declined("a '!' tag")  # ruamel reads `! x` its own way
            if implicit[0]:
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return _STR
        return _MAP if kind is pyyaml.MappingNode else _SEQ

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        try:
            mapping = super().construct_mapping(node, deep=deep)
        except TypeError as exc:  # an unhashable key
            raise pyyaml.constructor.ConstructorError(None, None, str(exc), node.start_mark) from exc
        if len(mapping) != len(node.value):  # a key twice (or a merge key: ruamel decides both)
            raise pyyaml.constructor.ConstructorError(None, None, "duplicate key", node.start_mark)
        return mapping


for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (
        "int",
        r"^(?:[-+]?0b[0-1_]+|[-+]?0o[0-7_]+|[0-9][0-9_]*|[-+][0-9_]*[0-9][0-9_]*|[-+]?0x[0-9a-fA-F_]+)$",
        "-+0123456789",
    ),
    (
        "float",
        r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
        r"|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    FastLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))


def _decline(loader: FastLoader, node: Any) -> Any:
    raise pyyaml.constructor.ConstructorError(None, None, f"{node.tag} is left to ruamel", node.start_mark)


# Values the round-trip parser keeps as tagged objects: declining keeps both paths alike.
for _tag in ("binary", "set", "omap", "pairs", "timestamp"):
    FastLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _decline)
FastLoader.add_constructor("tag:yaml.org,2002:bool", lambda loader, node: node.value.lower() == "true")
FastLoader.add_constructor("tag:yaml.org,2002:int", lambda loader, node: _int(node.value))
FastLoader.add_constructor("tag:yaml.org,2002:float", lambda loader, node: _float(node.value))


_STR, _INT, _FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


class _Declined(ValueError):
    """Something the fast reading leaves to ruamel."""


def _value(node: Any) -> Any:
    """A composed node as plain values: SafeConstructor's work for the tags we allow, three times faster."""
    if node.__class__ is pyyaml.ScalarNode:
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _INT:
            return _int(node.value)
        if tag == _BOOL:
            return node.value.lower() == "true"
        if tag == _NULL:
            return None
        if tag == _FLOAT:
            return _float(node.value)
        raise _Declined(tag)
    if node.__class__ is pyyaml.MappingNode and node.tag == _MAP:
        mapping = {}
        for key_node, value_node in node.value:
            key = _value(key_node)
            if key == "<<" or key in mapping:  # a merge key or a key twice: ruamel decides and words it
                raise _Declined("merge or duplicate key")
            mapping[key] = _value(value_node)
        return mapping
    if node.__class__ is pyyaml.SequenceNode and node.tag == _SEQ:
        return [_value(item) for item in node.value]
    raise _Declined(str(node.tag))


# Aliases let a few hundred bytes stand for billions of values ("billion laughs"): more than this
# many, once aliases are expanded, and a file is refused rather than read.
MAX_VALUES = 200_000


class TooLarge(TidingsError, ValueError):
    """The YAML expands (through aliases) to more values than any status file needs."""


def _expanded(node: Any, sizes: dict[int, int]) -> int:
    """How many values `node` stands for with every alias expanded (each shared node counted once)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = MAX_VALUES + 1  # a node that contains itself expands without end
    if isinstance(node, pyyaml.MappingNode):
        size = 1 + sum(_expanded(k, sizes) + _expanded(v, sizes) for k, v in node.value)
    elif isinstance(node, pyyaml.SequenceNode):
        size = 1 + sum(_expanded(item, sizes) for item in node.value)
    elif isinstance(node, dict):
        size = 1 + sum(_expanded(v, sizes) for v in node.values()) + len(node)
    elif isinstance(node, list):
        size = 1 + sum(_expanded(item, sizes) for item in node)
    else:
        size = 1
    sizes[id(node)] = size = min(size, MAX_VALUES + 1)
    return size


def check_size(tree: Any) -> None:
    """Raise TooLarge for a composed node or a ruamel tree that expands past MAX_VALUES."""
    if _expanded(tree, {}) > MAX_VALUES:
        raise TooLarge(f"it expands to more than {MAX_VALUES:,} values through aliases")


def fast_load(text: str) -> Any:
    """Plain values from YAML text, or raise (any exception) when the fast parser will not say."""
    loader = FastLoader(text)
    try:
        node = loader.get_single_node()  # libyaml parses and composes, in C
    finally:
        loader.dispose()
    if node is None:
        return None
    if "*" in text:  # only an alias (`*name`) can make a value stand for more than it spells out
        check_size(node)
    return _value(node)


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
    source: str | None = None  # the YAML text, kept when `data` came from the fast parser
    _tree: Any = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        # Cached without the round-trip tree: it is heavy, and made again from `source` if needed.
        return {**self.__dict__, "_tree": None}

    def values(self) -> Any:
        """`data` as plain dicts, lists and scalars (what the model reads)."""
        return self.data if self.source is not None else plain(self.data)

    def tree(self) -> Any:
        """The round-trip tree, with positions: `data` itself, or parsed from `source` once, when asked."""
        if self._tree is None:
            if isinstance(self.data, CommentedMap | CommentedSeq) or self.source is None:
                self._tree = self.data
            else:
                try:
                    self._tree = make_yaml().load(self.source)
                except Exception:  # the fast parser read it, so this is not expected; no positions then
                    self._tree = self.data
        return self._tree

    def position(self, loc: Sequence[str | int], key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at `loc`, or of the deepest part of it that exists.

        With key=True the position of the last mapping key is given instead of its value, which is
        what a person wants to see for an unknown key.
        """
        node = self.tree()
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
    if isinstance(node, TaggedScalar) and str(node.tag.value) == "tag:yaml.org,2002:str":
        return str(node.value)  # `!!str 12` is the string '12'
    return node


def _yaml_error(rel: str, exc: YAMLError, line_offset: int, what: str) -> Diagnostic:
    line, col = line_offset + 1, 1
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    opened = getattr(exc, "context_mark", None)
    if "end of stream" in str(getattr(exc, "problem", "")) and opened is not None:
        mark = opened  # an unclosed quote or bracket: where it opened, not the end of the file
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


def _read_text(path: Path, rel: str, raw: bytes | None = None) -> tuple[str | None, Diagnostic | None]:
    """The file's text (from `raw` when the caller read it already), newlines as Python reads them."""
    try:
        if raw is None:
            return path.read_text(encoding="utf-8"), None
        return raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n"), None
    except UnicodeDecodeError as exc:
        # Point at the line with the bad bytes, not at the top of the file.
        data = exc.object if isinstance(exc.object, bytes) else b""
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Diagnostic(rel, line, column, "", f"not UTF-8 text ({exc.reason})", code="encoding")
    except OSError as exc:
        return None, Diagnostic(rel, 1, 1, "", f"cannot read: {exc.strerror}", code="io")


def parse_yaml(text: str, path: Path, rel: str, line_offset: int = 0, what: str = "YAML") -> Document:
    doc = Document(path=path, rel=rel, line_offset=line_offset)
    try:
        data = fast_load(text)
    except TooLarge as exc:
        doc.diagnostics.append(
            Diagnostic(rel, line_offset + 1, 1, "", f"{what} is refused: {exc}", code="too-large")
        )
        return doc
    except Exception:  # ruamel, below, reads it again and words the problem
        pass
    else:
        if data is None or isinstance(data, dict | list | str | int | float | bool):
            doc.data, doc.source = ({} if data is None else data), text
            return doc
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
    try:
        check_size(data)  # ruamel keeps aliases shared; reading the values would expand them
    except TooLarge as exc:
        doc.diagnostics.append(
            Diagnostic(rel, line_offset + 1, 1, "", f"{what} is refused: {exc}", code="too-large")
        )
        return doc
    doc.data = CommentedMap() if data is None else data
    return doc


def read_yaml(path: Path, rel: str, raw: bytes | None = None) -> Document:
    """Parse a YAML file."""
    text, problem = _read_text(path, rel, raw)
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


def read_front_matter(text: str) -> tuple[dict[str, Any] | None, str]:
    """(front matter as plain values, body) of a Markdown file's text, valid or not (a past version).

    The data is None when there is no front matter (the body is then all the text), when it does
    not parse, or when it is not a mapping. Aliases that expand past MAX_VALUES are refused, as
    `parse_yaml` refuses them.
    """
    parts = split_front_matter(text)
    if parts is None:
        return None, text
    front, body, _ = parts
    try:
        data = fast_load(front)
    except TooLarge:
        return None, body
    except Exception:  # the fast parser declines odd input; the round-trip parser reads it or not
        try:
            tree = make_yaml().load(front)
            check_size(tree)
            data = plain(tree)
        except Exception:
            return None, body
    return (data if isinstance(data, dict) else None), body


def read_markdown(path: Path, rel: str, raw: bytes | None = None) -> Document:
    """Parse a Markdown file whose YAML front matter sits between two `---` lines."""
    text, problem = _read_text(path, rel, raw)
    if text is None:
        doc = Document(path=path, rel=rel)
        doc.diagnostics.append(problem)  # type: ignore[arg-type]
        return doc
    parts = split_front_matter(text)
    if parts is None:
        doc = Document(path=path, rel=rel)
        opened = text.removeprefix("\ufeff").split("\n", 1)[0].rstrip() == FRONT_MATTER_FENCE
        message = (
            "the front matter is not closed: end it with a '---' line before the Markdown"
            if opened
            else "no front matter: the file must start with a '---' line, then YAML, then '---'"
        )
        doc.diagnostics.append(Diagnostic(rel, 1, 1, "", message, code="front-matter"))
        return doc
    front, body, body_line = parts
    doc = parse_yaml(front, path, rel, line_offset=1, what="front matter")
    doc.body, doc.body_line = body, body_line
    return doc

"""Paths into a posted JSON payload, as an integration's `mapping:` writes them.

    monitor.name                 a key, then a key
    alerts[0].labels.severity    a list item by index (negative counts from the end)
    targets[*].host              every item of a list
    labels["app.kubernetes.io/name"]   a key with dots or spaces, quoted ('single' quotes too)

The grammar lives here once: `tidings validate` checks a mapping's paths with `parse_path`, and the
runner reads payloads with `find`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# A bare key: anything but the characters that structure a path, and no whitespace.
_NAME = re.compile(r"""[^.\[\]"'\s]+""")
_INDEX = re.compile(r"-?\d+")


class PathSyntaxError(ValueError):
    """A path that cannot be read; the message says where and why."""


@dataclass(frozen=True)
class Every:
    """`[*]`: every item of a list."""


Step = str | int | Every
EVERY = Every()


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The key quoted at text[start] (the quote), and where its closing quote ends."""
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == quote:
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise PathSyntaxError(f"the quote opened at character {start + 1} is never closed")


def parse_path(text: str) -> tuple[Step, ...]:
    """The steps of a path (PathSyntaxError when it is not one)."""
    if not text.strip():
        raise PathSyntaxError("a path cannot be empty")
    steps: list[Step] = []
    i = 0
    expect_name = True  # at the start and after a dot, a key must follow
    while i < len(text):
        char = text[i]
        if char == "[":
            close = text.find("]", i)
            if i + 1 < len(text) and text[i + 1] in "\"'":
                key, end = _quoted(text, i + 1)
                if end >= len(text) or text[end] != "]":
                    raise PathSyntaxError(f"expected ']' after the quoted key at character {i + 1}")
                steps.append(key)
                i = end + 1
            elif close == -1:
                raise PathSyntaxError(f"the '[' at character {i + 1} is never closed")
            else:
                inside = text[i + 1 : close]
                if inside == "*":
                    steps.append(EVERY)
                elif _INDEX.fullmatch(inside):
                    steps.append(int(inside))
                else:
                    raise PathSyntaxError(
                        f'[{inside}] at character {i + 1} is not an index: write [0], [-1], [*] or ["key"]'
                    )
                i = close + 1
            expect_name = False
        elif char == ".":
            if expect_name:
                raise PathSyntaxError(f"a key is missing before the '.' at character {i + 1}")
            expect_name = True
            i += 1
        elif char in "\"'":
            if not expect_name:
                raise PathSyntaxError(f'a quoted key at character {i + 1} needs brackets: ["..."]')
            key, i = _quoted(text, i)
            steps.append(key)
            expect_name = False
        else:
            match = _NAME.match(text, i)
            if match is None:
                raise PathSyntaxError(f"unexpected {char!r} at character {i + 1}")
            if not expect_name:
                raise PathSyntaxError(f"a '.' is missing before {match.group()!r} at character {i + 1}")
            steps.append(match.group())
            i = match.end()
            expect_name = False
    if expect_name:
        raise PathSyntaxError("the path ends with '.': a key is missing after it")
    return tuple(steps)


@dataclass(frozen=True)
class Found:
    """What a path reached: its values (several through `[*]`), or where it stopped."""

    values: tuple[Any, ...]
    missing: str = ""  # why nothing was found, e.g. "'monitor' has no key 'name'"

    @property
    def one(self) -> Any:
        return self.values[0] if self.values else None


def _show(steps: tuple[Step, ...]) -> str:
    out = ""
    for step in steps:
        if isinstance(step, Every):
            out += "[*]"
        elif isinstance(step, int):
            out += f"[{step}]"
        elif _NAME.fullmatch(step):
            out += ("." if out else "") + step
        else:
            out += "[" + '"' + step.replace("\\", "\\\\").replace('"', '\\"') + '"]'
    return out or "the payload"


def find(data: Any, steps: tuple[Step, ...]) -> Found:
    """Follow `steps` into `data`. A `[*]` over an empty list finds nothing, and says so."""
    current: list[Any] = [data]
    for n, step in enumerate(steps):
        where = _show(steps[:n])
        following: list[Any] = []
        for value in current:
            if isinstance(step, Every):
                if not isinstance(value, list):
                    return Found((), f"{where} is not a list")
                following.extend(value)
            elif isinstance(step, int):
                if not isinstance(value, list):
                    return Found((), f"{where} is not a list")
                if not -len(value) <= step < len(value):
                    return Found((), f"{where} has no item [{step}] (it has {len(value)})")
                following.append(value[step])
            else:
                if not isinstance(value, dict):
                    return Found((), f"{where} is not an object")
                if step not in value:
                    return Found((), f"{where} has no key {step!r}")
                following.append(value[step])
        if not following:
            return Found((), f"{_show(steps[: n + 1])} matches nothing")
        current = following
    return Found(tuple(current))

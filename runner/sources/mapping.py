"""A generic integration's custom mapping: the alert's fields read from any JSON through paths.

`read` collects every problem instead of stopping at the first, so `tidings runner map` can show a
person all of them at once while writing a mapping against a sample payload; the endpoint refuses a
post (422, naming the path) when any problem is an error. A path that is not in a payload is an
error for the fields every alert needs (the title, and the fingerprint when it is mapped), and only
a note for the others: a firing alert has no end time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tidings.content.model import AlertMapping
from tidings.content.payload_paths import find, parse_path
from tidings.runner.sources.events import PayloadError
from tidings.runner.sources.fields import any_time


@dataclass(frozen=True)
class Problem:
    path: str  # the payload path, as the mapping writes it
    target: str  # the alert field it was read for
    message: str
    error: bool = True  # False: a note (an optional path this payload does not have)

    def as_payload_error(self) -> PayloadError:
        return PayloadError(self.path, f"{self.message} (mapped to {self.target})")


@dataclass
class Mapped:
    """The fields the mapping found (None: not mapped, or not in this payload) and the problems."""

    title: str = ""
    description: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    severity: str = ""  # the value at the severity path, as text
    severity_mapped: str = ""  # that value through the mapping's own `values`
    service: str = ""
    hosts: tuple[str, ...] = ()
    monitoring_tool: str = ""
    environment: str = ""
    fingerprint: str | None = None  # the mapped fingerprint paths' values, combined
    runbook: str = ""
    resolved: bool | None = None  # None: no `resolved` rule (then an end time means resolved)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.error]


def _text(value: Any) -> str | None:
    """A scalar as text (None for objects and lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


class _Reader:
    def __init__(self, payload: Any, out: Mapped):
        self.payload = payload
        self.out = out

    def values(self, path: str, target: str, required: bool) -> tuple[Any, ...]:
        """Every non-null value the path finds; a problem (error or note) when there is none."""
        found = find(self.payload, parse_path(path))
        values = tuple(v for v in found.values if v is not None)
        if not values:
            why = found.missing or "it is null"
            if required:
                self.out.problems.append(Problem(path, target, f"required, but not in the payload: {why}"))
            else:
                self.out.problems.append(Problem(path, target, f"not in this payload: {why}", error=False))
        return values

    def text(self, path: str | None, target: str, required: bool = False) -> str:
        if path is None:
            return ""
        values = self.values(path, target, required)
        if not values:
            return ""
        if len(values) > 1:
            note = f"finds {len(values)} values; the first is used"
            self.out.problems.append(Problem(path, target, note, error=False))
        text = _text(values[0])
        if text is None:
            self.out.problems.append(
                Problem(path, target, f"expected text, found {type(values[0]).__name__}")
            )
            return ""
        if required and not text.strip():
            self.out.problems.append(Problem(path, target, "required, but empty"))
        return text

    def time(self, path: str | None, target: str) -> datetime | None:
        text_or_number = None
        if path is not None:
            values = self.values(path, target, required=False)
            text_or_number = values[0] if values else None
        if text_or_number is None or text_or_number == "":
            return None
        try:
            return any_time(text_or_number, path or target)
        except PayloadError as exc:
            message = str(exc).removeprefix(f"{path}: ")
            self.out.problems.append(Problem(str(path), target, message))
            return None


def read(payload: Any, mapping: AlertMapping) -> Mapped:
    """The alert's fields from `payload` through `mapping`, with every problem found on the way."""
    out = Mapped()
    reader = _Reader(payload, out)
    out.title = reader.text(mapping.title, "title", required=True).strip()
    out.description = reader.text(mapping.description, "description")
    out.start_time = reader.time(mapping.start_time, "start_time")
    out.end_time = reader.time(mapping.end_time, "end_time")
    if mapping.severity is not None:
        out.severity = reader.text(mapping.severity.path, "severity")
        meanings: dict[str, str] = dict(mapping.severity.values)
        lowered = {k.lower(): v for k, v in meanings.items()}
        out.severity_mapped = meanings.get(out.severity) or lowered.get(out.severity.lower()) or ""
    out.service = reader.text(mapping.service, "service")
    if mapping.hosts is not None:
        hosts = []
        for value in reader.values(mapping.hosts, "hosts", required=False):
            for item in value if isinstance(value, list) else [value]:
                host = _text(item)
                if host is None:
                    out.problems.append(Problem(mapping.hosts, "hosts", "expected text or a list of text"))
                elif host:
                    hosts.append(host)
        out.hosts = tuple(hosts)
    out.monitoring_tool = reader.text(mapping.monitoring_tool, "monitoring_tool")
    out.environment = reader.text(mapping.environment, "environment")
    if mapping.fingerprint:
        parts = []
        for path in mapping.fingerprint:
            values = reader.values(path, "fingerprint", required=True)
            # Objects and lists count by their content, written the same way whatever the key order.
            parts.append(json.dumps(values if len(values) != 1 else values[0], sort_keys=True, default=str))
        out.fingerprint = "\x1f".join(parts)
    out.runbook = reader.text(mapping.runbook, "runbook")
    if mapping.resolved is not None:
        value = reader.text(mapping.resolved.path, "resolved")
        out.resolved = value.lower() in {v.lower() for v in mapping.resolved.values}
    if out.start_time and out.end_time and out.end_time < out.start_time:
        out.problems.append(Problem(str(mapping.end_time), "end_time", "is before start_time"))
    return out

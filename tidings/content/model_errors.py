"""Turning pydantic's validation errors into diagnostics a person can act on."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from tidings.content.diagnostics import Diagnostic, did_you_mean
from tidings.content.documents import Document
from tidings.content.model import known_timezones

NAIVE_CODE = "timestamp-without-timezone"
# The message of a NAIVE_CODE diagnostic, read back by with_site_timezone to give its hint the site's zone.
_NAIVE_MESSAGE = re.compile(r"timestamp '(?P<value>[^']*)' has no timezone")


def naive_hint(value: str, zone: str = "UTC") -> str:
    """How to write a time without an offset right: with the offset `zone` has on that date.

    The time was most likely meant in the site's timezone, and its offset changes with the date
    (+01:00 in a Berlin winter, +02:00 in summer), so a fixed '+01:00' or 'Z' would send people the
    wrong way half the year. The same instant in UTC is given too."""
    full = value if "T" in value or " " in value else f"{value}T00:00:00"
    generic = f"write it in UTC as '{full}Z', or with an offset such as '{full}+01:00'"
    try:
        local = datetime.fromisoformat(full)
    except ValueError:
        return generic
    if zone == "UTC" or zone not in known_timezones() or local.tzinfo is not None:
        return generic
    try:
        aware = local.replace(tzinfo=ZoneInfo(zone))
        utc = aware.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # a time near the ends of the calendar
        return generic
    return (
        f"if it is {zone} time (the site's), write '{aware.isoformat()}' (its offset on that date), "
        f"or in UTC '{utc.isoformat()}Z'"
    )


def with_site_timezone(diagnostics: Sequence[Diagnostic], zone: str) -> list[Diagnostic]:
    """The diagnostics, those of times without an offset hinting at the site's timezone `zone`.

    Done once the whole repo is loaded: a file's own diagnostics are made (and cached) without
    knowing the site's timezone, which may change without the file changing."""
    out = []
    for d in diagnostics:
        found = _NAIVE_MESSAGE.fullmatch(d.message) if d.code == NAIVE_CODE else None
        out.append(dataclasses.replace(d, hint=naive_hint(found["value"], zone)) if found else d)
    return out


_TYPE_NAMES = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "NoneType": "nothing (null)",
    "list": "a list",
    "dict": "a mapping of keys",
    "CommentedMap": "a mapping",
    "CommentedSeq": "a list",
}
_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping of keys",
    "model_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
    "float_type": "a number",
    "float_parsing": "a number",
}


def field_path(loc: Sequence[str | int]) -> str:
    """('updates', 2, 'status') -> 'updates[2].status'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _clean_loc(loc: Sequence[Any]) -> tuple[list[str | int], bool]:
    """Drop pydantic's internal tags from a loc; say whether it points at a mapping key."""
    parts: list[str | int] = []
    is_key = False
    for part in loc:
        if part == "[key]":
            is_key = True
            continue
        if isinstance(part, str) and ("[" in part or "(" in part) and part not in ("[key]",):
            continue  # union member or validator tags such as 'function-after[...]'
        parts.append(part)
    return parts, is_key


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap_model(typing.get_args(annotation)[0])
    if origin in (list, tuple, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _unwrap_model(arg)
            if found:
                return found
    return None


def _tagged_union(annotation: Any) -> tuple[str, dict[str, type[BaseModel]]] | None:
    """(discriminator, tag -> model) when `annotation` is (a list of) a tagged union of models."""
    origin = typing.get_origin(annotation)
    if origin is list:
        return _tagged_union(typing.get_args(annotation)[0])
    if origin is not typing.Annotated:
        return None
    union, *metadata = typing.get_args(annotation)
    discriminator = next((m.discriminator for m in metadata if getattr(m, "discriminator", None)), None)
    if not isinstance(discriminator, str):
        return None
    members: dict[str, type[BaseModel]] = {}
    for member in typing.get_args(union):
        for tag in typing.get_args(member.model_fields[discriminator].annotation):
            members[tag] = member
    return discriminator, members


def untag(model: type[BaseModel], loc: Sequence[str | int]) -> tuple[list[str | int], type[BaseModel] | None]:
    """Drop the tags pydantic puts into the loc of a tagged union (`channels[2].email.port`), and give
    the model of the mapping the last part is in."""
    out: list[str | int] = []
    current: type[BaseModel] | None = model
    parent: type[BaseModel] | None = model
    members: dict[str, type[BaseModel]] | None = None
    mapping_form: type[BaseModel] | None = None  # a list field's other form, when it is a mapping
    for part in loc:
        if members is not None and isinstance(part, str) and part in members:
            current, members = members[part], None
            continue
        if mapping_form is not None and isinstance(part, str):
            current = mapping_form  # the key of a list field's mapping form (`links.issue`)
        mapping_form = None
        out.append(part)
        parent = current
        if isinstance(part, int) or current is None:
            continue
        info = {(f.alias or name): f for name, f in current.model_fields.items()}.get(part)
        tagged = _tagged_union(info.annotation) if info is not None else None
        members = tagged[1] if tagged else None
        current = None if info is None or tagged else _unwrap_model(info.annotation)
        if info is not None and typing.get_origin(info.annotation) is list:
            mapping_form = _other_form(info.metadata)
    return out, parent


def _other_form(metadata: Sequence[Any]) -> type[BaseModel] | None:
    """The model of the mapping a list field reads too (its validator's `json_schema_input_type`)."""
    for item in metadata:
        accepted = getattr(item, "json_schema_input_type", None)
        for member in typing.get_args(accepted):
            if isinstance(member, type) and issubclass(member, BaseModel):
                return member
    return None


def allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _describe(value: Any) -> str:
    return _TYPE_NAMES.get(type(value).__name__, type(value).__name__)


def diagnostics_from(exc: ValidationError, doc: Document, model: type[BaseModel]) -> list[Diagnostic]:
    """One diagnostic per pydantic error, pointing at the value's line and column."""
    out: list[Diagnostic] = []
    for err in exc.errors(include_url=False):
        loc, is_key = _clean_loc(err["loc"])
        loc, parent_model = untag(model, loc)
        kind = err["type"]
        value = err.get("input")
        ctx = err.get("ctx") or {}
        field = field_path(loc)
        hint = ""
        code = "invalid"
        line, col = doc.position(loc, key=is_key)
        if kind == "missing":
            parent = loc[:-1]
            line, col = doc.position(parent, key=True) if parent else (doc.line_offset + 1, 1)
            message = f"required key '{loc[-1]}' is missing"
            code = "missing-key"
        elif kind == "extra_forbidden":
            line, col = doc.position(loc, key=True)
            choices = allowed_keys(parent_model) if parent_model else []
            message = f"unknown key '{loc[-1]}'"
            hint = did_you_mean(loc[-1], choices)
            if not hint and choices:
                hint = "allowed keys: " + ", ".join(choices)
            code = "unknown-key"
        elif kind in ("literal_error", "enum"):
            choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
            message = f"{value!r} is not one of: {', '.join(choices)}"
            hint = did_you_mean(value, choices)
            code = "bad-value"
        elif kind == "union_tag_invalid":
            loc = [*loc, str(ctx.get("discriminator", "")).strip("'")]
            line, col = doc.position(loc)
            field = field_path(loc)
            choices = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
            message = f"{ctx.get('tag')!r} is not one of: {', '.join(choices)}"
            hint = did_you_mean(ctx.get("tag"), choices)
            code = "bad-value"
        elif kind == "timezone_aware":
            message = f"timestamp {value!r} has no timezone"
            hint = naive_hint(str(value))
            code = NAIVE_CODE
        elif kind == "timestamp_range":
            message = str(err["msg"])
            hint = "check the year"
            code = "bad-timestamp"
        elif kind.startswith("datetime") or kind.startswith("date_"):
            message = f"{value!r} is not a timestamp"
            hint = "write it as ISO 8601 with a timezone, e.g. '2026-03-14T09:12:00Z'"
            code = "bad-timestamp"
        elif kind == "unknown_timezone":
            message = f"unknown IANA timezone {value!r}"
            hint = did_you_mean(value, known_timezones()) or "use a name like 'Europe/Berlin' or 'UTC'"
            code = "unknown-timezone"
        elif kind == "bad_path":
            message = str(err["msg"])
            hint = 'paths look like monitor.name, alerts[0].title, targets[*].host, labels["a.b"]'
            code = "bad-path"
        elif kind == "integration_settings":
            message = str(err["msg"])
            code = "integration-settings"
        elif kind == "bad_id":
            message = str(err["msg"])
            hint = f"try '{ctx.get('suggestion')}'" if ctx.get("suggestion") else ""
            code = "bad-id"
        elif kind in _EXPECTED:
            message = f"expected {_EXPECTED[kind]}, got {_describe(value)}"
            if value is not None and not isinstance(value, dict | list):
                message += f" {value!r}"
            code = "wrong-type"
        else:
            message = str(err["msg"])
            if message.startswith("Value error, "):
                message = message.removeprefix("Value error, ")
        out.append(Diagnostic(doc.rel, line, col, field, message, "error", code, hint))
    return out

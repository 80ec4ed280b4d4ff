"""The Jinja environment: the status repo's own templates first, the shipped ones after."""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import os
import shutil
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from jinja2 import BytecodeCache, ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from jinja2.bccache import Bucket

from tidings.content.cache import code_fingerprint, signed, verified
from tidings.generator.favicon import find_favicon
from tidings.generator.markup import to_html, to_text
from tidings.generator.site import update_anchor, with_anchors
from tidings.site_templates import TEMPLATE_DIR


class SignedBytecodeCache(BytecodeCache):
    """Compiled templates kept between processes in a build's cache folder (compiling them is a tenth
    of a build after one edit). Loading compiled code runs it, and the folder is in the work tree,
    where a merge request could put a file: so each is signed with this user's key, as the parse
    cache is (tidings.content.cache), and one that is not is never loaded. Jinja itself drops one
    made from other source (its checksum) or by another Python (its magic)."""

    def __init__(self, folder: Path):
        # The environment's options and Jinja's compiler make the code too, not the source alone:
        # entries are for this Tidings (its code, so its options) and this Jinja only, in a folder of
        # their own; the folders of other versions are removed, so none piles up.
        salt = f"{code_fingerprint()} jinja2={jinja2.__version__}"
        self.folder = folder / hashlib.blake2b(salt.encode(), digest_size=8).hexdigest()
        if folder.is_dir():
            for other in folder.iterdir():
                if other != self.folder:
                    shutil.rmtree(other, ignore_errors=True)

    def _path(self, bucket: Bucket) -> Path:
        return self.folder / f"{bucket.key}.template"

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            payload = verified(self._path(bucket).read_bytes())
        except OSError:
            return
        if payload is not None:
            bucket.bytecode_from_string(payload)

    def dump_bytecode(self, bucket: Bucket) -> None:
        tmp = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".template-", dir=self.folder)
            with os.fdopen(fd, "wb") as handle:
                handle.write(signed(bucket.bytecode_to_string()))
            os.replace(tmp, self._path(bucket))
        except OSError:  # a full disk, say: only a cache, the next process compiles the template again
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def environment(root: Path, timezone: str, compiled: Path | None = None) -> Environment:
    """`{% extends "default:base.html" %}` reaches the shipped template from an override of the same name.

    Templates are read once: an environment is for one set of templates (a build's context key covers
    them). `compiled`: a folder to keep compiled templates in between processes (SignedBytecodeCache)."""
    shipped = FileSystemLoader(TEMPLATE_DIR)
    loaders = [FileSystemLoader(root / "site_templates")] if (root / "site_templates").is_dir() else []
    env = Environment(
        loader=ChoiceLoader([*loaders, PrefixLoader({"default": shipped}, delimiter=":"), shipped]),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        bytecode_cache=SignedBytecodeCache(compiled) if compiled is not None else None,
    )
    zone = ZoneInfo(timezone)
    env.filters["markdown"] = to_html
    env.filters["anchor"] = update_anchor
    env.filters["with_anchors"] = with_anchors
    # Times are shown in the site's zone with their offset, and carried in full in datetime="".
    env.filters["isotime"] = lambda dt: dt.astimezone(zone).replace(microsecond=0).isoformat()
    env.filters["humantime"] = lambda dt: human_time(dt.astimezone(zone))
    env.filters["humandate"] = human_date
    env.filters["duration"] = human_duration
    env.filters["label"] = lambda value: str(value).replace("_", " ").capitalize()
    env.filters["percent"] = lambda value: f"{value:.2f}".rstrip("0").rstrip(".") + "%"
    env.filters["monthname"] = lambda month: calendar.month_name[month]
    env.globals["favicon"] = find_favicon(root)
    env.globals["describe"] = describe
    return env


# Search engines show about this much of a page's description; a longer summary is cut at a word.
DESCRIPTION_LENGTH = 160


def describe(summary: str, site_description: str, sentence: str) -> str:
    """A page's `<meta name="description">`: its own summary (Markdown, as plain text), else the
    site's description, else `sentence` (made from the page's title), on one line, cut to length."""
    for text in (to_text(summary) if summary.strip() else "", site_description, sentence):
        words = " ".join(text.split())
        if len(words) > DESCRIPTION_LENGTH:
            cut = words[: DESCRIPTION_LENGTH - 1].rsplit(" ", 1)[0]
            return cut.rstrip(",;:.") + "…"
        if words:
            return words
    return ""


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def human_date(d: date) -> str:
    """'Mar 4, 2026' (English month abbreviations whatever the machine's locale, and fast)."""
    return f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"


def human_time(dt: datetime) -> str:
    """'Mar 14, 2026 10:12 CET (UTC+01:00)': unambiguous for a reader in any zone."""
    # f-strings, not strftime: a large history formats a hundred thousand times a build.
    delta = dt.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign, minutes = ("-", -minutes) if minutes < 0 else ("+", minutes)
    offset = "UTC" if minutes == 0 else f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    abbreviation = dt.tzname() or ""
    zone = f"{abbreviation} ({offset})" if abbreviation and abbreviation != "UTC" else offset
    return f"{human_date(dt)} {dt.hour:02d}:{dt.minute:02d} {zone}"


def human_duration(delta: timedelta | None) -> str:
    if delta is None:
        return "ongoing"
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if minutes == 0:
        return "under 1 min"
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{mins} min"] * bool(mins)
    return " ".join(parts[:2])

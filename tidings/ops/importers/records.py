"""What every importer produces: neutral records of components, incidents and maintenance.

An importer reads its own format and turns each item into a record here, or reports a problem
naming the item. The planner (`tidings.importers.plan`) turns records into content files; it never
sees the source format.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tidings.content.model import slugify
from tidings.errors import TidingsError


class ImportFailed(TidingsError):
    """The input has problems; nothing was written. `problems` names each record and field."""

    def __init__(self, problems: list[str], hint: str = ""):
        shown = problems[0] if len(problems) == 1 else f"{len(problems)} problems"
        super().__init__(f"{shown}; nothing was written")
        self.problems = problems
        self.hint = hint  # what would fix most of them, when one cause explains many


class Problems:
    """Collects every problem of a run, so one run reports them all."""

    def __init__(self, items: list[str] | None = None) -> None:
        self.items: list[str] = items if items is not None else []
        self.hint = ""

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}" if where else message)

    def raise_if_any(self) -> None:
        if self.items:
            raise ImportFailed(self.items, self.hint)


@dataclass(frozen=True)
class Source:
    """Where a record came from: the importer, the item's id there, and its public URL."""

    kind: str
    id: str
    url: str | None = None


@dataclass(frozen=True)
class GroupRecord:
    key: str  # the source's id for it, for components to point at
    name: str
    description: str = ""


@dataclass(frozen=True)
class ComponentRecord:
    key: str  # the source's id, what incidents point at (besides the name)
    name: str
    description: str = ""
    group: str | None = None  # a GroupRecord key
    url: str | None = None
    source: Source | None = None  # when the source has ids for components


@dataclass(frozen=True)
class ComponentRef:
    """A component named by a record: by the source's key, or by its name."""

    value: str
    where: str  # the field, e.g. "components[2]", for the error if it is unknown


@dataclass(frozen=True)
class UpdateRecord:
    at: datetime
    status: str
    body: str


@dataclass
class IncidentRecord:
    where: str  # e.g. "incidents[17] (id j4vrg2ljjb5c)"
    source: Source
    title: str
    severity: str
    status: str
    started_at: datetime
    resolved_at: datetime | None
    components: list[tuple[ComponentRef, str]]  # (component, impact)
    updates: list[UpdateRecord]
    preferred_id: str
    body: str = ""
    postmortem: str | None = None


@dataclass
class MaintenanceRecord:
    where: str
    source: Source
    title: str
    scheduled_for: datetime
    scheduled_until: datetime
    components: list[ComponentRef]
    status: str | None
    updates: list[UpdateRecord]
    preferred_id: str
    body: str = ""


@dataclass
class ImportBatch:
    """Everything one input holds, ready to plan."""

    title: str | None = None  # the page's name, for a status repo created by the import
    description: str | None = None  # the page's description, likewise (cState's params.description)
    timezone: str | None = None
    base_url: str | None = None  # where the old page was served, likely where the new one will be
    groups: list[GroupRecord] = field(default_factory=list)
    components: list[ComponentRecord] = field(default_factory=list)
    incidents: list[IncidentRecord] = field(default_factory=list)
    maintenance: list[MaintenanceRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # items left out on purpose, with why
    problems: list[str] = field(default_factory=list)  # records left out because they are bad


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp, aware or naive (the caller decides what naive means); None if it is not one."""
    if not isinstance(value, str) or not _ISO.match(value.strip()):
        return None
    text = value.strip()
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def make_id(text: str) -> str:
    """An id from a name, accents folded first: 'São Paulo' -> 'sao-paulo' (slugify alone drops 'ã')."""
    folded = unicodedata.normalize("NFKD", text)
    return slugify("".join(c for c in folded if not unicodedata.combining(c)))


def id_slug(title: str, limit: int = 60) -> str:
    """The title as an id part, cut at a word to at most `limit` characters."""
    slug = make_id(title)
    if len(slug) > limit:
        cut = slug[:limit]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return slug


def as_utc_date(dt: datetime) -> str:
    return dt.astimezone(UTC).date().isoformat()

"""Checks across files: references between ids, duplicate ids, and rules no single field can state.

References are checked on the raw documents, so a file with a type error elsewhere still gets its
unknown component or person reported in the same run.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tidings import clock
from tidings.content import review_checks
from tidings.content.diagnostics import Diagnostic, did_you_mean
from tidings.content.documents import Document
from tidings.content.layout import (
    CONTENT_DIR,
    FOLDERS,
    INTEGRATIONS_FILE,
    NOTIFICATIONS_FILE,
    PEOPLE_FILE,
    SITE_FILE,
)
from tidings.content.model import (
    ID_PATTERN,
    IncidentFile,
    MaintenanceFile,
    PolicyFile,
    ScheduleFile,
    StatusRepo,
    slugify,
)
from tidings.content.model_errors import field_path

if TYPE_CHECKING:
    from tidings.content.load import ParsedFile

# A path into a document: names are keys, "*" any list item, "@" the keys of a mapping.
Pattern = tuple[str, ...]


@dataclass(frozen=True)
class Reference:
    doc_kind: str
    pattern: Pattern
    target: str  # "component", "group", "runbook", "person", "schedule", "policy", "channel"


REFERENCES: tuple[Reference, ...] = (
    Reference("site", ("services", "*", "group"), "group"),
    Reference("site", ("services", "*", "policy"), "policy"),
    Reference("incident", ("components", "@"), "component"),
    Reference("incident", ("runbooks", "*"), "runbook"),
    Reference("incident", ("assignees", "*"), "person"),
    Reference("incident", ("policy",), "policy"),
    Reference("template", ("components", "@"), "component"),
    Reference("template", ("runbooks", "*"), "runbook"),
    Reference("template", ("assignees", "*"), "person"),
    Reference("template", ("policy",), "policy"),
    Reference("notifications", ("announce", "*", "when", "components", "*"), "component"),
    Reference("integrations", ("integrations", "*", "policy"), "policy"),
    Reference("maintenance", ("components", "*"), "component"),
    Reference("runbook", ("services", "*"), "component"),
    Reference("schedule", ("rotations", "*", "participants", "*"), "person"),
    Reference("schedule", ("overrides", "*", "person"), "person"),
    Reference("policy", ("rules", "*", "schedule"), "schedule"),
    Reference("policy", ("rules", "*", "person"), "person"),
    Reference("alert", ("incident",), "incident"),
    Reference("alert", ("events", "*", "incident"), "incident"),
    Reference("people", ("people", "*", "contact", "*", "channel"), "channel"),
    Reference("review", ("incidents", "*"), "incident"),
    Reference("review", ("authors", "*"), "person"),
    Reference("review", ("action_items", "*", "owner"), "person"),
)


def _walk(
    data: Any, pattern: Pattern, loc: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any, bool]]:
    """Yield (loc, value, is_key) for every value in `data` that `pattern` matches."""
    if not pattern:
        yield loc, data, False
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*" and isinstance(data, list):
        for i, item in enumerate(data):
            yield from _walk(item, rest, (*loc, i))
    elif head == "@" and isinstance(data, dict):
        for key in data:
            yield (*loc, key), key, True
    elif isinstance(data, dict) and head in data:
        yield from _walk(data[head], rest, (*loc, head))


def _raw_list(doc: Document | None, key: str) -> list[dict[str, Any]]:
    """The mappings in a document's top-level list `key`, valid or not."""
    data = doc.values() if doc is not None and doc.data is not None else None
    items = data.get(key) if isinstance(data, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _known_ids(
    site_doc: Document | None, people_doc: Document | None, parsed: Sequence[ParsedFile]
) -> dict[str, set[str]]:
    # Ids count even where their own file or entry is invalid: its errors are reported already, and
    # every use of it being flagged as unknown as well would bury them.
    kinds = ("runbook", "schedule", "policy", "incident")
    files = {kind: {p.id for p in parsed if p.kind == kind} for kind in kinds}
    components = set()
    for service in _raw_list(site_doc, "services"):
        if isinstance(service.get("id"), str):
            components.add(service["id"])
        elif isinstance(service.get("name"), str):
            components.add(slugify(service["name"]))
    return {
        "component": components,
        "group": {g["id"] for g in _raw_list(site_doc, "groups") if isinstance(g.get("id"), str)},
        "runbook": files["runbook"],
        "schedule": files["schedule"],
        "policy": files["policy"],
        "incident": files["incident"],
        "person": {p["id"] for p in _raw_list(people_doc, "people") if isinstance(p.get("id"), str)},
    }


def references_in(kind: str, data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """(where, id) of every id a file of `kind` names (its values, as the model reads them)."""
    return [
        (loc, value)
        for ref in REFERENCES
        if ref.doc_kind == kind
        for loc, value, _ in _walk(data, ref.pattern)
        if isinstance(value, str)
    ]


# One id a file names that could be a reference: (target kind, where, the id, whether it is a key).
Candidate = tuple[str, tuple[str | int, ...], str, bool]


def reference_candidates(kind: str, doc: Document) -> tuple[Candidate, ...]:
    """The ids a document of `kind` names that are well-formed (a malformed one is the model's to
    report): what checking its references needs, so a file unchanged since the last run is not walked
    again (see Parsed.references)."""
    if doc.data is None:
        return ()
    data = doc.values()
    return tuple(
        (ref.target, loc, value, is_key)
        for ref in REFERENCES
        if ref.doc_kind == kind
        for loc, value, is_key in _walk(data, ref.pattern)
        if isinstance(value, str) and ID_PATTERN.match(value)
    )


def check_candidates(
    doc: Document, candidates: Iterable[Candidate], known: Mapping[str, set[str]]
) -> list[Diagnostic]:
    """The unknown ids among a document's candidates; a target kind absent from `known` is not checked."""
    out: list[Diagnostic] = []
    for target, loc, value, is_key in candidates:
        if target not in known or value in known[target]:
            continue
        hint = did_you_mean(value, known[target])
        if not hint and not known[target]:
            hint = f"no {target} is defined yet"
        out.append(
            _at(doc, loc, f"unknown {target} '{value}'", "error", "unknown-reference", hint, key=is_key)
        )
    return out


def check_references(docs: Sequence[tuple[str, Document]], known: Mapping[str, set[str]]) -> list[Diagnostic]:
    """Unknown ids in `docs`; a target kind absent from `known` is not checked (its ids are unknowable)."""
    out: list[Diagnostic] = []
    for kind, doc in docs:
        out += check_candidates(doc, reference_candidates(kind, doc), known)
    return out


# What each path of a status repo must be when it is there at all: a folder (True) or a file (False).
LAYOUT: tuple[tuple[str, bool], ...] = (
    (".gitlab", True),
    (SITE_FILE, False),
    (INTEGRATIONS_FILE, False),
    (NOTIFICATIONS_FILE, False),
    (CONTENT_DIR, True),
    (PEOPLE_FILE, False),
    ("content/oncall", True),
    *((folder.path, True) for folder in FOLDERS),
)


def _wrong_type(path: Path, folder: bool) -> str:
    """Why `path` is not what the layout wants ("" when it is, or is absent)."""
    if not os.path.lexists(path):
        return ""
    want = "expected a folder" if folder else "expected a file"
    if path.is_symlink() and not path.exists():
        return f"is a broken symlink (to '{os.readlink(path)}'), {want}"
    if folder and not path.is_dir():
        return f"is a file, {want}" if path.is_file() else f"is not a folder, {want}"
    if not folder and not path.is_file():
        return f"is a folder, {want}" if path.is_dir() else f"is not a regular file, {want}"
    return ""


def check_layout(root: Path | str) -> list[Diagnostic]:
    """Paths of the layout that exist with the wrong type: Tidings would skip them without a word."""
    root = Path(root)
    out: list[Diagnostic] = []
    for rel, folder in LAYOUT:
        problem = _wrong_type(root / rel, folder)
        if problem:
            # Tidings reads nothing from it until it is what it should be.
            hint = "make it a folder and put the files in it" if folder else "make it a YAML file"
            out.append(Diagnostic(rel, 1, 1, "", f"{rel} {problem}", "error", "wrong-file-type", hint))
    return out


def _unreadable_sources(root: Path, site_doc: Document | None, people_doc: Document | None) -> set[str]:
    """Reference targets whose defining file or folder could not be read: their ids are unknowable."""
    out: set[str] = set()
    if site_doc is None or site_doc.data is None:
        out |= {"component", "group"}  # no site file, or one that does not parse: its error says so
    if (people_doc is not None and people_doc.data is None) or _wrong_type(root / PEOPLE_FILE, False):
        out.add("person")
    for folder in FOLDERS:
        if folder.kind in ("runbook", "schedule", "policy"):
            parents = [folder.path, "content/oncall", CONTENT_DIR]
            if any(_wrong_type(root / rel, True) for rel in parents):
                out.add(folder.kind)
    return out


def check_duplicate_ids(
    doc: Document | None, list_key: str, what: str, derive: bool = False
) -> list[Diagnostic]:
    """Ids in a list of mappings (`services`, `groups`, `people`) must be unique."""
    if doc is None or doc.data is None:
        return []
    items = doc.values().get(list_key) if isinstance(doc.values(), dict) else None
    if not isinstance(items, list):
        return []
    seen: dict[str, int] = {}
    out: list[Diagnostic] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        item_id = item.get("id")
        loc: tuple[str | int, ...] = (list_key, i, "id")
        if item_id is None and derive and isinstance(item.get("name"), str):
            item_id, loc = slugify(item["name"]), (list_key, i, "name")
        if not isinstance(item_id, str):
            continue
        if item_id in seen:
            out.append(
                _at(
                    doc,
                    loc,
                    f"duplicate {what} id '{item_id}' (also {list_key}[{seen[item_id]}])",
                    "error",
                    "duplicate-id",
                    "give each one its own 'id'" if derive else "",
                )
            )
        else:
            seen[item_id] = i
    return out


def check_duplicate_files(parsed: Sequence[ParsedFile]) -> list[Diagnostic]:
    """Incidents and maintenance share one URL space; a schedule a.yml and a.yaml clash too."""
    out: list[Diagnostic] = []
    groups = {
        "incident": "page",
        "maintenance": "page",
        "schedule": "schedule",
        "policy": "policy",
        "runbook": "runbook",
        "template": "template",
        "alert": "alert",
        "review": "review",
    }
    seen: dict[tuple[str, str], str] = {}
    for p in parsed:
        key = (groups[p.kind], p.id)
        if key in seen:
            out.append(
                Diagnostic(
                    p.rel,
                    1,
                    1,
                    "",
                    f"duplicate id '{p.id}': {seen[key]} has it too",
                    "error",
                    "duplicate-id",
                    "rename one of the files",
                )
            )
        else:
            seen[key] = p.rel
    return out


def _at(
    doc: Document,
    loc: tuple[str | int, ...],
    message: str,
    severity: str = "error",
    code: str = "inconsistent",
    hint: str = "",
    key: bool = False,
) -> Diagnostic:
    """A diagnostic at `loc` in `doc` (with `key`, at the mapping key `loc` ends in, not its value)."""
    line, col = doc.position(loc, key=key)
    return Diagnostic(doc.rel, line, col, field_path(loc), message, severity, code, hint)  # type: ignore[arg-type]


def _check_order(doc: Document, updates: Sequence[Any]) -> list[Diagnostic]:
    out = []
    for i in range(1, len(updates)):
        if updates[i].at < updates[i - 1].at:
            out.append(
                _at(
                    doc,
                    ("updates", i, "at"),
                    f"update time {updates[i].at.isoformat()} is earlier than the update before it "
                    f"({updates[i - 1].at.isoformat()})",
                    code="updates-out-of-order",
                    hint="updates are listed oldest first",
                )
            )
    return out


def clock_start(model: object) -> datetime | None:
    """The one time the checks of a file (check_file) compare with the clock: an incident's start
    (see check_incident). Its findings are kept from one run to the next (Parsed.file_checks) until
    the clock passes it."""
    started = getattr(model, "started_at", None) if isinstance(model, IncidentFile) else None
    return started if isinstance(started, datetime) else None


def clock_class(start: datetime | None, now: datetime) -> bool:
    """Which side of `start` (clock_start) the clock is on: equal classes, equal findings."""
    return start is not None and start > now


def check_incident(doc: Document, inc: IncidentFile, now: datetime | None = None) -> list[Diagnostic]:
    """Rules across the fields of one incident; `now` (default: the clock) for a start in the future."""
    # `inc` may be salvaged from an invalid file: an invalid required key is then absent.
    started = getattr(inc, "started_at", None)
    status = getattr(inc, "status", None)
    out = _check_order(doc, inc.updates)
    if started and getattr(inc, "published", False) and started > (clock.now() if now is None else now):
        out.append(
            _at(
                doc,
                ("started_at",),
                f"published, but it starts in the future ({started.isoformat()}): "
                "the page and the API leave it out until then",
                "warning",
                "future-start",
                "check started_at and its offset, or set 'published: false' until it starts",
            )
        )
    if started and inc.resolved_at and inc.resolved_at < started:
        out.append(
            _at(
                doc,
                ("resolved_at",),
                "resolved before it started",
                code="time-order",
                hint=f"started_at is {started.isoformat()}",
            )
        )
    if started and inc.acknowledged_at and inc.acknowledged_at < started:
        out.append(
            _at(
                doc,
                ("acknowledged_at",),
                "acknowledged before it started",
                code="time-order",
                hint=f"started_at is {started.isoformat()}",
            )
        )
    if started and inc.updates and inc.updates[0].at < started:
        out.append(
            _at(
                doc,
                ("updates", 0, "at"),
                "the first update is earlier than started_at",
                "warning",
                "time-order",
            )
        )
    if status == "resolved" and inc.resolved_at is None:
        last = inc.updates[-1].at.isoformat() if inc.updates else "<time>"
        out.append(
            _at(
                doc,
                ("status",),
                "status is resolved but resolved_at is not set",
                "warning",
                "missing-resolved-at",
                f"add 'resolved_at: {last}'",
            )
        )
    if status and status != "resolved" and inc.resolved_at is not None:
        out.append(
            _at(
                doc,
                ("resolved_at",),
                f"resolved_at is set but status is '{status}'",
                "warning",
                "inconsistent",
                "set 'status: resolved' or remove resolved_at",
            )
        )
    public = [u for u in inc.updates if not u.internal]
    if inc.published and not public:
        out.append(
            _at(
                doc,
                ("published",),
                "published, but the incident has no public update",
                code="no-public-update",
                hint="add an update without 'internal: true', or set 'published: false'",
            )
        )
    if status and public and public[-1].status != status:
        out.append(
            _at(
                doc,
                ("status",),
                f"status is '{status}' but the latest public update says '{public[-1].status}'",
                "warning",
                "inconsistent",
            )
        )
    return out


def check_maintenance(doc: Document, mnt: MaintenanceFile) -> list[Diagnostic]:
    out = _check_order(doc, mnt.updates)
    start, end = getattr(mnt, "scheduled_for", None), getattr(mnt, "scheduled_until", None)
    if start and end and end <= start:
        out.append(
            _at(
                doc,
                ("scheduled_until",),
                "the window ends before it starts",
                code="time-order",
                hint=f"scheduled_for is {start.isoformat()}",
            )
        )
    return out


def _ends_before(start: datetime, end: datetime) -> bool:
    # Both are wall-clock or both aware in valid files; a mix compares as wall-clock times.
    if (start.tzinfo is None) != (end.tzinfo is None):
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    return end <= start


def check_schedule(doc: Document, schedule: ScheduleFile) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for i, rot in enumerate(getattr(schedule, "rotations", [])):
        if rot.ends_at is not None and _ends_before(rot.starts_at, rot.ends_at):
            out.append(
                _at(doc, ("rotations", i, "ends_at"), "the rotation ends before it starts", code="time-order")
            )
        for j, res in enumerate(rot.restrictions):
            if res.from_ == res.to:
                out.append(
                    _at(
                        doc,
                        ("rotations", i, "restrictions", j, "to"),
                        "the restriction is empty: 'from' and 'to' are the same time",
                        code="inconsistent",
                    )
                )
        seen: set[str] = set()
        for j, person in enumerate(rot.participants):
            if person in seen:
                out.append(
                    _at(
                        doc,
                        ("rotations", i, "participants", j),
                        f"'{person}' is listed twice",
                        "warning",
                        "duplicate-id",
                    )
                )
            seen.add(person)
    for i, ov in enumerate(schedule.overrides):
        if _ends_before(ov.starts_at, ov.ends_at):
            out.append(
                _at(doc, ("overrides", i, "ends_at"), "the override ends before it starts", code="time-order")
            )
    return out


def check_policy(doc: Document, policy: PolicyFile) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    rules = getattr(policy, "rules", [])
    for i in range(1, len(rules)):
        if rules[i].after_minutes < rules[i - 1].after_minutes:
            out.append(
                _at(
                    doc,
                    ("rules", i, "after_minutes"),
                    "rules should be listed in the order they fire",
                    "warning",
                    "rules-out-of-order",
                )
            )
    return out


def check_repo(
    repo: StatusRepo,
    site_doc: Document | None,
    people_doc: Document | None,
    parsed: Sequence[ParsedFile],
    now: datetime | None = None,
) -> list[Diagnostic]:
    """Every check that needs more than one file, or more than one field; `now` defaults to the clock."""
    now = clock.now() if now is None else now
    known = _known_ids(site_doc, people_doc, parsed)
    # Where a file that defines ids is unreadable, its own error says so; flagging every use of its
    # ids as unknown as well would bury that one error under dozens.
    for target in _unreadable_sources(repo.root, site_doc, people_doc):
        known.pop(target)

    out = check_references([("site", site_doc)] if site_doc is not None else [], known)
    for p in parsed:
        candidates = p.references()
        # The document (its positions) only for a file that names an unknown id: rare, and a file the
        # cache kept need not be loaded whole for the others.
        if any(target in known and value not in known[target] for target, _, value, _ in candidates):
            out += check_candidates(p.doc, candidates, known)
    out += check_duplicate_ids(site_doc, "services", "component", derive=True)
    out += check_duplicate_ids(site_doc, "groups", "group")
    out += check_duplicate_ids(people_doc, "people", "person")
    out += check_duplicate_files(parsed)
    if (
        site_doc is not None
        and site_doc.data is not None
        and not repo.components
        and not site_doc.diagnostics
    ):
        out.append(
            Diagnostic(
                site_doc.rel,
                1,
                1,
                "services",
                "no components: the page has nothing to show",
                "warning",
                "no-components",
                "list them under 'services:'",
            )
        )

    if (
        site_doc is not None
        and site_doc.data is not None
        and not site_doc.diagnostics
        and repo.site.base_url is None
        and repo.site.feeds.enabled
    ):
        out.append(
            Diagnostic(
                site_doc.rel,
                1,
                1,
                "base_url",
                "no base_url: feeds, the calendar and the JSON API can only give root-relative links",
                "warning",
                "no-base-url",
                "set base_url to where the site is served, e.g. 'https://status.example.com/'",
            )
        )
    for p in parsed:
        out += p.file_checks(now)
    out += review_checks.check_reviews(repo, parsed, now)
    return out


def check_file(doc: Document, model: object, now: datetime | None = None) -> list[Diagnostic]:
    """The checks within one file that a schema cannot say (time order, consistency)."""
    if isinstance(model, IncidentFile):
        return check_incident(doc, model, now)
    if isinstance(model, MaintenanceFile):
        return check_maintenance(doc, model)
    if isinstance(model, ScheduleFile):
        return check_schedule(doc, model)
    if isinstance(model, PolicyFile):
        return check_policy(doc, model)
    return []


def check_contact_rules(people_doc: Document | None, notifications_doc: Document | None) -> list[Diagnostic]:
    """People's contact rules: channels notifications.yml defines, the first used at once, in order."""
    if people_doc is None or people_doc.data is None:
        return []
    out: list[Diagnostic] = []
    # Channel ids count even where their entry is invalid (its own error says so); an unreadable
    # notifications.yml makes them unknowable, and its error is the one to fix first.
    if notifications_doc is None or notifications_doc.data is not None:
        channels = {c["id"] for c in _raw_list(notifications_doc, "channels") if isinstance(c.get("id"), str)}
        out += check_references([("people", people_doc)], {"channel": channels})
    for i, person in enumerate(_raw_list(people_doc, "people")):
        rules = person.get("contact")
        if not isinstance(rules, list):
            continue
        delays = [
            (j, r.get("after_minutes", 0))
            for j, r in enumerate(rules)
            if isinstance(r, dict) and isinstance(r.get("after_minutes", 0), int)
        ]
        if delays and delays[0][1] != 0:
            j, minutes = delays[0]
            out.append(
                _at(
                    people_doc,
                    ("people", i, "contact", j, "after_minutes"),
                    f"the first contact method is used as soon as the person is paged, not after {minutes} "
                    "minutes",
                    "warning",
                    "contact-first-delayed",
                    "give it after_minutes: 0, or leave after_minutes out",
                )
            )
        for (_, before), (j, minutes) in itertools.pairwise(delays):
            if minutes < before:
                out.append(
                    _at(
                        people_doc,
                        ("people", i, "contact", j, "after_minutes"),
                        "contact methods should be listed in the order they are used",
                        "warning",
                        "contact-out-of-order",
                    )
                )
    return out


def check_heartbeats(integrations_doc: Document | None) -> list[Diagnostic]:
    """An integration expecting a heartbeat needs a policy: its 'monitoring silent' alert names no
    component, so the integration's policy is the only one it can page through."""
    if integrations_doc is None or integrations_doc.data is None:
        return []
    out: list[Diagnostic] = []
    for i, integration in enumerate(_raw_list(integrations_doc, "integrations")):
        if isinstance(integration.get("heartbeat"), dict) and not integration.get("policy"):
            out.append(
                _at(
                    integrations_doc,
                    ("integrations", i, "heartbeat"),
                    "a 'monitoring silent' alert of this integration would page nobody: it has no policy",
                    "warning",
                    "heartbeat-pages-nobody",
                    "set 'policy:' on the integration",
                )
            )
    return out

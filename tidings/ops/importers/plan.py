"""Records to content files: plan every file in memory, check it, then write them all.

`plan_import` resolves components (existing entries of `.gitlab/status-page.yml` first, new ones
appended through a round-trip edit so comments stay), gives each incident and maintenance a
stable id, renders every file and checks it with the model. Only when all of that succeeded does
`ImportPlan.write` touch the disk, through tidings.edit. A file that was imported before is found
by its `source` (importer + upstream id), so an upstream rename keeps the file; a file whose
bytes would not change is left alone and reported as unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any, Literal, TypeVar

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from tidings.content.diagnostics import did_you_mean
from tidings.content.documents import parse_yaml, plain, split_front_matter
from tidings.content.layout import FOLDERS, SITE_FILE
from tidings.content.model import slugify
from tidings.ops.importers.records import (
    ComponentRef,
    ImportBatch,
    IncidentRecord,
    MaintenanceRecord,
    Problems,
    Source,
    UpdateRecord,
    make_id,
)
from tidings.ops.status import worst
from tidings.store.edit import EditableFile, EditError, check, new_editable, read_editable, write_atomic
from tidings.store.incident_file import block_text, schema_modeline, stamp_as_given, update_entry

Action = Literal["created", "updated", "unchanged"]
T = TypeVar("T")
Progress = Callable[[Sequence[T], str], Iterable[T]]

INCIDENT_DIR = next(f.path for f in FOLDERS if f.kind == "incident")
MAINTENANCE_DIR = next(f.path for f in FOLDERS if f.kind == "maintenance")
# Keys an import owns. On a re-import they follow upstream; every other key (notes, runbooks,
# labels, links, `published`...) is the status repo's own and stays as people set it.
_OWNED = {
    "incident": ("title", "severity", "status", "started_at", "resolved_at", "components", "updates"),
    "maintenance": ("title", "scheduled_for", "scheduled_until", "components", "status", "updates"),
}


@dataclass
class PlannedFile:
    """One file the import would write, with what is there now (None: a new file)."""

    kind: str  # "site", "incident" or "maintenance"
    rel: str
    path: Path
    text: str
    old: str | None
    action: Action
    where: str = ""  # the record it comes from


@dataclass
class ImportPlan:
    """Every file of an import, rendered and checked; nothing is on disk until `write`."""

    root: Path
    files: list[PlannedFile] = field(default_factory=list)
    components_added: int = 0
    groups_added: int = 0

    def count(self, action: Action, kinds: tuple[str, ...] = ("incident", "maintenance")) -> int:
        return sum(1 for f in self.files if f.action == action and f.kind in kinds)

    @property
    def changed(self) -> list[PlannedFile]:
        return [f for f in self.files if f.action != "unchanged"]

    def summary(self) -> str:
        """'790 created, 0 updated, 0 unchanged; 12 components and 0 groups added'."""
        text = (
            f"{self.count('created')} created, {self.count('updated')} updated, "
            f"{self.count('unchanged')} unchanged"
        )
        if self.components_added or self.groups_added:
            text += f"; {self.components_added} components and {self.groups_added} groups added"
        return text

    def write(self, progress: Progress[PlannedFile] | None = None) -> None:
        """Write each changed file atomically, the site file first; on a failure put back what was written."""
        todo = sorted(self.changed, key=lambda f: f.kind != "site")
        done: list[PlannedFile] = []
        try:
            for f in progress(todo, "Writing") if progress else todo:
                write_atomic(f.path, f.text)
                done.append(f)
        except BaseException:
            for f in reversed(done):
                if f.old is None:
                    f.path.unlink(missing_ok=True)
                else:
                    write_atomic(f.path, f.old)
            raise


def _updates(updates: list[UpdateRecord]) -> CommentedSeq:
    # Imported history keeps its source's words only: its updates have no ids (tidings log pairs
    # id-less updates by what they say).
    return CommentedSeq(
        update_entry(stamp_as_given(u.at), u.status, block_text(u.body), with_id=False) for u in updates
    )


def _source(source: Source) -> CommentedMap:
    out = CommentedMap([("kind", source.kind), ("id", source.id)])
    if source.url:
        out["url"] = source.url
    return out


_SOURCE_BLOCK = re.compile(r"^source:[^\n]*\n?(?:[ \t]+[^\n]*\n?)*", re.MULTILINE)
# What the importers write: `  kind: statuspage` lines of plain words; anything else is parsed as YAML.
_SIMPLE_KEY = re.compile(r"^[ \t]+(kind|id):[ \t]*([A-Za-z0-9][A-Za-z0-9._-]*)[ \t]*$", re.MULTILINE)


def source_of(text: str) -> tuple[str, str] | None:
    """(kind, id) of a content file's `source:`, reading only that block of the front matter."""
    parts = split_front_matter(text)
    if parts is None:
        return None
    found = _SOURCE_BLOCK.search(parts[0])
    if found is None:
        return None
    simple = dict(_SIMPLE_KEY.findall(found.group(0)))
    if "kind" in simple and "id" in simple:
        return simple["kind"], simple["id"]
    block = parse_yaml(found.group(0), Path(), "")  # never raises: data is None when it does not parse
    data = block.values() if block.data is not None else None
    source = data.get("source") if isinstance(data, dict) else None
    if isinstance(source, dict) and isinstance(source.get("kind"), str) and source.get("id") is not None:
        return source["kind"], str(source["id"])
    return None


@dataclass
class _Existing:
    kind: str
    id: str
    path: Path
    text: str


# How many component names a written description lists before "and N more".
DESCRIBED_COMPONENTS = 3


def written_description(title: str, batch: ImportBatch) -> str:
    """A description for a status repo an import starts from a source that has none (Statuspage's
    API has no such field): the page's name and its first components, so every page has a
    `<meta name="description">` that says what it is about."""
    name = re.sub(r"\s*\bstatus$", "", title.strip(), flags=re.IGNORECASE)
    names = [c.name for c in batch.components]
    listed = ", ".join(names[:DESCRIBED_COMPONENTS])
    if len(names) > DESCRIBED_COMPONENTS:
        listed += f" and {len(names) - DESCRIBED_COMPONENTS} more"
    elif len(names) > 1:
        listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    subject = f" of {name}" if name else ""
    return f"Current status and incident history{subject}{': ' + listed if listed else ''}."


class _Sites:
    """The site file being edited, and the component and group ids it knows."""

    def __init__(self, root: Path, batch: ImportBatch, problems: Problems):
        self.root = root
        self.path = root / SITE_FILE
        self.old: str | None = None
        self.components_added = 0
        self.groups_added = 0
        self.edit: EditableFile
        if self.path.is_file():
            self.old = self.path.read_text(encoding="utf-8")
            try:
                self.edit = read_editable(self.path, "site", markdown=False)
            except (EditError, YAMLError) as exc:
                problems.add(SITE_FILE, f"cannot read it to add components: {exc}")
                self.edit = new_editable(self.path, "site", {}, markdown=False)
        else:
            start: dict[str, Any] = {"title": batch.title or "Status"}
            start["description"] = batch.description or written_description(start["title"], batch)
            if batch.base_url:
                start["base_url"] = batch.base_url
            if batch.timezone:
                start["timezone"] = batch.timezone
            self.edit = new_editable(
                self.path, "site", start, markdown=False, schema_modeline="schemas/site.schema.json"
            )
        self.services = self._list("services")
        self.groups = self._list("groups")
        self.service_ids = [self._service_id(s) for s in self.services]
        self.group_ids = [str(g["id"]) for g in self.groups if isinstance(g, dict) and "id" in g]

    def _list(self, key: str) -> CommentedSeq:
        value = self.edit.data.get(key)
        return value if isinstance(value, CommentedSeq) else CommentedSeq(value or [])

    def _append(self, key: str, entry: CommentedMap, before: str | None = None) -> None:
        """Add to the list `key`, putting the list into the file when it is not there yet."""
        data, seq = self.edit.data, self.services if key == "services" else self.groups
        if data.get(key) is not seq:
            if key in data:
                data[key] = seq
            elif before is not None and before in data:
                data.insert(list(data).index(before), key, seq)
            else:
                data[key] = seq
        seq.append(entry)

    @staticmethod
    def _service_id(entry: object) -> str | None:
        if not isinstance(entry, dict):
            return None
        if isinstance(entry.get("id"), str):
            return str(entry["id"])
        return slugify(str(entry["name"])) if isinstance(entry.get("name"), str) else None

    def find_group(self, name: str) -> str | None:
        for g in self.groups:
            if isinstance(g, dict) and str(g.get("name", "")).casefold() == name.casefold():
                return str(g.get("id"))
        return None

    def add_group(self, name: str, description: str) -> str:
        gid = _unique(make_id(name), set(self.group_ids))
        entry = CommentedMap([("id", gid), ("name", name)])
        if description:
            entry["description"] = description
        self._append("groups", entry, before="services")
        self.group_ids.append(gid)
        self.groups_added += 1
        return gid

    def find_service(self, name: str, group: str | None, source: Source | None) -> str | None:
        """The service imported from `source` before; else the one of that name (in that group)."""
        if source is not None:
            for sid, s in zip(self.service_ids, self.services, strict=True):
                link = s.get("source") if isinstance(s, dict) else None
                if (
                    sid
                    and isinstance(link, dict)
                    and (link.get("kind"), str(link.get("id")))
                    == (
                        source.kind,
                        source.id,
                    )
                ):
                    return sid
        found = [
            (sid, s)
            for sid, s in zip(self.service_ids, self.services, strict=True)
            if isinstance(s, dict) and str(s.get("name", "")).casefold() == name.casefold() and sid
        ]
        # Statuspage pages often have an "API" in each region: a name only matches within its group.
        same_group = [sid for sid, s in found if s.get("group") == group]
        if same_group:
            return same_group[0]
        return found[0][0] if found and group is None else None

    def add_service(
        self, name: str, description: str, group: str | None, url: str | None, source: Source | None
    ) -> str:
        taken = {s for s in self.service_ids if s}
        base = make_id(name)
        if base in taken and group:
            base = f"{group}-{base}"
        sid = _unique(base, taken)
        entry = CommentedMap([("name", name)])
        if url:
            entry["url"] = url
        entry["id"] = sid
        if description:
            entry["description"] = block_text(description)
        if group:
            entry["group"] = group
        if source is not None:
            link = _source(source)
            link.fa.set_flow_style()
            entry["source"] = link
        self._append("services", entry)
        self.service_ids.append(sid)
        self.components_added += 1
        return sid

    def names(self) -> dict[str, str]:
        """Service name -> id."""
        out: dict[str, str] = {}
        for sid, s in zip(self.service_ids, self.services, strict=True):
            if sid and isinstance(s, dict) and isinstance(s.get("name"), str):
                out.setdefault(str(s["name"]), sid)
        return out


def _unique(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


class _Components:
    """Resolves what records call a component (source key, name or alias) to a component id."""

    def __init__(self, site: _Sites, batch: ImportBatch, aliases: dict[str, str]):
        self.site = site
        self.aliases = aliases
        self.by_key: dict[str, str] = {}
        by_name: dict[str, set[str]] = {}
        group_ids: dict[str, str] = {}
        for g in batch.groups:
            gid = site.find_group(g.name)
            if gid is None:
                gid = site.add_group(g.name, g.description)
            group_ids[g.key] = gid
        for c in batch.components:
            if c.key in self.by_key:
                continue
            group = group_ids.get(c.group) if c.group else None
            cid = site.find_service(c.name, group, c.source)
            if cid is None:
                cid = site.add_service(c.name, c.description, group, c.url, c.source)
            self.by_key[c.key] = cid
            by_name.setdefault(c.name, set()).add(cid)
        self.by_name = by_name
        self.existing = site.names()
        self.ids = {s for s in site.service_ids if s}
        self.unknown: dict[str, int] = {}
        self.bad_aliases: dict[str, int] = {}  # "OLD=NEW" whose NEW names no component -> uses

    def resolve(self, ref: ComponentRef) -> tuple[str | None, str]:
        """(component id, "") or (None, why not)."""
        value = self.aliases.get(ref.value, ref.value)
        if value in self.by_key:
            return self.by_key[value], ""
        named = self.by_name.get(value)
        if named and len(named) > 1:
            return None, f"component name {value!r} is ambiguous: it names {', '.join(sorted(named))}"
        if named:
            return next(iter(named)), ""
        if value in self.existing:
            return self.existing[value], ""
        if value in self.ids:
            return value, ""
        known = sorted(set(self.by_name) | set(self.existing))
        hint = did_you_mean(value, known)
        if value != ref.value:
            # The alias matched: what is unknown is its NEW, a slip in the command line, not in the input.
            alias = f"{ref.value}={value}"
            self.bad_aliases[alias] = self.bad_aliases.get(alias, 0) + 1
            words = f"{hint} " if hint else ""
            return None, (
                f"unknown component {value!r}, from --component-alias '{alias}' "
                f"({words}NEW must be a component of the input or of the status repo)"
            )
        self.unknown[ref.value] = self.unknown.get(ref.value, 0) + 1
        close = re.findall(r"'(.*)'", hint)
        alias = f"'{ref.value}={close[0] if close else 'NAME'}'"
        advice = f"--component-alias {alias} maps an old name to a current one"
        return None, f"unknown component {ref.value!r} ({hint + ' ' if hint else ''}{advice})"


def _existing_files(root: Path) -> tuple[dict[tuple[str, str, str], _Existing], set[str]]:
    """Files imported before, by (file kind, source kind, source id); and every page id in use."""
    by_source: dict[tuple[str, str, str], _Existing] = {}
    taken: set[str] = set()
    for kind, folder in (("incident", INCIDENT_DIR), ("maintenance", MAINTENANCE_DIR)):
        directory = root / folder
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.md")):
            taken.add(path.stem)
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            found = source_of(text) if "source:" in text else None
            if found is not None:
                by_source.setdefault((kind, *found), _Existing(kind, path.stem, path, text))
    return by_source, taken


def _incident_data(record: IncidentRecord, components: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": record.title,
        "severity": record.severity,
        "status": record.status,
        "published": True,
        "started_at": stamp_as_given(record.started_at),
    }
    if record.resolved_at is not None:
        data["resolved_at"] = stamp_as_given(record.resolved_at)
    data["components"] = CommentedMap(components.items())
    data["updates"] = _updates(record.updates)
    if record.postmortem:
        data["postmortem"] = block_text(record.postmortem)
    data["source"] = _source(record.source)
    return data


def _maintenance_data(record: MaintenanceRecord, components: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": record.title,
        "scheduled_for": stamp_as_given(record.scheduled_for),
        "scheduled_until": stamp_as_given(record.scheduled_until),
        "components": CommentedSeq(components),
    }
    if record.status:
        data["status"] = record.status
    data["published"] = True
    data["updates"] = _updates(record.updates)
    data["source"] = _source(record.source)
    return data


def _merge(existing: _Existing, kind: str, fresh: EditableFile, body: str) -> EditableFile:
    """The existing file with the keys an import owns set to the fresh values; the rest as it was."""
    edit = read_editable(existing.path, kind)
    owned = (*_OWNED[kind], "postmortem", "source") if kind == "incident" else (*_OWNED[kind], "source")
    order = list(fresh.data)
    for key in owned:
        if key in fresh.data:
            value = fresh.data[key]
            if key not in edit.data:
                before = [k for k in order[: order.index(key)] if k in edit.data]
                position = list(edit.data).index(before[-1]) + 1 if before else 0
                edit.data.insert(position, key, value)
            elif plain(edit.data[key]) != plain(value):
                edit.data[key] = value
        elif key in edit.data and key != "postmortem":
            del edit.data[key]
    if body:
        edit.body = body
    return edit


def plan_import(
    root: Path,
    batch: ImportBatch,
    aliases: dict[str, str] | None = None,
    progress: Progress[IncidentRecord | MaintenanceRecord] | None = None,
) -> ImportPlan:
    """Every file the import of `batch` into the status repo at `root` would write; raises ImportFailed."""
    problems = Problems(list(batch.problems))  # the reader's, so one run reports every problem
    site = _Sites(root, batch, problems)
    components = _Components(site, batch, aliases or {})
    by_source, taken = _existing_files(root)
    plan = ImportPlan(root=root)

    records: list[IncidentRecord | MaintenanceRecord] = [*batch.incidents, *batch.maintenance]
    records.sort(key=lambda r: (_start(r), r.source.id))
    seen: dict[tuple[str, str, str], str] = {}
    for record in progress(records, "Importing") if progress else records:
        kind = "incident" if isinstance(record, IncidentRecord) else "maintenance"
        key = (kind, record.source.kind, record.source.id)
        if key in seen:
            problems.add(record.where, f"the same {kind} as {seen[key]}")
            continue
        seen[key] = record.where
        planned = _plan_record(record, kind, components, by_source.get(key), taken, problems)
        if planned is not None:
            plan.files.append(planned)

    site_text = site.edit.render()
    plan.components_added = site.components_added
    plan.groups_added = site.groups_added
    if site.old != site_text:
        try:
            check(site.edit, SITE_FILE)
        except EditError as exc:
            problems.add(SITE_FILE, f"adding the components would make it invalid: {_first_problem(exc)}")
        action: Action = "created" if site.old is None else "updated"
        plan.files.insert(0, PlannedFile("site", SITE_FILE, site.path, site_text, site.old, action))
    hints = []
    if components.unknown:
        names = ", ".join(f"'{name}' ({n}x)" for name, n in sorted(components.unknown.items()))
        hints.append(
            f"components named but not defined: {names}; add them to the input's components or the "
            "status repo's services, or map each renamed one with --component-alias OLD=NEW"
        )
    if components.bad_aliases:
        names = ", ".join(f"'{alias}' ({n}x)" for alias, n in sorted(components.bad_aliases.items()))
        hints.append(f"--component-alias whose NEW is no component: {names}")
    problems.hint = "; ".join(hints)
    problems.raise_if_any()
    return plan


def _first_problem(exc: EditError) -> str:
    first = exc.diagnostics[0] if exc.diagnostics else None
    if first is None:
        return str(exc)
    return f"{first.field}: {first.message}" if first.field else first.message


def _start(record: IncidentRecord | MaintenanceRecord) -> str:
    when = record.started_at if isinstance(record, IncidentRecord) else record.scheduled_for
    return stamp_as_given(when.astimezone(UTC))


def _plan_record(
    record: IncidentRecord | MaintenanceRecord,
    kind: str,
    components: _Components,
    existing: _Existing | None,
    taken: set[str],
    problems: Problems,
) -> PlannedFile | None:
    ok = True
    if isinstance(record, IncidentRecord):
        impacts: dict[str, list[str]] = {}
        for ref, impact in record.components:
            cid, why = components.resolve(ref)
            if cid is None:
                problems.add(record.where, f"{ref.where}: {why}")
                ok = False
            else:
                impacts.setdefault(cid, []).append(impact)
        data = _incident_data(record, {cid: worst(found) for cid, found in impacts.items()})
    else:
        ids: list[str] = []
        for ref in record.components:
            cid, why = components.resolve(ref)
            if cid is None:
                problems.add(record.where, f"{ref.where}: {why}")
                ok = False
            elif cid not in ids:
                ids.append(cid)
        data = _maintenance_data(record, ids)
    if not ok:
        return None

    if problems.items:
        return None  # nothing will be written: spare the rendering, keep finding input problems
    folder = INCIDENT_DIR if kind == "incident" else MAINTENANCE_DIR
    if existing is not None:
        file_id = existing.id
    else:
        file_id = record.preferred_id
        if file_id in taken:
            file_id = f"{file_id}-{slugify(record.source.id)}"
        file_id = _unique(file_id, taken)
        taken.add(file_id)
    rel = f"{folder}/{file_id}.md"
    path = components.site.root / rel
    body = record.body.rstrip("\n") + "\n" if record.body.strip() else ""
    edit = new_editable(path, kind, data, body=body, schema_modeline=schema_modeline(kind))
    text = edit.render()
    action: Action = "created"
    old = None
    if existing is not None:
        old = existing.text
        if text == old:
            action = "unchanged"
        else:
            try:
                edit = _merge(existing, kind, edit, body)
            except (EditError, YAMLError) as exc:
                problems.add(record.where, f"cannot update {rel}: {exc}")
                return None
            text = edit.render()
            action = "unchanged" if text == old else "updated"
    if action != "unchanged":
        try:
            check(edit, rel)
        except EditError as exc:
            problems.add(record.where, f"would write an invalid {rel}: {_first_problem(exc)}")
            return None
    return PlannedFile(kind, rel, path, text, old, action, record.where)

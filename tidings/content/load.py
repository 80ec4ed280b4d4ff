"""Loading a status repo: read every file, validate it against its model, check the whole, build the model.

`load(root)` never raises on bad content: every problem becomes a Diagnostic, and the result holds
the model of everything that was valid, so one run reports every problem at once.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, TypeVar

from pydantic import TypeAdapter, ValidationError

from tidings.content import checks
from tidings.content.cache import ParseCache, settled
from tidings.content.diagnostics import Diagnostic, did_you_mean, sort_key
from tidings.content.documents import Document, read_markdown, read_yaml
from tidings.content.layout import (
    CONTENT_DIR,
    FOLDERS,
    INTEGRATIONS_FILE,
    KNOWN_CONTENT_ENTRIES,
    KNOWN_ONCALL_ENTRIES,
    NOTIFICATIONS_FILE,
    PEOPLE_FILE,
    SITE_FILE,
    Folder,
)
from tidings.content.lazy import Lazy
from tidings.content.model import (
    FILE_MODELS,
    ID_PATTERN,
    AlertRecord,
    Component,
    FileModel,
    FromFile,
    Group,
    Incident,
    Integration,
    IntegrationsFile,
    Maintenance,
    NotificationsFile,
    PeopleFile,
    Policy,
    Review,
    Runbook,
    Schedule,
    SiteFile,
    StatusRepo,
    slugify,
)
from tidings.content.model_errors import diagnostics_from, with_site_timezone
from tidings.content.public import public_item

log = logging.getLogger(__name__)


@dataclass
class LoadResult:
    """The model of a status repo and every diagnostic found while loading it."""

    repo: StatusRepo
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # digest -> public view of each published incident and maintenance (for tidings.public.public_view)
    public: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    def ok(self, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)


@dataclass
class Parsed:
    """One content file: its document, and its validated file model when it is valid."""

    kind: str
    id: str
    doc: Document
    model: FileModel | None = None  # None when the file is invalid
    checkable: FileModel | None = None  # the model, or the salvaged valid part of an invalid file
    domain: Any = None  # the domain object (an Incident, ...) when the file is valid
    public: Any = None  # its public view (tidings.public), for a published incident or maintenance
    # What checking this file found, kept with it in the parse cache: a build after one edit checks
    # one file again, not ten thousand (see references and file_checks).
    _checked: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def rel(self) -> str:
        return self.doc.rel

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.doc.diagnostics

    def lazy_domain(self) -> Any:
        return self.domain  # the same as lazy.Lazy's, for a file read now

    def lazy_public(self) -> Any:
        return self.public

    def references(self) -> tuple[checks.Candidate, ...]:
        """The ids this file names (checked against the repo's ids by check_repo)."""
        if "references" not in self._checked:
            self._checked["references"] = checks.reference_candidates(self.kind, self.doc)
        found: tuple[checks.Candidate, ...] = self._checked["references"]
        return found

    def file_checks(self, now: datetime) -> list[Diagnostic]:
        """check_file's findings at `now`: kept while the clock stays on the same side of what they
        depend on (checks.clock_class)."""
        side = checks.clock_class(checks.clock_start(self.checkable), now)
        kept = self._checked.get("file")
        if kept is None or kept[0] != side:
            kept = self._checked["file"] = (side, checks.check_file(self.doc, self.checkable, now))
        found: list[Diagnostic] = kept[1]
        return found


# A content file as load reads it: parsed now, or kept by the cache (whole or lazy).
ParsedFile = Parsed | Lazy


def _validate(doc: Document, kind: str) -> FileModel | None:
    if doc.data is None:
        return None
    model_cls = FILE_MODELS[kind]
    try:
        return model_cls.model_validate(doc.values())
    except ValidationError as exc:
        doc.diagnostics.extend(diagnostics_from(exc, doc, model_cls))
        return None


@cache
def _field_adapter(model_cls: type[FileModel], name: str) -> tuple[TypeAdapter[Any], TypeAdapter[Any] | None]:
    """Validators for one field of a model, and for one item of it when it is a list."""
    info = model_cls.model_fields[name]
    base: Any = info.annotation
    annotation: Any = Annotated[base, *info.metadata] if info.metadata else base
    whole: TypeAdapter[Any] = TypeAdapter(annotation)
    item: TypeAdapter[Any] | None = None
    if typing.get_origin(base) is list:
        item = TypeAdapter(typing.get_args(base)[0])
    return whole, item


def _salvage(doc: Document, kind: str) -> FileModel | None:
    """The valid part of an invalid file, so rules across fields can still be checked in the same run.

    Each key is validated on its own; bad list items are dropped. Required keys that are invalid are
    absent from the result, so checks read them with getattr(..., None). Never part of the repo.
    """
    data = doc.values() if doc.data is not None else None
    if not isinstance(data, dict):
        return None
    model_cls = FILE_MODELS[kind]
    values: dict[str, Any] = {}
    for name, info in model_cls.model_fields.items():
        key = info.alias or name
        if key not in data:
            continue
        whole, item = _field_adapter(model_cls, name)
        try:
            values[name] = whole.validate_python(data[key])
        except ValidationError:
            if item is not None and isinstance(data[key], list):
                kept = []
                for raw in data[key]:
                    try:
                        kept.append(item.validate_python(raw))
                    except ValidationError:
                        continue
                values[name] = kept
    return model_cls.model_construct(**values)


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


# The domain object each kind of content file becomes.
DOMAIN: dict[str, type[FromFile]] = {
    "incident": Incident,
    "maintenance": Maintenance,
    "runbook": Runbook,
    "schedule": Schedule,
    "policy": Policy,
    "alert": AlertRecord,
    "review": Review,
}


def _parse_item(root: Path, path: Path, rel: str, folder: Folder, raw: bytes | None) -> Parsed:
    """Read, parse and validate one content file (the part a cache can keep: it reads one file only)."""
    doc = read_markdown(path, rel, raw) if folder.markdown else read_yaml(path, rel, raw)
    digest = ParseCache.key(rel, raw) if raw is not None else ""
    item_id = path.stem
    if not ID_PATTERN.match(item_id):
        doc.diagnostics.append(
            Diagnostic(
                rel,
                1,
                1,
                "",
                f"file name {path.name!r} is not a valid id: use lowercase letters, digits, '.', '_' and '-'",
                "error",
                "bad-id",
                f"rename it to '{slugify(item_id)}{path.suffix}'",
            )
        )
    model = _validate(doc, folder.kind)
    parsed = Parsed(folder.kind, item_id, doc, model, model or _salvage(doc, folder.kind))
    cls = DOMAIN.get(folder.kind)
    if model is not None and cls is not None:
        extra: dict[str, object] = {"id": item_id, "path": rel, "digest": digest}
        if "body" in cls.model_fields:
            extra["body"] = doc.body
        parsed.domain = cls.from_file(model, **extra)
        if folder.kind in ("incident", "maintenance") and getattr(parsed.domain, "published", False):
            # Made here, so the parse cache keeps it: a rebuild need not redact ten thousand again.
            parsed.public = public_item(parsed.domain)
    return parsed


def _read_folder(
    root: Path,
    folder: Folder,
    diagnostics: list[Diagnostic],
    cache: ParseCache | None = None,
) -> list[ParsedFile]:
    base = root / folder.path
    if not base.is_dir():
        return []
    # os.scandir and strings: a history of ten thousand incidents makes pathlib's objects costly.
    with os.scandir(base) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    return _read_entries(root, folder, entries, diagnostics, cache)


def _read_entries(
    root: Path,
    folder: Folder,
    entries: list[os.DirEntry[str]],
    diagnostics: list[Diagnostic],
    cache: ParseCache | None,
) -> list[ParsedFile]:
    base = root / folder.path
    parsed: list[ParsedFile] = []
    prefix = folder.path.rstrip("/") + "/"
    for entry in entries:
        name, rel = entry.name, prefix + entry.name
        if name.startswith(".") or name == "README.md":
            continue
        suffix = os.path.splitext(name)[1]
        try:
            is_dir = entry.is_dir()
        except OSError as exc:  # a symlink loop, say: the file cannot be read, and that is all
            diagnostics.append(Diagnostic(rel, 1, 1, "", f"cannot read: {exc.strerror}", code="io"))
            continue
        if is_dir or suffix not in folder.suffixes:
            diagnostics.append(
                Diagnostic(
                    rel,
                    1,
                    1,
                    "",
                    ("a folder, not " if is_dir else "not ") + f"{_article(folder.kind)} {folder.kind} file: "
                    f"only {', '.join(folder.suffixes)} files belong here",
                    "warning",
                    "unknown-file",
                )
            )
            continue
        # A file whose name, size, times and inode are those it had when it was parsed is not read
        # again (git's index trusts the same): at ten thousand files, reading and hashing each is
        # most of what finding the one edited costs.
        seen = _stat_key(rel, entry) if cache is not None else None
        known = cache.get(seen) if cache is not None and seen else None
        item = cache.get(known) if cache is not None and known else None
        if item is not None:
            parsed.append(item)
            continue
        try:
            with open(entry.path, "rb") as handle:
                raw = handle.read()
        except OSError:
            parsed.append(_parse_item(root, base / name, rel, folder, None))  # words the problem
            continue
        if cache is None:
            parsed.append(_parse_item(root, base / name, rel, folder, raw))
            continue
        key = cache.key(rel, raw)
        item = cache.get(key)
        if item is None:
            # Kept as the cache stores it (a head and the file). Parsed in this process: parsing in
            # forked workers was measured slower at ten thousand files on two cores (9.9 s against
            # 8.8 s for a cold build): sending parsed files back costs about what parsing them does.
            item = Lazy.of(_parse_item(root, base / name, rel, folder, raw))
            cache.put(key, item)
        if seen:
            cache.put(seen, key)
        parsed.append(item)
    return parsed


def _stat_key(rel: str, entry: os.DirEntry[str]) -> str | None:
    """A file's path, size, times and inode as a cache key; None when it cannot be stat'ed or was
    written too recently for its stat to be trusted (cache.settled)."""
    try:
        stat = entry.stat()
    except OSError:
        return None
    if not settled(stat.st_mtime_ns):
        return None
    return f"stat\0{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}\0{stat.st_ino}"


def _check_unknown_entries(root: Path, diagnostics: list[Diagnostic]) -> None:
    """Warn about files and folders in content/ that Tidings would silently ignore."""
    for base, known in (
        (root / CONTENT_DIR, KNOWN_CONTENT_ENTRIES),
        (root / CONTENT_DIR / "oncall", KNOWN_ONCALL_ENTRIES),
    ):
        if not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            if entry.name.startswith(".") or entry.name in known:
                continue
            diagnostics.append(
                Diagnostic(
                    _rel(root, entry),
                    1,
                    1,
                    "",
                    f"'{entry.name}' is not part of a status repo and is ignored",
                    "warning",
                    "unknown-file",
                    did_you_mean(entry.name, known),
                )
            )


D = TypeVar("D", bound=FromFile)


def _domain(
    parsed: list[ParsedFile],
    kind: str,
    cls: type[D],
    key: Callable[[D], Any] | None = None,
    lazy: bool = False,
) -> tuple[D, ...]:
    """The valid files of one kind as domain objects, with their id, path and (for Markdown) body.
    `lazy`: incidents the cache kept as lazy.LazyItem (they answer as the incident does)."""
    found = (p.lazy_domain() if lazy else p.domain for p in parsed if p.kind == kind)
    items = [item for item in found if item is not None]
    return tuple(sorted(items, key=key) if key else items)


def site_components(site: SiteFile) -> tuple[Component, ...]:
    """The components a site file defines, in page order, ids defaulted from their names."""
    return _components(site)


def _components(site: SiteFile) -> tuple[Component, ...]:
    return tuple(
        Component(
            id=s.id or slugify(s.name),
            name=s.name,
            position=i,
            url=s.url,
            description=s.description,
            group=s.group,
            policy=s.policy,
        )
        for i, s in enumerate(site.services)
    )


def load(
    root: Path | str,
    cache: ParseCache | None = None,
    alerts: bool | Literal["check"] = True,
    lazy: bool = False,
) -> LoadResult:
    """Read, validate and check the status repo at `root`; `cache` keeps parsed files between runs.

    `alerts=False` leaves the alert records unread (repo.alerts is empty): they are internal and can
    be many, and a public build or the runner's worker (which reads the few it needs by path) has
    no use for them. `alerts="check"` validates them without making objects of them (repo.alerts
    is empty): what `tidings validate` needs, and with a cache it reads only the records changed
    since the last run (a year of a noisy team's alerts is tens of thousands of files).

    `lazy=True`: incidents the cache kept stay unloaded until more than their summary is asked of
    them (see tidings.content.lazy): for a build, which renders a few of them again after an edit."""
    root = Path(root).resolve()
    diagnostics: list[Diagnostic] = []

    site_path = root / SITE_FILE
    site_doc: Document | None = None
    site = SiteFile.model_validate({})
    if not site_path.is_file():
        diagnostics.append(
            Diagnostic(
                SITE_FILE,
                1,
                1,
                "",
                f"not a status repo: {SITE_FILE} is missing",
                "error",
                "not-a-status-repo",
                "run 'tidings init' to create one, or pass the repo's root folder",
            )
        )
    else:
        site_doc = read_yaml(site_path, SITE_FILE)
        valid_site = _validate(site_doc, "site")
        if isinstance(valid_site, SiteFile):
            site = valid_site
    if not (root / CONTENT_DIR).is_dir():
        diagnostics.append(
            Diagnostic(CONTENT_DIR, 1, 1, "", "the content/ folder is missing", "warning", "no-content")
        )

    parsed: list[ParsedFile] = []
    for folder in FOLDERS:
        if folder.kind == "alert":
            if alerts is not True:
                continue
            alert_cache = cache.child("alerts") if cache else None
            parsed.extend(_read_folder(root, folder, diagnostics, alert_cache))
            continue
        parsed.extend(_read_folder(root, folder, diagnostics, cache))
    people_doc: Document | None = None
    people = PeopleFile()
    if (root / PEOPLE_FILE).is_file():
        people_doc = read_yaml(root / PEOPLE_FILE, PEOPLE_FILE)
        valid_people = _validate(people_doc, "people")
        if isinstance(valid_people, PeopleFile):
            people = valid_people
    integrations_doc: Document | None = None
    integrations: tuple[Integration, ...] = ()
    if (root / INTEGRATIONS_FILE).is_file():
        integrations_doc = read_yaml(root / INTEGRATIONS_FILE, INTEGRATIONS_FILE)
        valid_integrations = _validate(integrations_doc, "integrations")
        if isinstance(valid_integrations, IntegrationsFile):
            integrations = tuple(valid_integrations.integrations)
    notifications_doc: Document | None = None
    notifications = NotificationsFile()
    if (root / NOTIFICATIONS_FILE).is_file():
        notifications_doc = read_yaml(root / NOTIFICATIONS_FILE, NOTIFICATIONS_FILE)
        valid_notifications = _validate(notifications_doc, "notifications")
        if isinstance(valid_notifications, NotificationsFile):
            notifications = valid_notifications
    _check_unknown_entries(root, diagnostics)
    diagnostics.extend(checks.check_layout(root))

    repo = StatusRepo(
        root=root,
        site=site,
        groups=tuple(Group(g.id, g.name, g.description) for g in site.groups),
        components=_components(site),
        incidents=_domain(parsed, "incident", Incident, lambda i: (i.started_at, i.id), lazy),
        maintenance=_domain(parsed, "maintenance", Maintenance, lambda m: (m.scheduled_for, m.id)),
        runbooks=_domain(parsed, "runbook", Runbook),
        people=tuple(sorted(people.people, key=lambda person: person.id)),
        schedules=_domain(parsed, "schedule", Schedule),
        policies=_domain(parsed, "policy", Policy),
        integrations=integrations,
        notifications=notifications,
        alerts=_domain(parsed, "alert", AlertRecord),
        reviews=_domain(parsed, "review", Review),
    )

    config_docs = (site_doc, people_doc, integrations_doc, notifications_doc)
    for doc in config_docs:
        if doc is not None:
            diagnostics.extend(doc.diagnostics)
    for p in parsed:
        diagnostics.extend(p.diagnostics)
    diagnostics.extend(checks.check_repo(repo, site_doc, people_doc, parsed))
    diagnostics.extend(checks.check_duplicate_ids(integrations_doc, "integrations", "integration"))
    diagnostics.extend(checks.check_duplicate_ids(notifications_doc, "channels", "channel"))
    diagnostics.extend(checks.check_duplicate_ids(notifications_doc, "announce", "channel"))
    if notifications_doc is not None:
        # When the site file did not parse, every component would be "unknown": say nothing then.
        site_parsed = site_doc is not None and site_doc.data is not None
        known = {"component": {c.id for c in repo.components}} if site_parsed else {}
        diagnostics.extend(checks.check_references([("notifications", notifications_doc)], known))
    if integrations_doc is not None:
        policies = {"policy": {p.id for p in parsed if p.kind == "policy"}}
        diagnostics.extend(checks.check_references([("integrations", integrations_doc)], policies))
    if alerts == "check":
        incidents = {p.id for p in parsed if p.kind == "incident"}
        diagnostics.extend(
            _check_alert_files(root, cache.child("checked-alerts") if cache else None, incidents)
        )
    diagnostics.extend(checks.check_heartbeats(integrations_doc))
    diagnostics.extend(checks.check_contact_rules(people_doc, notifications_doc))
    diagnostics = sorted(set(with_site_timezone(diagnostics, site.timezone)), key=sort_key)
    log.debug("loaded %s: %d files, %d diagnostics", root, len(parsed), len(diagnostics))
    public = {}
    for p in parsed:
        if p.kind in ("incident", "maintenance"):
            item, view = (p.lazy_domain(), p.lazy_public()) if lazy else (p.domain, p.public)
            if view is not None and item.digest:
                public[item.digest] = view
    return LoadResult(repo=repo, diagnostics=diagnostics, public=public)


def site_timezone(root: Path) -> str:
    """The site's timezone, reading the site file only; UTC when it is missing or does not validate.

    For hints on error paths (a time without an offset on the command line), where loading the
    whole repo to say which offset to write would cost a large repo seconds."""
    path = Path(root) / SITE_FILE
    if not path.is_file():
        return "UTC"
    site = _validate(read_yaml(path, SITE_FILE), "site")
    return site.timezone if isinstance(site, SiteFile) else "UTC"


def _check_alert_files(root: Path, cache: ParseCache | None, incidents: set[str]) -> list[Diagnostic]:
    """Every alert record checked (its own diagnostics, and the incidents it names) without keeping it.

    With a cache, a record is parsed only when its name, size or times changed since the run that
    checked it (as git's index and the build's input stamp judge a file): what that run found is
    kept, and only its references to incidents are checked again, against today's incidents.
    """
    folder = next(f for f in FOLDERS if f.kind == "alert")
    out: list[Diagnostic] = []
    base = root / folder.path
    if not base.is_dir():
        return out
    with os.scandir(base) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        name, rel = entry.name, f"{folder.path}/{entry.name}"
        if name.startswith(".") or name == "README.md":
            continue
        try:
            stat = entry.stat()
            plain_file = entry.is_file() and os.path.splitext(name)[1] in folder.suffixes
        except OSError:
            stat, plain_file = None, True  # _read_folder words what cannot be read
        key = f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}" if stat and plain_file else ""
        found = cache.get(key) if cache is not None and key else None
        if found is None:
            problems: list[Diagnostic] = []
            read = _read_entries(root, folder, [entry], problems, None)
            parsed = read[0] if read else None
            refs: list[tuple[tuple[str | int, ...], str]] = []
            if parsed is not None:
                problems += parsed.doc.diagnostics
                problems += checks.check_file(parsed.doc, parsed.checkable)
                if parsed.doc.data is not None:
                    refs = checks.references_in("alert", parsed.doc.values())
            found = (tuple(problems), tuple(refs))
            if cache is not None and key:
                cache.put(key, found)
        out.extend(found[0])
        if any(value not in incidents for _, value in found[1]):
            # Rare: read it again, so the unknown incident is named where it is, with a did-you-mean.
            doc = read_yaml(base / name, rel)
            out.extend(checks.check_references([("alert", doc)], {"incident": incidents}))
    return out


def parse_content(rel: str, text: str, root: Path | None = None) -> Parsed:
    """One content file's text, not the file on disk (the remote's copy, say), read and validated as
    `load` reads a file: `.domain` is its Incident, Policy... or None when it is invalid, and
    `.doc.diagnostics` then say why. Checks across files (references, ids in use) are not made.

    `rel` (relative to the repo root) says which kind of file it is; ValueError for a path outside
    the content folders.
    """
    parent = PurePosixPath(rel).parent.as_posix()
    folder = next((f for f in FOLDERS if f.path == parent), None)
    if folder is None:
        raise ValueError(f"{rel} is not in a content folder ({', '.join(f.path for f in FOLDERS)})")
    base = Path(root) if root is not None else Path()
    return _parse_item(base, base / rel, rel, folder, text.encode("utf-8"))


def refresh_incident(repo: StatusRepo, rel: str) -> StatusRepo:
    """The repo with one incident file re-read (after an edit), without loading everything again."""
    path = repo.root / rel
    doc = read_markdown(path, rel)
    model = _validate(doc, "incident")
    others = tuple(i for i in repo.incidents if i.path != rel)
    if model is None:
        return dataclasses.replace(repo, incidents=others, _index={})
    incident = Incident.from_file(model, id=path.stem, path=rel, body=doc.body)
    incidents = tuple(sorted((*others, incident), key=lambda i: (i.started_at, i.id)))
    return dataclasses.replace(repo, incidents=incidents, _index={})

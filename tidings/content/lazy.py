"""Parsed files as the parse cache keeps them: a small summary read at once, the rest when asked for.

A public build after one edit at ten thousand incidents renders a few hundred pages; the site-wide
ones (the index, history, feeds, the API, uptime) need only a few facts of every incident: when it
started and was last updated, its status, its components. So the cache keeps, for each file, a
summary (`Head`) beside the whole parsed file pickled on its own (`blob`). Loading the cache reads
ten thousand summaries, not ten thousand models; an incident in a public build is a `LazyItem` that
answers from its summary and unpickles the whole incident the first time anything else is asked of
it (a page that must be rendered). Everything it answers is what the whole incident answers.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from tidings.content import checks
from tidings.content.diagnostics import Diagnostic

if TYPE_CHECKING:
    from tidings.content.documents import Document
    from tidings.content.load import Parsed

# What a summary of an incident answers without loading it: what every site-wide page reads of every
# incident (tests/tidings/test_lazy.py holds each to the whole incident's answer).
SUMMARY_FIELDS = (
    "id",
    "path",
    "digest",
    "published",
    "status",
    "severity",
    "started_at",
    "resolved_at",
    "components",
    "duration",
    "first_update_at",
    "last_update_at",
)


def summary(item: Any) -> tuple[Any, ...]:
    """The facts of an incident a LazyItem answers from, in SUMMARY_FIELDS' order."""
    return tuple(getattr(item, name) for name in SUMMARY_FIELDS)


class LazyItem:
    """An incident known by its summary; anything else asked of it loads the whole incident once.

    The summary's facts are plain attributes: the site-wide pages read them of every incident, and a
    __getattr__ (or a property) for each would cost more than the rest of a build after an edit."""

    __slots__ = (*SUMMARY_FIELDS, "_source", "_whole")

    def __init__(self, facts: tuple[Any, ...], source: Callable[[], Any]):
        # In SUMMARY_FIELDS' order (tests/tidings/test_lazy.py holds the two together).
        (
            self.id,
            self.path,
            self.digest,
            self.published,
            self.status,
            self.severity,
            self.started_at,
            self.resolved_at,
            self.components,
            self.duration,
            self.first_update_at,
            self.last_update_at,
        ) = facts
        self._source = source
        self._whole: Any = None

    def __getattr__(self, name: str) -> Any:  # only for what the slots do not hold
        if name.startswith("__"):  # copy, pickle and the like ask for these: not the incident's
            raise AttributeError(name)
        if self._whole is None:
            self._whole = self._source()
        return getattr(self._whole, name)

    def __repr__(self) -> str:
        return f"LazyItem({self.path!r})"


class Head(NamedTuple):
    """What the cache reads of one parsed file at once."""

    kind: str
    id: str
    rel: str
    diagnostics: tuple[Diagnostic, ...]
    references: tuple[checks.Candidate, ...]
    file_checks: tuple[object, list[Diagnostic]] | None  # (clock class, findings), when checked
    clock_start: datetime | None  # what the clock class depends on (checks.clock_start)
    domain: tuple[Any, ...] | None  # summary of the domain object (incidents only)
    public: tuple[Any, ...] | None  # summary of its public view (published incidents only)


def _head(parsed: Parsed) -> Head:
    incident = parsed.kind == "incident"
    return Head(
        parsed.kind,
        parsed.id,
        parsed.doc.rel,
        tuple(parsed.doc.diagnostics),
        parsed.references(),
        parsed._checked.get("file"),
        checks.clock_start(parsed.checkable),
        summary(parsed.domain) if incident and parsed.domain is not None else None,
        summary(parsed.public) if incident and parsed.public is not None else None,
    )


def _restore(head: Head, blob: bytes) -> Lazy:
    return Lazy(head, blob)


class Lazy:
    """One parsed file from the cache: its `Head` at once, the whole `Parsed` when asked for.

    It offers what load and the checks use of a Parsed; `lazy_domain`/`lazy_public` give an incident
    as a LazyItem. Pickled (into the cache file), it is its head and the whole file pickled apart.
    """

    __slots__ = ("_blob", "_checked_whole", "_head", "_items", "_whole", "id", "kind")

    def __init__(self, head: Head | None, blob: bytes | None, whole: Parsed | None = None):
        self._head = head
        self._blob = blob
        self._whole = whole
        self._items: dict[str, Any] = {}  # the LazyItems made of it, by role (made once each)
        self._checked_whole = False  # its checks were made by the whole file (not kept in the head)
        known = head if head is not None else whole
        assert known is not None
        self.kind, self.id = known.kind, known.id  # read of every file, often: plain attributes

    @classmethod
    def of(cls, parsed: Parsed) -> Lazy:
        """A file just parsed (its head is taken when it is pickled: after the checks ran)."""
        return cls(None, None, parsed)

    def __reduce__(self) -> tuple[Callable[[Head, bytes], Lazy], tuple[Head, bytes]]:
        whole = self._whole
        if whole is None:
            assert self._head is not None and self._blob is not None
            return _restore, (self._head, self._blob)
        head = _head(whole)
        if self._head is not None and not self._checked_whole:
            # Loaded whole only to be shown: the blob's checks are as old as the blob, the head's newer.
            head = head._replace(file_checks=self._head.file_checks)
        blob = self._blob if self._blob is not None else pickle.dumps(whole, protocol=5)
        return _restore, (head, blob)

    @property
    def whole(self) -> Parsed:
        if self._whole is None:
            assert self._blob is not None
            self._whole = pickle.loads(self._blob)  # signed by this user with the cache: safe to read
        return self._whole

    @property
    def head(self) -> Head:
        if self._head is None:
            self._head = _head(self.whole)
        return self._head

    # What a Parsed offers, from the head where it can.
    @property
    def rel(self) -> str:
        return self.head.rel

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...] | list[Diagnostic]:
        return self.head.diagnostics if self._whole is None else self._whole.doc.diagnostics

    @property
    def doc(self) -> Document:
        return self.whole.doc

    @property
    def checkable(self) -> Any:
        return self.whole.checkable

    @property
    def domain(self) -> Any:
        return self.whole.domain

    @property
    def public(self) -> Any:
        return self.whole.public

    def references(self) -> tuple[checks.Candidate, ...]:
        return self.head.references if self._whole is None else self._whole.references()

    def file_checks(self, now: datetime) -> list[Diagnostic]:
        if self._whole is None:
            kept = self.head.file_checks
            if kept is not None and kept[0] == checks.clock_class(self.head.clock_start, now):
                return kept[1]
        self._checked_whole = True  # (the next save takes its findings into the head)
        return self.whole.file_checks(now)

    def lazy_domain(self) -> Any:
        """The domain object; an incident not loaded yet as a LazyItem."""
        return self._lazy("domain")

    def lazy_public(self) -> Any:
        """The public view; an incident's not loaded yet as a LazyItem."""
        return self._lazy("public")

    def _lazy(self, role: str) -> Any:
        if role not in self._items:
            if self._whole is None and self.kind == "incident":
                facts = self.head.domain if role == "domain" else self.head.public
                self._items[role] = (
                    None if facts is None else LazyItem(facts, lambda: getattr(self.whole, role))
                )
            else:
                return getattr(self.whole, role)
        return self._items[role]

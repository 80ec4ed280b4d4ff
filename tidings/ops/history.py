"""The audit trail of incidents, from git: every commit that touched an incident file, who made it
(a person, or the runner), when, and what it changed, in words.

What changed is worked out from the incident's front matter parsed at the commit and at its parent,
never from a text diff, so reordering keys or reflowing YAML reads as what it is.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from tidings.content.documents import read_front_matter, read_yaml
from tidings.content.layout import FOLDERS, PEOPLE_FILE
from tidings.content.model import links_as_written
from tidings.errors import TidingsError
from tidings.store.git import RUNNER_EMAIL, RUNNER_NAME

INCIDENTS_DIR = next(f.path for f in FOLDERS if f.kind == "incident")
TRAILER_PREFIX = "Tidings-"
_RECORD, _FIELD = "\x1e", "\x1f"
_NULL_BLOB = "0" * 40


class HistoryError(TidingsError):
    """The history cannot be read (not a git repository, git failing); the message says why."""


@dataclass(frozen=True)
class Change:
    """One commit's change to one incident file."""

    incident: str
    path: str  # relative to the status repo root, at this commit
    commit: str
    at: datetime  # the author date, with the offset git recorded
    author_name: str
    author_email: str
    runner: bool  # the runner's identity, or Tidings-* trailers
    person: str | None  # the people.yml id whose email made the commit
    subject: str
    changes: tuple[str, ...]
    trailers: dict[str, list[str]] = field(default_factory=dict)
    # A runner commit made for someone (Slack, an ack link, quick actions in a commit): who asked.
    requested_by: str | None = None

    @property
    def who(self) -> str:
        if self.runner:
            return f"{self.requested_by} (via runner)" if self.requested_by else "runner"
        return self.person or self.author_name or self.author_email

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        data["changes"] = list(self.changes)
        data["who"] = self.who
        return data


# --- reading the front matter --------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """An incident file at one commit: its front matter (None when it does not parse) and body."""

    data: dict[str, Any] | None
    body: str


def snapshot(text: str) -> Snapshot:
    """The file's text as read at one commit: valid or not, the front matter's data describes it."""
    data, body = read_front_matter(text)
    return Snapshot(data, body)


# --- describing a change in words -----------------------------------------------------------------


def _s(value: Any) -> str:
    return "none" if value is None or value == "" else str(value)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _entries(value: Any) -> list[dict[str, Any]]:
    return [e for e in _list(value) if isinstance(e, dict)]


def _opened(new: dict[str, Any]) -> str:
    details = [_s(new.get("status")), f"severity {_s(new.get('severity', 'unknown'))}"]
    components = _map(new.get("components"))
    if components:
        details.append("components: " + ", ".join(f"{c} {_s(i)}" for c, i in components.items()))
    if new.get("published") is True:
        details.append("published")
    return f"opened ({', '.join(details)})"


def _status(old: Any, new: Any) -> list[str]:
    if old == new:
        return []
    if new == "resolved":
        return ["resolved"]
    if old == "resolved":
        return [f"reopened (status resolved -> {_s(new)})"]
    return [f"status {_s(old)} -> {_s(new)}"]


def _components(old: Any, new: Any) -> list[str]:
    before, after = _map(old), _map(new)
    parts = []
    for cid, impact in after.items():
        if cid not in before:
            parts.append(f"{cid} added ({_s(impact)})")
        elif before[cid] != impact:
            parts.append(f"{cid} {_s(before[cid])} -> {_s(impact)}")
    parts += [f"{cid} removed" for cid in before if cid not in after]
    return ["components: " + ", ".join(parts)] if parts else []


def _updates(old: Any, new: Any) -> list[str]:
    """The timeline's changes. Updates are paired by their id (Tidings gives every update one, and it
    survives edits and reordering); an update without one (written by hand, or imported) is the
    same update only when unchanged, or when it is the one change at its time, else removed and
    added: never guessed from its time alone, which several updates may share."""
    before, after = _entries(old), _entries(new)
    words: list[str] = []
    old_by_id = {str(u["id"]): u for u in before if u.get("id")}
    new_ids = {str(u["id"]) for u in after if u.get("id")}
    for u in after:
        if u.get("id") and str(u["id"]) in old_by_id:
            words += _changed(old_by_id[str(u["id"])], u)
        elif u.get("id"):
            words.append(_added(u))
    gone = [u for u in before if u.get("id") and str(u["id"]) not in new_ids]
    # Updates without an id: what is in both, unchanged, cancels out; the rest pairs by time only
    # where one went and one came at that time.
    plain_before = [u for u in before if not u.get("id")]
    plain_after = [u for u in after if not u.get("id")]
    for u in list(plain_after):
        if u in plain_before:
            plain_before.remove(u)
            plain_after.remove(u)
    for u in list(plain_after):
        same_time = [v for v in plain_before if str(v.get("at")) == str(u.get("at"))]
        if len(same_time) == 1 and sum(str(w.get("at")) == str(u.get("at")) for w in plain_after) == 1:
            words += _changed(same_time[0], u)
            plain_before.remove(same_time[0])
            plain_after.remove(u)
    words += [_added(u) for u in plain_after]
    words += [f"update removed ({_s(u.get('status'))})" for u in [*gone, *plain_before]]
    return words


def _added(u: dict[str, Any]) -> str:
    kind = "internal update" if u.get("internal") is True else "update"
    return f"{kind} added ({_s(u.get('status'))})"


def _changed(was: dict[str, Any], now: dict[str, Any]) -> list[str]:
    if was == now:
        return []
    kind = "internal update" if now.get("internal") is True else "update"
    was_internal, is_internal = was.get("internal") is True, now.get("internal") is True
    words = []
    if was_internal and not is_internal:
        words.append(f"update made public ({_s(now.get('status'))})")
    elif is_internal and not was_internal:
        words.append(f"update made internal ({_s(now.get('status'))})")
    rest_was = {k: v for k, v in was.items() if k != "internal"}
    rest_now = {k: v for k, v in now.items() if k != "internal"}
    if rest_was != rest_now:
        words.append(f"{kind} edited ({_s(now.get('status'))})")
    return words


def _added_removed(
    what: str, old: Any, new: Any, added: str = "added", removed: str = "removed"
) -> list[str]:
    before, after = Counter(map(str, _list(old))), Counter(map(str, _list(new)))
    words = [f"{what} {added}: {item}" for item in after if item not in before]
    return words + [f"{what} {removed}: {item}" for item in before if item not in after]


def _alerts(old: Any, new: Any) -> list[str]:
    def key(a: dict[str, Any]) -> tuple[str, str]:
        return (str(a.get("source")), str(a.get("fingerprint")))

    before = {key(a): a for a in _entries(old)}
    words = []
    for k, a in ((key(a), a) for a in _entries(new)):
        if k not in before:
            state = f" ({a['state']})" if a.get("state") else ""
            words.append(f"alert linked: {k[0]} {k[1]}{state}")
        elif before[k].get("state") != a.get("state"):
            words.append(f"alert {k[1]} {_s(before[k].get('state'))} -> {_s(a.get('state'))}")
    return words


def _pages(old: Any, new: Any) -> list[str]:
    before = {str(p.get("key")): p for p in _entries(old)}
    words = []
    for p in _entries(new):
        previous = before.get(str(p.get("key")))
        if previous is None:
            words.append(f"page recorded ({p.get('person') or 'nobody on call'}, rule {_s(p.get('rule'))})")
        elif previous != p:
            who = p.get("person") or "nobody"
            sent = _entries(p.get("deliveries"))[len(_entries(previous.get("deliveries"))) :]
            if sent:
                words += [f"page to {who} {_s(d.get('state'))} on {_s(d.get('channel'))}" for d in sent]
            elif previous.get("state") != p.get("state"):
                words.append(f"page to {who} {_s(previous.get('state'))} -> {_s(p.get('state'))}")
            else:
                words.append(f"page to {who} updated")
    return words


def _links(old: Any, new: Any) -> list[str]:
    """The related links' changes, by URL; the first form (a mapping) rewritten as a list is none.
    A link whose URL changed and kept its text (the `Call` link `/zoom` moves) says so."""
    before, after = dict(links_as_written(old)), dict(links_as_written(new))
    gone = {url: text for url, text in before.items() if url not in after}
    came = {url: text for url, text in after.items() if url not in before}
    words = []
    for url, text in after.items():
        if url in came:
            moved = [u for u, t in gone.items() if t == text]
            if len(moved) == 1 and list(came.values()).count(text) == 1:
                words.append(f"link {text or url}: {moved[0]} -> {url}")
                del gone[moved[0]]
            else:
                words.append(f"link added: {text or url} ({url})")
        elif before[url] != text:
            words.append(f"link renamed: {before[url] or url} -> {text or url} ({url})")
    return words + [f"link removed: {text or url} ({url})" for url, text in gone.items()]


_TEXT_FIELDS = ("postmortem",)
_HANDLED = {
    "title", "status", "severity", "published", "started_at", "acknowledged_at", "resolved_at", "reopened_at",
    "components", "updates", "notes", "alerts", "pages", "assignees", "runbooks", "labels", "postmortem",
    "links",
}  # fmt: skip


def describe(old: Snapshot | None, new: Snapshot | None) -> list[str]:
    """What changed from old to new, in words; old None: the file was added, new None: deleted."""
    if new is None:
        return ["deleted"]
    if new.data is None:
        return ["front matter broken (does not parse)"]
    n = new.data
    if old is None:
        return [_opened(n)]
    if old.data is None:
        return ["front matter fixed"]
    return _fields(old.data, n, new, old) or ["no change to the incident's fields (formatting or comments)"]


def _fields(o: dict[str, Any], n: dict[str, Any], new: Snapshot, old: Snapshot) -> list[str]:
    words: list[str] = []
    if o.get("title") != n.get("title"):
        words.append(f'title changed to "{_s(n.get("title"))}"')
    words += _status(o.get("status"), n.get("status"))
    if o.get("severity", "unknown") != n.get("severity", "unknown"):
        words.append(f"severity {_s(o.get('severity', 'unknown'))} -> {_s(n.get('severity', 'unknown'))}")
    if bool(o.get("published")) != bool(n.get("published")):
        words.append("published" if n.get("published") is True else "unpublished")
    words += _components(o.get("components"), n.get("components"))
    words += _updates(o.get("updates"), n.get("updates"))
    if not o.get("acknowledged_at") and n.get("acknowledged_at"):
        words.append("acknowledged")
    for key in ("started_at", "resolved_at"):
        if o.get(key) != n.get(key) and (key != "resolved_at" or o.get(key)):
            words.append(f"{key} {_s(o.get(key))} -> {_s(n.get(key))}")
    added_notes = len(_entries(n.get("notes"))) - len(_entries(o.get("notes")))
    if added_notes > 0:
        words.append("note added" if added_notes == 1 else f"{added_notes} notes added")
    elif _entries(n.get("notes")) != _entries(o.get("notes")):
        words.append("notes edited")
    words += _alerts(o.get("alerts"), n.get("alerts"))
    words += _pages(o.get("pages"), n.get("pages"))
    words += _added_removed("assignee", o.get("assignees"), n.get("assignees"))
    words += _added_removed("runbook", o.get("runbooks"), n.get("runbooks"), "linked", "unlinked")
    words += _added_removed("label", o.get("labels"), n.get("labels"))
    words += _links(o.get("links"), n.get("links"))
    for key in _TEXT_FIELDS:
        if not o.get(key) and n.get(key):
            words.append(f"{key} added")
        elif o.get(key) and not n.get(key):
            words.append(f"{key} removed")
        elif o.get(key) != n.get(key):
            words.append(f"{key} edited")
    for key in sorted((set(o) | set(n)) - _HANDLED):
        if o.get(key) != n.get(key):
            words.append(f"{key} changed")
    if old.body.strip() != new.body.strip():
        words.append("summary edited")
    return words


# --- reading git --------------------------------------------------------------------------------


def _git(root: Path, *args: str, stdin: str | None = None) -> str:
    try:
        run = subprocess.run(
            ["git", "-C", str(root), *args], input=stdin, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise HistoryError(f"cannot run git: {exc.strerror}") from exc
    if run.returncode != 0:
        raise HistoryError((run.stderr or run.stdout).strip() or f"git {args[0]} failed")
    return run.stdout


class _Blobs:
    """Blob contents by id through one `git cat-file --batch` process."""

    def __init__(self, root: Path, ids: Iterable[str]):
        wanted = sorted({i for i in ids if i != _NULL_BLOB})
        self.text: dict[str, str] = {}
        if not wanted:
            return
        run = subprocess.run(
            ["git", "-C", str(root), "cat-file", "--batch"],
            input="\n".join(wanted).encode() + b"\n",
            capture_output=True,
            check=False,
        )
        out, pos = run.stdout, 0
        for blob in wanted:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) < 3 or header[1] == b"missing":
                continue
            size = int(header[2])
            self.text[blob] = out[pos : pos + size].decode("utf-8", errors="replace")
            pos += size + 1


@dataclass
class _Touch:
    status: str
    old_blob: str
    new_blob: str
    old_path: str
    new_path: str


@dataclass
class _Commit:
    sha: str
    author_name: str
    author_email: str
    at: datetime
    subject: str
    trailers: dict[str, list[str]]
    touches: list[_Touch]


def _trailers(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def _commits(root: Path, pathspec: str, follow: bool) -> Iterator[_Commit]:
    fmt = _RECORD + _FIELD.join(["%H", "%an", "%ae", "%aI", "%s", "%(trailers:only,unfold)"]) + _FIELD
    args = ["log", f"--format={fmt}", "--raw", "--no-abbrev", "-M", "--relative", "--no-merges"]
    if follow:
        args.append("--follow")
    try:
        out = _git(root, *args, "--", pathspec)
    except HistoryError as exc:
        if "does not have any commits" in str(exc):
            return
        raise
    for record in out.split(_RECORD)[1:]:
        sha, name, email, at, subject, trailers, raw = record.split(_FIELD, 6)
        touches = []
        for line in raw.strip().splitlines():
            if not line.startswith(":"):
                continue
            meta, _, paths = line.partition("\t")
            _, _, old_blob, new_blob, status = meta.split()[:5]
            names = paths.split("\t")
            touches.append(_Touch(status[0], old_blob, new_blob, names[0], names[-1]))
        yield _Commit(sha, name, email, datetime.fromisoformat(at), subject, _trailers(trailers), touches)


def _incident_id(path: str) -> str | None:
    p = PurePosixPath(path)
    if str(p.parent) != INCIDENTS_DIR or p.suffix != ".md":
        return None
    return p.stem


def _people_by_email(root: Path) -> dict[str, str]:
    doc = read_yaml(root / PEOPLE_FILE, PEOPLE_FILE)
    if doc.data is None:  # no people.yml, or one that does not parse: commits keep their author names
        return {}
    people = _entries(_map(doc.values()).get("people"))
    return {str(p["email"]).lower(): str(p["id"]) for p in people if p.get("email") and p.get("id")}


# Trailers only the runner writes (alerts, the escalation tick, ack links). A person's `tidings
# incident` commits carry others (Tidings-Incident, Tidings-Person) and stay theirs.
RUNNER_TRAILERS = frozenset(
    {"Tidings-Source", "Tidings-Alert-Group", "Tidings-Fingerprint", "Tidings-Journal", "Tidings-Journal-Seq",
     "Tidings-Page-Key", "Tidings-Runner"}
)  # fmt: skip


def is_runner(author_name: str, author_email: str, trailers: dict[str, list[str]]) -> bool:
    """The runner's commit: its identity, or a runner's trailer (a runner configured with another name)."""
    if author_email.lower() == RUNNER_EMAIL or author_name == RUNNER_NAME:
        return True
    return any(key in RUNNER_TRAILERS for key in trailers)


def requested_by(trailers: dict[str, list[str]]) -> str | None:
    """Who a runner commit was made for, as its trailers name them; None for the runner's own.

    `Tidings-Person` (a people.yml id) first, then `Tidings-Acknowledged-By`, then the Slack
    user of a command from someone people.yml does not know (`Tidings-Slack-User: U123 (name)`).
    """
    for key in ("Tidings-Person", "Tidings-Acknowledged-By"):
        named = next((v for v in trailers.get(key, []) if v), None)
        if named:
            return named
    slack = next((v for v in trailers.get("Tidings-Slack-User", []) if v), None)
    if slack:
        user, _, name = slack.partition(" (")
        return f"@{name.rstrip(')') or user}"
    return None


def require_git(root: Path) -> None:
    try:
        inside = _git(root, "rev-parse", "--is-inside-work-tree").strip()
    except HistoryError as exc:
        raise HistoryError(f"{root} is not in a git repository: {exc}") from exc
    if inside != "true":
        raise HistoryError(f"{root} is not in a git work tree")


def known_incidents(root: Path) -> list[str]:
    """Ids of every incident file that exists now or ever did."""
    ids = {p.stem for p in (root / INCIDENTS_DIR).glob("*.md")}
    try:
        out = _git(root, "log", "--format=", "--name-only", "--relative", "--", INCIDENTS_DIR)
    except HistoryError:
        out = ""
    ids |= {i for i in map(_incident_id, out.split()) if i}
    return sorted(ids)


def history(root: Path, incident: str | None = None) -> list[Change]:
    """Every change to one incident (following renames) or to all incidents, oldest first."""
    require_git(root)
    pathspec = f"{INCIDENTS_DIR}/{incident}.md" if incident else INCIDENTS_DIR
    commits = list(_commits(root, pathspec, follow=incident is not None))
    blobs = _Blobs(root, (b for c in commits for t in c.touches for b in (t.old_blob, t.new_blob)))
    people = _people_by_email(root)
    changes: list[Change] = []
    for c in reversed(commits):
        for t in c.touches:
            old_id, new_id = _incident_id(t.old_path), _incident_id(t.new_path)
            if new_id is None and old_id is None:
                continue
            added = t.status == "A" or t.old_blob == _NULL_BLOB
            deleted = t.status == "D"
            old = None if added else _snapshot_of(blobs, t.old_blob)
            new = None if deleted else _snapshot_of(blobs, t.new_blob)
            words = describe(old, new)
            if t.status in ("R", "C") and old_id != new_id:
                words = [f"renamed from {old_id or t.old_path}"] + [
                    w for w in words if w != "no change to the incident's fields (formatting or comments)"
                ]
            runner = is_runner(c.author_name, c.author_email, c.trailers)
            changes.append(
                Change(
                    incident=(old_id if deleted else new_id or old_id) or "",
                    path=t.new_path if not deleted else t.old_path,
                    commit=c.sha,
                    at=c.at,
                    author_name=c.author_name,
                    author_email=c.author_email,
                    runner=runner,
                    person=None if runner else people.get(c.author_email.lower()),
                    subject=c.subject,
                    changes=tuple(words),
                    trailers={k: v for k, v in c.trailers.items() if k.startswith(TRAILER_PREFIX)},
                    requested_by=requested_by(c.trailers) if runner else None,
                )
            )
    return changes


def _snapshot_of(blobs: _Blobs, blob: str) -> Snapshot | None:
    text = blobs.text.get(blob)
    return None if text is None else snapshot(text)

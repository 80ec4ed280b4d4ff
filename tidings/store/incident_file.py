"""The incident and maintenance file format, as every writer of those files writes it.

The runner (alerts), the incident commands, quick actions, ack links, the escalation tick and the
importers all build their timestamps, text blocks, timeline updates, schema modelines and new file
names here, so a file written by one reads like a file written by another. The files themselves
are opened, validated and saved through tidings.store.edit; reading one into the model is
tidings.content's job (`tidings.content.load.parse_content`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from tidings.content.layout import FOLDERS, SCHEMA_DIR
from tidings.content.model import links_as_written, slugify

INCIDENTS = next(f.path for f in FOLDERS if f.kind == "incident")
MAINTENANCE = next(f.path for f in FOLDERS if f.kind == "maintenance")


# --- time ------------------------------------------------------------------------------------------


def stamp(dt: datetime, exact: bool = False) -> str:
    """A time as the files keep it: UTC with Z, whole seconds.

    `exact` keeps fractions of a second: an alert's start time identifies a re-fire, so the runner
    records it as the sender gave it.
    """
    dt = dt.astimezone(UTC)
    return (dt if exact else dt.replace(microsecond=0)).isoformat().replace("+00:00", "Z")


def stamp_as_given(dt: datetime) -> str:
    """A time as an import found it: its own offset (UTC as Z), milliseconds only when there are some.

    Imported history keeps the offset and precision upstream recorded, so a re-import of the same
    record writes the same bytes.
    """
    spec = (
        "seconds" if not dt.microsecond else "milliseconds" if not dt.microsecond % 1000 else "microseconds"
    )
    text = dt.isoformat(timespec=spec)
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text


def parse_stamp(value: Any) -> datetime | None:
    """A time from a file (`...Z` or with an offset); None when it is not one or has no timezone."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


# --- text ------------------------------------------------------------------------------------------


def block_text(text: str) -> str | LiteralScalarString:
    """Multi-line text as a YAML block (`|`) ending in one newline, readable in the file and in diffs."""
    return LiteralScalarString(text.rstrip("\n") + "\n") if "\n" in text else text


def trimmed_text(text: str) -> str | LiteralScalarString:
    """What a person typed: one line without the spaces around it, or a block that keeps its indentation."""
    return block_text(text if "\n" in text.strip() else text.strip())


def verbatim_text(text: str) -> str | LiteralScalarString:
    """An alert's text as the sender wrote it: trailing newlines kept (`|+`), only one added."""
    return LiteralScalarString(text + "\n") if "\n" in text else text


# --- the timeline ----------------------------------------------------------------------------------


def update_entry(
    at: str,
    status: str,
    body: str,
    internal: bool = False,
    author: str | None = None,
    with_id: bool = True,
) -> CommentedMap:
    """One timeline update, its keys in the order the files keep: at, status, body, internal, author.

    `at` is a stamp (`stamp`, or `stamp_as_given` for imported history); `body` is text made by
    `block_text`, `trimmed_text` or `verbatim_text`.
    """
    update = CommentedMap([("at", at), ("status", status), ("body", body)])
    if internal:
        update["internal"] = True
    if author is not None:
        update["author"] = author
    if with_id:
        update["id"] = update_id(update)
    return update


def update_id(update: Any, salt: int = 0) -> str:
    """An update's identity: from what it says and when, so writing it again (a replay) gives the
    same one; it stays with the update through edits and reordering (tidings log pairs by it)."""
    parts = [str(update.get(k, "")) for k in ("at", "status", "body", "internal", "author")]
    digest = hashlib.sha256("\0".join([*parts, str(salt)]).encode()).hexdigest()
    return digest[:8]


def add_update(updates: CommentedSeq, update: CommentedMap) -> None:
    """Insert an update in time order: a person may have written a later one by hand, and a replayed
    alert can land after a person's later update. Its id is made unique in the timeline."""
    taken = {u.get("id") for u in updates if isinstance(u, dict)}
    salt = 0
    while update.get("id") in taken:
        salt += 1
        update["id"] = update_id(update, salt)
    at = parse_stamp(update["at"])
    index = len(updates)
    while index > 0 and at is not None:
        previous = parse_stamp(updates[index - 1].get("at"))
        if previous is None or previous <= at:
            break
        index -= 1
    updates.insert(index, update)


def reopen(data: CommentedMap, at: datetime) -> None:
    """The fields of a reopening at `at`: `reopened_at` set (after `started_at`), and `resolved_at`
    and `acknowledged_at` gone, so the new opening escalates and is acknowledged afresh."""
    if "reopened_at" in data or "started_at" not in data:
        data["reopened_at"] = stamp(at)
    else:
        data.insert(list(data).index("started_at") + 1, "reopened_at", stamp(at))
    data.pop("resolved_at", None)
    data.pop("acknowledged_at", None)


# --- components and related links ------------------------------------------------------------------

# The keys `components:` follows in a file, nearest first: a new one goes in its usual place.
_BEFORE_COMPONENTS = ("reopened_at", "resolved_at", "acknowledged_at", "started_at")


def components_map(data: CommentedMap) -> CommentedMap:
    """The incident's `components:` (component id -> impact), made in its usual place when missing."""
    found = data.get("components")
    if isinstance(found, CommentedMap):
        return found
    impacts = CommentedMap(found) if isinstance(found, dict) else CommentedMap()
    if "components" in data:
        data["components"] = impacts
        return impacts
    after = next((k for k in _BEFORE_COMPONENTS if k in data), None)
    data.insert(list(data).index(after) + 1 if after else len(data), "components", impacts)
    return impacts


# --- related links ---------------------------------------------------------------------------------


def link_entry(url: str, text: str | None) -> CommentedMap:
    """One related link as the files keep it: `{url: ..., text: ...}` on a line of its own."""
    entry = CommentedMap([("url", url)])
    if text:
        entry["text"] = text
    entry.fa.set_flow_style()
    return entry


def links_seq(value: Any) -> CommentedSeq:
    """Related links given in either form (a template's, say) as a new file writes them: a list."""
    return CommentedSeq(link_entry(url, text or None) for url, text in links_as_written(value))


def links_list(data: CommentedMap) -> CommentedSeq:
    """The incident's `links:` as a list, for a change to them: the first form (a mapping of issue,
    chat and call) is rewritten as the list it means, so a file changes form only when its links do."""
    links = data.get("links")
    if isinstance(links, CommentedSeq):
        return links
    seq = links_seq(links)
    data["links"] = seq  # in its place among the keys, when it was there
    return seq


# --- new files -------------------------------------------------------------------------------------


def schema_modeline(kind: str) -> str:
    """The JSON schema path a content file of `kind` names in its modeline, relative to its folder."""
    folder = next(f.path for f in FOLDERS if f.kind == kind)
    return "../" * len(Path(folder).parts) + f"{SCHEMA_DIR}/{kind}.schema.json"


def new_incident_path(root: Path, title: str, when: datetime) -> tuple[str, Path]:
    """A free id `<date>-<slug of title>` (UTC date; `-2`, `-3`... when taken) and its file.

    Incidents and maintenance share one id space (each becomes a page), so both folders count.
    """
    stem = f"{when.astimezone(UTC).date().isoformat()}-{slugify(title)[:60].strip('-')}"
    folders = [root / INCIDENTS, root / MAINTENANCE]
    candidate, n = stem, 1
    while any((folder / f"{candidate}.md").exists() for folder in folders):
        n += 1
        candidate = f"{stem}-{n}"
    return candidate, root / INCIDENTS / f"{candidate}.md"

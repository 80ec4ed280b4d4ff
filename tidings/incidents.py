"""Changing incidents the way people do: the library under `tidings incident ...` and the runner's ack links.

Every change goes through tidings.edit (comments and order kept, validated before writing) and is
committed through tidings.gitstore, so the runner and the command line write the same thing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .diagnostics import did_you_mean
from .edit import read_editable, save
from .gitstore import RUNNER_EMAIL, RUNNER_NAME, commit, git
from .model import ID_PATTERN

log = logging.getLogger(__name__)
INCIDENTS = "content/incidents"


class IncidentError(Exception):
    """A change a person asked for cannot be made (unknown incident, say); nothing was written."""


@dataclass(frozen=True)
class AckResult:
    incident_id: str
    rel: str
    changed: bool
    message: str  # what happened, in words a person reads
    commit: str | None = None


def stamp(dt: datetime) -> str:
    """A timestamp as the files keep it: UTC, whole seconds, with Z."""
    return dt.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_stamp(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def incident_path(root: Path, incident_id: str) -> tuple[str, Path]:
    """(path relative to root, absolute path) of an incident; IncidentError with a did-you-mean if none."""
    rel = f"{INCIDENTS}/{incident_id}.md"
    path = root / rel
    if ID_PATTERN.match(incident_id) and path.is_file():
        return rel, path
    known = sorted(p.stem for p in (root / INCIDENTS).glob("*.md")) if (root / INCIDENTS).is_dir() else []
    hint = did_you_mean(incident_id, known)
    raise IncidentError(f"no incident '{incident_id}' in {INCIDENTS}/" + (f" ({hint})" if hint else ""))


def add_update(updates: CommentedSeq, update: CommentedMap) -> None:
    """Insert an update in time order (someone may have written a later one by hand)."""
    at = parse_stamp(update["at"])
    index = len(updates)
    while index > 0 and at is not None:
        previous = parse_stamp(updates[index - 1].get("at"))
        if previous is None or previous <= at:
            break
        index -= 1
    updates.insert(index, update)


def acknowledge(
    root: Path,
    incident_id: str,
    now: datetime,
    by: str | None = None,
    via: str = "the command line",
    do_commit: bool = True,
    author: tuple[str, str] | None = None,
    trailers: Mapping[str, str] | None = None,
) -> AckResult:
    """Acknowledge an open incident: set `acknowledged_at`, add an internal update, commit.

    Acknowledging stops every escalation rule that says `unless: acknowledged`. An incident that is
    already acknowledged or resolved is left as it is (changed=False), so a second click, or the
    command run twice, changes nothing.
    """
    rel, path = incident_path(root, incident_id)
    edit = read_editable(path, "incident")
    data = edit.data
    if data.get("status") == "resolved":
        return AckResult(incident_id, rel, False, f"incident {incident_id} is already resolved")
    if data.get("acknowledged_at"):
        when = data["acknowledged_at"]
        return AckResult(
            incident_id, rel, False, f"incident {incident_id} was already acknowledged at {when}"
        )
    started = parse_stamp(data.get("started_at"))
    if started is not None and now < started:
        raise IncidentError(
            f"cannot acknowledge at {stamp(now)}: incident {incident_id} starts at {stamp(started)}"
        )
    data["acknowledged_at"] = stamp(now)
    who = f" by {by}" if by else ""
    update = CommentedMap(
        [
            ("at", stamp(now)),
            ("status", str(data.get("status") or "investigating")),
            ("body", f"Acknowledged{who} (via {via}). Escalation stops for rules `unless: acknowledged`."),
            ("internal", True),
            ("author", by or "runner"),
        ]
    )
    updates = data.setdefault("updates", CommentedSeq())
    add_update(updates, update)
    save(edit, rel)
    sha = None
    if do_commit:
        sha = commit(
            root,
            [rel],
            f"Acknowledge incident {incident_id}{who}",
            body=f"Acknowledged via {via}.",
            trailers={
                "Tidings-Incident": incident_id,
                **({"Tidings-Acknowledged-By": by} if by else {}),
                **(trailers or {}),
            },
            author=author or git_identity(root),
        )
    log.info("acknowledged %s%s via %s", incident_id, who, via)
    return AckResult(incident_id, rel, True, f"acknowledged incident {incident_id}{who}", sha)


def git_identity(root: Path) -> tuple[str, str]:
    """The person's own git identity (user.name, user.email), or the runner's when none is set."""
    name = git(root, "config", "user.name", check=False).strip()
    email = git(root, "config", "user.email", check=False).strip()
    return (name, email) if name and email else (RUNNER_NAME, RUNNER_EMAIL)

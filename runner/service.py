"""One payload through the whole path: parse -> apply -> commit (-> push). Used by `runner apply`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tidings import clock
from tidings.content.load import load
from tidings.content.model import Integration
from tidings.errors import TidingsError
from tidings.runner.apply import Outcome, apply_event
from tidings.runner.sources import alertmanager, generic
from tidings.runner.sources.events import AlertEvent, PayloadError
from tidings.store.git import PushResult, commit, current_branch, git, push

# How often `runner apply --push` re-applies onto a remote that changed under it before giving up.
CONFLICT_RETRIES = 3
PARSERS = {"alertmanager": alertmanager.parse, "generic": generic.parse}


class UnknownIntegration(TidingsError, LookupError):
    pass


class RepoInvalid(TidingsError):
    """The status repo has errors; the runner changes nothing until a person fixes them."""


@dataclass(frozen=True)
class Applied:
    outcome: Outcome
    commit: str | None
    push: PushResult | None


def find_integration(root: Path, integration_id: str | None, kind: str) -> tuple[Any, Integration]:
    result = load(root)
    if result.errors:
        raise RepoInvalid(f"{len(result.errors)} error(s) in the status repo; run 'tidings validate'")
    candidates = [i for i in result.repo.integrations if i.kind == kind and (integration_id in (None, i.id))]
    if not candidates:
        raise UnknownIntegration(
            f"no {kind} integration {integration_id or ''} in .gitlab/integrations.yml".strip()
        )
    return result.repo, candidates[0]


def parse(kind: str, body: bytes, integration: Integration, received_at: datetime) -> AlertEvent:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError("(body)", f"not JSON: {exc}") from exc
    except RecursionError:
        raise PayloadError("(body)", "not JSON we read: nested too deeply") from None
    if kind == "generic":
        return generic.parse(payload, integration, received_at)
    return alertmanager.parse(payload, integration)


def commit_outcome(root: Path, outcome: Outcome) -> str | None:
    if not outcome.changed or outcome.rel is None:
        return None
    event = outcome.event
    return commit(
        root,
        [outcome.rel],
        f"runner: {outcome.action} incident {outcome.incident_id}",
        body=f"{event.title}\n\nFrom {event.kind} integration '{event.source}'.",
        trailers={
            "Tidings-Source": f"{event.kind}/{event.source}",
            "Tidings-Alert-Group": event.group,
            "Tidings-Fingerprint": sorted({a.fingerprint for a in event.alerts}),
        },
    )


def apply_payload(
    root: Path, kind: str, body: bytes, integration_id: str | None = None, do_push: bool = False
) -> Applied:
    """Apply one payload (the bytes as posted) and commit the change; push when asked."""
    now = clock.now()
    for _ in range(CONFLICT_RETRIES):
        repo, integration = find_integration(root, integration_id, kind)
        event = parse(kind, body, integration, now)
        outcome = apply_event(root, repo, event, integration, now)
        sha = commit_outcome(root, outcome)
        pushed = push(root) if do_push and sha else None
        if pushed is None or not pushed.reason.startswith("conflict"):
            return Applied(outcome, sha, pushed)
        # A person changed the same incident meanwhile: drop our commit, take theirs, apply again
        # (as `runner serve` does), so the alert lands on their file instead of being lost.
        branch = current_branch(root)
        git(root, "reset", "--quiet", "--hard", f"origin/{branch}")
    return Applied(outcome, sha, pushed)

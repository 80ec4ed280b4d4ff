"""One payload through the whole path: parse -> apply -> commit (-> push). Used by `runner apply`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidings import clock
from tidings.content.diagnostics import did_you_mean
from tidings.content.load import load
from tidings.content.model import Integration
from tidings.errors import TidingsError, UsageError
from tidings.runner.apply import Outcome, apply_event, commit_subject
from tidings.runner.remote import Clone, Published
from tidings.runner.sources import parse
from tidings.store.git import REMOTE, PushOutcome, PushResult, commit

# How often `runner apply --push` re-applies onto a remote that changed under it before giving up.
CONFLICT_RETRIES = 3


class UnknownIntegration(TidingsError, LookupError):
    pass


class NoSuchIntegration(UsageError, UnknownIntegration):
    """--integration names none of the repo's integrations of the payload's kind: a usage error (exit 2)."""


class RepoInvalid(TidingsError):
    """The status repo has errors; the runner changes nothing until a person fixes them."""


@dataclass(frozen=True)
class Applied:
    outcome: Outcome
    commit: str | None
    push: PushResult | None


def find_integration(root: Path, integration_id: str | None, kind: str) -> tuple[Any, Integration]:
    result = load(root, alerts=False)
    if result.errors:
        raise RepoInvalid(f"{len(result.errors)} error(s) in the status repo; run 'tidings validate'")
    integrations = result.repo.integrations
    candidates = [i for i in integrations if i.kind == kind and (integration_id in (None, i.id))]
    if candidates:
        return result.repo, candidates[0]
    if integration_id is None:
        raise UnknownIntegration(f"no {kind} integration in .gitlab/integrations.yml")
    same = next((i for i in integrations if i.id == integration_id), None)
    if same is not None:
        raise NoSuchIntegration(
            f"integration {integration_id!r} takes {same.kind} payloads, not {kind}",
            hint=f"pass --source {same.kind}, or another integration",
        )
    of_kind = [i.id for i in integrations if i.kind == kind]
    hint = did_you_mean(integration_id, of_kind) or (
        f"its {kind} integrations: {', '.join(of_kind)}" if of_kind else f"it has no {kind} integration"
    )
    raise NoSuchIntegration(
        f"no {kind} integration {integration_id!r} in .gitlab/integrations.yml", hint=hint
    )


def commit_outcome(root: Path, outcome: Outcome) -> str | None:
    if not outcome.paths:
        return None
    event = outcome.event
    records: dict[str, int] = {}
    for change in outcome.records:
        records[change.action] = records.get(change.action, 0) + 1
    actions = {str(outcome.incident_id): [outcome.action]} if outcome.changed else {}
    return commit(
        root,
        outcome.paths,
        f"runner: {commit_subject(actions, records)}",
        body=f"{event.title}\n\nFrom {event.kind} integration '{event.source}'.",
        trailers={
            "Tidings-Source": f"{event.kind}/{event.source}",
            "Tidings-Alert-Group": event.group,
            "Tidings-Fingerprint": sorted({a.fingerprint for a in event.alerts}),
        },
    )


def apply_payload(
    root: Path,
    kind: str,
    body: bytes,
    integration_id: str | None = None,
    do_push: bool = False,
    headers: Mapping[str, str] | None = None,
) -> Applied:
    """Apply one payload (the bytes as posted, with the request `headers` its source reads) and
    commit the change; push when asked."""
    now = clock.now()
    clone = Clone.open(root, do_push)
    # A person changed the same incident meanwhile: drop our commit, take theirs, apply again (as
    # `runner serve` does), so the alert lands on their file instead of being lost.
    clone.on_conflict = clone.take_remote
    for _ in range(CONFLICT_RETRIES):
        repo, integration = find_integration(root, integration_id, kind)
        event = parse(kind, body, integration, now, headers)
        outcome = apply_event(root, repo, event, integration, now)
        sha = commit_outcome(root, outcome)
        if not (do_push and sha):
            return Applied(outcome, sha, None)
        if not clone.pushing:
            why = f"{root} has no remote {REMOTE!r}"
            return Applied(outcome, sha, PushResult(PushOutcome.UNREACHABLE, 0, why))
        if clone.publish() is not Published.CONFLICT:
            return Applied(outcome, sha, clone.last_push)
    return Applied(outcome, sha, clone.last_push)

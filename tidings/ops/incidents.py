"""Changing incidents the way people do: the library under `tidings incident ...`, Slack and ack links.

Every change goes through tidings.store.edit (comments and order kept, validated before writing,
the references checked against the repo), in the file format of tidings.store.incident_file, and is
committed through tidings.store.git, so the runner, Slack and the command line write the same thing.
A change that cannot be made raises IncidentError (a wrong id, value or person, with a
did-you-mean), QuickActionError, AlertError (a quick action on the incident's alerts that makes no
sense) or EditError, and writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from tidings.content.checks import check_references
from tidings.content.diagnostics import did_you_mean
from tidings.content.documents import Document, plain, read_markdown
from tidings.content.load import load, parse_content
from tidings.content.model import (
    ID_PATTERN,
    IMPACTS,
    INCIDENT_STATUSES,
    SEVERITIES,
    Incident,
    StatusRepo,
    TemplateFile,
)
from tidings.content.model_errors import diagnostics_from
from tidings.errors import UsageError
from tidings.ops import alert_rules, public_words, quick_actions
from tidings.ops.history import is_runner
from tidings.store.alert_file import AlertIndex, rel_of
from tidings.store.edit import (
    EditableFile,
    EditError,
    check,
    clean_text,
    new_editable,
    read_editable,
    save,
    write_atomic,
)
from tidings.store.git import RUNNER_EMAIL, RUNNER_NAME, GitError, commit, git
from tidings.store.incident_file import (
    INCIDENTS,
    add_update,
    links_seq,
    new_incident_path,
    parse_stamp,
    schema_modeline,
    stamp,
    trimmed_text,
    update_entry,
)

log = logging.getLogger(__name__)
TEMPLATES = "content/templates"
DEFAULT_IMPACT = "partial_outage"
TRAILER = "Tidings-Incident"


class IncidentError(UsageError):
    """A change a person asked for cannot be made (unknown incident, say); nothing was written."""


@dataclass(frozen=True)
class Change:
    """What a command did to an incident: whether it changed, in words, and the commit (if made)."""

    incident_id: str
    rel: str
    changed: bool
    message: str  # what happened, in words a person reads
    commit: str | None = None
    changes: tuple[str, ...] = ()  # each change, e.g. "severity high -> critical"
    warnings: tuple[str, ...] = ()  # done, but a person should look (e.g. published in an alert's words)


AckResult = Change


@dataclass(frozen=True)
class Actor:
    """Who makes a change: how the timeline names them, and the git identity that commits it.

    `person` is their people.yml id when known; `name` is what `author:` in an update says (the
    person id, or e.g. a Slack name); `via` says through what ("the command line", "Slack").
    """

    name: str
    author: tuple[str, str] = (RUNNER_NAME, RUNNER_EMAIL)
    person: str | None = None
    via: str = "the command line"
    trailers: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    @property
    def by(self) -> str:
        return f" by {self.name}" if self.name else ""


def incident_path(root: Path, incident_id: str) -> tuple[str, Path]:
    """(path relative to root, absolute path) of an incident; IncidentError with a did-you-mean if none."""
    rel = f"{INCIDENTS}/{incident_id}.md"
    path = root / rel
    if ID_PATTERN.match(incident_id) and path.is_file():
        return rel, path
    known = sorted(p.stem for p in (root / INCIDENTS).glob("*.md")) if (root / INCIDENTS).is_dir() else []
    hint = did_you_mean(incident_id, known)
    raise IncidentError(f"no incident '{incident_id}' in {INCIDENTS}/" + (f" ({hint})" if hint else ""))


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
    update = update_entry(
        stamp(now),
        str(data.get("status") or "investigating"),
        f"Acknowledged{who} (via {via}). Escalation stops for rules `unless: acknowledged`.",
        internal=True,
        author=by or "runner",
    )
    updates = data.setdefault("updates", CommentedSeq())
    add_update(updates, update)
    save(edit, rel)
    sha = _record(
        root,
        rel,
        f"Acknowledge incident {incident_id}{who}",
        f"Acknowledged via {via}.",
        {TRAILER: incident_id, **({"Tidings-Acknowledged-By": by} if by else {}), **(trailers or {})},
        author or git_identity(root),
        do_commit,
    )
    log.info("acknowledged %s%s via %s", incident_id, who, via)
    return AckResult(incident_id, rel, True, f"acknowledged incident {incident_id}{who}", sha)


def git_identity(root: Path) -> tuple[str, str]:
    """The person's own git identity (user.name, user.email), or the runner's when none is set."""
    name = git(root, "config", "user.name", check=False).strip()
    email = git(root, "config", "user.email", check=False).strip()
    return (name, email) if name and email else (RUNNER_NAME, RUNNER_EMAIL)


def _record(
    root: Path,
    rel: str,
    subject: str,
    body: str,
    trailers: Mapping[str, str | Sequence[str]],
    author: tuple[str, str],
    do_commit: bool,
    also: Sequence[str] = (),
) -> str | None:
    """Commit the file, and `also` those (the sha), or with do_commit=False stage them (`git add`)."""
    paths = [rel, *also]
    if not do_commit:
        git(root, "add", "--", *paths)
        return None
    return commit(root, paths, subject, body=body, trailers=trailers, author=author)


# --- templates, checks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """An incident template, content/templates/<name>.md: defaults in front matter, a Markdown body.

    The body becomes the new incident's summary; quick actions in it (GitLab's templates often carry
    `/label ~incident`) are applied and their lines dropped.
    """

    name: str
    values: dict[str, Any]
    body: str


def template_names(root: Path) -> list[str]:
    folder = root / TEMPLATES
    return sorted(p.stem for p in folder.glob("*.md") if p.name != "README.md") if folder.is_dir() else []


def read_template(root: Path, name: str) -> Template:
    """The template `name`; IncidentError (with a did-you-mean, or where it is wrong) otherwise."""
    rel = f"{TEMPLATES}/{name}.md"
    path = root / rel
    if not ID_PATTERN.match(name) or not path.is_file():
        known = template_names(root)
        hint = did_you_mean(name, known) or (
            f"known: {', '.join(known)}" if known else f"no templates in {TEMPLATES}/"
        )
        raise IncidentError(f"no incident template '{name}' ({hint})")
    doc = read_markdown(path, rel)
    problems = list(doc.diagnostics)
    if doc.data is not None and not problems:
        try:
            TemplateFile.model_validate(doc.values())
        except ValidationError as exc:
            problems = diagnostics_from(exc, doc, TemplateFile)
    if problems:
        raise IncidentError(f"the template is not valid: {problems[0].as_text()}")
    values = plain(doc.data) if isinstance(doc.data, dict) else {}
    return Template(name, values, doc.body)


def _known(repo: StatusRepo) -> dict[str, set[str]]:
    return {
        "component": {c.id for c in repo.components},
        "group": {g.id for g in repo.groups},
        "runbook": {r.id for r in repo.runbooks},
        "schedule": {s.id for s in repo.schedules},
        "policy": {p.id for p in repo.policies},
        "person": {p.id for p in repo.people},
    }


def _checked(edit: EditableFile, rel: str, repo: StatusRepo) -> str:
    """The file's text, once it validates with its references to components, people, runbooks, policies."""
    check(edit, rel)
    doc = Document(path=edit.path, rel=rel, data=edit.data, line_offset=1)
    problems = check_references([("incident", doc)], _known(repo))
    if problems:
        first = problems[0]
        hint = f" ({first.hint})" if first.hint else ""
        raise EditError(f"{rel}: {first.field}: {first.message}{hint}", problems)
    return edit.render()


def _save(edit: EditableFile, rel: str, repo: StatusRepo) -> None:
    """Validate the file and its references (as `_checked`); then write."""
    write_atomic(edit.path, _checked(edit, rel, repo))


def _choice(value: str, choices: Sequence[str], what: str) -> str:
    if value not in choices:
        hint = did_you_mean(value, choices)
        raise IncidentError(
            f"{what} '{value}' is not one of: {', '.join(choices)}" + (f" ({hint})" if hint else "")
        )
    return value


def parse_components(specs: Sequence[str], repo: StatusRepo) -> dict[str, str]:
    """`ID` or `ID=impact` (default partial_outage), each id checked against the page's components."""
    known = [c.id for c in repo.components]
    out: dict[str, str] = {}
    for spec in specs:
        component, _, impact = spec.partition("=")
        component = component.strip()
        if component not in known:
            hint = did_you_mean(component, known) or f"components: {', '.join(known)}"
            raise IncidentError(f"unknown component '{component}' ({hint})")
        out[component] = _choice(impact.strip() or DEFAULT_IMPACT, IMPACTS, "impact")
    return out


def _update(now: datetime, status: str, body: str, internal: bool, actor: Actor) -> CommentedMap:
    return update_entry(
        stamp(now), status, trimmed_text(body), internal=internal, author=actor.name or "runner"
    )


def _actions(text: str, repo: StatusRepo) -> quick_actions.Parsed:
    """The quick actions of a text (checked, `/assign` resolved, `/component` ids known) and the
    text left to store."""
    return quick_actions.parse(text, repo.people, [c.id for c in repo.components])


def _trailers(incident_id: str, actor: Actor) -> dict[str, str | Sequence[str]]:
    return {
        TRAILER: incident_id,
        **({"Tidings-Person": actor.person} if actor.person else {}),
        **actor.trailers,
    }


def _open(root: Path, incident_id: str) -> tuple[str, EditableFile]:
    rel, path = incident_path(root, incident_id)
    return rel, read_editable(path, "incident")


def _not_before_start(data: CommentedMap, incident_id: str, now: datetime) -> None:
    started = parse_stamp(data.get("started_at"))
    if started is not None and now < started:
        raise IncidentError(
            f"cannot change incident {incident_id} at {stamp(now)}: it starts at {stamp(started)}"
        )


def _update_time(
    data: CommentedMap,
    incident_id: str,
    actions: Sequence[quick_actions.QuickAction],
    at: datetime | None,
    now: datetime,
    changes_status: bool,
) -> datetime | None:
    """When the update happened: `at` (--at) or an `/at` action, checked; None: now.

    A backdated update goes into the timeline in time order. It cannot be in the future, nor before
    the incident started; and it cannot change the status when later updates exist, since the
    incident's status is that of its last update."""
    given = [a for a in actions if a.name == "at"]
    if at is not None and given:
        raise IncidentError(f"{given[0].text}: the update's time is given twice (once is enough)")
    when = at if at is not None else parse_stamp(given[0].args[0]) if given else None
    if when is None:
        _not_before_start(data, incident_id, now)
        return None
    what = f"cannot date an update {stamp(when)}"
    if when > now:
        raise IncidentError(f"{what}: that is in the future (it is {stamp(now)})")
    moved = [a for a in actions if a.name == "started-at"]
    started = parse_stamp(moved[-1].args[0] if moved else data.get("started_at"))
    if started is not None and when < started:
        raise IncidentError(
            f"{what}: incident {incident_id} started at {stamp(started)}",
            hint=f"if it began earlier, move its start: tidings incident set {incident_id} --started-at TIME",
        )
    times = [parse_stamp(u.get("at")) for u in data.get("updates") or [] if isinstance(u, Mapping)]
    latest = max((t for t in times if t is not None), default=None)
    if changes_status and latest is not None and when < latest:
        raise IncidentError(
            f"{what} that changes the status: the timeline goes on to {stamp(latest)}, and the "
            "incident's status is that of its last update",
            hint="add the backdated update without a status change, and change the status now",
        )
    return when


def _status_then(data: CommentedMap, when: datetime, current: str) -> str:
    """The incident's status at `when` as its timeline tells it: the status of the last update by
    then (of the first one, for a time before it), or `current` when none comes after `when`."""
    timeline = [
        (t, str(u.get("status")))
        for u in data.get("updates") or []
        if isinstance(u, Mapping) and (t := parse_stamp(u.get("at"))) is not None
    ]
    if not timeline or all(t <= when for t, _ in timeline):
        return current
    before = [status for t, status in timeline if t <= when]
    return before[-1] if before else timeline[0][1]


def _body_lines(changes: Sequence[str], via: str) -> str:
    return "\n".join([*(f"- {c}" for c in changes), "", f"Via {via}."]).strip()


# --- the commands ----------------------------------------------------------------------------------


def open_incident(
    root: Path,
    now: datetime,
    actor: Actor,
    title: str | None = None,
    severity: str | None = None,
    status: str | None = None,
    components: Sequence[str] = (),
    published: bool | None = None,
    body: str | None = None,
    template: str | None = None,
    started_at: datetime | None = None,
    do_commit: bool = True,
) -> Change:
    """Open a new incident `<date>-<slug>`, from a template or from nothing, and commit it.

    `body` is the first timeline update (public unless the incident is internal-only: it says what
    customers read once published); quick actions in it and in the template's body are applied.
    Without a body the first update is an internal "Opened by ..." line.
    """
    repo = load(root, alerts=False).repo
    chosen = read_template(root, template) if template else Template("", {}, "")
    values: dict[str, Any] = dict(chosen.values)
    title = (title or str(values.get("title") or "")).strip()
    if not title:
        raise IncidentError("an incident needs a title (--title, or `title:` in the template)")
    if severity is not None:
        values["severity"] = _choice(severity, SEVERITIES, "severity")
    if status is not None:
        values["status"] = _choice(status, INCIDENT_STATUSES, "status")
    if published is not None:
        values["published"] = published
    impacts = dict(values.get("components") or {})
    impacts.update(parse_components(components, repo))
    start = started_at or now
    template_actions = _actions(chosen.body, repo)
    first = _actions(body or "", repo)
    for action in (*template_actions.actions, *first.actions):
        if action.name in quick_actions.ALERT_ACTIONS:
            raise IncidentError(
                f"{action.text}: a new incident has no alerts yet; use it in an update of one that has"
            )
        if action.name == "at":
            raise IncidentError(
                f"{action.text}: a new incident's first update is when it is opened; "
                "to say it began earlier, use /started-at"
            )
    zone = repo.site.timezone
    opening = quick_actions.resolve_times((*template_actions.actions, *first.actions), start, zone)
    incident_id, path = new_incident_path(root, title, start)
    rel = f"{INCIDENTS}/{incident_id}.md"
    data: dict[str, Any] = {
        "title": title,
        "severity": values.get("severity", "unknown"),
        "status": values.get("status", "investigating"),
        "published": bool(values.get("published", False)),
        "started_at": stamp(start),
    }
    if impacts:
        data["components"] = CommentedMap(impacts)
    for key in ("labels", "runbooks", "assignees"):
        if values.get(key):
            data[key] = CommentedSeq(values[key])
            data[key].fa.set_flow_style()
    if values.get("policy"):
        data["policy"] = values["policy"]
    if values.get("links"):  # written as a list, whichever form the template has
        data["links"] = links_seq(values["links"])
    summary = template_actions.body.strip("\n")
    edit = new_editable(
        path,
        "incident",
        data,
        body=summary + "\n" if summary else "",
        schema_modeline=schema_modeline("incident"),
    )
    applied = quick_actions.apply(opening, edit, start)
    current = applied.status
    if current == "resolved" and "resolved_at" not in edit.data:  # opened as resolved (after the fact)
        edit.data["resolved_at"] = stamp(start)
    if first.body:
        text, internal = first.body, False
    elif edit.data.get("published"):
        # Said before the file's own check ("no public update"), which names no way out.
        raise IncidentError(
            "a published incident needs public words: its first update is what customers read",
            hint="give it (--body TEXT), or open it unpublished and later "
            "'tidings incident publish ID --body TEXT'",
        )
    else:
        text, internal = f"Opened{actor.by} (via {actor.via}).", True
    edit.data["updates"] = CommentedSeq([_update(start, current, text, internal, actor)])
    _save(edit, rel, repo)
    where = ", ".join(f"{c} {i}" for c, i in impacts.items())
    words = [f"opened ({current}, severity {edit.data['severity']}" + (f", {where})" if where else ")")]
    words += [c for c in applied.changes if c not in ("published",)]
    if edit.data.get("published"):
        words.append("published")
    if template:
        words.append(f"from template {template}")
    trailers = _trailers(incident_id, actor)
    if template:
        trailers["Tidings-Template"] = template
    sha = _record(
        root,
        rel,
        f"Open incident {incident_id}{actor.by}",
        _body_lines(words, actor.via),
        trailers,
        actor.author,
        do_commit,
    )
    log.info("opened %s%s via %s", incident_id, actor.by, actor.via)
    return Change(incident_id, rel, True, f"opened incident {incident_id}{actor.by}", sha, tuple(words))


@dataclass(frozen=True)
class _Staged:
    """A change made to an open file and checked, not written yet: the text to write, in words, and
    the alert records it changed (path relative to the root, text)."""

    text: str
    words: tuple[str, ...]
    records: tuple[tuple[str, str], ...] = ()

    def write(self, root: Path, path: Path) -> list[str]:
        """Write the incident and its alert records; the records' paths."""
        write_atomic(path, self.text)
        for rel, text in self.records:
            write_atomic(root / rel, text)
        return [rel for rel, _ in self.records]

    def trailers(self, incident_id: str, actor: Actor) -> dict[str, str | Sequence[str]]:
        alerts = [Path(rel).stem for rel, _ in self.records]
        return {**_trailers(incident_id, actor), **({alert_rules.TRAILER: alerts} if alerts else {})}


def _stage_changes(
    repo: StatusRepo,
    incident_id: str,
    rel: str,
    edit: EditableFile,
    now: datetime,
    actor: Actor,
    body: str = "",
    status: str | None = None,
    internal: bool = False,
    extra: Sequence[quick_actions.QuickAction] = (),
    opened_alerts: dict[str, EditableFile] | None = None,
    at: datetime | None = None,
) -> _Staged | None:
    """Make the changes of `apply_changes` to `edit` and validate the result; None: nothing to change.

    `opened_alerts`: alert records already open (and maybe changed by an earlier step), by id.
    `at` (or an `/at` action): when the update happened, if before `now` (see `_update_time`)."""
    data = edit.data
    if status is not None:
        _choice(status, INCIDENT_STATUSES, "status")
    parsed = _actions(body, repo)
    actions = list(quick_actions.resolve_times([*extra, *parsed.actions], now, repo.site.timezone))
    changes_status = status is not None or any(a.name in ("status", "resolve") for a in actions)
    when = _update_time(data, incident_id, actions, at, now, changes_status)
    backdated = when if when is not None and when < now else None
    now = when or now  # the change is made as of then: resolved_at, an acknowledgement...
    actions = [a for a in actions if a.name != "at"]
    on_alerts = [a for a in actions if a.name in quick_actions.ALERT_ACTIONS]
    # Whether a person writes in the incident with this update (alert_rules' false-alarm rule):
    # text of its own, a status, or an action on the incident itself. Nothing but alert actions is
    # the same request as `tidings alert ack|resolve|ignore` on each alert, with the same outcome.
    writes = bool(parsed.body) or status is not None or len(on_alerts) < len(actions)
    wrote = writes or alert_rules.people_wrote(
        (u.get("author") for u in data.get("updates") or [] if isinstance(u, Mapping)),
        bool(data.get("notes")),
    )
    applied = quick_actions.apply(actions, edit, now)
    changes = list(applied.changes)
    if status is not None:
        said = quick_actions.set_status(data, status, now)
        if said:
            changes.append(said)
    records: dict[str, EditableFile] = {}
    if on_alerts:
        said_alerts, records = _apply_alert_actions(
            repo.root, incident_id, data, on_alerts, now, actor, wrote, opened_alerts
        )
        changes += said_alerts
    current = str(data.get("status") or "investigating")
    if parsed.body:
        text, is_internal = parsed.body, internal
    elif changes:
        said = "; ".join(changes)
        text, is_internal = f"{said[:1].upper()}{said[1:]}{actor.by} (via {actor.via}).", True
    else:
        return None
    then = _status_then(data, backdated, current) if backdated else current
    add_update(data.setdefault("updates", CommentedSeq()), _update(now, then, text, is_internal, actor))
    kind = "internal update" if is_internal else "update"
    words = ([f"{kind} added ({then})"] if parsed.body else []) + changes
    if backdated:
        words.append(f"dated {stamp(backdated)}")
    texts = []
    for alert_id, record in records.items():
        check(record, rel_of(alert_id))
        texts.append((rel_of(alert_id), record.render()))
    return _Staged(_checked(edit, rel, repo), tuple(words), tuple(texts))


def _apply_alert_actions(
    root: Path,
    incident_id: str,
    data: CommentedMap,
    actions: Sequence[quick_actions.QuickAction],
    now: datetime,
    actor: Actor,
    wrote: bool,
    opened: dict[str, EditableFile] | None,
) -> tuple[list[str], dict[str, EditableFile]]:
    """Change the incident's alert records as the actions say, and the incident as alert_rules says
    follows (in `data`); the changes in words, and the records changed, by id.

    AlertError (naming the line) for an alert that is not the incident's, or a change that makes
    no sense, as `tidings alert` refuses it; nothing is written here either way."""
    links = [
        (str(link.get("source")), str(link.get("fingerprint")))
        for link in data.get("alerts") or []
        if isinstance(link, Mapping)
    ]
    index = AlertIndex(root)
    records = alert_rules.incident_records(root, incident_id, links, opened, index)
    by = actor.person or actor.name or None
    words: list[str] = []
    changed: dict[str, EditableFile] = {}
    done: list[str] = []
    for action in actions:
        change, names_one = quick_actions.ALERT_ACTIONS[action.name]
        reason = clean_text(action.args[-1]) if len(action.args) > int(names_one) else None
        if names_one:
            targets = [_alert_of(root, incident_id, action, records, index)]
        else:
            allowed = alert_rules.CHANGES[change][0]
            targets = [i for i, r in records.items() if r.data.get("status") in allowed]
            if not targets:
                raise alert_rules.AlertError(
                    f"line {action.line}: {action.text}: {_none_to(change, incident_id, records)}; "
                    "nothing was changed"
                )
        event = alert_rules.CHANGES[change][2]
        for alert_id in targets:
            try:
                alert_rules.mark(records[alert_id], alert_id, change, now, by, reason)
            except alert_rules.AlertError as exc:
                raise alert_rules.AlertError(f"line {action.line}: {exc}", hint=exc.hint) from exc
            changed[alert_id] = records[alert_id]
        words.append(_alert_words(event, targets, reason))
        done.append(change)
    statuses = [str(r.data.get("status")) for r in records.values()]
    acknowledged = bool(data.get("acknowledged_at"))
    resolved = data.get("status") == "resolved"
    follows = alert_rules.incident_follows(done, statuses, acknowledged, resolved, wrote)
    if follows == alert_rules.FALSE_ALARM:
        quick_actions.set_status(data, "resolved", now)
        words.append("incident resolved as a false alarm: every alert of it is ignored")
    elif follows == alert_rules.ACKNOWLEDGE:
        data["acknowledged_at"] = stamp(now)
        words.append("incident acknowledged: none of its alerts is left triggered")
    return words, changed


def _alert_of(
    root: Path,
    incident_id: str,
    action: quick_actions.QuickAction,
    records: Mapping[str, EditableFile],
    index: AlertIndex,
) -> str:
    """The alert an action names, when it is one of the incident's; AlertError saying why not."""
    alert_id = action.args[0]
    if alert_id in records:
        return alert_id
    where = f"line {action.line}: {action.text}"
    if alert_id in index.ids:
        other = alert_rules.read_alert(root, alert_id, index).incident
        belongs = f"it belongs to incident {other}" if other else "it belongs to no incident"
        raise alert_rules.AlertError(
            f"{where}: alert {alert_id} is not an alert of incident {incident_id} ({belongs})",
            hint=f"link it first: tidings alert link {alert_id} {incident_id}",
        )
    known = list(records) or sorted(index.ids)
    raise alert_rules.UnknownAlertError(
        f"{where}: no alert '{alert_id}' of incident {incident_id}", hint=did_you_mean(alert_id, known)
    )


def _none_to(change: str, incident_id: str, records: Mapping[str, EditableFile]) -> str:
    """Why an action on all of an incident's alerts found none to change, in words."""
    if not records:
        return f"incident {incident_id} has no alerts"
    counts: dict[str, int] = {}
    for record in records.values():
        status = str(record.data.get("status"))
        counts[status] = counts.get(status, 0) + 1
    held = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    past = alert_rules.CHANGES[change][2]
    return f"no alert of incident {incident_id} can be {past} ({held})"


def _alert_words(event: str, alert_ids: Sequence[str], reason: str | None) -> str:
    """ "acknowledged alert X", "ignored 3 alerts: X, Y, Z (why)": a storm's hundred ids are cut short."""
    shown = ", ".join(alert_ids[:5]) + (f" and {len(alert_ids) - 5} more" if len(alert_ids) > 5 else "")
    what = f"alert {shown}" if len(alert_ids) == 1 else f"{len(alert_ids)} alerts: {shown}"
    return f"{event} {what}" + (f" ({reason})" if reason else "")


def apply_changes(
    root: Path,
    incident_id: str,
    now: datetime,
    actor: Actor,
    body: str = "",
    status: str | None = None,
    internal: bool = False,
    do_commit: bool = True,
    verb: str = "Update",
    extra: Sequence[quick_actions.QuickAction] = (),
    subject: str | None = None,
    at: datetime | None = None,
) -> Change:
    """Add a timeline update whose quick actions act on the incident; the core of update and resolve.

    The text left once quick-action lines are removed becomes the update (public unless
    `internal`). Actions or a status with no text left record an internal update saying what
    changed. Nothing to change at all gives changed=False and no commit. `at` (or `/at TIME` in
    the body) dates the update earlier than `now`: it goes into the timeline in time order.
    """
    repo = load(root, alerts=False).repo
    rel, edit = _open(root, incident_id)
    staged = _stage_changes(repo, incident_id, rel, edit, now, actor, body, status, internal, extra, at=at)
    if staged is None:
        return Change(incident_id, rel, False, f"nothing to change in incident {incident_id}")
    records = staged.write(root, edit.path)
    title = subject or f"{verb} incident {incident_id}{actor.by}"
    sha = _record(
        root,
        rel,
        title,
        _body_lines(staged.words, actor.via),
        staged.trailers(incident_id, actor),
        actor.author,
        do_commit,
        also=records,
    )
    done = {"Update": "updated", "Resolve": "resolved", "Comment on": "commented on"}.get(verb, verb.lower())
    warnings = _published_in_alert_words(root, incident_id, rel) if "published" in staged.words else ()
    message = f"{done} incident {incident_id}{actor.by}"
    return Change(incident_id, rel, True, message, sha, staged.words, warnings)


def _published_in_alert_words(root: Path, incident_id: str, rel: str) -> tuple[str, ...]:
    """The warning for an incident just published whose public text is still its alerts' (or none)."""
    parsed = parse_content(rel, (root / rel).read_text(encoding="utf-8"), root)
    if not isinstance(parsed.domain, Incident):
        return ()
    words = public_words.alert_words(root, parsed.domain)
    return (public_words.warning(incident_id, rel, words),) if words else ()


def update_incident(
    root: Path,
    incident_id: str,
    now: datetime,
    actor: Actor,
    body: str = "",
    status: str | None = None,
    internal: bool = False,
    do_commit: bool = True,
    at: datetime | None = None,
) -> Change:
    """`tidings incident update`: a timeline update, with quick actions; IncidentError when empty."""
    if not body.strip() and status is None:
        raise IncidentError("nothing to update: give --body (text, quick actions or both) or --status")
    return apply_changes(root, incident_id, now, actor, body, status, internal, do_commit, at=at)


def resolve_incident(
    root: Path,
    incident_id: str,
    now: datetime,
    actor: Actor,
    body: str = "",
    do_commit: bool = True,
    at: datetime | None = None,
) -> Change:
    """Resolve: status resolved, resolved_at now (or `at`), and a resolved update (the body, or a
    default line)."""
    rel, edit = _open(root, incident_id)
    if edit.data.get("status") == "resolved":
        return Change(incident_id, rel, False, f"incident {incident_id} is already resolved")
    # Only quick actions, or nothing: the resolving update still says so, in public words.
    text = body if quick_actions.parse(body).body else f"{body}\nThis incident has been resolved.".strip()
    return apply_changes(
        root, incident_id, now, actor, text, "resolved", verb="Resolve", do_commit=do_commit, at=at
    )


def set_fields(
    root: Path,
    incident_id: str,
    now: datetime,
    actor: Actor,
    title: str | None = None,
    severity: str | None = None,
    components: Sequence[str] = (),
    started_at: datetime | None = None,
    do_commit: bool = True,
) -> Change:
    """`tidings incident set`: the title, severity, components' impacts (`ID=IMPACT`) or start, as
    their quick actions (`/title`, `/severity`, `/component`, `/started-at`) set them, in one commit
    with an internal update saying what changed."""
    repo = load(root, alerts=False).repo
    actions: list[quick_actions.QuickAction] = []
    if title is not None:
        if not title.strip():
            raise IncidentError("--title: an incident needs a title")
        actions.append(quick_actions.QuickAction("title", (title.strip(),), 0, "--title"))
    if severity is not None:
        value = _choice(severity, SEVERITIES, "severity")
        actions.append(quick_actions.QuickAction("severity", (value,), 0, "--severity"))
    impacts = parse_components(components, repo)
    if impacts:
        args = tuple(f"{c}={i}" for c, i in impacts.items())
        actions.append(quick_actions.QuickAction("component", args, 0, "--component"))
    if started_at is not None:
        when = stamp(started_at)
        actions.append(quick_actions.QuickAction("started-at", (when,), 0, f"--started-at {when}"))
    if not actions:
        raise IncidentError("nothing to set: give --title, --severity, --component or --started-at")
    return apply_changes(root, incident_id, now, actor, extra=actions, do_commit=do_commit)


def set_published(
    root: Path,
    incident_id: str,
    now: datetime,
    actor: Actor,
    published: bool,
    body: str = "",
    do_commit: bool = True,
) -> Change:
    """Publish (optionally with the first public update) or unpublish an incident."""
    repo = load(root, alerts=False).repo
    rel, edit = _open(root, incident_id)
    data = edit.data
    verb = "publish" if published else "unpublish"
    if bool(data.get("published")) == published and not body:
        return Change(incident_id, rel, False, f"incident {incident_id} is already {verb}ed")
    public = [u for u in data.get("updates") or [] if isinstance(u, dict) and not u.get("internal")]
    if published and not public and not body.strip():
        raise IncidentError(
            f"incident {incident_id} has no public update yet: give --body with what customers should read"
        )
    if body.strip():
        parsed = _actions(body, repo)
        if parsed.actions:
            raise IncidentError(
                f"{verb}: --body takes text only; use 'tidings incident update' for quick actions"
            )
        _not_before_start(data, incident_id, now)
        status = str(data.get("status") or "investigating")
        add_update(
            data.setdefault("updates", CommentedSeq()), _update(now, status, parsed.body, False, actor)
        )
    data["published"] = published
    _save(edit, rel, repo)
    words = [f"{verb}ed"] + (["update added"] if body.strip() else [])
    sha = _record(
        root,
        rel,
        f"{verb.capitalize()} incident {incident_id}{actor.by}",
        _body_lines(words, actor.via),
        _trailers(incident_id, actor),
        actor.author,
        do_commit,
    )
    warnings = _published_in_alert_words(root, incident_id, rel) if published else ()
    return Change(
        incident_id, rel, True, f"{verb}ed incident {incident_id}{actor.by}", sha, tuple(words), warnings
    )


def find_incident(root: Path, incident_id: str) -> Incident:
    """The incident as the model reads it; IncidentError with a did-you-mean, or naming its errors."""
    rel, _ = incident_path(root, incident_id)
    result = load(root, alerts=False)
    found = result.repo.get("incidents", incident_id)
    if not isinstance(found, Incident):
        errors = [d.as_text() for d in result.errors if d.path == rel]
        raise IncidentError(f"incident {incident_id} does not validate: " + "; ".join(errors[:3]))
    return found


def list_incidents(
    root: Path,
    status: str | None = None,
    severity: str | None = None,
    published: bool | None = None,
) -> list[Incident]:
    """Incidents, newest first; `status` may be `open` (anything not resolved)."""
    if status is not None and status != "open":
        _choice(status, (*INCIDENT_STATUSES, "open"), "status")
    if severity is not None:
        _choice(severity, SEVERITIES, "severity")
    found = []
    for incident in load(root, alerts=False).repo.incidents:
        if status == "open" and incident.status == "resolved":
            continue
        if status not in (None, "open") and incident.status != status:
            continue
        if severity is not None and incident.severity != severity:
            continue
        if published is not None and incident.published != published:
            continue
        found.append(incident)
    return sorted(found, key=lambda i: (i.started_at, i.id), reverse=True)


def summary(incident: Incident) -> dict[str, Any]:
    """The fields `list --format json` gives for an incident."""
    keep = (
        "title",
        "severity",
        "status",
        "published",
        "started_at",
        "acknowledged_at",
        "resolved_at",
        "components",
        "labels",
        "assignees",
    )
    data = incident.model_dump(mode="json", include=set(keep))
    return {"id": incident.id, **{k: data[k] for k in keep}}


def details(incident: Incident) -> dict[str, Any]:
    """Everything `show --format json` gives: the front matter as the model reads it, id and body."""
    # source and example only where set: most incidents are neither imported nor examples
    exclude = {"digest"} | ({"source"} if incident.source is None else set())
    exclude |= set() if incident.example else {"example"}
    data = incident.model_dump(mode="json", exclude=exclude)
    return {"id": data.pop("id"), **data}


def person_for_email(repo: StatusRepo, email: str) -> str | None:
    email = email.strip().lower()
    return next((p.id for p in repo.people if email and (p.email or "").lower() == email), None)


# --- quick actions in commit messages --------------------------------------------------------------

FROM_TRAILER = "Tidings-Quick-Actions-From"


@dataclass(frozen=True)
class CommitActions:
    """The quick actions of one commit's message, and the incidents they act on."""

    sha: str
    author: tuple[str, str]
    at: datetime
    incidents: tuple[str, ...]
    actions: tuple[quick_actions.QuickAction, ...]


def _commits(root: Path, revs: str) -> list[str]:
    """`A..B`: the commits in that range, oldest first (merges left out); `REV`: that one commit."""
    try:
        if ".." in revs:
            return git(root, "rev-list", "--reverse", "--no-merges", revs, "--").split()
        return [git(root, "rev-parse", "--verify", "--quiet", f"{revs}^{{commit}}").strip()]
    except GitError as exc:
        raise IncidentError(f"not a commit or range of commits: {revs!r}") from exc


def _done_for(root: Path, sha: str) -> set[str]:
    """The incidents the quick actions of commit `sha` were already applied to (marked per incident)."""
    out = git(
        root,
        "log",
        f"--grep=^{FROM_TRAILER}: {sha}$",
        f"--format=%(trailers:key={TRAILER},valueonly)",
        "HEAD",
        check=False,
    )
    return set(out.split())


def _by_runner(root: Path, sha: str) -> bool:
    """Whether the runner made the commit (its identity, or a trailer only it writes).

    The runner's commits quote what others wrote (an alert's title in the body: `/login returns
    500`), so only people's commits carry quick actions.
    """
    name, email, trailers = git(
        root, "log", "-1", "--format=%an%x00%ae%x00%(trailers:only,unfold)", sha
    ).split("\0", 2)
    keys = {line.partition(":")[0].strip(): [""] for line in trailers.splitlines() if ":" in line}
    return is_runner(name, email, keys)


def plan_commit_actions(root: Path, revs: str) -> list[CommitActions]:
    """The quick actions of every commit in `revs` not applied yet; every problem raised at once.

    A commit's actions act on the incidents named by its `Tidings-Incident` trailers, else on
    every incident file it adds or changes. Unknown actions or people, and actions in a commit
    that touches no incident, are QuickActionError (naming the commit); nothing is applied.
    Commits the runner made are left out: it never writes quick actions, only quotes alerts.
    """
    repo = load(root, alerts=False).repo
    planned: list[CommitActions] = []
    problems: list[str] = []
    for sha in _commits(root, revs):
        message = git(root, "log", "-1", "--format=%B", sha)
        if FROM_TRAILER in message or _by_runner(root, sha):
            continue
        try:
            parsed = _actions(message, repo)
        except quick_actions.QuickActionError as exc:
            problems += [f"commit {sha[:12]} {p}" for p in exc.problems]
            continue
        if not parsed.actions:
            continue
        named = git(root, "log", "-1", f"--format=%(trailers:key={TRAILER},valueonly)", sha).split()
        changed = ("diff-tree", "--no-commit-id", "--name-only", "-r", "--diff-filter=AMR", "--root")
        touched = git(root, *changed, sha, "--", INCIDENTS).split()
        ids = named or [Path(p).stem for p in touched if p.endswith(".md")]
        if not ids:
            problems.append(
                f"commit {sha[:12]} has quick actions but touches no incident "
                f"(add a '{TRAILER}: <id>' trailer to say which)"
            )
            continue
        done = _done_for(root, sha)
        ids = [i for i in dict.fromkeys(ids) if i not in done]
        if not ids:
            continue
        for incident_id in ids:
            try:
                incident_path(root, incident_id)
            except IncidentError as exc:
                problems.append(f"commit {sha[:12]}: {exc}")
        name, email, at = git(root, "log", "-1", "--format=%an%x00%ae%x00%aI", sha).strip().split("\0")
        when = datetime.fromisoformat(at)
        planned.append(CommitActions(sha, (name, email), when, tuple(ids), parsed.actions))
    if problems:
        raise IncidentError("quick actions in commit messages:\n  " + "\n  ".join(problems))
    return planned


def apply_quick_actions_from_commits(
    root: Path,
    revs: str,
    author: tuple[str, str] = (RUNNER_NAME, RUNNER_EMAIL),
    do_commit: bool = True,
) -> list[Change]:
    """Apply the quick actions of the commit messages in `revs` (`REV` or `A..B`), one commit each.

    All or nothing: every resulting file, for every commit and incident in turn, is made and
    validated in memory before the first is written, so one that cannot be made (a `/publish` of an
    incident with no public update) fails the whole range and commits nothing. Each resulting
    commit carries `Tidings-Quick-Actions-From: <sha>` and `Tidings-Incident: <id>`, so a commit
    is acted on once per incident however often this runs (a CI job on every push, say), and a run
    cut short finishes the rest the next time. The time of each change is the commit's author
    date, and the timeline names the commit's author (their people.yml id when their email is
    there). The commit message describes the actions in words, never as `/` lines.
    """
    repo = load(root, alerts=False).repo
    opened: dict[str, tuple[str, EditableFile]] = {}
    opened_alerts: dict[str, EditableFile] = {}  # later commits see what earlier ones did to them
    failed: set[str] = set()  # incidents a step failed on: later steps on them would only mislead
    steps: list[tuple[CommitActions, Actor, str, str, Path, _Staged | None]] = []
    problems: list[str] = []
    for planned in plan_commit_actions(root, revs):
        person = person_for_email(repo, planned.author[1])
        actor = Actor(
            name=person or planned.author[0],
            author=author,
            person=person,
            via=f"commit {planned.sha[:12]}",
            trailers={FROM_TRAILER: planned.sha},
        )
        for incident_id in planned.incidents:
            if incident_id in failed:
                continue
            try:
                if incident_id not in opened:
                    opened[incident_id] = _open(root, incident_id)
                rel, edit = opened[incident_id]
                staged = _stage_changes(
                    repo,
                    incident_id,
                    rel,
                    edit,
                    planned.at,
                    actor,
                    extra=planned.actions,
                    opened_alerts=opened_alerts,
                )
            except (IncidentError, EditError, quick_actions.QuickActionError, alert_rules.AlertError) as exc:
                problems.append(f"commit {planned.sha[:12]} on incident {incident_id}: {exc}")
                failed.add(incident_id)
                continue
            steps.append((planned, actor, incident_id, rel, edit.path, staged))
    if problems:
        raise IncidentError(
            "quick actions in commit messages (nothing was applied):\n  " + "\n  ".join(problems)
        )
    done: list[Change] = []
    for planned, actor, incident_id, rel, path, staged in steps:
        if staged is None:
            done.append(Change(incident_id, rel, False, f"nothing to change in incident {incident_id}"))
            continue
        records = staged.write(root, path)
        sha = _record(
            root,
            rel,
            f"Quick actions of {planned.sha[:12]} on incident {incident_id}{actor.by}",
            _body_lines(staged.words, actor.via),
            staged.trailers(incident_id, actor),
            actor.author,
            do_commit,
            also=records,
        )
        message = f"updated incident {incident_id}{actor.by}"
        warnings = _published_in_alert_words(root, incident_id, rel) if "published" in staged.words else ()
        done.append(Change(incident_id, rel, True, message, sha, staged.words, warnings))
    return done

"""GitLab-style quick actions: `/severity high` on a line of its own acts on the incident.

They are read from an update's body (`tidings incident update --body`, a Slack comment) and from
commit messages (`tidings incident quick-actions`). Three steps:

1. `parse(text)`: every line that starts with `/word` (after optional spaces) is an action; the
   rest is the body that gets stored. Lines inside ``` or ~~~ fences are never actions, so a code block
   can quote a path such as `/etc`. An unknown action, a missing or bad argument, is an error,
   never ignored: `QuickActionError` lists every one with its line, and nothing is applied.
2. `resolve(actions, people)`: `/assign` names become person ids (with a did-you-mean).
3. `apply(actions, edit, now)`: the changes, made to an open `tidings.store.edit.EditableFile`; the
   caller saves (which validates) and commits.

The actions: `/severity LEVEL`, `/status STATUS`, `/assign @person ...`, `/label ~label ...`,
`/link URL` (the issue link), `/zoom URL` (the call link), `/publish`, `/resolve`; and on the
incident's alerts (ALERT_ACTIONS, which change alert records, so tidings.ops.incidents applies them
through tidings.ops.alert_rules, not `apply`): `/ack-alerts`, `/resolve-alerts`, `/ignore-alerts
[reason]`, and for one alert `/ack-alert ID`, `/resolve-alert ID`, `/ignore-alert ID [reason]`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from tidings.content.diagnostics import did_you_mean
from tidings.content.model import ID_PATTERN, INCIDENT_STATUSES, SEVERITIES, Person
from tidings.errors import UsageError
from tidings.store.edit import EditableFile
from tidings.store.incident_file import reopen, stamp

# `/word` then a space or the end of the line: `/var/log is full` is a sentence, not an action.
ACTION_LINE = re.compile(r"^[ \t]*/([A-Za-z][A-Za-z0-9_-]*)(?:[ \t]+(.*?))?[ \t]*$")
# A code fence as CommonMark has it: three or more backticks or tildes (a backtick fence's info
# string holds no backtick); only a run of the same character, at least as long, closes it.
FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")
URL = re.compile(r"^https?://\S+$")
# Characters a URL never holds unencoded (RFC 3986) that chat and Markdown links give meaning:
# `<https://x|label>` is a Slack link, so `/link https://x|<!channel>` would write a mention.
URL_UNSAFE = re.compile(r"[<>|\"\\`{}^]")
# Slack sends mentions and links escaped: <@U123ABC>, <@U123ABC|name>, <https://x|label>.
SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
SLACK_LINK = re.compile(r"^<([a-z][a-z0-9+.-]*://[^|>]+)(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class Spec:
    name: str
    usage: str
    # "none", "one", "many"; "text": optional free text (a reason: apostrophes and all, never split);
    # "id-text": an id, then optional free text
    takes: str


SPECS: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec("severity", "/severity critical|high|medium|low|unknown", "one"),
        Spec("status", "/status investigating|identified|monitoring|resolved", "one"),
        Spec("assign", "/assign @person [@person ...]", "many"),
        Spec("label", "/label ~label [~label ...]", "many"),
        Spec("link", "/link URL (the issue link)", "one"),
        Spec("zoom", "/zoom URL (the call link)", "one"),
        Spec("publish", "/publish", "none"),
        Spec("resolve", "/resolve", "none"),
        Spec("ack-alerts", "/ack-alerts (acknowledge the incident's triggered alerts)", "none"),
        Spec("resolve-alerts", "/resolve-alerts (resolve the incident's open alerts)", "none"),
        Spec("ignore-alerts", "/ignore-alerts [reason] (the incident's alerts are false alarms)", "text"),
        Spec("ack-alert", "/ack-alert ALERT-ID", "one"),
        Spec("resolve-alert", "/resolve-alert ALERT-ID", "one"),
        Spec("ignore-alert", "/ignore-alert ALERT-ID [reason]", "id-text"),
    )
}
# The actions on the incident's alerts -> (the alert change, whether it names one alert). Without an
# id an action takes every alert of the incident the change makes sense for (tidings.ops.alert_rules).
ALERT_ACTIONS: dict[str, tuple[str, bool]] = {
    "ack-alerts": ("acknowledge", False),
    "resolve-alerts": ("resolve", False),
    "ignore-alerts": ("ignore", False),
    "ack-alert": ("acknowledge", True),
    "resolve-alert": ("resolve", True),
    "ignore-alert": ("ignore", True),
}


@dataclass(frozen=True)
class QuickAction:
    """One action: its name, its arguments (checked, normalised), and the line it was on (from 1)."""

    name: str
    args: tuple[str, ...]
    line: int
    text: str  # the line as written


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class QuickActionError(UsageError):
    """Quick actions that cannot be applied: every problem, with its line. Nothing was changed."""

    def __init__(self, problems: Sequence[Problem], where: str = ""):
        self.problems = list(problems)
        self.where = where
        prefix = f"{where}: " if where else ""
        if len(self.problems) == 1:
            super().__init__(f"{prefix}{self.problems[0]}")
        else:
            lines = "".join(f"\n  {p}" for p in self.problems)
            super().__init__(f"{prefix}{len(self.problems)} problems with quick actions:{lines}")


@dataclass(frozen=True)
class Parsed:
    """The actions found in a text, and the text without their lines (what gets stored)."""

    actions: tuple[QuickAction, ...]
    body: str

    def __bool__(self) -> bool:
        return bool(self.actions)


def _unslack(arg: str) -> str:
    link = SLACK_LINK.match(arg)
    return link.group(1) if link else arg


def _free_text(spec: Spec, raw: str, line: int) -> tuple[tuple[str, ...], list[Problem]]:
    """`text` and `id-text` arguments: the words as written (a reason is no shell line to split)."""
    raw = raw.strip()
    if spec.takes == "text":
        return ((raw,) if raw else ()), []
    words = raw.split(None, 1)
    if not words:
        return (), [Problem(line, f"/{spec.name} needs an alert id (usage: {spec.usage})")]
    if not ID_PATTERN.match(words[0]):
        return (), [Problem(line, f"/{spec.name}: '{words[0]}' is not an alert id (usage: {spec.usage})")]
    return tuple(words), []


def _check_args(spec: Spec, raw: str, line: int) -> tuple[tuple[str, ...], list[Problem]]:
    if spec.takes in ("text", "id-text"):
        return _free_text(spec, raw, line)
    try:
        args = [_unslack(a) for a in shlex.split(raw)]
    except ValueError as exc:
        return (), [Problem(line, f"/{spec.name}: {exc} (usage: {spec.usage})")]
    if spec.takes == "none":
        if args:
            return (), [Problem(line, f"/{spec.name} takes no argument (usage: {spec.usage})")]
        return (), []
    if not args:
        return (), [Problem(line, f"/{spec.name} needs an argument (usage: {spec.usage})")]
    if spec.takes == "one" and len(args) > 1:
        return (), [Problem(line, f"/{spec.name} takes one argument, not {len(args)} (usage: {spec.usage})")]
    problems: list[Problem] = []
    out: list[str] = []
    for arg in args:
        value, problem = _check_arg(spec, arg)
        if problem:
            problems.append(Problem(line, problem))
        else:
            out.append(value)
    return tuple(out), problems


def _check_arg(spec: Spec, arg: str) -> tuple[str, str]:
    """(normalised value, "") or ("", what is wrong)."""
    if spec.name in ("severity", "status"):
        choices = SEVERITIES if spec.name == "severity" else INCIDENT_STATUSES
        value = arg.lower()
        if value not in choices:
            hint = did_you_mean(value, choices)
            return "", f"/{spec.name}: '{arg}' is not one of: {', '.join(choices)}" + (
                f" ({hint})" if hint else ""
            )
        return value, ""
    if spec.name in ("link", "zoom"):
        if not URL.match(arg):
            return "", f"/{spec.name}: '{arg}' is not a URL like 'https://example.com/...'"
        unsafe = URL_UNSAFE.search(arg)
        if unsafe:
            char = unsafe.group()
            encoded = f"%{ord(char):02X}"
            return "", f"/{spec.name}: '{arg}' has a '{char}', which a URL cannot hold (write {encoded})"
        return arg, ""
    if spec.name in ALERT_ACTIONS:
        if not ID_PATTERN.match(arg):
            return "", f"/{spec.name}: '{arg}' is not an alert id (usage: {spec.usage})"
        return arg, ""
    if spec.name == "label":
        value = arg[1:] if arg.startswith("~") else arg
        if not value.strip():
            return "", "/label: an empty label"
        return value, ""
    # assign: @name, name, or a Slack mention; resolved against people.yml later
    mention = SLACK_MENTION.match(arg)
    value = f"slack:{mention.group(1)}" if mention else arg.removeprefix("@")
    if not value:
        return "", "/assign: an empty name"
    return value, ""


def _fence_after(fence: str, line: str) -> str:
    """The fence open after `line`, given the one open before it ("" for none)."""
    found = FENCE.match(line)
    if found is None:
        return fence
    run, rest = found.group(1), found.group(2)
    if not fence:
        return "" if run[0] == "`" and "`" in rest else run
    closes = run[0] == fence[0] and len(run) >= len(fence) and not rest.strip()
    return "" if closes else fence


def parse(text: str, people: Sequence[Person] | None = None) -> Parsed:
    """Find the quick actions in `text`; QuickActionError listing every problem if any is wrong.

    With `people`, `/assign` names are resolved to their ids too (see `resolve`).
    """
    actions: list[QuickAction] = []
    problems: list[Problem] = []
    kept: list[str] = []
    fence = ""  # the open fence's run of ``` or ~~~, or "" outside one
    for number, line in enumerate(text.splitlines(), start=1):
        was_fenced = bool(fence)
        fence = _fence_after(fence, line)
        match = None if fence or was_fenced else ACTION_LINE.match(line)
        if match is None:
            kept.append(line)
            continue
        name = match.group(1).lower()
        spec = SPECS.get(name)
        if spec is None:
            close = did_you_mean(name, SPECS).replace("'", "'/", 1)  # "did you mean '/severity'?"
            known = "known: " + ", ".join(f"/{n}" for n in SPECS)
            problems.append(Problem(number, f"unknown quick action '/{match.group(1)}' ({close or known})"))
            continue
        args, bad = _check_args(spec, match.group(2) or "", number)
        problems += bad
        if not bad:
            actions.append(QuickAction(name, args, number, line.strip()))
    if people is not None:
        try:
            actions = list(resolve(actions, people))
        except QuickActionError as exc:
            problems += exc.problems
    if problems:
        raise QuickActionError(sorted(problems, key=lambda p: p.line))
    body = "\n".join(kept).strip("\n")
    return Parsed(tuple(actions), body if body.strip() else "")


def resolve(actions: Iterable[QuickAction], people: Sequence[Person]) -> tuple[QuickAction, ...]:
    """`/assign` names as person ids of people.yml (by id, or by Slack id); errors name the unknown."""
    ids = [p.id for p in people]
    by_slack = {p.chat["slack"]: p.id for p in people if p.chat.get("slack")}
    out: list[QuickAction] = []
    problems: list[Problem] = []
    for action in actions:
        if action.name != "assign":
            out.append(action)
            continue
        found: list[str] = []
        for name in action.args:
            if name.startswith("slack:"):
                person = by_slack.get(name.removeprefix("slack:"))
                if person is None:
                    problems.append(
                        Problem(action.line, f"/assign: no person in people.yml has Slack id {name[6:]}")
                    )
                    continue
                found.append(person)
            elif name in ids:
                found.append(name)
            else:
                hint = did_you_mean(name, ids) or "people are listed in content/people.yml"
                problems.append(Problem(action.line, f"/assign: unknown person '{name}' ({hint})"))
        out.append(QuickAction(action.name, tuple(found), action.line, action.text))
    if problems:
        raise QuickActionError(problems)
    return tuple(out)


@dataclass
class Applied:
    """What applying changed, in words (for the commit message), and the status it left."""

    changes: list[str] = field(default_factory=list)
    status: str = ""


def set_status(data: CommentedMap, status: str, now: datetime) -> str | None:
    """Set the incident's status, keeping resolved_at consistent; words for the change, or None.

    Leaving `resolved` reopens the incident (see `tidings.store.incident_file.reopen`)."""
    old = str(data.get("status") or "")
    if old == status:
        return None
    data["status"] = status
    if status == "resolved":
        data["resolved_at"] = stamp(now)
        return "resolved"
    if "resolved_at" in data or old == "resolved":
        reopen(data, now)
        return f"reopened ({status})"
    return f"status {old} -> {status}"


def _add_to_list(data: CommentedMap, key: str, values: Iterable[str]) -> list[str]:
    items = data.get(key)
    if not isinstance(items, list):
        items = data[key] = CommentedSeq()
        items.fa.set_flow_style()  # `labels: [db]`, as people write them
    added = []
    for value in values:
        if value not in items:
            items.append(value)
            added.append(value)
    return added


def _set_link(data: CommentedMap, key: str, url: str) -> bool:
    links = data.get("links")
    if not isinstance(links, dict):
        links = data["links"] = CommentedMap()
    if links.get(key) == url:
        return False
    links[key] = url
    return True


def apply(actions: Iterable[QuickAction], edit: EditableFile, now: datetime) -> Applied:
    """Make the actions' changes to an incident open for editing (resolve `/assign` first).

    ALERT_ACTIONS change alert records, not this file: they are left to tidings.ops.incidents."""
    data = edit.data
    result = Applied()
    for action in actions:
        if action.name == "severity":
            old = str(data.get("severity") or "unknown")
            if old != action.args[0]:
                data["severity"] = action.args[0]
                result.changes.append(f"severity {old} -> {action.args[0]}")
        elif action.name in ("status", "resolve"):
            status = "resolved" if action.name == "resolve" else action.args[0]
            words = set_status(data, status, now)
            if words:
                result.changes.append(words)
        elif action.name == "assign":
            result.changes += [f"assigned {p}" for p in _add_to_list(data, "assignees", action.args)]
        elif action.name == "label":
            result.changes += [f"label {label}" for label in _add_to_list(data, "labels", action.args)]
        elif action.name in ("link", "zoom"):
            key = "issue" if action.name == "link" else "call"
            if _set_link(data, key, action.args[0]):
                result.changes.append(f"{key} link {action.args[0]}")
        elif action.name == "publish" and not data.get("published"):
            data["published"] = True
            result.changes.append("published")
    result.status = str(data.get("status") or "investigating")
    return result


def describe(actions: Iterable[QuickAction]) -> list[str]:
    """The actions in words, for a commit message (never as `/word` lines: those would act again)."""
    return [f"{a.name} {' '.join(a.args)}".strip() for a in actions]

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

The actions: `/severity LEVEL`, `/status STATUS`, `/title TEXT`, `/component ID=IMPACT ...`,
`/started-at TIME`, `/assign @person ...`, `/label ~label ...`, `/link URL [text]` (adds a related
link), `/zoom URL` (the call link), `/publish`, `/resolve`, `/at TIME` (when the update happened:
`resolve_times` turns it into a time, and tidings.ops.incidents dates the update with it); and on the
incident's alerts (ALERT_ACTIONS, which change alert records, so tidings.ops.incidents applies them
through tidings.ops.alert_rules, not `apply`): `/ack-alerts`, `/resolve-alerts`, `/ignore-alerts
[reason]`, and for one alert `/ack-alert ID`, `/resolve-alert ID`, `/ignore-alert ID [reason]`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from tidings.content.diagnostics import did_you_mean
from tidings.content.model import (
    ID_PATTERN,
    IMPACTS,
    INCIDENT_STATUSES,
    LEGACY_LINK_TEXT,
    SEVERITIES,
    TIMESTAMP_YEARS,
    Person,
    links_as_written,
)
from tidings.errors import UsageError
from tidings.store.edit import EditableFile
from tidings.store.incident_file import components_map, link_entry, links_list, parse_stamp, reopen, stamp

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
# `/at 09:12`: a time of day, today in the site's timezone (chat is no place to type offsets).
CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
DEFAULT_IMPACT = "partial_outage"
ISSUE_TEXT = LEGACY_LINK_TEXT["issue"]  # what `/link URL` without a text names, as it always did
CALL_TEXT = LEGACY_LINK_TEXT["call"]  # the link `/zoom` sets


@dataclass(frozen=True)
class Spec:
    name: str
    usage: str
    # "none", "one", "many"; "text": optional free text (a reason: apostrophes and all, never split);
    # "line": free text that must be there (a title); "id-text": an id, then optional free text;
    # "url-text": a URL, then optional free text (what the link says)
    takes: str


TIME_USAGE = "TIME: 2026-11-24T09:12:00Z, with an offset, or 09:12 (today, in the site's timezone)"
SPECS: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec("severity", "/severity critical|high|medium|low|unknown", "one"),
        Spec("status", "/status investigating|identified|monitoring|resolved", "one"),
        Spec("title", "/title TEXT", "line"),
        Spec("component", "/component ID=IMPACT [ID=IMPACT ...]", "many"),
        Spec("started-at", f"/started-at TIME ({TIME_USAGE})", "one"),
        Spec("assign", "/assign @person [@person ...]", "many"),
        Spec("label", "/label ~label [~label ...]", "many"),
        Spec("link", "/link URL [text] (adds a related link; without a text, the issue link)", "url-text"),
        Spec("zoom", "/zoom URL (the call link)", "one"),
        Spec("publish", "/publish", "none"),
        Spec("resolve", "/resolve", "none"),
        Spec("at", f"/at TIME (when the update happened; {TIME_USAGE})", "one"),
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
        # Line 0: not from a text but from a command's option (`tidings incident set --started-at`).
        return f"line {self.line}: {self.message}" if self.line else self.message


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


def _unquoted(text: str) -> str:
    """Text without one pair of quotes around all of it (`/title "DB down"`), straight or curly."""
    for left, right in (('"', '"'), ("“", "”"), ("'", "'")):
        if len(text) >= 2 and text.startswith(left) and text.endswith(right):
            return text[1:-1].strip()
    return text


def _free_text(spec: Spec, raw: str, line: int) -> tuple[tuple[str, ...], list[Problem]]:
    """`text`, `line`, `id-text` and `url-text` arguments: the words as written (a reason or a
    title is no shell line to split)."""
    raw = raw.strip()
    if spec.takes == "text":
        return ((raw,) if raw else ()), []
    if spec.takes == "line":
        text = _unquoted(raw)
        if not text:
            return (), [Problem(line, f"/{spec.name} needs an argument (usage: {spec.usage})")]
        return (text,), []
    if spec.takes == "url-text":
        words = raw.split(None, 1)
        if not words:
            return (), [Problem(line, f"/{spec.name} needs an argument (usage: {spec.usage})")]
        url, problem = _check_arg(spec, _unslack(words[0]))
        if problem:
            return (), [Problem(line, problem)]
        text = _unquoted(words[1].strip()) if len(words) > 1 else ""
        return ((url, text) if text else (url,)), []
    words = raw.split(None, 1)
    if not words:
        return (), [Problem(line, f"/{spec.name} needs an alert id (usage: {spec.usage})")]
    if not ID_PATTERN.match(words[0]):
        return (), [Problem(line, f"/{spec.name}: '{words[0]}' is not an alert id (usage: {spec.usage})")]
    return tuple(words), []


def _check_args(spec: Spec, raw: str, line: int) -> tuple[tuple[str, ...], list[Problem]]:
    if spec.takes in ("text", "line", "id-text", "url-text"):
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
    if spec.name in ("at", "started-at"):
        problem = time_problem(arg)
        return ("", f"/{spec.name}: {problem}") if problem else (arg, "")
    if spec.name == "component":
        component, sep, impact = arg.partition("=")
        impact = impact.strip().lower() if sep else DEFAULT_IMPACT
        if not ID_PATTERN.match(component):
            return "", f"/component: '{arg}' is not ID=IMPACT (usage: {spec.usage})"
        if impact not in IMPACTS:
            hint = did_you_mean(impact, IMPACTS)
            return "", f"/component: impact '{impact}' is not one of: {', '.join(IMPACTS)}" + (
                f" ({hint})" if hint else ""
            )
        return f"{component}={impact}", ""
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


def parse(
    text: str, people: Sequence[Person] | None = None, components: Sequence[str] | None = None
) -> Parsed:
    """Find the quick actions in `text`; QuickActionError listing every problem if any is wrong.

    With `people`, `/assign` names are resolved to their ids too, and with `components` the ids
    `/component` names are checked (see `resolve`).
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
    if people is not None or components is not None:
        try:
            actions = list(resolve(actions, people or (), components))
        except QuickActionError as exc:
            problems += exc.problems
    if problems:
        raise QuickActionError(sorted(problems, key=lambda p: p.line))
    body = "\n".join(kept).strip("\n")
    return Parsed(tuple(actions), body if body.strip() else "")


def resolve(
    actions: Iterable[QuickAction], people: Sequence[Person], components: Sequence[str] | None = None
) -> tuple[QuickAction, ...]:
    """`/assign` names as person ids of people.yml (by id, or by Slack id), and with `components`,
    `/component` ids checked against the page's; errors name the unknown, with a did-you-mean."""
    ids = [p.id for p in people]
    by_slack = {p.chat["slack"]: p.id for p in people if p.chat.get("slack")}
    out: list[QuickAction] = []
    problems: list[Problem] = []
    for action in actions:
        if action.name == "component" and components is not None:
            for arg in action.args:
                component = arg.partition("=")[0]
                if component not in components:
                    hint = did_you_mean(component, components) or f"components: {', '.join(components)}"
                    problems.append(
                        Problem(action.line, f"/component: unknown component '{component}' ({hint})")
                    )
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


def parse_time(text: str, now: datetime, zone: str) -> datetime:
    """A time as `/at` and `/started-at` take it: ISO 8601 with an offset (or Z), or `HH:MM`, that
    time today (the day of `now`) in `zone`. ValueError saying how to write it otherwise; an `HH:MM`
    that a DST change skips or repeats is one, since it cannot be placed without guessing."""
    clock_time = CLOCK_TIME.match(text)
    if clock_time:
        tz = ZoneInfo(zone)
        day = now.astimezone(tz).date()
        naive = datetime(day.year, day.month, day.day, int(clock_time.group(1)), int(clock_time.group(2)))
        first, second = naive.replace(tzinfo=tz), naive.replace(tzinfo=tz, fold=1)
        if first.utcoffset() != second.utcoffset():
            skipped = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive
            what = "does not exist" if skipped else "happens twice"
            raise ValueError(
                f"{text} {what} on {day} in {zone} (the clocks change): write it with an offset, "
                f"as in {naive.isoformat()}{_offset(first)}"
            )
        return first
    return _timestamp(text)


def _timestamp(text: str) -> datetime:
    """An ISO 8601 time with an offset, within the years content files allow; ValueError otherwise."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        example = "write 2026-11-24T09:12:00Z, 2026-11-24T10:12:00+01:00 or 09:12"
        raise ValueError(f"'{text}' is not a time: {example}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"'{text}' has no timezone offset: add one, as in {text}Z or {text}+01:00")
    low, high = TIMESTAMP_YEARS
    try:
        year = parsed.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not low <= year <= high:
        raise ValueError(f"'{text}' is out of range: times are between the years {low} and {high}")
    return parsed


def time_problem(text: str) -> str:
    """What is wrong with `text` as a TIME (`parse_time`'s forms), or "": its form only, since a time
    of day is placed, and may turn out not to exist, on the day it is used."""
    if CLOCK_TIME.match(text):
        return ""
    try:
        _timestamp(text)
    except ValueError as exc:
        return str(exc)
    return ""


def _offset(when: datetime) -> str:
    return when.isoformat()[-6:]


def resolve_times(actions: Iterable[QuickAction], now: datetime, zone: str) -> tuple[QuickAction, ...]:
    """`/at` and `/started-at` with their times as stamps (`HH:MM` placed on the day of `now` in
    `zone`); QuickActionError for a time that cannot be placed, or a second `/at`."""
    out: list[QuickAction] = []
    problems: list[Problem] = []
    seen_at = False
    for action in actions:
        if action.name not in ("at", "started-at"):
            out.append(action)
            continue
        if action.name == "at":
            if seen_at:
                problems.append(Problem(action.line, "/at: a second /at; an update happens once"))
                continue
            seen_at = True
        try:
            when = parse_time(action.args[0], now, zone)
        except ValueError as exc:
            problems.append(Problem(action.line, f"/{action.name}: {exc}"))
            continue
        out.append(replace(action, args=(stamp(when),)))
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


def _add_link(data: CommentedMap, url: str, text: str) -> str | None:
    """Add a related link, or give a linked URL this text; words for the change, or None.

    The file's links are rewritten as a list only when they change (`links_list`)."""
    current = links_as_written(data.get("links"))
    same = next((i for i, (u, _) in enumerate(current) if u == url), None)
    if same is None:
        links_list(data).append(link_entry(url, text))
        return f"link added: {text} ({url})"
    old = current[same][1]
    if old == text:
        return None
    links_list(data)[same]["text"] = text
    return f"link renamed: {old or url} -> {text} ({url})"


def _set_call(data: CommentedMap, url: str) -> str | None:
    """`/zoom`: the `Call` link is this URL (one call per incident, as GitLab keeps one Zoom link)."""
    current = links_as_written(data.get("links"))
    if (url, CALL_TEXT) in current:
        return None
    call = next((i for i, (u, t) in enumerate(current) if t == CALL_TEXT), None)
    if call is None or any(u == url for u, _ in current):
        return _add_link(data, url, CALL_TEXT)
    links_list(data)[call]["url"] = url
    return f"link {CALL_TEXT}: {current[call][0]} -> {url}"


def _set_component(data: CommentedMap, component: str, impact: str) -> str | None:
    impacts = components_map(data)
    old = impacts.get(component)
    if old == impact:
        return None
    impacts[component] = impact
    return f"{component} added ({impact})" if old is None else f"{component} {old} -> {impact}"


def _set_start(data: CommentedMap, when: str, now: datetime, action: QuickAction) -> str | None:
    """Move `started_at`; QuickActionError when the new start would come after what happened since."""
    old = data.get("started_at")
    new = parse_stamp(when)
    if new is None or parse_stamp(old) == new:
        return None
    later = [(new > now, f"it is after the time of this change ({stamp(now)})")]
    for key, what in (("acknowledged_at", "acknowledged"), ("resolved_at", "resolved")):
        then = parse_stamp(data.get(key))
        later.append((then is not None and new > then, f"it was {what} at {data.get(key)}"))
    first = [parse_stamp(u.get("at")) for u in data.get("updates") or [] if isinstance(u, dict)]
    earliest = min((t for t in first if t is not None), default=None)
    if earliest is not None:
        later.append((new > earliest, f"its timeline starts at {stamp(earliest)}"))
    why = [reason for wrong, reason in later if wrong]
    if why:
        raise QuickActionError(
            [Problem(action.line, f"{action.text}: the incident cannot start then: {why[0]}")]
        )
    data["started_at"] = when
    return f"started_at {old} -> {when}"


def apply(actions: Iterable[QuickAction], edit: EditableFile, now: datetime) -> Applied:
    """Make the actions' changes to an incident open for editing (`resolve` and `resolve_times` first).

    ALERT_ACTIONS change alert records, not this file, and `/at` dates the update the caller adds:
    both are left to tidings.ops.incidents. A start that cannot be (after the incident was resolved,
    say) is a QuickActionError."""
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
            url = action.args[0]
            if action.name == "link":  # without a text, the issue link, as `/link URL` always set
                said = _add_link(data, url, action.args[1] if len(action.args) > 1 else ISSUE_TEXT)
            else:
                said = _set_call(data, url)
            if said:
                result.changes.append(said)
        elif action.name == "title":
            if data.get("title") != action.args[0]:
                data["title"] = action.args[0]
                result.changes.append(f'title changed to "{action.args[0]}"')
        elif action.name == "component":
            parts = [_set_component(data, *arg.split("=", 1)) for arg in action.args]
            if any(parts):
                result.changes.append("components: " + ", ".join(p for p in parts if p))
        elif action.name == "started-at":
            said = _set_start(data, action.args[0], now, action)
            if said:
                result.changes.append(said)
        elif action.name == "publish" and not data.get("published"):
            data["published"] = True
            result.changes.append("published")
    result.status = str(data.get("status") or "investigating")
    return result


def describe(actions: Iterable[QuickAction]) -> list[str]:
    """The actions in words, for a commit message (never as `/word` lines: those would act again)."""
    return [f"{a.name} {' '.join(a.args)}".strip() for a in actions]

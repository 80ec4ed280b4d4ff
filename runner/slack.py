"""Slack slash commands on the runner: `POST /slack/commands`, answered in Slack's response format.

    /incident declare <title> [sev:LEVEL] [comp:ID[=IMPACT]]... [status:STATUS] [template:NAME]
    /incident comment <id> [at:TIME] <text>   an internal update; quick actions on lines of their own
    /incident close <id> [at:TIME] [text]     resolve (text: the resolving update; quick actions allowed)
    /incident ack <id>
    /incident timeline <id>            (only you see it)
    /incident alerts <id>              the incident's alerts, statuses and ids (only you see it)
    /incident alert ack|unack|resolve|ignore <alert-id> [reason]
    /incident help

Verification. Slack signs each request: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret,
"v0:" + X-Slack-Request-Timestamp + ":" + raw body)>`. The secret is read from
TIDINGS_SLACK_SIGNING_SECRET; the signature is compared in constant time; a timestamp more than
five minutes from the runner's clock is a replay, and so is a signature seen before (remembered
for those five minutes, in `slack-seen.txt` in the runner's state folder, across restarts). Any
of these, or an unset secret, is 401 and changes nothing.

Changes go through the runner's journal like alerts: the request is appended (fsynced), and the
worker applies it in the clone under its lock, committing it on its own (as the runner, naming
the person: `Tidings-Slack-User`, `Tidings-Person` when people.yml knows their Slack id) with the
journal seq, so a crash or a conflicting push re-applies it exactly once. The endpoint waits for
the worker's answer for up to REPLY_WAIT seconds (Slack allows three); a slower one (a busy
remote) is answered "working on it" and the result is posted to the request's `response_url`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tidings import clock
from tidings.content.diagnostics import did_you_mean
from tidings.content.load import load
from tidings.content.model import INCIDENT_STATUSES, SEVERITIES, Incident, StatusRepo
from tidings.errors import TidingsError, UsageError
from tidings.ops.alerts import CHANGES, AlertError, change_status, incident_alerts
from tidings.ops.incidents import (
    Actor,
    Change,
    IncidentError,
    acknowledge,
    apply_changes,
    find_incident,
    open_incident,
    resolve_incident,
)
from tidings.ops.quick_actions import QuickActionError, parse, parse_time, time_problem
from tidings.runner.escalation.notifiers import one_line, slack_escape, slack_link
from tidings.runner.outbound import Network, Refused, networks, open_url
from tidings.store.edit import EditError, write_atomic
from tidings.store.git import RUNNER_EMAIL, RUNNER_NAME

if TYPE_CHECKING:
    from tidings.runner.worker import Worker

log = logging.getLogger(__name__)
SECRET_ENV = "TIDINGS_SLACK_SIGNING_SECRET"
TOLERANCE_SECONDS = 300
VERSION = "v0"
KIND = "slack"
MAX_BODY = 64 * 1024
REPLY_WAIT = 2.5  # seconds: Slack shows an error when no answer comes within three
VIA = "Slack"
SUBCOMMANDS = ("declare", "comment", "close", "ack", "timeline", "alerts", "alert", "help")
# `/incident alert <verb> <alert-id>`: the verbs, and the tidings.ops.alerts change each makes.
ALERT_VERBS = {
    "ack": "acknowledge",
    "acknowledge": "acknowledge",
    "unack": "unacknowledge",
    "resolve": "resolve",
    "ignore": "ignore",
}
USAGE = (
    "*Usage*\n"
    "`/incident declare <title> [sev:high] [comp:postgres[=major_outage]]... [status:identified]"
    " [template:NAME]`\n"
    "`/incident comment <id> <text>` (quick actions such as `/severity critical` on lines of their own; "
    "`/publish` makes the comment the public update; `/ack-alerts` acts on its alerts)\n"
    "`/incident close <id> [text]`\n"
    "`at:TIME` after the id dates a comment or close earlier (`at:09:12`, today in the site's timezone, "
    "or `at:2026-11-24T09:12:00Z`)\n"
    "`/incident ack <id>`\n"
    "`/incident timeline <id>`\n"
    "`/incident alerts <id>` (the incident's alerts, their statuses and ids)\n"
    "`/incident alert ack|unack|resolve|ignore <alert-id> [reason]`"
)
# A token: "a quoted title", “smart quotes” as Slack's clients type them, or a word.
TOKEN = re.compile(r'"([^"]*)"|“([^”]*)”|(\S+)')
FIRST_WORD = re.compile(r"\s*(\S+)[ \t]*(?:\r?\n)?(.*)", re.DOTALL)
OPTION = re.compile(r"^(sev|severity|comp|component|status|template):(.+)$", re.IGNORECASE)
# `comment <id> at:09:12 <text>`: the time it happened, as `/at` takes it, before the text.
AT_OPTION = re.compile(r"^at:(\S+)[ \t]*(?:\r?\n)?(.*)$", re.DOTALL | re.IGNORECASE)


class CommandError(UsageError):
    """A command Slack sent that we cannot run as written; the message says how to write it."""


# --- signatures ------------------------------------------------------------------------------------


def signing_secret(env: Mapping[str, str] | None = None) -> bytes | None:
    value = (os.environ if env is None else env).get(SECRET_ENV, "")
    return value.encode() if value else None


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """Slack's `X-Slack-Signature` for a body sent at `timestamp`: v0=<hex HMAC-SHA256>."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}={hmac.new(secret, base, hashlib.sha256).hexdigest()}"


def check_signature(secret: bytes, timestamp: str, body: bytes, signature: str, now: datetime) -> str:
    """ "" when the request is Slack's and fresh; else why not (for the log, never for the caller)."""
    if not timestamp.isdigit():
        return "no or bad X-Slack-Request-Timestamp"
    if abs(now.timestamp() - int(timestamp)) > TOLERANCE_SECONDS:
        return "the timestamp is more than five minutes from now (a replay?)"
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode()):
        return "the signature does not match"
    return ""


class ReplayGuard:
    """Signatures seen in the last five minutes: the same signed request twice is a replay."""

    def __init__(self, state: Path):
        self.path = state / "slack-seen.txt"
        self.seen: dict[str, int] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                stamp, _, signature = line.partition(" ")
                if stamp.isdigit() and signature:
                    self.seen[signature] = int(stamp)

    def first_time(self, signature: str, timestamp: int, now: datetime) -> bool:
        """Record a verified signature; False when it was seen already."""
        horizon = now.timestamp() - TOLERANCE_SECONDS
        self.seen = {s: t for s, t in self.seen.items() if t >= horizon}
        if signature in self.seen:
            return False
        self.seen[signature] = timestamp
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, "".join(f"{t} {s}\n" for s, t in self.seen.items()))
        return True


# --- commands ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """A slash command as Slack sent it: the subcommand and its arguments, and who sent it."""

    action: str
    user_id: str
    user_name: str
    incident_id: str = ""
    # comment/close: the raw text after the id (newlines and quick actions kept); alert: the reason
    text: str = ""
    alert_id: str = ""
    alert_action: str = ""  # alert: acknowledge, unacknowledge, resolve or ignore (ALERT_VERBS)
    title: str = ""
    severity: str | None = None
    components: tuple[str, ...] = ()
    status: str | None = None
    template: str | None = None
    response_url: str = ""
    at: str = ""  # comment, close: `at:TIME`, when it happened (a TIME as quick actions' `/at` takes it)


def _first_word(text: str) -> tuple[str, str]:
    """("comment", "<id> the rest...") : the first word, and the rest with its own lines kept."""
    match = FIRST_WORD.match(text)
    return (match.group(1), match.group(2)) if match else ("", "")


def _tokens(text: str) -> list[str]:
    return [next(g for g in m.groups() if g is not None) for m in TOKEN.finditer(text)]


def _declare(rest: str, **who: Any) -> Command:
    words: list[str] = []
    options: dict[str, Any] = {"components": []}
    for token in _tokens(rest):
        option = OPTION.match(token)
        if option is None:
            words.append(token)
            continue
        key, value = option.group(1).lower(), option.group(2)
        if key in ("sev", "severity"):
            if value.lower() not in SEVERITIES:
                hint = did_you_mean(value.lower(), SEVERITIES)
                raise CommandError(
                    f"`sev:{value}`: the severity is one of {', '.join(SEVERITIES)}"
                    + (f" ({hint})" if hint else "")
                )
            options["severity"] = value.lower()
        elif key in ("comp", "component"):
            options["components"].append(value)
        elif key == "status":
            if value.lower() not in INCIDENT_STATUSES:
                hint = did_you_mean(value.lower(), INCIDENT_STATUSES)
                raise CommandError(
                    f"`status:{value}`: the status is one of {', '.join(INCIDENT_STATUSES)}"
                    + (f" ({hint})" if hint else "")
                )
            options["status"] = value.lower()
        else:
            options["template"] = value
    title = " ".join(words).strip()
    if not title and not options.get("template"):
        example = '/incident declare "DB down" sev:high comp:postgres'
        raise CommandError(f"`/incident declare` needs a title, e.g. `{example}`")
    options["components"] = tuple(options["components"])
    return Command("declare", title=title, **options, **who)


def _alert(rest: str, **who: Any) -> Command:
    """`alert <verb> <alert-id> [reason]`."""
    verb, rest = _first_word(rest)
    alert_id, reason = _first_word(rest)
    example = "`/incident alert ack prometheus-3f9a0c1d2e4b` (`/incident alerts <incident>` lists the ids)"
    if not verb:
        raise CommandError(f"`/incident alert` needs what to do and an alert id, e.g. {example}")
    if verb.lower() not in ALERT_VERBS:
        hint = did_you_mean(verb.lower(), ALERT_VERBS)
        raise CommandError(
            f"`/incident alert {verb}`: say {', '.join(ALERT_VERBS)}" + (f" ({hint})" if hint else "")
        )
    if not alert_id:
        raise CommandError(f"`/incident alert {verb}` needs an alert id, e.g. {example}")
    reason = " ".join(reason.split())  # a reason is one line in the alert's events
    return Command("alert", alert_id=alert_id, alert_action=ALERT_VERBS[verb.lower()], text=reason, **who)


def parse_command(form: Mapping[str, str]) -> Command:
    """The command in a slash command's form fields; CommandError saying how to write it."""
    text = form.get("text", "").strip()
    who: dict[str, Any] = {
        "user_id": form.get("user_id", ""),
        "user_name": form.get("user_name", ""),
        "response_url": form.get("response_url", ""),
    }
    action, rest = _first_word(text)
    action = action.lower()
    if action in ("", "help"):
        return Command("help", **who)
    if action not in SUBCOMMANDS:
        hint = did_you_mean(action, SUBCOMMANDS)
        raise CommandError(f"no subcommand `{action}`" + (f" ({hint})" if hint else "") + "\n" + USAGE)
    if action == "declare":
        return _declare(rest, **who)
    if action == "alert":
        return _alert(rest, **who)
    incident_id, text = _first_word(rest)
    if not incident_id:
        example = f"/incident {action} 2026-11-24-db-down"
        raise CommandError(f"`/incident {action}` needs an incident id, e.g. `{example}`")
    at = ""
    dated = AT_OPTION.match(text.strip(" \t")) if action in ("comment", "close") else None
    if dated:
        at, text = dated.group(1), dated.group(2)
        problem = time_problem(at)
        if problem:
            # The answer repeats what was typed: escaped, so `at:<!channel>` mentions no one.
            raise CommandError(f"`at:{at}`: {problem}")
    if action == "comment" and not text.strip():
        raise CommandError("`/incident comment <id> <text>`: what should the comment say?")
    if action in ("ack", "timeline", "alerts") and text.strip():
        raise CommandError(f"`/incident {action} <id>` takes nothing after the id")
    return Command(action, incident_id=incident_id, text=text.strip("\n "), at=at, **who)


@dataclass(frozen=True)
class Reply:
    """A slash command's answer: `in_channel` (everyone sees it) or `ephemeral` (only the sender)."""

    text: str
    response_type: str = "ephemeral"
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"response_type": self.response_type, "text": self.text}
        if self.blocks:
            out["blocks"] = self.blocks
        return out


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _error(message: str) -> Reply:
    return Reply(f":warning: {message}", blocks=[_section(f":warning: {message}")])


def actor_for(repo: StatusRepo, command: Command, journal: Mapping[str, str] | None = None) -> Actor:
    """The Slack user as the timeline names them: their people.yml id when their Slack id is there,
    else `@<Slack name>`; commits are the runner's, with trailers naming them."""
    person = next((p.id for p in repo.people if p.chat.get("slack") == command.user_id), None)
    name = person or f"@{command.user_name or command.user_id}"
    trailers: dict[str, str] = {"Tidings-Slack-User": f"{command.user_id} ({command.user_name})"}
    trailers.update(journal or {})  # the journal entry it applies, so a replay knows it is done
    return Actor(name=name, author=(RUNNER_NAME, RUNNER_EMAIL), person=person, via=VIA, trailers=trailers)


def _mention(command: Command) -> str:
    return f"<@{slack_escape(command.user_id)}>" if command.user_id else slack_escape(command.user_name)


def _done(change: Change, command: Command, headline: str) -> Reply:
    """An in-channel answer for a change: what happened, who did it, the commit."""
    details = "; ".join(change.changes).replace(" -> ", " → ")
    commit = f", commit `{change.commit[:12]}`" if change.commit else ""
    text = f"{headline} by {_mention(command)}"
    blocks = [_section(text)]
    if details:
        blocks.append(_context(slack_escape(details) + commit))
    # Said to the channel, where the person who published reads the answer (README "Public words").
    blocks += [_section(f":warning: {slack_escape(warning)}") for warning in change.warnings]
    return Reply(_naming(headline, change.incident_id), "in_channel", blocks)


def _naming(headline: str, identity: str) -> str:
    """The answer's plain text (notifications, screen readers): the headline, naming the id once."""
    return headline if identity in headline else f"{headline} ({identity})"


def _timeline(incident: Incident, zone: str) -> Reply:
    from zoneinfo import ZoneInfo

    def local(when: datetime) -> str:
        return when.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M %Z")

    head = (
        f"*{slack_escape(one_line(incident.title))}* (`{incident.id}`)\n"
        f"{incident.status}, severity {incident.severity}, "
        + ("published" if incident.published else "not published")
        + f", since {local(incident.started_at)}"
    )
    if incident.components:
        head += "\n" + ", ".join(f"{c} {i}" for c, i in incident.components.items())
    if incident.links:
        head += "\n" + " · ".join(slack_link(link.url, link.label) for link in incident.links)
    blocks = [_section(head)]
    lines = []
    for update in incident.updates[-20:]:
        tag = " _internal_" if update.internal else ""
        who = f" ({slack_escape(update.author)})" if update.author else ""
        lines.append(f"*{local(update.at)}* {update.status}{tag}{who}: {slack_escape(one_line(update.body))}")
    if len(incident.updates) > 20:
        lines.insert(0, f"_{len(incident.updates) - 20} earlier updates not shown_")
    chunk = ""
    for line in lines:  # a section holds at most 3000 characters
        if len(chunk) + len(line) + 1 > 2900:
            blocks.append(_section(chunk))
            chunk = ""
        chunk += line + "\n"
    if chunk:
        blocks.append(_section(chunk))
    text = f"Timeline of {incident.id}: {len(incident.updates)} updates"
    return Reply(text, "ephemeral", blocks[:50])


def _said(exc: TidingsError) -> str:
    """An error as the person reads it: the message, and the hint (a did-you-mean) when there is one."""
    return slack_escape(str(exc) + (f" ({exc.hint})" if exc.hint else ""))


ALERT_MARKS = {
    "triggered": ":rotating_light:",
    "acknowledged": ":eyes:",
    "resolved": ":white_check_mark:",
    "ignored": ":no_bell:",
}


def _alerts(incident: Incident, root: Path, zone: str) -> Reply:
    """The incident's alerts (only the sender sees them): status, id, severity, title, when last seen."""
    from zoneinfo import ZoneInfo

    found = incident_alerts(root, incident)
    head = f"*Alerts of {slack_escape(one_line(incident.title))}* (`{incident.id}`)"
    if not found:
        text = f"{head}\nIt has no alerts."
        return Reply(text, "ephemeral", [_section(text)])
    counts = ", ".join(
        f"{n} {status}" for status in ALERT_MARKS if (n := sum(a.status == status for a in found))
    )
    blocks = [_section(f"{head}: {counts}")]
    lines = []
    for a in found:
        seen = a.last_seen.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M %Z")
        times = f", fired {a.fired}×" if a.fired > 1 else ""
        lines.append(
            f"{ALERT_MARKS[a.status]} *{a.status}* `{a.id}` {a.severity}: "
            f"{slack_escape(one_line(a.title))} (last {seen}{times})"
        )
    chunk = ""
    for line in lines[:200]:  # a section holds at most 3000 characters; a message at most 50 blocks
        if len(chunk) + len(line) + 1 > 2900:
            blocks.append(_section(chunk))
            chunk = ""
        chunk += line + "\n"
    if chunk:
        blocks.append(_section(chunk))
    blocks = blocks[:49]
    triage = "`/incident alert ack|resolve|ignore <alert-id> [reason]`; `/ack-alerts` in a comment"
    blocks.append(_context(triage))
    return Reply(f"{incident.id}: {len(found)} alerts ({counts})", "ephemeral", blocks)


def read_only(root: Path, command: Command) -> Reply | None:
    """Answer what changes nothing (help, timeline, alerts) at once, without the journal; None otherwise."""
    if command.action == "help":
        return Reply(USAGE, blocks=[_section(USAGE)])
    if command.action in ("timeline", "alerts"):
        try:
            found = find_incident(root, command.incident_id)
            zone = load(root, alerts=False).repo.site.timezone
            if command.action == "alerts":
                return _alerts(found, root, zone)
        except (IncidentError, AlertError) as exc:
            return _error(_said(exc))
        return _timeline(found, zone)
    return None


def run_command(
    root: Path, repo: StatusRepo, command: Command, now: datetime, journal: Mapping[str, str] | None = None
) -> Reply:
    """Apply a changing command to the clone and commit it (the worker calls this under its lock).

    `journal`: the trailers naming the journal entry it applies (Journal.trailers)."""
    actor = actor_for(repo, command, journal)
    try:
        at = parse_time(command.at, now, repo.site.timezone) if command.at else None
    except ValueError as exc:
        return _error(slack_escape(f"at:{command.at}: {exc}"))
    try:
        if command.action == "declare":
            change = open_incident(
                root,
                now,
                actor,
                title=command.title or None,
                severity=command.severity,
                status=command.status,
                components=command.components,
                template=command.template,
            )
            # Without a title (the template's), the id alone: not "*<id>* (`<id>`)".
            title = f"*{slack_escape(one_line(command.title))}* " if command.title else ""
            return _done(
                change, command, f":rotating_light: Incident declared: {title}(`{change.incident_id}`)"
            )
        if command.action == "comment":
            # A comment is internal, unless it publishes the incident: then it is the public update.
            publishing = any(a.name == "publish" for a in parse(command.text).actions)
            change = apply_changes(
                root,
                command.incident_id,
                now,
                actor,
                command.text,
                internal=not publishing,
                verb="Comment on",
                at=at,
            )
            if not change.changed:
                return _error(f"nothing to change in `{command.incident_id}`")
            return _done(change, command, f":speech_balloon: Comment on `{change.incident_id}`")
        if command.action == "close":
            change = resolve_incident(root, command.incident_id, now, actor, command.text, at=at)
            if not change.changed:
                return _error(slack_escape(change.message))
            return _done(change, command, f":white_check_mark: Incident `{change.incident_id}` resolved")
        if command.action == "ack":
            change = acknowledge(
                root,
                command.incident_id,
                now,
                by=actor.person or actor.name,
                via=VIA,
                author=actor.author,
                trailers={k: str(v) for k, v in actor.trailers.items()},
            )
            if not change.changed:
                return _error(slack_escape(change.message))
            return _done(change, command, f":eyes: Incident `{change.incident_id}` acknowledged")
        if command.action == "alert":
            return _alert_changed(root, command, now, actor)
    except (IncidentError, QuickActionError, EditError, AlertError) as exc:
        return _error(_said(exc))
    return _error(f"`{command.action}` changes nothing")


def _alert_changed(root: Path, command: Command, now: datetime, actor: Actor) -> Reply:
    """`/incident alert <verb> <id> [reason]`, as `tidings alert` makes the change; the channel's answer."""
    result = change_status(root, command.alert_id, command.alert_action, now, actor, command.text or None)
    _, status, event = CHANGES[command.alert_action]
    headline = f"{ALERT_MARKS[status]} Alert `{result.alert_id}` {event}"
    if result.incident:
        headline += f" (incident `{result.incident}`)"
    details = [slack_escape(command.text)] if command.text else []
    details += [slack_escape(result.follows)] if result.follows else []
    commit = f"commit `{result.commit[:12]}`" if result.commit else ""
    blocks = [_section(f"{headline} by {_mention(command)}")]
    if details or commit:
        blocks.append(_context("; ".join([*details, *([commit] if commit else [])])))
    return Reply(_naming(headline, result.alert_id), "in_channel", blocks)


def entry_record(body: bytes, now: datetime) -> dict[str, Any]:
    """What the journal keeps of a slash command: the signed form as received, and when."""
    return {"kind": KIND, "received_at": now.isoformat(), "body": base64.b64encode(body).decode()}


def form_of(body: bytes) -> dict[str, str]:
    fields = urllib.parse.parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


class SlackCommands:
    """Slack's journal entries as the worker applies them (runner.worker.Command)."""

    def apply(
        self, root: Path, repo: StatusRepo, record: Mapping[str, Any], trailers: Mapping[str, str]
    ) -> Reply:
        """A journal entry of ours, applied (with its arrival time as "now", so a replay writes the same)."""
        now = datetime.fromisoformat(record["received_at"])
        try:
            command = parse_command(form_of(base64.b64decode(record["body"])))
        except CommandError as exc:  # checked on receipt; only a changed parser gets here
            return Reply(f":warning: {slack_escape(str(exc))}")
        return run_command(root, repo, command, now, trailers)

    def failed(self) -> Reply:
        return Reply(":warning: the runner could not do that (see its log); nothing was changed")


# --- HTTP ----------------------------------------------------------------------------------------------


def post_reply(url: str, reply: Reply, timeout: float = 10, allowed: Sequence[Network] = ()) -> None:
    """Send a late answer to the command's response_url (Slack accepts them for 30 minutes), through
    runner/outbound.py: a private address only where notifications.yml allows it, no redirects."""
    body = json.dumps({**reply.json(), "replace_original": False}).encode()
    headers = {"Content-Type": "application/json"}
    try:
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        open_url(request, timeout, allowed)
    except (Refused, ValueError, urllib.error.URLError, OSError) as exc:
        log.warning("could not post a Slack answer to its response_url: %s", exc)


def _unauthorized(why: str) -> Response:
    log.warning("refused a Slack request: %s", why)
    return JSONResponse({"error": "request not verified"}, status_code=401)


def slack_endpoint(worker: Callable[[], Worker], state: Path) -> Callable[[Request], Any]:
    """POST /slack/commands. `worker` gives the runner's worker once it runs."""
    guard = ReplayGuard(state)
    late: set[asyncio.Task[None]] = set()

    async def answer_later(url: str, seq: int) -> None:
        reply = await worker().answers.wait(seq, timeout=600)
        if reply is not None and url:
            settings = load(worker().root, alerts=False).repo.notifications
            await asyncio.to_thread(post_reply, url, reply, 10, networks(settings.allow_networks))

    async def endpoint(request: Request) -> Response:
        now = clock.now()
        secret = signing_secret()
        if secret is None:
            return _unauthorized(f"{SECRET_ENV} is not set: Slack commands are off")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return JSONResponse({"error": f"body over {MAX_BODY} bytes"}, status_code=413)
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        why = check_signature(secret, timestamp, body, signature, now)
        if why:
            return _unauthorized(why)
        if not guard.first_time(signature, int(timestamp), now):
            return _unauthorized("this signed request was seen before (a replay)")
        try:
            command = parse_command(form_of(body))
        except CommandError as exc:  # it may repeat what was typed: escaped, as every reply is
            return JSONResponse(_error(slack_escape(str(exc))).json())
        the_worker = worker()
        quick = await asyncio.to_thread(read_only, the_worker.root, command)
        if quick is not None:
            return JSONResponse(quick.json())
        try:
            seq = await the_worker.journal.append(entry_record(body, now))
        except OSError as exc:  # a full disk, say: nothing was taken; Slack shows the user it failed
            log.error("could not journal a Slack command (answered 503): %s", exc)
            return JSONResponse(
                {"error": "the runner cannot store requests now; try again shortly"},
                status_code=503,
                headers={"Retry-After": "10"},
            )
        reply = await the_worker.answers.wait(seq, timeout=REPLY_WAIT)
        if reply is not None:
            return JSONResponse(reply.json())
        task = asyncio.create_task(answer_later(command.response_url, seq))
        late.add(task)
        task.add_done_callback(late.discard)
        why = f" (the status repo needs a fix first: {the_worker.blocked})" if the_worker.blocked else ""
        return JSONResponse(Reply(f":hourglass: Working on it{why}; the answer follows here.").json())

    return endpoint

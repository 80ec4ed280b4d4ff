"""Atlassian Statuspage v2 JSON to records: incidents, scheduled maintenance and components.

Reads what the public API serves — `incidents.json`, `scheduled-maintenances.json`,
`summary.json`, `components.json` (`incident_updates`, components as objects) — and the archive
shape of `githubstatus-history.json` (`updates`, components by name, `kind`). Every record is
checked; every problem names the record and field (`incidents[17] (id j4vrg2ljjb5c):
updates[2].created_at: not a time: 'soon'`) and nothing is planned until there are none.

Mappings (Statuspage -> Tidings):
- impact -> severity: critical -> critical, major -> high, minor -> medium, none -> unknown. The
  reverse of what our `api/v2` serves, so an imported page reports the impact Statuspage did.
- component impact: the worst `new_status` the incident's updates gave the component
  (`affected_components`); without those, from the incident's impact, as Statuspage derives impact
  from component states: critical -> major_outage, major -> partial_outage, minor ->
  degraded_performance, none -> operational (listed, not affected).
- status `postmortem` -> resolved; a maintenance's `resolved` (the archive's last update) -> completed.
  A completed maintenance keeps `status: completed`; any other follows the clock from its window.
- an update's time is `display_at` (what Statuspage shows), else `created_at`; updates are sorted
  oldest first. `started_at` is the earlier of Statuspage's `started_at` and the first update, so
  the timeline never begins before the incident. An empty body gets Statuspage's stock sentence.
- bodies: `<br>` and newlines become paragraph breaks, `<a href>` a Markdown link, `<b>`, `<i>`,
  `<code>` and `<li>` their Markdown; other HTML stays as text and the page sanitises it (nh3).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from tidings.content.model import IMPACTS, known_timezones
from tidings.ops.importers.records import (
    ComponentRecord,
    ComponentRef,
    GroupRecord,
    ImportBatch,
    ImportFailed,
    IncidentRecord,
    MaintenanceRecord,
    Problems,
    Source,
    UpdateRecord,
    as_utc_date,
    id_slug,
    parse_time,
)
from tidings.ops.status import worst

KIND = "statuspage"
SEVERITY = {"critical": "critical", "major": "high", "minor": "medium", "none": "unknown"}
IMPACT = {
    "critical": "major_outage",
    "major": "partial_outage",
    "minor": "degraded_performance",
    "none": "operational",
}
INCIDENT_STATUS = {
    "investigating": "investigating",
    "identified": "identified",
    "monitoring": "monitoring",
    "resolved": "resolved",
    "postmortem": "resolved",
}
MAINTENANCE_STATUS = {
    "scheduled": "scheduled",
    "in_progress": "in_progress",
    "verifying": "verifying",
    "completed": "completed",
    "resolved": "completed",
    "postmortem": "completed",
}
# Statuspage's own default text for each status, for an update whose body is empty.
STOCK_BODY = {
    "investigating": "We are currently investigating this issue.",
    "identified": "The issue has been identified and a fix is being implemented.",
    "monitoring": "A fix has been implemented and we are monitoring the results.",
    "resolved": "This incident has been resolved.",
    "scheduled": "The scheduled maintenance has been planned.",
    "in_progress": "Scheduled maintenance is currently in progress.",
    "verifying": "Verification is currently underway for the maintenance items.",
    "completed": "The scheduled maintenance has been completed.",
}
TOP_LEVEL = ("incidents", "scheduled_maintenances", "components")


def read_statuspage(path: Path) -> ImportBatch:
    """The records of a Statuspage v2 JSON file, and a problem naming each bad one (`batch.problems`).

    Raises ImportFailed when the file is not a Statuspage v2 document at all.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFailed([f"{path}: cannot read: {exc.strerror}"]) from exc
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ImportFailed([f"{path.name}: not UTF-8 text ({exc.reason})"]) from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ImportFailed([f"{path.name}: not JSON: {exc.msg} ({where})"]) from exc
    return parse_statuspage(data)


def parse_statuspage(data: Any) -> ImportBatch:
    """Records from a parsed Statuspage v2 document (any of the shapes named in the module docstring)."""
    if not isinstance(data, dict) or not any(k in data for k in TOP_LEVEL):
        if isinstance(data, dict):
            got = f"an object with keys {', '.join(sorted(map(str, data))) or 'none'}"
        else:
            got = f"a {_type_name(data)}"
        raise ImportFailed(
            [
                "not a Statuspage v2 document: expected an object with 'incidents', "
                f"'scheduled_maintenances' or 'components' (got {got})"
            ]
        )
    batch = ImportBatch()
    problems = Problems(batch.problems)
    page = data.get("page")
    if isinstance(page, dict):
        name = page.get("name")
        if isinstance(name, str) and name.strip():
            name = _one_line(name)
            batch.title = name if name.lower().endswith("status") else f"{name} Status"
        url = page.get("url")
        if isinstance(url, str) and re.match(r"^https?://\S+$", url):
            batch.base_url = url if url.endswith("/") else f"{url}/"
        zone = page.get("time_zone")
        if isinstance(zone, str) and zone in known_timezones():
            batch.timezone = zone
    reader = _Reader(batch, problems)
    for key in TOP_LEVEL:
        if key in data and not isinstance(data[key], list):
            problems.add(key, f"not a list (a {_type_name(data[key])})")
    if isinstance(data.get("components"), list):
        # Groups first: a component names its group by id, wherever in the list the group is.
        listed = list(enumerate(data["components"]))
        for i, item in sorted(
            listed, key=lambda pair: not (isinstance(pair[1], dict) and pair[1].get("group"))
        ):
            reader.component(item, f"components[{i}]")
    for key in ("incidents", "scheduled_maintenances"):
        if isinstance(data.get(key), list):
            for i, item in enumerate(data[key]):
                reader.item(item, key, i)
    return batch


def _type_name(value: object) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


class _Reader:
    def __init__(self, batch: ImportBatch, problems: Problems):
        self.batch = batch
        self.problems = problems
        self.component_keys: set[str] = set()
        self.group_keys: set[str] = set()

    # --- components ---------------------------------------------------------------------------

    def component(self, item: object, where: str) -> str | None:
        """Record a component object (or group); its key, or None when it is unusable."""
        if not isinstance(item, dict):
            self.problems.add(where, f"not a component object (a {_type_name(item)})")
            return None
        cid, name = item.get("id"), item.get("name")
        if not isinstance(cid, str | int) or isinstance(cid, bool) or not str(cid).strip():
            self.problems.add(where, "id: missing")
            return None
        if not isinstance(name, str) or not name.strip():
            self.problems.add(f"{where} (id {cid})", "name: missing")
            return None
        key = str(cid)
        description = item.get("description") if isinstance(item.get("description"), str) else ""
        if item.get("group") is True:
            if key not in self.group_keys:
                self.group_keys.add(key)
                self.batch.groups.append(GroupRecord(key, _one_line(name), _one_line(description or "")))
            return key
        if key not in self.component_keys:
            self.component_keys.add(key)
            group = item.get("group_id")
            self.batch.components.append(
                ComponentRecord(
                    key,
                    _one_line(name),
                    _one_line(description or ""),
                    group=str(group) if isinstance(group, str | int) and group in self.group_keys else None,
                    source=Source(KIND, key),
                )
            )
        return key

    # --- incidents and maintenance ----------------------------------------------------------------

    def item(self, item: object, list_key: str, index: int) -> None:
        where = f"{list_key}[{index}]"
        if not isinstance(item, dict):
            self.problems.add(where, f"not an incident object (a {_type_name(item)})")
            return
        sid = item.get("id")
        if isinstance(sid, str | int) and not isinstance(sid, bool) and str(sid).strip():
            where = f"{where} (id {sid})"
        else:
            self.problems.add(where, "id: missing")
            sid = None
        f = _Fields(item, where, self.problems)
        title = f.text("name")
        maintenance = (
            item.get("kind") == "maintenance"
            if "kind" in item
            else list_key == "scheduled_maintenances" or item.get("scheduled_for") is not None
        )
        if "kind" in item and item["kind"] not in ("incident", "maintenance"):
            self.problems.add(where, f"kind: {item['kind']!r} is not 'incident' or 'maintenance'")
            return
        statuses = MAINTENANCE_STATUS if maintenance else INCIDENT_STATUS
        status = f.choice("status", statuses)
        impact = f.choice("impact", {k: k for k in (*IMPACT, "maintenance")}, default="none") or "none"
        updates_key = "incident_updates" if "incident_updates" in item else "updates"
        updates, affected = self._updates(item.get(updates_key), updates_key, statuses, f)
        refs = self._components(item.get("components"), f)
        listed = {ref.value for ref in refs}
        started = f.time("started_at", required=False) or f.time("created_at", required=False)
        url = item.get("shortlink") if isinstance(item.get("shortlink"), str) else None
        if url is not None and not re.match(r"^https?://\S+$", url):
            url = None
        if f.failed or sid is None or title is None or status is None or updates is None:
            return
        if not updates:
            self.problems.add(where, f"{updates_key}: empty (a Statuspage incident has at least one update)")
            return
        source = Source(KIND, str(sid), url)
        first = updates[0].at
        if maintenance:
            start, end = f.time("scheduled_for"), f.time("scheduled_until")
            if start is None or end is None:
                return
            if end <= start:
                self.problems.add(where, "scheduled_until: not after scheduled_for")
                return
            self.batch.maintenance.append(
                MaintenanceRecord(
                    where=where,
                    source=source,
                    title=title,
                    scheduled_for=start,
                    scheduled_until=end,
                    components=refs + [ref for value, (ref, _) in affected.items() if value not in listed],
                    status="completed" if status == "completed" else None,
                    updates=updates,
                    preferred_id=f"{as_utc_date(start)}-{id_slug(title)}",
                )
            )
            return
        started = min(started, first) if started else first
        resolved = None
        if status == "resolved":
            resolved = f.time("resolved_at", required=False) or updates[-1].at
            if resolved < started:
                self.problems.add(where, f"resolved_at: {resolved.isoformat()} is before it started")
                return
        fallback = IMPACT.get(impact, "under_maintenance")
        components = [(ref, affected[ref.value][1] if ref.value in affected else fallback) for ref in refs]
        components += [(ref, seen) for value, (ref, seen) in affected.items() if value not in listed]
        self.batch.incidents.append(
            IncidentRecord(
                where=where,
                source=source,
                title=title,
                severity=SEVERITY.get(impact, "unknown"),
                status=status,
                started_at=started,
                resolved_at=resolved,
                components=components,
                updates=updates,
                preferred_id=f"{as_utc_date(started)}-{id_slug(title)}",
                postmortem=html_to_markdown(item["postmortem_body"])
                if isinstance(item.get("postmortem_body"), str) and item["postmortem_body"].strip()
                else None,
            )
        )

    def _components(self, value: object, f: _Fields) -> list[ComponentRef]:
        if value is None:
            return []
        if not isinstance(value, list):
            f.problem("components", f"not a list (a {_type_name(value)})")
            return []
        refs: list[ComponentRef] = []
        for i, c in enumerate(value):
            path = f"components[{i}]"
            if isinstance(c, str) and c.strip():
                refs.append(ComponentRef(_one_line(c), path))
            elif isinstance(c, dict):
                key = self.component(c, f"{f.where}: {path}")
                if key is None:
                    f.failed = True
                else:
                    refs.append(ComponentRef(key, path))
            else:
                f.problem(path, f"not a component name or object (a {_type_name(c)})")
        return refs

    def _updates(
        self, value: object, key: str, statuses: dict[str, str], f: _Fields
    ) -> tuple[list[UpdateRecord] | None, dict[str, tuple[ComponentRef, str]]]:
        """The updates, oldest first, and the worst state each affected component was given."""
        if value is None:
            f.problem(key, "missing")
            return None, {}
        if not isinstance(value, list):
            f.problem(key, f"not a list (a {_type_name(value)})")
            return None, {}
        out: list[UpdateRecord] = []
        impacts: dict[str, tuple[ComponentRef, list[str]]] = {}
        for i, u in enumerate(value):
            path = f"{key}[{i}]"
            if not isinstance(u, dict):
                f.problem(path, f"not an update object (a {_type_name(u)})")
                continue
            g = _Fields(u, f.where, f.problems, prefix=f"{path}.")
            status = g.choice("status", statuses)
            at = g.time("display_at", required=False) if u.get("display_at") is not None else None
            if at is None and not g.failed:
                at = g.time("created_at")
            body = u.get("body")
            if body is not None and not isinstance(body, str):
                g.problem("body", f"not text (a {_type_name(body)})")
            affected = u.get("affected_components")
            if isinstance(affected, list):
                for j, a in enumerate(affected):
                    ref = self._affected(a, f"{path}.affected_components[{j}]", g)
                    if ref is not None and isinstance(a, dict) and a.get("new_status") in IMPACTS:
                        impacts.setdefault(ref.value, (ref, []))[1].append(str(a["new_status"]))
            if g.failed:
                f.failed = True
                continue
            assert status is not None and at is not None
            text = html_to_markdown(body or "") or STOCK_BODY[status]
            out.append(UpdateRecord(at, status, text))
        out.sort(key=lambda u: u.at)
        states = {value: (ref, worst(found)) for value, (ref, found) in impacts.items()}
        return out, {value: state for value, state in states.items() if state[1] != "operational"}

    def _affected(self, a: object, path: str, g: _Fields) -> ComponentRef | None:
        if not isinstance(a, dict):
            g.problem(path.rsplit(".", 1)[-1], f"not an object (a {_type_name(a)})")
            return None
        code, name = a.get("code"), a.get("name")
        if isinstance(code, str) and code:
            if code not in self.component_keys and isinstance(name, str) and name.strip():
                self.component_keys.add(code)
                self.batch.components.append(
                    ComponentRecord(code, _one_line(name), source=Source(KIND, code))
                )
            return ComponentRef(code, path)
        if isinstance(name, str) and name.strip():
            return ComponentRef(_one_line(name), path)
        return None


class _Fields:
    """Reads fields of one record, noting each problem with the record and the field's path."""

    def __init__(self, data: dict[str, Any], where: str, problems: Problems, prefix: str = ""):
        self.data = data
        self.where = where
        self.problems = problems
        self.prefix = prefix
        self.failed = False

    def problem(self, key: str, message: str) -> None:
        self.failed = True
        self.problems.add(self.where, f"{self.prefix}{key}: {message}")

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            self.problem(key, "missing")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(key, "not text" if not isinstance(value, str) else "empty")
            return None
        return _one_line(value)

    def choice(self, key: str, choices: dict[str, str], default: str | None = None) -> str | None:
        value = self.data.get(key, default)
        if value is None:
            if default is not None:
                return choices[default]
            self.problem(key, "missing")
            return None
        if not isinstance(value, str) or value not in choices:  # (a list or a map: never a choice)
            self.problem(key, f"{value!r} is not one of: {', '.join(choices)}")
            return None
        return choices[value]

    def time(self, key: str, required: bool = True) -> datetime | None:
        value = self.data.get(key)
        if value is None:
            if required:
                self.problem(key, "missing")
            return None
        dt = parse_time(value)
        if dt is None:
            self.problem(key, f"not a time: {value!r}")
            return None
        if dt.tzinfo is None:
            self.problem(key, f"{value!r} has no timezone (Statuspage times carry one)")
            return None
        return dt


def _one_line(text: str) -> str:
    return " ".join(text.split())


_LINK = re.compile(r"<a\b[^>]*?\bhref\s*=\s*([\"'])(.*?)\1[^>]*>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_INLINE = (
    (re.compile(r"<(b|strong)\b[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL), "**"),
    (re.compile(r"<(i|em)\b[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL), "*"),
    (re.compile(r"<(code)\b[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL), "`"),
)


def _link(match: re.Match[str]) -> str:
    href, label = match.group(2).strip(), _TAG.sub("", match.group(3)).strip()
    if not re.match(r"^(https?://|mailto:)\S+$", href, re.IGNORECASE):
        return label or href
    href = href.replace("(", "%28").replace(")", "%29")
    if not label or label == href:
        return f"<{href}>"
    return "[{}]({})".format(label.replace("[", "\\[").replace("]", "\\]"), href)


def _marked(mark: str) -> Callable[[re.Match[str]], str]:
    return lambda m: f"{mark}{m.group(2).strip()}{mark}"


def html_to_markdown(text: str) -> str:
    """A Statuspage body (plain text with a little HTML) as Markdown; other HTML is left for nh3."""
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)
    text = re.sub(r"</?p\b[^>]*>|</?div\b[^>]*>|</?[uo]l\b[^>]*>|</li\s*>", "\n", text, flags=re.IGNORECASE)
    text = re.sub(r"<li\b[^>]*>", "\n- ", text, flags=re.IGNORECASE)
    text = _LINK.sub(_link, text)
    for pattern, mark in _INLINE:
        text = pattern.sub(_marked(mark), text)
    # Statuspage shows every line break; in Markdown a lone newline is a space, so each break
    # becomes a paragraph break (list items stay a list).
    paragraphs = (line.strip() for line in text.split("\n"))
    return "\n\n".join(p for p in paragraphs if p)

"""A cState (Hugo) site to records: `config.yml` systems and categories, `content/issues/*.md`.

cState keeps each issue as Markdown with front matter (`title`, `date`, `resolved`,
`resolvedWhen`, `severity`, `affected`, `informational`) and writes its timeline into the body,
newest first, as `*Investigating* - text {{< track "2018-04-13 15:54:00" >}}` paragraphs.

Mappings (cState -> Tidings):
- `params.description` (cState's `<meta name="description">`) -> the site's description, when the
  import starts the status repo.
- systems -> components (`link` -> url), categories -> groups; a system in an `untitled`
  category gets no group, as cState shows it without a heading.
- severity -> severity and component impact: down -> critical / major_outage, disrupted -> high /
  partial_outage, notice -> low / operational (cState says a notice leaves the status alone). No
  severity is cState's notice. `informational: true` posts become resolved incidents whose single
  update is the post, with severity low.
- times without an offset are wall-clock time in Hugo's `timeZone` (UTC when unset), as Hugo
  reads them; `--timezone` overrides it.
- the body: each `*Label* - text` or `{{< track >}}` paragraph is an update. Investigating,
  Identified, Monitoring, Resolved (Fixed, Completed, Solved) set its status and are dropped from
  the text; Update keeps the status before it; any other label keeps that status and stays in
  the text. An update without a track time gets the issue's `date` (the newest update of a
  resolved issue: `resolvedWhen`). Paragraphs before the first update are the incident's
  summary, or its `postmortem` when they start with a Post-mortem heading. A body without
  updates is the summary, and the timeline comes from the front matter: investigating at
  `date`, resolved at `resolvedWhen`, in Statuspage's stock words. A resolved issue whose newest
  update does not say resolved gets a resolved update at `resolvedWhen`. Shortcodes are removed.
- `draft: true` issues are skipped, as Hugo does not publish them; `pin` and `section` are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tidings.content.diagnostics import did_you_mean
from tidings.content.documents import Document, parse_yaml, plain, read_markdown
from tidings.content.model import known_timezones
from tidings.ops.importers.records import (
    ComponentRecord,
    ComponentRef,
    GroupRecord,
    ImportBatch,
    ImportFailed,
    IncidentRecord,
    Problems,
    Source,
    UpdateRecord,
    make_id,
    parse_time,
)

KIND = "cstate"
CONFIG_FILES = ("config.yml", "config.yaml", "hugo.yml", "hugo.yaml")
ISSUES_DIR = "content/issues"
SEVERITY = {"down": "critical", "disrupted": "high", "notice": "low"}
IMPACT = {"down": "major_outage", "disrupted": "partial_outage", "notice": "operational"}
# A label's status; None: a plain "Update", which keeps the status before it.
LABELS: dict[str, str | None] = {
    "update": None,
    "updated": None,
    "investigating": "investigating",
    "identified": "identified",
    "monitoring": "monitoring",
    "resolved": "resolved",
    "fixed": "resolved",
    "completed": "resolved",
    "solved": "resolved",
}
STOCK_BODY = {
    "investigating": "We are currently investigating this issue.",
    "resolved": "This incident has been resolved.",
}

_TRACK = re.compile(r"\{\{[<%]\s*track\s+\"([^\"]+)\"\s*[>%]\}\}")
_SHORTCODE = re.compile(r"\{\{[<%].*?[>%]\}\}", re.DOTALL)
_LABEL = re.compile(r"^(\*{1,2}|_{1,2})(?P<label>[^*_\n]{1,40}?)\1[ \t]*[-–—:](?P<rest>.*)$", re.DOTALL)
_POSTMORTEM = re.compile(r"^[*_#\s]*post[- ]?mortem[*_:\s]*(\n|$)", re.IGNORECASE)
_RULE = re.compile(r"^(-{3,}|\*{3,}|_{3,})$")


def read_cstate(site: Path, timezone: str | None = None) -> ImportBatch:
    """The records of the cState site in folder `site`, and a problem naming each bad file (`batch.problems`).

    Raises ImportFailed when `site` has no config.yml.
    """
    batch = ImportBatch()
    problems = Problems(batch.problems)
    config_path = next((site / name for name in CONFIG_FILES if (site / name).is_file()), None)
    if config_path is None:
        toml = [name for name in ("config.toml", "hugo.toml") if (site / name).is_file()]
        if toml:
            raise ImportFailed([f"{toml[0]}: TOML settings are not read; convert them to config.yml"])
        raise ImportFailed([f"{site}: no config.yml (cState's settings, with its systems)"])
    config = _read_config(config_path, problems)
    zone_name = timezone or _key(config, "timeZone")
    if zone_name is not None and (not isinstance(zone_name, str) or zone_name not in known_timezones()):
        problems.add(
            config_path.name if timezone is None else "--timezone", f"unknown timezone {zone_name!r}"
        )
        zone_name = None
    zone: tzinfo = ZoneInfo(zone_name or "UTC")
    batch.title = _key(config, "title") if isinstance(_key(config, "title"), str) else None
    batch.timezone = zone_name
    described = _key(_key(config, "params"), "description")
    if isinstance(described, str) and described.strip():
        batch.description = " ".join(described.split())
    base_url = _key(config, "baseURL")
    if isinstance(base_url, str) and re.match(r"^https?://\S+$", base_url):
        batch.base_url = base_url if base_url.endswith("/") else f"{base_url}/"
    _systems(config, config_path.name, batch, problems)

    issues = site / ISSUES_DIR
    if not issues.is_dir():
        problems.add(str(site), f"no {ISSUES_DIR} folder")
    else:
        for path in sorted(issues.rglob("*.md")):
            if path.name == "_index.md":
                continue
            inner = path.relative_to(issues)
            # A page bundle (`issues/<name>/index.md`) is named by its folder, as Hugo does.
            source_id = (inner.parent if path.name == "index.md" else inner.with_suffix("")).as_posix()
            _issue(path, path.relative_to(site).as_posix(), source_id, zone, batch, problems)
    return batch


def _key(data: object, name: str) -> Any:
    """Hugo's keys are case-insensitive: `timeZone` and `timezone` are one key."""
    if not isinstance(data, dict):
        return None
    for key, value in data.items():
        if isinstance(key, str) and key.lower() == name.lower():
            return value
    return None


def _read_config(path: Path, problems: Problems) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(path.name, f"cannot read: {exc}")
        return {}
    doc = parse_yaml(text, path, path.name)
    for d in doc.diagnostics:
        problems.add(f"{path.name}:{d.line}:{d.column}", d.message)
    data = plain(doc.data) if doc.data is not None else {}
    if not isinstance(data, dict):
        problems.add(path.name, "not a mapping of settings")
        return {}
    return data


def _systems(config: dict[str, Any], where: str, batch: ImportBatch, problems: Problems) -> None:
    params = _key(config, "params")
    systems = _key(params, "systems") if isinstance(params, dict) else None
    systems = systems if systems is not None else _key(config, "systems")
    categories = _key(params, "categories") if isinstance(params, dict) else None
    if not isinstance(systems, list) or not systems:
        problems.add(where, "params.systems: no systems listed (cState's components)")
        return
    untitled: set[str] = set()
    for i, category in enumerate(categories if isinstance(categories, list) else []):
        name = _key(category, "name")
        if not isinstance(name, str) or not name.strip():
            problems.add(where, f"params.categories[{i}].name: missing")
            continue
        if _key(category, "untitled") is True:
            untitled.add(name)
            continue
        description = _key(category, "description")
        batch.groups.append(GroupRecord(name, name, description if isinstance(description, str) else ""))
    groups = {g.key for g in batch.groups}
    for i, system in enumerate(systems):
        entry = {"name": system} if isinstance(system, str) else system
        name = _key(entry, "name")
        if not isinstance(name, str) or not name.strip():
            problems.add(where, f"params.systems[{i}].name: missing")
            continue
        category = _key(entry, "category")
        if isinstance(category, str) and category not in groups and category not in untitled:
            batch.groups.append(GroupRecord(category, category))
            groups.add(category)
        description, link = _key(entry, "description"), _key(entry, "link")
        batch.components.append(
            ComponentRecord(
                key=name,
                name=name.strip(),
                description=" ".join(description.split()) if isinstance(description, str) else "",
                group=category if isinstance(category, str) and category in groups else None,
                url=link if isinstance(link, str) and re.match(r"^https?://\S+$", link) else None,
            )
        )


@dataclass
class _Update:
    label: str | None
    status: str | None
    text: str
    time: datetime | None


def _issue(
    path: Path, rel: str, source_id: str, zone: tzinfo, batch: ImportBatch, problems: Problems
) -> None:
    if path.read_bytes().lstrip().startswith(b"+++"):
        problems.add(rel, "TOML front matter is not read; use YAML between '---' lines")
        return
    doc = read_markdown(path, rel)
    for d in doc.diagnostics:
        problems.add(f"{rel}:{d.line}:{d.column}", d.message)
    if doc.data is None:
        return
    data = plain(doc.data)
    if not isinstance(data, dict):
        problems.add(rel, "the front matter is not a mapping of keys")
        return
    if data.get("draft") is True:
        batch.skipped.append(f"{rel} (a draft)")
        return
    f = _Front(doc, data, problems, zone)
    title = f.text("title")
    started = f.time("date")
    resolved_flag = f.flag("resolved")
    informational = f.flag("informational")
    resolved_when = f.time("resolvedWhen", required=False)
    severity = f.severity()
    refs = f.affected()
    timeline = _timeline(doc.body, zone, f)
    if f.failed or title is None or started is None:
        return
    prelude, updates = timeline
    resolved = resolved_flag or informational
    resolved_at = None
    if resolved:
        resolved_at = resolved_when or max([started, *(u.time for u in updates if u.time)])
        if resolved_at < started:
            problems.add(f.where("resolvedWhen"), f"resolvedWhen: {resolved_when} is before date ({started})")
            return
    body, postmortem = prelude, None
    heading = _POSTMORTEM.match(prelude)
    if heading:
        body, postmortem = "", prelude[heading.end() :].strip() or None
    if informational:
        text = "\n\n".join(p for p in (prelude, *(u.text for u in reversed(updates))) if p) or title
        final = [UpdateRecord(started, "resolved", text)]
        body = ""
    elif updates:
        final = _dated(updates, started, resolved_at)
    else:
        final = [UpdateRecord(started, "investigating", STOCK_BODY["investigating"])]
    status = "resolved" if resolved else final[-1].status
    if resolved and final[-1].status != "resolved":
        final.append(
            UpdateRecord(max(resolved_at or started, final[-1].at), "resolved", STOCK_BODY["resolved"])
        )
    if not resolved and status == "resolved":
        final[-1] = UpdateRecord(final[-1].at, "monitoring", final[-1].body)
        status = "monitoring"
    impact = "operational" if informational else IMPACT[severity]
    batch.incidents.append(
        IncidentRecord(
            where=rel,
            source=Source(KIND, source_id),
            title=title,
            severity="low" if informational else SEVERITY[severity],
            status=status,
            started_at=started,
            resolved_at=resolved_at,
            components=[(ref, impact) for ref in refs],
            updates=final,
            preferred_id=make_id(source_id.rsplit("/", 1)[-1]),
            body=body,
            postmortem=postmortem,
        )
    )


def _dated(updates: list[_Update], started: datetime, resolved_at: datetime | None) -> list[UpdateRecord]:
    """Oldest first, each with a time and a status (see the module docstring)."""
    oldest_first = list(reversed(updates))
    out: list[UpdateRecord] = []
    status = "investigating"
    for i, u in enumerate(oldest_first):
        newest = i == len(oldest_first) - 1
        if u.status is not None:
            status = u.status
        elif newest and resolved_at is not None:
            status = "resolved"
        when = u.time or (resolved_at if newest and resolved_at else out[-1].at if out else started)
        out.append(UpdateRecord(when, status, u.text or STOCK_BODY.get(status, u.label or status)))
    out.sort(key=lambda u: u.at)
    return out


def _clean(text: str) -> str:
    return _SHORTCODE.sub("", text).strip()


def _timeline(body: str, zone: tzinfo, f: _Front) -> tuple[str, list[_Update]]:
    """(summary, updates newest first as written) from a cState body."""
    prelude: list[str] = []
    updates: list[_Update] = []
    current: _Update | None = None
    for para in re.split(r"\n[ \t]*\n", body.replace("\r\n", "\n")):
        stripped = para.strip()
        if not stripped:
            continue
        if _RULE.match(stripped):
            current = None
            continue
        label = _LABEL.match(stripped)
        tracks = _TRACK.findall(stripped)
        if label or tracks:
            word = label.group("label").strip().lower().strip(" .") if label else None
            known = word is not None and word in LABELS
            status = LABELS.get(word) if word else None
            text = _clean(label.group("rest")) if label and known else _clean(stripped)
            when = f.track_time(tracks[-1]) if tracks else None
            current = _Update(word, status, text, when)
            updates.append(current)
        elif current is not None:
            current.text = "\n\n".join(p for p in (current.text, _clean(stripped)) if p)
        else:
            prelude.append(_clean(stripped))
    return "\n\n".join(p for p in prelude if p), updates


class _Front:
    """Reads front matter fields, noting problems as `file:line:column: field: message`."""

    def __init__(self, doc: Document, data: dict[str, Any], problems: Problems, zone: tzinfo):
        self.doc = doc
        self.data = data
        self.problems = problems
        self.zone = zone
        self.failed = False

    def where(self, key: str) -> str:
        line, col = self.doc.position((key,))
        return f"{self.doc.rel}:{line}:{col}"

    def problem(self, key: str, message: str) -> None:
        self.failed = True
        self.problems.add(self.where(key), f"{key}: {message}")

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if not isinstance(value, str) or not value.strip():
            self.problem(key, "missing" if value is None else "not text")
            return None
        return " ".join(value.split())

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if value is None:
            return False
        if not isinstance(value, bool):
            self.problem(key, f"{value!r} is not true or false")
            return False
        return value

    def _localize(self, value: object) -> datetime | None:
        dt = parse_time(value if not isinstance(value, str) else value.strip())
        if dt is None and isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            dt = datetime.fromisoformat(value.strip())
        if dt is not None and dt.tzinfo is None:
            dt = dt.replace(tzinfo=self.zone)
        return dt

    def time(self, key: str, required: bool = True) -> datetime | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self.problem(key, "missing")
            return None
        dt = self._localize(value)
        if dt is None:
            self.problem(key, f"not a time: {value!r}")
        return dt

    def track_time(self, value: str) -> datetime | None:
        dt = self._localize(value)
        if dt is None:
            self.failed = True
            self.problems.add(self.doc.rel, f'body: {{{{< track "{value}" >}}}}: not a time')
        return dt

    def severity(self) -> str:
        value = self.data.get("severity")
        if value is None or value == "":
            return "notice"
        if value not in SEVERITY:
            hint = did_you_mean(value, SEVERITY)
            self.problem(
                "severity",
                f"{value!r} is not one of: down, disrupted, notice" + (f" ({hint})" if hint else ""),
            )
            return "notice"
        return str(value)

    def affected(self) -> list[ComponentRef]:
        value = self.data.get("affected")
        if value is None:
            return []
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            self.problem("affected", "not a list of system names")
            return []
        refs = []
        for i, name in enumerate(items):
            if not isinstance(name, str) or not name.strip():
                self.problem("affected", f"affected[{i}] is not a system name")
                continue
            refs.append(ComponentRef(" ".join(name.split()), f"affected[{i}]"))
        return refs

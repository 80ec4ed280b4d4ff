"""Metrics as a person or a program reads them: a text table, JSON, or CSV (tidings.metrics computes them).

JSON and CSV give durations in seconds (`*_seconds`, to the millisecond) and times in ISO 8601
with their offset; text gives durations in words ("1 h 20 min") and says which figure is a mean
and which a median. CSV is one tidy table, `section,key,name,metric,value`, one figure a row, so
a spreadsheet can pivot it: sections are `period`, `overall`, `severity`, `component`, `week`,
`month`, `longest` and `uptime`.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tidings.ops.metrics import Figures, Metrics, Stat

FORMATS = ("text", "json", "csv")
# Titles longer than this are cut in the text table (the id beside them is whole).
TITLE_CHARS = 48
RULES = (
    "Incidents are counted in the period they started in, published or not. "
    "MTTA = acknowledged_at - started_at, over acknowledged incidents only; "
    "MTTR = resolved_at - started_at, over resolved incidents only. "
    "Uptime counts a major outage fully and a partial outage at 30%."
)


def format_duration(delta: timedelta | None) -> str:
    """'45 s', '12 min', '1 h 20 min', '2 d 14 h': the two largest units; '-' for none."""
    if delta is None:
        return "-"
    seconds = round(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{mins} min"] * bool(mins)
    return " ".join(parts[:2])


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds(), 3)


def _stat(stat: Stat) -> dict[str, float | None]:
    return {"mean": _seconds(stat.mean), "median": _seconds(stat.median)}


def _figures(f: Figures) -> dict[str, Any]:
    return {
        "name": f.name,
        "incidents": f.incidents,
        "acknowledged": f.mtta.count,
        "unacknowledged": f.unacknowledged,
        "mtta_seconds": _stat(f.mtta),
        "resolved": f.mttr.count,
        "unresolved": f.unresolved,
        "mttr_seconds": _stat(f.mttr),
    }


def _iso(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).isoformat()


def to_dict(m: Metrics) -> dict[str, Any]:
    """Every figure, JSON-ready: durations in seconds, times in ISO 8601 in the metrics' timezone."""
    zone = ZoneInfo(m.timezone)
    return {
        "period": {
            "from": _iso(m.start, zone),
            "to": _iso(m.end, zone),
            "timezone": m.timezone,
            "component": m.component,
        },
        "rules": RULES,
        "incidents": m.incidents,
        "unpublished": m.unpublished,
        "frequency": {
            "per_week_mean": round(m.per_week, 3),
            "per_month_mean": round(m.per_month, 3),
            "weeks": [
                {"week": b.label, "starts": b.starts.isoformat(), "incidents": b.incidents} for b in m.weeks
            ],
            "months": [
                {"month": b.label, "starts": b.starts.isoformat(), "incidents": b.incidents} for b in m.months
            ],
        },
        "overall": _figures(m.overall),
        "by_severity": {f.key: _figures(f) for f in m.by_severity},
        "by_component": {f.key: _figures(f) for f in m.by_component},
        "longest": [
            {
                "id": i.id,
                "title": i.title,
                "severity": i.severity,
                "started_at": _iso(i.started_at, zone),
                "resolved_at": _iso(i.resolved_at, zone),
                "duration_seconds": _seconds(i.duration),
                "components": list(i.components),
                "published": i.published,
            }
            for i in m.longest
        ],
        "uptime": {
            u.component: {
                "name": u.name,
                "percent": None if u.percent is None else round(u.percent, 4),
                "downtime_seconds": _seconds(u.downtime),
                "major_outage_seconds": _seconds(u.major_outage),
                "partial_outage_seconds": _seconds(u.partial_outage),
            }
            for u in m.uptime
        },
    }


def to_json(m: Metrics) -> str:
    return json.dumps(to_dict(m), indent=2, ensure_ascii=False) + "\n"


def to_csv(m: Metrics) -> str:
    """One figure a row: section, key, name, metric, value (durations in seconds; empty for none)."""
    data = to_dict(m)
    rows: list[tuple[str, str, str, str, object]] = []
    period = data["period"]
    for metric in ("from", "to", "timezone", "component"):
        rows.append(("period", "", "", metric, period[metric]))
    rows.append(("period", "", "", "incidents", m.incidents))
    rows.append(("period", "", "", "unpublished", m.unpublished))
    rows.append(("period", "", "", "per_week_mean", data["frequency"]["per_week_mean"]))
    rows.append(("period", "", "", "per_month_mean", data["frequency"]["per_month_mean"]))

    def figure_rows(section: str, key: str, f: dict[str, Any]) -> None:
        for metric in ("incidents", "acknowledged", "unacknowledged", "resolved", "unresolved"):
            rows.append((section, key, f["name"], metric, f[metric]))
        for kind in ("mtta", "mttr"):
            for stat in ("mean", "median"):
                rows.append((section, key, f["name"], f"{kind}_{stat}_seconds", f[f"{kind}_seconds"][stat]))

    figure_rows("overall", "all", data["overall"])
    for key, f in data["by_severity"].items():
        figure_rows("severity", key, f)
    for key, f in data["by_component"].items():
        figure_rows("component", key, f)
    for b in m.weeks:
        rows.append(("week", b.label, b.starts.isoformat(), "incidents", b.incidents))
    for b in m.months:
        rows.append(("month", b.label, b.starts.isoformat(), "incidents", b.incidents))
    for rank, i in enumerate(data["longest"], start=1):
        for metric in ("title", "severity", "started_at", "resolved_at", "duration_seconds"):
            rows.append(("longest", i["id"], str(rank), metric, i[metric]))
    for key, u in data["uptime"].items():
        for metric in ("percent", "downtime_seconds", "major_outage_seconds", "partial_outage_seconds"):
            rows.append(("uptime", key, u["name"], metric, u[metric]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("section", "key", "name", "metric", "value"))
    writer.writerows(("" if v is None else v for v in row) for row in rows)
    return buffer.getvalue()


def _table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """Columns padded to width; `align` has an 'l' or 'r' a column (default: first left, figures right)."""
    widths = [max(len(r[n]) for r in [header, *rows]) for n in range(len(header))]
    align = align or "l" + "r" * (len(header) - 1)

    def line(cells: list[str]) -> str:
        cols = zip(cells, widths, align, strict=True)
        padded = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in cols]
        return "  ".join(padded).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _figure_row(label: str, f: Figures) -> list[str]:
    return [
        label,
        str(f.incidents),
        str(f.mtta.count),
        format_duration(f.mtta.mean),
        format_duration(f.mtta.median),
        str(f.mttr.count),
        format_duration(f.mttr.mean),
        format_duration(f.mttr.median),
    ]


def to_text(m: Metrics) -> str:
    """Tables for a terminal: period, MTTA/MTTR (mean and median) by severity and component, and the rest."""
    zone = ZoneInfo(m.timezone)
    where = f"component {m.component}" if m.component else "all components"
    lines = [
        f"Incidents that started from {m.start.astimezone(zone):%Y-%m-%d %H:%M} "
        f"to {m.end.astimezone(zone):%Y-%m-%d %H:%M} {m.timezone} (end excluded), {where}: {m.incidents}"
        + (f" ({m.unpublished} unpublished)" if m.unpublished else ""),
        f"Frequency: {m.per_week:.2f} a week, {m.per_month:.2f} a month (mean).",
        "",
        "Time to acknowledge (MTTA) over acknowledged incidents, to resolve (MTTR) over resolved ones:",
        "",
    ]
    header = ["", "incidents", "acked", "MTTA mean", "MTTA median", "resolved", "MTTR mean", "MTTR median"]
    rows = [_figure_row("all", m.overall), ["by severity", "", "", "", "", "", "", ""]]
    rows += [_figure_row(f"  {f.key}", f) for f in m.by_severity]
    rows.append(["by component", "", "", "", "", "", "", ""])
    rows += [_figure_row(f"  {f.key}", f) for f in m.by_component]
    lines += _table(header, rows)
    notes = []
    if m.overall.unacknowledged:
        notes.append(f"{m.overall.unacknowledged} never acknowledged (left out of MTTA)")
    if m.overall.unresolved:
        notes.append(f"{m.overall.unresolved} unresolved (left out of MTTR)")
    if notes:
        lines += ["", "Of these incidents, " + "; ".join(notes) + "."]

    lines += ["", "Uptime (a major outage counts fully, a partial outage at 30%):", ""]
    lines += _table(
        ["component", "uptime", "downtime", "major outage", "partial outage"],
        [
            [
                u.component,
                "-" if u.percent is None else f"{u.percent:.3f}%",
                format_duration(u.downtime) if u.downtime else "0",
                format_duration(u.major_outage) if u.major_outage else "0",
                format_duration(u.partial_outage) if u.partial_outage else "0",
            ]
            for u in m.uptime
        ],
    )

    lines += ["", f"Longest incidents ({len(m.longest)}):", ""]
    if m.longest:
        lines += _table(
            ["duration", "started", "severity", "title", "id"],
            [
                [
                    format_duration(i.duration),
                    f"{i.started_at.astimezone(zone):%Y-%m-%d %H:%M}",
                    i.severity,
                    i.title if len(i.title) <= TITLE_CHARS else i.title[: TITLE_CHARS - 1] + "…",
                    i.id + ("" if i.published else " (unpublished)"),
                ]
                for i in m.longest
            ],
            align="lllll",
        )
    else:
        lines.append("none resolved in the period")

    lines += ["", "Incidents per month:", ""]
    most = max((b.incidents for b in m.months), default=0)
    width = 40
    for b in m.months:
        bar = "#" * (round(width * b.incidents / most) if most else 0)
        lines.append(f"{b.label}  {b.incidents:>4}  {bar}".rstrip())
    return "\n".join(lines) + "\n"


def render(m: Metrics, fmt: str) -> str:
    """The metrics in one of FORMATS."""
    if fmt == "json":
        return to_json(m)
    if fmt == "csv":
        return to_csv(m)
    return to_text(m)

"""Metrics as a person or a program reads them: a text table, JSON, or CSV (tidings.metrics computes them).

JSON and CSV give durations in seconds (`*_seconds`, to the millisecond) and times in ISO 8601
with their offset; text gives durations in words ("1 h 20 min") and says which figure is a mean
and which a median. CSV is one tidy table, `section,key,name,metric,value`, one figure a row, so
a spreadsheet can pivot it: sections are `period`, `overall`, `severity`, `component`, `week`,
`month`, `longest` and `uptime`, then for the alert records `alerts` (key `all`),
`alert_integration`, `alert_component`, `hour` and `weekday` (incidents and alerts by local
hour of day and day of week), and `reviews` (time to review, action items). Shares are fractions
(0.25), not percents.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tidings.ops.metrics import RATE_MINIMUM, AlertFigures, Figures, Metrics, ReviewFigures, Stat, TimeSlot

FORMATS = ("text", "json", "csv")
# Titles longer than this are cut in the text table (the id beside them is whole).
TITLE_CHARS = 48
RULES = (
    "Incidents are counted in the period they started in, published or not. "
    "MTTA = acknowledged_at - started_at, over acknowledged incidents only; "
    "MTTR = resolved_at - started_at, over resolved incidents only. "
    "Uptime counts a major outage fully and a partial outage at 30%. "
    "An incident whose every alert record was ignored is a false alarm: it counts as an incident "
    "but in neither MTTA nor MTTR. "
    "Alert records are counted in the period they were first seen in; firings by their `fired` count; "
    "the ignored share is ignored records over records received. "
    "Time to acknowledge an alert = its first acknowledgement - the start of the firing it answered "
    "(first_seen, or its last reopening), over acknowledged records that are not ignored. "
    "Hours of the day and days of the week are in the metrics' timezone: incidents by start, "
    "alerts by first seen. "
    f"A mean rate a week needs a period of {RATE_MINIMUM['week'].days} days or more, a month's "
    f"{RATE_MINIMUM['month'].days} days or more; shorter, it is not given. "
    "Incidents marked `example: true` count nowhere. "
    "Time to review = the review's created_at (or published_at) - resolved_at, over the period's resolved "
    "incidents that have a review (a published one); action items are those of their reviews, overdue "
    "when still open after their due day; the done share is done over the items not dropped."
)


def _examples_text(count: int) -> str:
    return f"Left out: {count} example incident{'' if count == 1 else 's'} (`example: true`)."


def _rate(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _frequency_text(m: Metrics) -> str:
    """The mean rates, or why there are none (never extrapolated from a short period)."""
    rates = [
        f"{rate:.2f} a {unit}"
        for unit, rate in (("week", m.per_week), ("month", m.per_month))
        if rate is not None
    ]
    if len(rates) == 2:
        return f"Frequency: {rates[0]}, {rates[1]} (mean)."
    length = format_duration(m.end - m.start)
    week, month = RATE_MINIMUM["week"].days, RATE_MINIMUM["month"].days
    if rates:
        return f"Frequency: {rates[0]} (mean); no rate a month over {length} (it needs {month} days)."
    return f"Frequency: no rate over {length} (a week's needs {week} days, a month's {month})."


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
        "false_alarms": f.false_alarms,
    }


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _alert_figures(f: AlertFigures) -> dict[str, Any]:
    return {
        "name": f.name,
        "received": f.received,
        "firings": f.firings,
        "ignored": f.ignored,
        "ignored_share": _share(f.ignored_share),
        "acknowledged": f.tta.count,
        "unacknowledged": f.unacknowledged,
        "tta_seconds": _stat(f.tta),
    }


def _reviews(r: ReviewFigures) -> dict[str, Any]:
    return {
        "resolved_incidents": r.resolved,
        "reviewed": r.to_review.count,
        "unreviewed": r.unreviewed,
        "time_to_review_seconds": _stat(r.to_review),
        "published": r.to_publish.count,
        "time_to_publish_seconds": _stat(r.to_publish),
        "action_items": r.items,
        "done": r.done,
        "dropped": r.dropped,
        "open": r.open,
        "overdue": r.overdue,
        "done_share": _share(r.done_share),
    }


def _slot(s: TimeSlot) -> dict[str, Any]:
    return {"key": s.key, "label": s.label, "incidents": s.incidents, "alerts": s.alerts}


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
        "examples_left_out": m.examples,
        "frequency": {
            "per_week_mean": _rate(m.per_week, 3),  # null: the period is under its minimum
            "per_month_mean": _rate(m.per_month, 3),
            "rate_minimum_days": {unit: length.days for unit, length in RATE_MINIMUM.items()},
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
        "alerts": {
            "false_alarm_incidents": m.false_alarms,
            "overall": _alert_figures(m.alerts),
            "by_integration": {f.key: _alert_figures(f) for f in m.alerts_by_integration},
            "by_component": {f.key: _alert_figures(f) for f in m.alerts_by_component},
        },
        "time_of_day": {
            "timezone": m.timezone,
            "hours": [_slot(s) for s in m.hours],
            "weekdays": [_slot(s) for s in m.weekdays],
        },
        "reviews": _reviews(m.reviews),
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
    rows.append(("period", "", "", "examples_left_out", m.examples))
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

    def alert_rows(section: str, key: str, f: dict[str, Any]) -> None:
        for metric in ("received", "firings", "ignored", "ignored_share", "acknowledged", "unacknowledged"):
            rows.append((section, key, f["name"], metric, f[metric]))
        for stat in ("mean", "median"):
            rows.append((section, key, f["name"], f"tta_{stat}_seconds", f["tta_seconds"][stat]))

    alerts = data["alerts"]
    alert_rows("alerts", "all", alerts["overall"])
    rows.append(("alerts", "all", alerts["overall"]["name"], "false_alarm_incidents", m.false_alarms))
    for key, f in alerts["by_integration"].items():
        alert_rows("alert_integration", key, f)
    for key, f in alerts["by_component"].items():
        alert_rows("alert_component", key, f)
    for section, slots in (("hour", m.hours), ("weekday", m.weekdays)):
        for s in slots:
            key = f"{s.key:02d}" if section == "hour" else str(s.key)
            rows.append((section, key, s.label, "incidents", s.incidents))
            rows.append((section, key, s.label, "alerts", s.alerts))
    for metric, value in data["reviews"].items():
        if isinstance(value, dict):  # a Stat: its mean and median
            for stat in ("mean", "median"):
                rows.append(
                    ("reviews", "all", "Reviews", metric.replace("_seconds", f"_{stat}_seconds"), value[stat])
                )
        else:
            rows.append(("reviews", "all", "Reviews", metric, value))
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
        *([_examples_text(m.examples)] if m.examples else []),
        _frequency_text(m),
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
    if m.overall.false_alarms:
        alarms = f"{m.overall.false_alarms} false alarm" + ("s" if m.overall.false_alarms != 1 else "")
        notes.append(f"{alarms} (every alert ignored: left out of MTTA and MTTR)")
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
    lines += _alerts_text(m)
    lines += _reviews_text(m.reviews)
    return "\n".join(lines) + "\n"


def _reviews_text(r: ReviewFigures) -> list[str]:
    """Time to review and the action items' completion."""
    lines = ["", "Post-incident reviews of the period's resolved incidents:", ""]
    lines += _table(
        ["", "incidents", "mean", "median"],
        [
            [
                "time to review (started)",
                str(r.to_review.count),
                *map(format_duration, (r.to_review.mean, r.to_review.median)),
            ],
            [
                "time to publish",
                str(r.to_publish.count),
                *map(format_duration, (r.to_publish.mean, r.to_publish.median)),
            ],
        ],
    )
    if r.unreviewed:
        lines += ["", f"{r.unreviewed} of {r.resolved} resolved incidents have no review (left out)."]
    done = "-" if r.done_share is None else f"{100 * r.done_share:.0f}% done"
    counts = f"{r.items} ({r.done} done, {r.open} open, {r.dropped} dropped)"
    lines += ["", f"Action items: {counts}, {done}, {r.overdue} overdue."]
    return lines


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def _alert_row(label: str, f: AlertFigures) -> list[str]:
    return [
        label,
        str(f.received),
        str(f.firings),
        str(f.ignored),
        _percent(f.ignored_share),
        str(f.tta.count),
        format_duration(f.tta.mean),
        format_duration(f.tta.median),
    ]


def _alerts_text(m: Metrics) -> list[str]:
    """The alert records' figures, and incidents and alerts by hour of day and day of week."""
    lines = [
        "",
        "Alerts first seen in the period: ignored share (false positives) and time to acknowledge (TTA)",
        "over acknowledged alerts that are not ignored:",
        "",
    ]
    header = ["", "alerts", "firings", "ignored", "ignored %", "acked", "TTA mean", "TTA median"]
    rows = [_alert_row("all", m.alerts), ["by integration", "", "", "", "", "", "", ""]]
    rows += [_alert_row(f"  {f.key}", f) for f in m.alerts_by_integration]
    rows.append(["by component", "", "", "", "", "", "", ""])
    rows += [_alert_row(f"  {f.key}", f) for f in m.alerts_by_component]
    lines += _table(header, rows)
    if m.alerts.unacknowledged:
        lines += ["", f"{m.alerts.unacknowledged} alerts neither acknowledged nor ignored (left out of TTA)."]

    lines += [
        "",
        f"Incidents (by start) and alerts (by first seen) by hour of day and day of week, {m.timezone}:",
        "",
    ]
    hours = _table(
        ["hour", "incidents", "alerts"], [[s.label, str(s.incidents), str(s.alerts)] for s in m.hours]
    )
    days = _table(
        ["day", "incidents", "alerts"], [[s.label, str(s.incidents), str(s.alerts)] for s in m.weekdays]
    )
    # Side by side: the 24 hours on the left, the 7 days beside the first of them.
    width = max(len(line) for line in hours)
    for n, line in enumerate(hours):
        beside = days[n] if n < len(days) else ""
        lines.append(f"{line.ljust(width)}    {beside}".rstrip())
    return lines


def render(m: Metrics, fmt: str) -> str:
    """The metrics in one of FORMATS."""
    if fmt == "json":
        return to_json(m)
    if fmt == "csv":
        return to_csv(m)
    return to_text(m)

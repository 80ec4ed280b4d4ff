"""SVG bar charts of the metrics, rendered on the server: plain files, no script, readable without CSS.

Each chart is a standalone SVG document (valid SVG 1.1, as the Nu checker reads it) whose first
`<title>` and `<desc>` name and describe it (role="img": a screen reader announces one image),
and each bar is a `<rect class="bar">` whose own `<title>` gives its figure, which browsers show
on hover. Colours follow the reader's light or dark preference. The figures are also in the
tables next to the charts (internal site) and in `tidings metrics` output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from xml.sax.saxutils import escape

from tidings.ops.metrics import Figures, Metrics, Stat, TimeSlot
from tidings.ops.metrics_report import format_duration

WIDTH = 720
# Category names longer than this are cut (with an ellipsis) to fit left of the bars.
LABEL_CHARS = 24
_STYLE = """
text { font: 12px system-ui, -apple-system, "Segoe UI", sans-serif; fill: #1f2328; }
.chart-title { font-size: 15px; font-weight: 600; }
.axis { stroke: #59636e; stroke-width: 1; }
.grid { stroke: #d1d9e0; stroke-width: 1; }
.bar, .key { fill: #0969da; }
.bar.series-1, .key.series-1 { fill: #bc4c00; }
.empty { fill: #59636e; }
@media (prefers-color-scheme: dark) {
  text { fill: #e6edf3; }
  .grid { stroke: #3d444d; }
  .axis { stroke: #9198a1; }
  .bar, .key { fill: #58a6ff; }
  .bar.series-1, .key.series-1 { fill: #f0883e; }
  .empty { fill: #9198a1; }
}
"""


@dataclass(frozen=True)
class Unit:
    """How a chart's values read: seconds shown in minutes, hours or days, or plain counts."""

    name: str
    divisor: float

    @classmethod
    def for_seconds(cls, largest: float) -> Unit:
        if largest >= 3 * 86400:
            return cls("days", 86400)
        if largest >= 3 * 3600:
            return cls("hours", 3600)
        return cls("minutes", 60)


def _scale(value: float, ticks: int = 4, whole: bool = False) -> float:
    """The top of an axis of `ticks` equal steps reaching `value`, each 1, 2 or 5 times a power of ten.

    With `whole` (counts), a step is never below 1.
    """
    if value <= 0:
        return float(ticks)
    raw = max(value / ticks, 1.0) if whole else value / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(s * power for s in (1, 2, 5, 10) if s * power >= raw * (1 - 1e-9))
    return step * ticks


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _document(title: str, description: str, height: int, body: list[str]) -> str:
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img">',
            # The first <title> and <desc> are the image's accessible name and description.
            f"<title>{escape(title)}</title>",
            f"<desc>{escape(description)}</desc>",
            f"<style>{_STYLE}</style>",
            f'<text class="chart-title" x="8" y="20">{escape(title)}</text>',
            *body,
            "</svg>",
            "",
        ]
    )


def column_chart(
    title: str,
    description: str,
    points: Sequence[tuple[str, float, str]],
    axis: str,
    label_every: int | None = None,
) -> str:
    """Vertical bars for counts over time: (label, count, count as text) a bar, left to right."""
    height, left, right, top, bottom = 320, 64, 12, 60, 56
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    top_value = _scale(max((v for _, v, _ in points), default=0), whole=True)
    body = [f'<text x="8" y="{top - 14}">{escape(axis)}</text>']
    for n in range(5):
        value = top_value * n / 4
        y = top + plot_h - plot_h * n / 4
        body.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_num(value)}</text>')
    if not points:
        body.append(f'<text class="empty" x="{left + 8}" y="{top + plot_h / 2}">No data in the period</text>')
        return _document(title, description, height, body)
    slot = plot_w / len(points)
    every = label_every or max(1, math.ceil(len(points) / 12))
    for n, (label, value, text) in enumerate(points):
        bar_h = plot_h * value / top_value
        x = left + n * slot + slot * 0.1
        body.append(
            f'<rect class="bar" x="{x:.2f}" y="{top + plot_h - bar_h:.2f}" '
            f'width="{max(slot * 0.8, 0.5):.2f}" height="{bar_h:.2f}">'
            f"<title>{escape(f'{label}: {text}')}</title></rect>"
        )
        if n % every == 0:
            cx, cy = left + n * slot + slot / 2, top + plot_h + 14
            body.append(
                f'<text x="{cx:.1f}" y="{cy}" text-anchor="end" '
                f'transform="rotate(-45 {cx:.1f} {cy})">{escape(label)}</text>'
            )
    body.append(
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{WIDTH - right}" y2="{top + plot_h}"/>'
    )
    return _document(title, description, height, body)


def bar_chart(
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[tuple[float, str] | None]]],
    axis: str,
) -> str:
    """Horizontal bars, one group a category and one bar a series in it (None: no figure, no bar)."""
    label_w, right, top, row_gap, bar_h = 180, 110, 60, 10, 14
    group_h = bar_h * len(series) + row_gap
    height = top + max(1, len(categories)) * group_h + 28
    plot_w = WIDTH - label_w - right
    values = [v[0] for _, vs in series for v in vs if v is not None]
    top_value = _scale(max(values, default=0))
    body = []
    # The legend, then the axis name, above the bars.
    x = 8.0
    for n, (name, _) in enumerate(series):
        body.append(f'<rect class="key series-{n}" x="{x}" y="30" width="12" height="12"/>')
        body.append(f'<text x="{x + 16}" y="40">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    body.append(f'<text x="{WIDTH - right + 100}" y="40" text-anchor="end">{escape(axis)}</text>')
    bottom = top + len(categories) * group_h
    for n in range(5):
        gx = label_w + plot_w * n / 4
        body.append(f'<line class="grid" x1="{gx:.1f}" y1="{top - 4}" x2="{gx:.1f}" y2="{bottom}"/>')
        body.append(
            f'<text x="{gx:.1f}" y="{bottom + 16}" text-anchor="middle">{_num(top_value * n / 4)}</text>'
        )
    if not values:
        body.append(f'<text class="empty" x="{label_w + 8}" y="{top + 12}">No data in the period</text>')
    for row, category in enumerate(categories):
        y0 = top + row * group_h
        shown = category if len(category) <= LABEL_CHARS else category[: LABEL_CHARS - 1] + "…"
        body.append(
            f'<text x="{label_w - 8}" y="{y0 + group_h / 2:.1f}" text-anchor="end">{escape(shown)}</text>'
        )
        for n, (name, vs) in enumerate(series):
            point = vs[row]
            y = y0 + n * bar_h
            if point is None:
                body.append(f'<text class="empty" x="{label_w + 4}" y="{y + bar_h - 3}">no figure</text>')
                continue
            value, text = point
            w = plot_w * value / top_value
            body.append(
                f'<rect class="bar series-{n}" x="{label_w}" y="{y:.1f}" '
                f'width="{w:.2f}" height="{bar_h - 2}">'
                f"<title>{escape(f'{category}, {name}: {text}')}</title></rect>"
            )
            body.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3:.1f}">{escape(text)}</text>')
    body.append(f'<line class="axis" x1="{label_w}" y1="{top - 4}" x2="{label_w}" y2="{bottom}"/>')
    return _document(title, description, height, body)


def _duration_chart(
    title: str, description: str, rows: Sequence[tuple[str, Figures]], kind: Literal["mtta", "mttr"]
) -> str:
    """Mean and median MTTA or MTTR (`kind`) a row."""
    stats = [(label, f.mtta if kind == "mtta" else f.mttr) for label, f in rows]
    return _stat_chart(title, description, stats)


def _stat_chart(title: str, description: str, rows: Sequence[tuple[str, Stat]]) -> str:
    """The mean and the median of a Stat of durations a row."""
    stats = [s for _, s in rows]
    largest = max((s.mean.total_seconds() for s in stats if s.mean is not None), default=0.0)
    unit = Unit.for_seconds(largest)

    def point(delta: timedelta | None) -> tuple[float, str] | None:
        return None if delta is None else (delta.total_seconds() / unit.divisor, format_duration(delta))

    return bar_chart(
        title,
        description,
        [label for label, _ in rows],
        [("mean", [point(s.mean) for s in stats]), ("median", [point(s.median) for s in stats])],
        unit.name,
    )


# The chart files `tidings metrics --svg DIR` writes and the internal site shows, with their alt text.
CHARTS = {
    "incidents-per-month.svg": "Incidents per month",
    "incidents-per-week.svg": "Incidents per week",
    "mttr-by-severity.svg": "Time to resolve by severity (mean and median)",
    "mtta-by-severity.svg": "Time to acknowledge by severity (mean and median)",
    "mttr-by-component.svg": "Time to resolve by component (mean and median)",
    "downtime-by-component.svg": "Downtime by component",
    "incidents-by-hour.svg": "Incidents by hour of day",
    "incidents-by-weekday.svg": "Incidents by day of week",
    "alerts-by-hour.svg": "Alerts by hour of day",
    "alerts-by-weekday.svg": "Alerts by day of week",
    "ignored-by-integration.svg": "Share of alerts ignored (false positives) by integration",
    "alert-tta-by-integration.svg": "Time to acknowledge an alert by integration (mean and median)",
}


def _slot_chart(title: str, description: str, slots: Sequence[TimeSlot], what: str) -> str:
    """A bar an hour of the day or a day of the week: its incidents or alerts (`what`)."""

    def count(n: int) -> str:
        return f"{n} {what[:-1] if n == 1 else what}"

    points = [(s.label, getattr(s, what), count(getattr(s, what))) for s in slots]
    return column_chart(title, description, points, what, label_every=1)


def charts(m: Metrics) -> dict[str, bytes]:
    """Every chart of CHARTS for `m`: file name -> SVG bytes."""
    period = f"{m.start:%Y-%m-%d} to {m.end:%Y-%m-%d}" + (f", component {m.component}" if m.component else "")

    def count(n: int) -> str:
        return f"{n} incident" + ("" if n == 1 else "s")

    severities = [(f.key, f) for f in m.by_severity]
    components = [(f.name, f) for f in m.by_component]
    down = [u.downtime.total_seconds() for u in m.uptime]
    unit = Unit.for_seconds(max(down, default=0.0))
    out = {
        "incidents-per-month.svg": column_chart(
            CHARTS["incidents-per-month.svg"],
            f"Incidents that started each month, {period}.",
            [(b.label, b.incidents, count(b.incidents)) for b in m.months],
            "incidents",
        ),
        "incidents-per-week.svg": column_chart(
            CHARTS["incidents-per-week.svg"],
            f"Incidents that started each ISO week, {period}.",
            [(b.label, b.incidents, count(b.incidents)) for b in m.weeks],
            "incidents",
        ),
        "mttr-by-severity.svg": _duration_chart(
            CHARTS["mttr-by-severity.svg"],
            f"Mean and median time from start to resolution of the resolved incidents, {period}.",
            severities,
            "mttr",
        ),
        "mtta-by-severity.svg": _duration_chart(
            CHARTS["mtta-by-severity.svg"],
            f"Mean and median time from start to acknowledgement of the acknowledged incidents, {period}.",
            severities,
            "mtta",
        ),
        "mttr-by-component.svg": _duration_chart(
            CHARTS["mttr-by-component.svg"],
            f"Mean and median time to resolve of the resolved incidents on each component, {period}.",
            components,
            "mttr",
        ),
        "downtime-by-component.svg": bar_chart(
            CHARTS["downtime-by-component.svg"],
            f"Weighted downtime of each component (major outage fully, partial outage at 30%), {period}.",
            [u.name for u in m.uptime],
            [
                (
                    "downtime",
                    [
                        (u.downtime.total_seconds() / unit.divisor, format_duration(u.downtime))
                        for u in m.uptime
                    ],
                )
            ],
            unit.name,
        ),
    }
    local = f"{period}, in {m.timezone}"
    for what in ("incidents", "alerts"):
        by = "by when they started" if what == "incidents" else "by when they were first seen"
        out[f"{what}-by-hour.svg"] = _slot_chart(
            CHARTS[f"{what}-by-hour.svg"], f"{what.capitalize()} {by}, hour of day, {local}.", m.hours, what
        )
        out[f"{what}-by-weekday.svg"] = _slot_chart(
            CHARTS[f"{what}-by-weekday.svg"],
            f"{what.capitalize()} {by}, day of week, {local}.",
            m.weekdays,
            what,
        )
    integrations = m.alerts_by_integration
    out["ignored-by-integration.svg"] = bar_chart(
        CHARTS["ignored-by-integration.svg"],
        f"Alerts ignored as false alarms over alerts received, by integration, {period}.",
        [f.name for f in integrations],
        [
            (
                "ignored",
                [
                    None
                    if f.ignored_share is None
                    else (
                        100 * f.ignored_share,
                        f"{100 * f.ignored_share:.1f}% of {f.received}",
                    )
                    for f in integrations
                ],
            )
        ],
        "percent",
    )
    out["alert-tta-by-integration.svg"] = _stat_chart(
        CHARTS["alert-tta-by-integration.svg"],
        "Mean and median time from an alert's firing to its acknowledgement, over acknowledged alerts "
        f"that are not ignored, by integration, {period}.",
        [(f.name, f.tta) for f in integrations],
    )
    return {name: svg.encode("utf-8") for name, svg in out.items()}

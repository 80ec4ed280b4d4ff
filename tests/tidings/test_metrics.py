"""`tidings metrics`: exact MTTA/MTTR on hand-made incidents, filters, formats, SVG charts, real history."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import PROJECT_ROOT, SHARED
from tests.generator.conftest import DEMO_NOW
from tidings.cli.main import main
from tidings.content.load import load
from tidings.generator.charts import CHARTS, charts
from tidings.ops.metrics import Metrics, compute, default_start
from tidings.ops.metrics_report import format_duration, to_csv, to_dict, to_text

SVG = "{http://www.w3.org/2000/svg}"
GITHUB = SHARED / "data" / "githubstatus-history.json"

SITE = """\
title: Metrics Status
timezone: UTC
services:
  - {name: API, id: api}
  - {name: Web App, id: web}
"""


def incident(
    title: str,
    severity: str,
    started: str,
    *,
    ack: int | None = None,
    resolve: int | None = None,
    components: str = "{}",
    published: bool = False,
) -> str:
    """An incident file; `ack` and `resolve` are minutes after the start."""
    start = datetime.fromisoformat(started)

    def at(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    lines = [
        "---",
        f"title: {title}",
        f"severity: {severity}",
        f"status: {'resolved' if resolve is not None else 'investigating'}",
        f"published: {str(published).lower()}",
        f"started_at: {started}",
    ]
    if ack is not None:
        lines.append(f"acknowledged_at: {at(ack)}")
    if resolve is not None:
        lines.append(f"resolved_at: {at(resolve)}")
    lines += [
        f"components: {components}",
        "updates:",
        f"  - {{at: {started}, status: investigating, body: Looking.}}",
    ]
    if resolve is not None:
        lines.append(f"  - {{at: {at(resolve)}, status: resolved, body: Fixed.}}")
    return "\n".join([*lines, "---", f"{title}.", ""])


INCIDENTS = {
    # In the period [2026-03-01, 2026-04-15): a, b, c, d.
    "a": incident(
        "A",
        "high",
        "2026-03-02T10:00:00+00:00",
        ack=5,
        resolve=60,
        components="{api: major_outage}",
        published=True,
    ),
    "b": incident(
        "B",
        "high",
        "2026-03-03T10:00:00+00:00",
        ack=15,
        resolve=180,
        components="{api: partial_outage, web: partial_outage}",
    ),
    "c": incident(
        "C",
        "critical",
        "2026-03-10T00:00:00+00:00",
        resolve=30,
        components="{web: major_outage}",
        published=True,
    ),
    "d": incident(
        "D", "medium", "2026-04-01T12:00:00+00:00", ack=1, components="{api: degraded_performance}"
    ),
    # Before the period, overlapping its first hour: not counted, but its hour in it is downtime.
    "e": incident(
        "E",
        "low",
        "2026-02-28T23:00:00+00:00",
        ack=2,
        resolve=120,
        components="{api: major_outage}",
        published=True,
    ),
}
START = datetime(2026, 3, 1, tzinfo=UTC)
END = NOW = datetime(2026, 4, 15, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.fixture
def repo_root(make_repo) -> Path:
    files = {".gitlab/status-page.yml": SITE}
    files |= {f"content/incidents/2026-03-{name}.md": text for name, text in INCIDENTS.items()}
    root = make_repo(files, minimal=False)
    assert load(root).errors == []
    return root


@pytest.fixture
def metrics(repo_root) -> Metrics:
    return compute(load(repo_root).repo, START, END, NOW)


def test_mtta_and_mttr_overall_are_exact_means_and_medians(metrics):
    assert metrics.incidents == 4
    assert metrics.unpublished == 2  # b and d: unpublished incidents count
    overall = metrics.overall
    assert (overall.mtta.count, overall.mtta.mean, overall.mtta.median) == (3, 7 * MIN, 5 * MIN)
    assert overall.unacknowledged == 1  # c was never acknowledged: left out, counted
    assert (overall.mttr.count, overall.mttr.mean, overall.mttr.median) == (3, 90 * MIN, 60 * MIN)
    assert overall.unresolved == 1  # d


def test_by_severity_lists_all_five_in_order(metrics):
    by = {f.key: f for f in metrics.by_severity}
    assert list(by) == ["critical", "high", "medium", "low", "unknown"]
    assert (by["high"].incidents, by["high"].mtta.mean, by["high"].mtta.median) == (2, 10 * MIN, 10 * MIN)
    assert (by["high"].mttr.mean, by["high"].mttr.median) == (120 * MIN, 120 * MIN)
    assert (by["critical"].incidents, by["critical"].mtta.mean, by["critical"].mttr.mean) == (
        1,
        None,
        30 * MIN,
    )
    assert (by["medium"].mtta.mean, by["medium"].mttr.count, by["medium"].unresolved) == (1 * MIN, 0, 1)
    assert by["low"].incidents == 0  # e started before the period
    assert by["low"].mttr.mean is None


def test_by_component_counts_an_incident_for_each_of_its_components(metrics):
    by = {f.key: f for f in metrics.by_component}
    assert list(by) == ["api", "web"]
    assert by["api"].name == "API"
    assert (by["api"].incidents, by["api"].mtta.mean, by["api"].mtta.median) == (3, 7 * MIN, 5 * MIN)
    assert (by["api"].mttr.mean, by["api"].mttr.median) == (120 * MIN, 120 * MIN)
    assert (by["web"].incidents, by["web"].mtta.count, by["web"].mtta.mean) == (2, 1, 15 * MIN)
    assert (by["web"].mttr.mean, by["web"].mttr.median) == (105 * MIN, 105 * MIN)


def test_frequency_per_week_and_month_with_empty_buckets(metrics):
    assert [(b.label, b.incidents) for b in metrics.months] == [("2026-03", 3), ("2026-04", 1)]
    weeks = {b.label: b.incidents for b in metrics.weeks}
    # 2026-03-01 is a Sunday: its ISO week began on Monday 2026-02-23.
    assert metrics.weeks[0].label == "2026-W09" and str(metrics.weeks[0].starts) == "2026-02-23"
    assert weeks == {
        "2026-W09": 0,
        "2026-W10": 2,  # a, b
        "2026-W11": 1,  # c
        "2026-W12": 0,
        "2026-W13": 0,
        "2026-W14": 1,  # d
        "2026-W15": 0,
        "2026-W16": 0,  # 2026-04-13..14, the last days of the period
    }
    assert metrics.per_week == pytest.approx(4 / (45 / 7))
    assert metrics.per_month == pytest.approx(4 / (45 / (365.2425 / 12)))


def test_months_and_weeks_begin_in_the_given_timezone(make_repo):
    files = {
        ".gitlab/status-page.yml": SITE,
        # 23:30 on Tuesday March 31 in UTC is 01:30 on Wednesday April 1 in Berlin.
        "content/incidents/late.md": incident("Late", "high", "2026-03-31T23:30:00+00:00", resolve=5),
        "content/incidents/early.md": incident("Early", "high", "2026-03-02T10:00:00+00:00", resolve=5),
    }
    repo = load(make_repo(files, minimal=False)).repo
    utc = compute(repo, START, END, NOW)
    berlin = compute(repo, START, END, NOW, timezone="Europe/Berlin")
    assert [(b.label, b.incidents) for b in utc.months] == [("2026-03", 2), ("2026-04", 0)]
    assert [(b.label, b.incidents) for b in berlin.months] == [("2026-03", 1), ("2026-04", 1)]
    assert berlin.timezone == "Europe/Berlin"
    # The late one is in ISO week 14 (March 30 to April 5) either way, the early one in week 10.
    for m in (utc, berlin):
        weeks = {b.label: b.incidents for b in m.weeks}
        assert (weeks["2026-W10"], weeks["2026-W14"]) == (1, 1)


def test_longest_incidents_are_the_resolved_ones_longest_first(metrics):
    assert [(i.id, i.duration) for i in metrics.longest] == [
        ("2026-03-b", 180 * MIN),
        ("2026-03-a", 60 * MIN),
        ("2026-03-c", 30 * MIN),
    ]
    assert [i.published for i in metrics.longest] == [False, True, True]


def test_uptime_weights_major_fully_and_partial_at_30_percent(metrics):
    up = {u.component: u for u in metrics.uptime}
    period = (END - START).total_seconds()
    # api: e's last hour in the period and a's hour of major outage, b's 3 h of partial outage.
    assert up["api"].major_outage == timedelta(hours=2)
    assert up["api"].partial_outage == timedelta(hours=3)
    assert up["api"].downtime.total_seconds() == pytest.approx(7200 + 0.3 * 10800)
    assert up["api"].percent == pytest.approx(100 * (1 - 10440 / period))
    # web: b's 3 h partial, c's 30 min major; d's degraded performance is not downtime.
    assert up["web"].downtime.total_seconds() == pytest.approx(1800 + 3240)
    assert up["web"].percent == pytest.approx(100 * (1 - 5040 / period))


def test_overlapping_incidents_count_the_worst_impact_once(make_repo):
    files = {
        ".gitlab/status-page.yml": SITE,
        "content/incidents/x.md": incident(
            "X", "high", "2026-03-02T10:00:00+00:00", resolve=60, components="{api: major_outage}"
        ),
        "content/incidents/y.md": incident(
            "Y", "high", "2026-03-02T10:30:00+00:00", resolve=90, components="{api: partial_outage}"
        ),
        "content/incidents/z.md": incident(
            "Z", "low", "2026-03-02T10:10:00+00:00", resolve=10, components="{api: major_outage}"
        ),
    }
    repo = load(make_repo(files, minimal=False)).repo
    up = compute(repo, START, END, NOW).uptime[0]
    # 10:00-11:00 major (x, and z inside it), 11:00-12:00 partial (y's rest): never both at once.
    assert (up.major_outage, up.partial_outage) == (timedelta(hours=1), timedelta(hours=1))
    assert up.downtime.total_seconds() == pytest.approx(3600 + 0.3 * 3600)


def test_an_unresolved_incident_is_down_until_now_and_the_future_is_not_counted(make_repo):
    files = {
        ".gitlab/status-page.yml": SITE,
        "content/incidents/x.md": incident(
            "X", "high", "2026-03-02T10:00:00+00:00", components="{web: major_outage}"
        ),
    }
    repo = load(make_repo(files, minimal=False)).repo
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    web = compute(repo, datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC), now).uptime[1]
    assert web.major_outage == timedelta(hours=2)
    assert web.percent == pytest.approx(100 * (1 - 2 / 12))  # over the 12 hours up to now
    later = compute(repo, datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC), now)
    assert later.uptime[1].percent is None  # the period has not begun


def test_period_and_component_filters(repo_root):
    repo = load(repo_root).repo
    one_day = compute(repo, datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC), NOW)
    assert one_day.incidents == 1 and one_day.longest[0].id == "2026-03-b"
    # The start is included, the end excluded.
    at_start = compute(repo, datetime(2026, 3, 2, 10, tzinfo=UTC), datetime(2026, 3, 3, 10, tzinfo=UTC), NOW)
    assert [i.id for i in at_start.longest] == ["2026-03-a"]

    web = compute(repo, START, END, NOW, component="web")
    assert web.component == "web" and web.incidents == 2
    assert [f.key for f in web.by_component] == ["web"]
    assert [u.component for u in web.uptime] == ["web"]
    assert (web.overall.mttr.mean, web.overall.unacknowledged) == (105 * MIN, 1)
    assert {f.key: f.incidents for f in web.by_severity}["critical"] == 1


def test_bad_arguments_are_value_errors(repo_root):
    repo = load(repo_root).repo
    with pytest.raises(ValueError, match="unknown component 'nope'"):
        compute(repo, START, END, NOW, component="nope")
    with pytest.raises(ValueError, match="empty"):
        compute(repo, END, START, NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        compute(repo, datetime(2026, 3, 1), END, NOW)
    assert default_start(repo, NOW) == datetime(2026, 2, 28, 23, tzinfo=UTC)


def test_durations_in_words():
    assert [format_duration(timedelta(seconds=s)) for s in (0, 59, 60, 4800, 86400 + 3 * 3600 + 60)] == [
        "0 s",
        "59 s",
        "1 min",
        "1 h 20 min",
        "1 d 3 h",
    ]
    assert format_duration(None) == "-"


def test_json_csv_and_text_carry_the_same_figures(metrics):
    data = to_dict(metrics)
    assert data["period"] == {
        "from": "2026-03-01T00:00:00+00:00",
        "to": "2026-04-15T00:00:00+00:00",
        "timezone": "UTC",
        "component": None,
    }
    assert data["overall"]["mtta_seconds"] == {"mean": 420.0, "median": 300.0}
    assert data["overall"]["mttr_seconds"] == {"mean": 5400.0, "median": 3600.0}
    assert data["by_severity"]["high"]["mttr_seconds"]["mean"] == 7200.0
    assert data["by_component"]["web"]["unacknowledged"] == 1
    assert data["longest"][0]["duration_seconds"] == 10800.0
    assert data["frequency"]["months"] == [
        {"month": "2026-03", "starts": "2026-03-01", "incidents": 3},
        {"month": "2026-04", "starts": "2026-04-01", "incidents": 1},
    ]
    rows = list(csv.DictReader(io.StringIO(to_csv(metrics))))
    table = {(r["section"], r["key"], r["metric"]): r["value"] for r in rows}
    assert table["overall", "all", "mttr_median_seconds"] == "3600.0"
    assert table["severity", "critical", "mtta_mean_seconds"] == ""  # no figure
    assert table["component", "api", "incidents"] == "3"
    assert table["month", "2026-03", "incidents"] == "3"
    assert table["uptime", "web", "downtime_seconds"] == "5040.0"
    text = to_text(metrics)
    assert "MTTA mean" in text and "MTTA median" in text and "MTTR mean" in text and "MTTR median" in text
    assert "1 h 30 min" in text and "7 min" in text  # MTTR mean, MTTA mean
    assert "1 never acknowledged (left out of MTTA); 1 unresolved (left out of MTTR)" in text


def svg_bars(data: bytes) -> list[str]:
    """The titles of a chart's bars; parsing fails unless the file is well-formed XML."""
    root = ET.fromstring(data)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}desc") is not None
    return [
        rect.findtext(f"{SVG}title") or ""
        for rect in root.iter(f"{SVG}rect")
        if "bar" in (rect.get("class") or "").split()
    ]


def test_charts_are_svg_with_one_bar_a_figure(metrics):
    files = charts(metrics)
    assert set(files) == set(CHARTS)
    assert svg_bars(files["incidents-per-month.svg"]) == ["2026-03: 3 incidents", "2026-04: 1 incident"]
    assert len(svg_bars(files["incidents-per-week.svg"])) == len(metrics.weeks)
    by_severity = svg_bars(files["mttr-by-severity.svg"])
    # A mean and a median bar for each severity with resolved incidents: critical, high.
    assert by_severity == [
        "critical, mean: 30 min",
        "critical, median: 30 min",
        "high, mean: 2 h",
        "high, median: 2 h",
    ]
    assert len(svg_bars(files["mtta-by-severity.svg"])) == 4  # high and medium
    assert svg_bars(files["downtime-by-component.svg"]) == [
        "API, downtime: 2 h 54 min",
        "Web App, downtime: 1 h 24 min",
    ]
    for data in files.values():
        assert b"<script" not in data


def test_a_chart_without_figures_says_so(repo_root):
    empty = compute(
        load(repo_root).repo, datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC), NOW
    )
    files = charts(empty)
    assert svg_bars(files["mttr-by-severity.svg"]) == []
    assert b"No data in the period" in files["mttr-by-severity.svg"]


# --- the command --------------------------------------------------------------------------------


def tidings(*args: str | Path, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(
        main, [str(a) for a in args], env={"SOURCE_DATE_EPOCH": str(int(NOW.timestamp())), **(env or {})}
    )


def test_cli_text_json_csv(repo_root):
    run = tidings("metrics", repo_root, "--from", "2026-03-01", "--to", "2026-04-15")
    assert run.exit_code == 0, run.output
    assert "all components: 4 (2 unpublished)" in run.output
    assert "MTTR median" in run.output
    run = tidings("metrics", repo_root, "--from", "2026-03-01", "--format", "json")
    data = json.loads(run.output)
    assert data["period"]["to"] == "2026-04-15T00:00:00+00:00"  # now, by default
    assert data["overall"]["mttr_seconds"]["mean"] == 5400.0
    run = tidings("metrics", repo_root, "--format", "csv", "--component", "web")
    rows = list(csv.DictReader(io.StringIO(run.output)))
    assert {r["value"] for r in rows if r["metric"] == "component"} == {"web"}
    # Without --from, the period starts with the first incident: e counts.
    assert {r["value"] for r in rows if r["section"] == "period" and r["metric"] == "from"} == {
        "2026-02-28T23:00:00+00:00"
    }


def test_cli_writes_svg_charts(repo_root, tmp_path):
    out = tmp_path / "charts"
    run = tidings("metrics", repo_root, "--from", "2026-03-01T00:00:00Z", "--to", "2026-04-15", "--svg", out)
    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in out.iterdir()) == sorted(CHARTS)
    assert svg_bars((out / "incidents-per-month.svg").read_bytes()) == [
        "2026-03: 3 incidents",
        "2026-04: 1 incident",
    ]


def test_cli_usage_errors(repo_root, make_repo):
    run = tidings("metrics", repo_root, "--component", "wbe")
    assert run.exit_code == 2 and "unknown component 'wbe' (did you mean 'web'?)" in run.output
    run = tidings("metrics", repo_root, "--from", "2026-04-01", "--to", "2026-03-01")
    assert run.exit_code == 2 and "the period is empty" in run.output
    run = tidings("metrics", repo_root, "--from", "2026-04-01T00:00:00")
    assert run.exit_code == 2 and "no timezone offset" in run.output
    broken = make_repo({".gitlab/status-page.yml": SITE.replace("UTC", "Mars/Olympus")}, name="broken")
    run = tidings("metrics", broken)
    assert run.exit_code == 1, run.output
    assert "error(s) in .gitlab/status-page.yml: metrics are counted in its timezone" in run.stderr
    assert ".gitlab/status-page.yml:2:11: error: timezone: " in run.stderr  # which line, and why


def test_files_with_errors_are_left_out_with_a_warning_and_the_rest_is_counted(repo_root):
    (repo_root / "content/incidents/2026-03-bad.md").write_text("---\ntitle: Bad\nseverity: hihg\n---\n")
    wrong_ref = incident(
        "W", "high", "2026-03-05T10:00:00+00:00", resolve=10, components="{apii: major_outage}"
    )
    (repo_root / "content/incidents/2026-03-wrong-ref.md").write_text(wrong_ref)
    (repo_root / "content/runbooks").mkdir(parents=True)
    (repo_root / "content/runbooks/db.md").write_text("---\ntitle: DB\nservices: [dbb]\n---\nSteps.\n")
    run = tidings("metrics", repo_root, "--from", "2026-03-01", "--to", "2026-04-15", "--format", "json")
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)  # standard output is the figures alone
    assert data["incidents"] == 4  # a, b, c, d as without the broken files: neither counts
    assert set(data["by_component"]) == {"api", "web"}  # no "apii" from the left-out incident
    err = run.stderr.splitlines()
    assert err[0] == "warning: left out of the metrics, for errors in their files (2):"
    assert any(
        line.startswith("  content/incidents/2026-03-bad.md:3:11: error: severity: 'hihg'") for line in err
    ), err
    assert any(
        line.startswith("  content/incidents/2026-03-wrong-ref.md:") and "'apii'" in line for line in err
    ), err
    ignored = err.index("warning: 1 error(s) in files the metrics do not read (ignored):")
    assert err[ignored + 1].startswith("  content/runbooks/db.md:") and "'dbb'" in err[ignored + 1]
    assert err[-1] == "Run 'tidings validate' for every problem."


def test_a_valid_repo_gives_no_warning(repo_root):
    run = tidings("metrics", repo_root, "--from", "2026-03-01", "--to", "2026-04-15")
    assert run.exit_code == 0 and run.stderr == ""


@pytest.mark.parametrize(
    ("to", "frequency", "week", "month"),
    [
        # a, b: 2 incidents over a day and a half are no rate at all, not "9.33 a week"
        (
            "2026-03-02T12:00:00Z",
            "Frequency: no rate over 1 d 12 h (a week's needs 7 days, a month's 28).",
            None,
            None,
        ),
        (
            "2026-03-08T00:00:00Z",
            "Frequency: 2.00 a week (mean); no rate a month over 7 d (it needs 28 days).",
            2.0,
            None,
        ),
        ("2026-03-29T00:00:00Z", "Frequency: 0.75 a week, 3.26 a month (mean).", 0.75, 3.261),
    ],
)
def test_rates_need_a_minimum_period(repo_root, to, frequency, week, month):
    args = ("metrics", repo_root, "--from", "2026-03-01", "--to", to)
    text = tidings(*args).stdout.splitlines()
    assert text[1] == frequency
    data = json.loads(tidings(*args, "--format", "json").stdout)["frequency"]
    assert (data["per_week_mean"], data["per_month_mean"]) == (week, month)
    assert data["rate_minimum_days"] == {"week": 7, "month": 28}
    rows = csv.DictReader(io.StringIO(tidings(*args, "--format", "csv").stdout))
    got = {r["metric"]: r["value"] for r in rows if r["section"] == "period"}
    assert got["per_week_mean"] == ("" if week is None else str(week))


def test_an_example_incident_counts_nowhere_and_is_named(repo_root):
    example = incident(
        "Ex", "critical", "2026-03-04T10:00:00+00:00", ack=1, resolve=600, components="{web: major_outage}"
    )
    (repo_root / "content/incidents/2026-03-example.md").write_text(
        example.replace("---\n", "---\nexample: true\n", 1)
    )
    assert load(repo_root).repo.get("incidents", "2026-03-example") is not None
    m = compute(load(repo_root).repo, START, END, NOW)
    assert (m.incidents, m.examples) == (4, 1)
    assert {f.key: f.incidents for f in m.by_severity}["critical"] == 1  # c only
    web = next(u for u in m.uptime if u.component == "web")
    assert web.major_outage == 30 * MIN  # c's half hour; the example's ten hours are not downtime
    run = tidings("metrics", repo_root, "--from", "2026-03-01", "--to", "2026-04-15")
    assert run.stdout.splitlines()[1] == "Left out: 1 example incident (`example: true`)."
    data = json.loads(tidings("metrics", repo_root, "--from", "2026-03-01", "--format", "json").stdout)
    assert (data["incidents"], data["examples_left_out"]) == (4, 1)


# --- GitHub's real history ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def github(tmp_path_factory) -> Path:
    """The whole GitHub history imported into a minimal status repo (about five seconds)."""
    root = tmp_path_factory.mktemp("github")
    (root / ".gitlab").mkdir()
    (root / ".gitlab/status-page.yml").write_text(
        "title: GitHub Status\nbase_url: https://www.githubstatus.com/\ntimezone: UTC\nservices: []\n"
    )
    (root / "content/incidents").mkdir(parents=True)
    aliases = ["GitHub Actions=Actions", "GitHub Packages=Packages", "GitHub Pages=Pages"]
    args = ["import", "statuspage", str(GITHUB), str(root), "-q"]
    args += [a for alias in aliases for a in ("--component-alias", alias)]
    run = CliRunner().invoke(main, args)
    assert run.exit_code == 0, run.output
    return root


def test_github_history_gives_sensible_figures(github):
    records = json.loads(GITHUB.read_text(encoding="utf-8"))["incidents"]
    incidents = [r for r in records if r["kind"] == "incident"]
    repo = load(github).repo
    # Pinned to the end of the day after the last record, so the figures do not move with the clock.
    last = max(i.started_at for i in repo.incidents)
    now = datetime.combine(last.date() + timedelta(days=2), datetime.min.time(), UTC)
    m = compute(repo, default_start(repo, now), now, now)
    assert m.incidents == len(incidents) == len(repo.incidents)
    assert sum(b.incidents for b in m.months) == sum(b.incidents for b in m.weeks) == m.incidents
    assert sum(f.incidents for f in m.by_severity) == m.incidents
    # Statuspage has no acknowledgement: every incident is left out of MTTA, and counted.
    assert (m.overall.mtta.count, m.overall.unacknowledged, m.overall.unresolved) == (0, m.incidents, 0)
    overall = m.overall.mttr
    assert timedelta(minutes=10) < overall.median < overall.mean < timedelta(hours=12)  # type: ignore[operator]
    for f in m.by_severity:
        if f.incidents:
            assert timedelta(minutes=5) < f.mttr.median < timedelta(days=1), f  # type: ignore[operator]
    by = {f.key: f for f in m.by_severity}
    assert by["critical"].mttr.median > by["medium"].mttr.median  # type: ignore[operator]
    assert timedelta(hours=12) < m.longest[0].duration < timedelta(days=7)
    assert [i.duration for i in m.longest] == sorted((i.duration for i in m.longest), reverse=True)
    for u in m.uptime:
        assert u.percent is not None and 99.0 < u.percent <= 100.0, u
    assert 1 < m.per_week < 10


def test_github_history_through_the_command(github, tmp_path):
    run = tidings(
        "metrics", github, "--from", "2025-01-01", "--to", "2026-01-01", "--format", "json", "--svg", tmp_path
    )
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["incidents"] == sum(m["incidents"] for m in data["frequency"]["months"]) > 100
    assert len(data["frequency"]["months"]) == 12
    assert len(svg_bars((tmp_path / "incidents-per-month.svg").read_bytes())) == 12


def test_the_readme_examples_are_what_the_command_prints(github):
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Metrics: `tidings metrics`")[1].split("\n### ")[0]
    lines = section.splitlines()
    start = lines.index("    $ tidings metrics . --from 2026-06-01 --to 2026-12-01")
    example = []
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        example.append(line[4:])
    run = tidings(
        "metrics",
        PROJECT_ROOT,
        "--from",
        "2026-06-01",
        "--to",
        "2026-12-01",
        env={"SOURCE_DATE_EPOCH": DEMO_NOW},
    )
    assert run.exit_code == 0, run.output
    shown = run.stdout.splitlines()
    assert [line for line in example if line != "..."] and all(
        line in shown for line in example if line != "..."
    ), run.stdout
    # The figures the README gives for GitHub's history.
    repo = load(github).repo
    m = compute(repo, default_start(repo, NOW), max(i.started_at for i in repo.incidents) + MIN, NOW)
    words = " ".join(section.split())
    assert f"({m.incidents} incidents, {m.months[0].label} to {m.months[-1].label})" in words
    mean, median = format_duration(m.overall.mttr.mean), format_duration(m.overall.mttr.median)
    assert f"MTTR is {mean} mean and {median} median" in words


def test_a_time_without_an_offset_is_hinted_in_the_site_s_timezone_on_that_date(make_repo, monkeypatch):
    berlin = make_repo(name="berlin")  # MINIMAL_SITE: Europe/Berlin
    summer = "write '2026-07-01T00:00:00+02:00' (its offset on that date), or in UTC '2026-06-30T22:00:00Z'"
    # ROOT after the option, as README writes commands, and before it: the same repo's zone.
    for args in (("--from", "2026-07-01T00:00:00", berlin), (berlin, "--from", "2026-07-01T00:00:00")):
        run = tidings("metrics", *args)
        assert run.exit_code == 2, run.output
        assert "'2026-07-01T00:00:00' has no timezone offset: if it is Europe/Berlin time (the site's), " in (
            run.stderr
        )
        assert summer in run.stderr
    monkeypatch.chdir(berlin / "content")  # no ROOT: the repo the working directory is in
    winter = tidings("oncall", "at", "2026-01-15T09:00:00")
    assert (
        winter.exit_code == 2
        and "write '2026-01-15T09:00:00+01:00' (its offset on that date)" in winter.stderr
    )

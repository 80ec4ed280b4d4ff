"""`tidings metrics` over alert records: exact figures on hand-made records, local hours and weekdays,
false alarms out of MTTA/MTTR, every format, the charts, and the demo's numbers."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.generator.conftest import DEMO_NOW
from tests.tidings.test_metrics import MIN, svg_bars, tidings
from tests.tidings.test_metrics import incident as incident_file
from tidings.content.load import load
from tidings.content.model import AlertRecord
from tidings.generator.charts import CHARTS, charts
from tidings.ops.metrics import NO_COMPONENT, Metrics, compute, time_to_acknowledge
from tidings.ops.metrics_report import RULES, to_csv, to_dict, to_text

# A site in India (UTC+05:30, no DST): a local hour and weekday are never the UTC ones.
SITE = """\
title: Alert Metrics
timezone: Asia/Kolkata
services:
  - {name: API, id: api}
  - {name: Web App, id: web}
"""
INTEGRATIONS = """\
integrations:
  - {id: prometheus, kind: alertmanager, token_env: TOKEN_PROMETHEUS}
  - {id: probes, kind: generic, token_env: TOKEN_PROBES, open_incident: false}
"""
START = datetime(2026, 3, 1, tzinfo=UTC)  # a Sunday
END = NOW = datetime(2026, 4, 15, tzinfo=UTC)


def alert(
    integration: str,
    first: str,
    *,
    status: str,
    component: str | None = None,
    incident: str | None = None,
    fired: int = 1,
    events: tuple[tuple[int, str], ...] = (),
) -> str:
    """An alert record first seen at `first`; `events` are (minutes after it, event), after its `fired`."""
    start = datetime.fromisoformat(first)

    def at(minutes: float) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    lines = [
        f"title: Alert at {first}",
        f"status: {status}",
        f"integration: {integration}",
        "source: alertmanager" if integration == "prometheus" else "source: generic",
        f"fingerprint: fp-{first}",
        f"first_seen: {first}",
        f"last_seen: {first}",
        f"starts_at: {first}",
        f"fired: {fired}",
    ]
    if component:
        lines.append(f"component: {component}")
    if incident:
        lines.append(f"incident: {incident}")
    lines += ["events:", f"  - {{at: '{first}', event: fired}}"]
    for minutes, kind in events:
        by = ", by: amara" if kind in ("acknowledged", "ignored") else ""
        lines.append(f"  - {{at: '{at(minutes)}', event: {kind}{by}}}")
    return "\n".join(lines) + "\n"


API, WEB = "{api: major_outage}", "{web: major_outage}"
INCIDENTS = {
    "a": incident_file("A", "high", "2026-03-02T10:00:00+00:00", ack=5, resolve=60, components=API),
    # Every alert of b was ignored: a false alarm, though someone acknowledged it and it lasted 3 hours.
    "b": incident_file("B", "high", "2026-03-03T22:00:00+00:00", ack=20, resolve=180, components=WEB),
    # One alert of c ignored, one not: no false alarm.
    "c": incident_file("C", "critical", "2026-03-10T00:00:00+00:00", resolve=30, components=WEB),
    "d": incident_file("D", "low", "2026-03-12T12:00:00+00:00", ack=1, resolve=10, components=API),
}
ALERTS = {
    # Acknowledged 3 minutes after it fired.
    "r1": alert("prometheus", "2026-03-02T10:00:00+00:00", status="resolved", component="api",
                incident="2026-03-a", events=((3, "acknowledged"), (50, "resolved"))),
    # Acknowledged, then ignored: a false alarm counts in no time to acknowledge.
    "r2": alert("prometheus", "2026-03-03T22:00:00+00:00", status="ignored", component="web",
                incident="2026-03-b", fired=2, events=((10, "acknowledged"), (15, "ignored"))),
    "r3": alert("probes", "2026-03-03T22:05:00+00:00", status="ignored", component="web",
                incident="2026-03-b", fired=4, events=((30, "ignored"),)),
    "r4": alert("probes", "2026-03-10T00:00:00+00:00", status="ignored", component="web",
                incident="2026-03-c", events=((5, "ignored"),)),
    # Resolved, then reopened: the acknowledgement answers the reopened firing (10 minutes).
    "r5": alert("prometheus", "2026-03-10T00:02:00+00:00", status="acknowledged", incident="2026-03-c",
                fired=3, events=((8, "resolved"), (58, "reopened"), (68, "acknowledged"))),
    # 18:30 UTC on Friday is 00:00 on Saturday in Kolkata. Acknowledged after 90 seconds.
    "r6": alert("probes", "2026-03-20T18:30:00+00:00", status="acknowledged", component="api",
                events=((1.5, "acknowledged"),)),
    # Before the period: not counted.
    "r7": alert("probes", "2026-02-20T00:00:00+00:00", status="ignored", component="api",
                events=((2, "ignored"),)),
    # Re-fired while still triggered: it waited since its first firing (40 minutes).
    "r8": alert("prometheus", "2026-03-25T08:00:00+00:00", status="acknowledged", component="api",
                fired=2, events=((30, "re-fired"), (40, "acknowledged"))),
    # Resolved by its source, never acknowledged.
    "r9": alert("probes", "2026-03-28T12:00:00+00:00", status="resolved", component="web",
                events=((20, "resolved"),)),
    # An integration since removed, and a component the site does not list.
    "r10": alert("legacy", "2026-04-01T03:00:00+00:00", status="resolved", component="db-7",
                 events=((20, "resolved"),)),
}  # fmt: skip


@pytest.fixture
def repo_root(make_repo) -> Path:
    files = {".gitlab/status-page.yml": SITE, ".gitlab/integrations.yml": INTEGRATIONS}
    files |= {f"content/incidents/2026-03-{name}.md": text for name, text in INCIDENTS.items()}
    files |= {f"content/alerts/{name}.yml": text for name, text in ALERTS.items()}
    root = make_repo(files, minimal=False)
    result = load(root)
    assert result.errors == [], [d.as_text() for d in result.errors]
    assert len(result.repo.alerts) == len(ALERTS)
    return root


@pytest.fixture
def metrics(repo_root) -> Metrics:
    return compute(load(repo_root).repo, START, END, NOW)


def test_alerts_received_firings_ignored_share_and_time_to_acknowledge(metrics):
    a = metrics.alerts
    assert (a.received, a.firings, a.ignored) == (9, 16, 3)  # r7 is before the period
    assert a.ignored_share == pytest.approx(3 / 9)
    # r1 3 min, r5 10 min, r6 1.5 min, r8 40 min; r2 was acknowledged but is ignored: left out.
    assert (a.tta.count, a.tta.mean, a.tta.median) == (4, timedelta(minutes=54.5 / 4), timedelta(minutes=6.5))
    assert a.unacknowledged == 2  # r9 and r10


def test_by_integration_in_the_files_order_then_the_others(metrics):
    by = {f.key: f for f in metrics.alerts_by_integration}
    assert list(by) == ["prometheus", "probes", "legacy"]
    prometheus, probes, legacy = by.values()
    assert (prometheus.received, prometheus.firings, prometheus.ignored) == (4, 8, 1)
    assert prometheus.ignored_share == 0.25
    assert (prometheus.tta.count, prometheus.tta.mean, prometheus.tta.median) == (
        3,
        timedelta(minutes=53 / 3),
        10 * MIN,
    )
    assert (probes.received, probes.firings, probes.ignored, probes.ignored_share) == (4, 7, 2, 0.5)
    assert (probes.tta.count, probes.tta.mean, probes.tta.median) == (
        1,
        timedelta(seconds=90),
        timedelta(seconds=90),
    )
    assert probes.unacknowledged == 1  # r9
    assert (legacy.received, legacy.ignored_share, legacy.tta.mean) == (1, 0.0, None)


def test_by_component_site_order_then_other_names_then_none(metrics):
    by = {f.key: f for f in metrics.alerts_by_component}
    assert list(by) == ["api", "web", "db-7", NO_COMPONENT]
    assert by["api"].name == "API"
    assert (by["api"].received, by["api"].firings, by["api"].ignored) == (3, 4, 0)
    assert (by["api"].tta.mean, by["api"].tta.median) == (timedelta(minutes=44.5 / 3), 3 * MIN)
    assert (by["web"].received, by["web"].firings, by["web"].ignored, by["web"].ignored_share) == (
        4,
        8,
        3,
        0.75,
    )
    assert by["web"].tta.count == 0 and by["web"].tta.mean is None
    assert (by["db-7"].received, by[NO_COMPONENT].received, by[NO_COMPONENT].tta.mean) == (1, 1, 10 * MIN)


def test_an_incident_whose_every_alert_was_ignored_is_left_out_of_mtta_and_mttr(metrics):
    overall = metrics.overall
    assert (overall.incidents, overall.false_alarms, metrics.false_alarms) == (4, 1, 1)  # b
    # a (5 min) and d (1 min) only: b's 20 min would count without the rule.
    assert (overall.mtta.count, overall.mtta.mean, overall.mtta.median) == (2, 3 * MIN, 3 * MIN)
    # a 60, c 30, d 10 min: b's 3 hours are left out.
    assert (overall.mttr.count, overall.mttr.mean, overall.mttr.median) == (
        3,
        timedelta(minutes=100 / 3),
        30 * MIN,
    )
    assert (overall.unacknowledged, overall.unresolved) == (1, 0)  # c; b is in neither
    by = {f.key: f for f in metrics.by_component}
    assert (by["web"].incidents, by["web"].false_alarms, by["web"].mtta.count, by["web"].mttr.mean) == (
        2,
        1,
        0,
        30 * MIN,
    )
    assert by["api"].false_alarms == 0
    severity = {f.key: f for f in metrics.by_severity}
    assert (severity["high"].incidents, severity["high"].false_alarms, severity["high"].mttr.mean) == (
        2,
        1,
        60 * MIN,
    )


def test_without_alert_records_nothing_is_a_false_alarm(repo_root):
    repo = load(repo_root, alerts=False).repo
    m = compute(repo, START, END, NOW)
    assert (m.false_alarms, m.overall.mtta.count, m.alerts.received) == (0, 3, 0)
    assert [f.key for f in m.alerts_by_component] == ["api", "web"]  # every component, zeros included


def test_hours_and_weekdays_are_local_to_the_sites_timezone(metrics, repo_root):
    assert metrics.timezone == "Asia/Kolkata"
    assert [s.label for s in metrics.hours][:2] == ["00:00", "01:00"] and len(metrics.hours) == 24
    assert [s.label for s in metrics.weekdays] == [
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
    ]  # fmt: skip
    # Incidents: a 15:30 Mon, b 03:30 Wed, c 05:30 Tue, d 17:30 Thu (Kolkata).
    assert {s.key: s.incidents for s in metrics.hours if s.incidents} == {3: 1, 5: 1, 15: 1, 17: 1}
    assert [s.incidents for s in metrics.weekdays] == [1, 1, 1, 1, 0, 0, 0]
    # Alerts by first seen: r6 at 18:30 UTC on Friday is midnight on Saturday here.
    assert {s.key: s.alerts for s in metrics.hours if s.alerts} == {
        0: 1,
        3: 2,
        5: 2,
        8: 1,
        13: 1,
        15: 1,
        17: 1,
    }
    assert [s.alerts for s in metrics.weekdays] == [1, 2, 4, 0, 0, 2, 0]
    utc = compute(load(repo_root).repo, START, END, NOW, timezone="UTC")
    assert {s.key: s.alerts for s in utc.hours if s.alerts} == {0: 2, 3: 1, 8: 1, 10: 1, 12: 1, 18: 1, 22: 2}
    assert [s.alerts for s in utc.weekdays] == [
        1,
        4,
        2,
        0,
        1,
        1,
        0,
    ]  # r6 back on Friday, r2 and r3 on Tuesday


def test_the_component_filter_keeps_that_components_alerts(repo_root):
    web = compute(load(repo_root).repo, START, END, NOW, component="web")
    assert (web.alerts.received, web.alerts.ignored) == (4, 3)
    assert [f.key for f in web.alerts_by_component] == ["web"]
    assert [(f.key, f.received) for f in web.alerts_by_integration] == [("prometheus", 1), ("probes", 3)]
    assert sum(s.alerts for s in web.hours) == 4


def test_time_to_acknowledge_of_one_record(repo_root):
    records = {a.id: a for a in load(repo_root).repo.alerts}
    assert time_to_acknowledge(records["r1"]) == 3 * MIN
    assert time_to_acknowledge(records["r5"]) == 10 * MIN  # from its reopening
    assert time_to_acknowledge(records["r8"]) == 40 * MIN  # a re-fire while open starts nothing new
    assert time_to_acknowledge(records["r9"]) is None
    early = records["r1"].model_copy(update={"first_seen": records["r1"].first_seen + 10 * MIN})
    assert isinstance(early, AlertRecord) and time_to_acknowledge(early) == timedelta(0)  # never negative


def test_json_csv_and_text_carry_the_alert_figures(metrics):
    data = to_dict(metrics)
    assert "false alarm" in data["rules"] and data["rules"] == RULES
    assert data["overall"]["false_alarms"] == 1 and data["overall"]["unacknowledged"] == 1
    alerts = data["alerts"]
    assert alerts["false_alarm_incidents"] == 1
    assert alerts["overall"] == {
        "name": "All alerts",
        "received": 9,
        "firings": 16,
        "ignored": 3,
        "ignored_share": 0.3333,
        "acknowledged": 4,
        "unacknowledged": 2,
        "tta_seconds": {"mean": 817.5, "median": 390.0},
    }
    assert alerts["by_integration"]["probes"]["ignored_share"] == 0.5
    assert alerts["by_component"][NO_COMPONENT]["tta_seconds"] == {"mean": 600.0, "median": 600.0}
    assert data["time_of_day"]["timezone"] == "Asia/Kolkata"
    assert data["time_of_day"]["weekdays"][5] == {"key": 6, "label": "Saturday", "incidents": 0, "alerts": 2}
    assert data["time_of_day"]["hours"][3] == {"key": 3, "label": "03:00", "incidents": 1, "alerts": 2}

    rows = list(csv.DictReader(io.StringIO(to_csv(metrics))))
    table = {(r["section"], r["key"], r["metric"]): r["value"] for r in rows}
    assert table["alerts", "all", "received"] == "9"
    assert table["alerts", "all", "false_alarm_incidents"] == "1"
    assert table["alerts", "all", "tta_median_seconds"] == "390.0"
    assert table["alert_integration", "prometheus", "ignored_share"] == "0.25"
    assert table["alert_integration", "legacy", "tta_mean_seconds"] == ""  # no figure
    assert table["alert_component", "web", "ignored"] == "3"
    assert table["hour", "00", "alerts"] == "1" and table["hour", "15", "incidents"] == "1"
    assert table["weekday", "3", "alerts"] == "4"
    assert {r["name"] for r in rows if r["section"] == "weekday" and r["key"] == "3"} == {"Wednesday"}
    # The incidents' own figures stay where they were, false alarms left out.
    assert table["overall", "all", "mttr_mean_seconds"] == "2000.0"

    text = to_text(metrics)
    assert (
        "Of these incidents, 1 false alarm (every alert ignored: left out of MTTA and MTTR); "
        "1 never acknowledged (left out of MTTA)." in text
    )
    lines = text.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("alerts  firings"))
    assert header.split() == [
        "alerts",
        "firings",
        "ignored",
        "ignored",
        "%",
        "acked",
        "TTA",
        "mean",
        "TTA",
        "median",
    ]
    assert any(
        line.split() == ["all", "9", "16", "3", "33.3%", "4", "13", "min", "6", "min"] for line in lines
    )
    assert any(
        line.split() == ["probes", "4", "7", "2", "50.0%", "1", "1", "min", "1", "min"] for line in lines
    )
    assert "2 alerts neither acknowledged nor ignored (left out of TTA)." in text
    assert "by hour of day and day of week, Asia/Kolkata:" in text
    assert any(line.split()[:6] == ["00:00", "0", "1", "Monday", "1", "1"] for line in lines)


def test_charts_of_hours_weekdays_ignored_share_and_tta(metrics):
    files = charts(metrics)
    assert set(files) == set(CHARTS)
    hours = svg_bars(files["alerts-by-hour.svg"])
    assert len(hours) == 24 and hours[0] == "00:00: 1 alert" and hours[3] == "03:00: 2 alerts"
    assert svg_bars(files["incidents-by-weekday.svg"])[:3] == [
        "Monday: 1 incident",
        "Tuesday: 1 incident",
        "Wednesday: 1 incident",
    ]
    assert svg_bars(files["alerts-by-weekday.svg"])[5] == "Saturday: 2 alerts"
    assert len(svg_bars(files["incidents-by-hour.svg"])) == 24
    assert svg_bars(files["ignored-by-integration.svg"]) == [
        "prometheus, ignored: 25.0% of 4",
        "probes, ignored: 50.0% of 4",
        "legacy, ignored: 0.0% of 1",
    ]
    assert svg_bars(files["alert-tta-by-integration.svg"]) == [
        "prometheus, mean: 17 min",
        "prometheus, median: 10 min",
        "probes, mean: 1 min",
        "probes, median: 1 min",
    ]
    assert b"Asia/Kolkata" in files["alerts-by-hour.svg"]


def test_the_command_gives_the_alert_sections(repo_root, tmp_path):
    run = tidings("metrics", repo_root, "--from", "2026-03-01T00:00:00Z", "--to", "2026-04-15T00:00:00Z")
    assert run.exit_code == 0, run.output
    assert "Alerts first seen in the period" in run.output and "33.3%" in run.output
    out = tmp_path / "charts"
    run = tidings("metrics", repo_root, "--from", "2026-03-01T00:00:00Z", "--format", "json", "--svg", out)
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["alerts"]["overall"]["received"] == 9
    assert sorted(p.name for p in out.iterdir()) == sorted(CHARTS)


def test_the_demo_alert_numbers():
    """The figures the demo's six alert records give (and the README's example keeps its own)."""
    run = tidings("metrics", PROJECT_ROOT, "--format", "json", env={"SOURCE_DATE_EPOCH": DEMO_NOW})
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    alerts = data["alerts"]
    assert (alerts["overall"]["received"], alerts["overall"]["firings"], alerts["overall"]["ignored"]) == (
        6,
        10,
        1,
    )
    # Amara 2 min, Priya 8 min, Chloe 4 min.
    assert alerts["overall"]["tta_seconds"] == {"mean": 280.0, "median": 240.0}
    assert alerts["by_integration"]["synthetics"]["ignored_share"] == 0.5
    assert alerts["by_integration"]["prometheus"]["ignored_share"] == 0.0
    assert alerts["false_alarm_incidents"] == 0
    # The flapping probe fires at night, Berlin time.
    assert [h["alerts"] for h in data["time_of_day"]["hours"]][2:4] == [1, 2]

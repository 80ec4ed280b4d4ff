"""`tidings metrics`: MTTA, MTTR, frequency, uptime, alerts; a thin layer over tidings.ops.metrics."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from tidings import clock
from tidings.cli.common import print_diagnostics, repo_root
from tidings.cli.params import TimeParam
from tidings.content.diagnostics import did_you_mean
from tidings.content.load import load
from tidings.errors import TidingsError, UsageError
from tidings.generator.charts import charts
from tidings.ops.metrics import compute, default_start
from tidings.ops.metrics_report import FORMATS, render
from tidings.ops.metrics_scope import Scope, SiteFileInvalid, scope
from tidings.ops.oncall import local_day_start


def _instant(value: datetime | date | None, zone: ZoneInfo) -> datetime | None:
    """A time as given, or a date as the start of that day in the site's timezone."""
    if value is None or isinstance(value, datetime):
        return value
    return local_day_start(value, zone)


def _warn_left_out(usable: Scope) -> None:
    """On standard error, so the figures on standard output stay clean for a pipe."""
    if usable.left_out:
        files = usable.left_out_files
        click.echo(f"warning: left out of the metrics, for errors in their files ({len(files)}):", err=True)
        for d in usable.left_out:
            click.echo(f"  {d.as_text()}", err=True)
    if usable.ignored:
        click.echo(
            f"warning: {len(usable.ignored)} error(s) in files the metrics do not read (ignored):", err=True
        )
        for d in usable.ignored:
            click.echo(f"  {d.as_text()}", err=True)
    if usable.left_out or usable.ignored:
        click.echo("Run 'tidings validate' for every problem.", err=True)


@click.command()
@repo_root
@click.option(
    "--from",
    "start",
    type=TimeParam(dates=True),
    help="Start of the period: a time with an offset, or a date (its start, in the site's timezone). "
    "Default: when the first incident started.",
)
@click.option(
    "--to",
    "end",
    type=TimeParam(dates=True),
    help="End of the period, excluded (--to 2026-02-01 ends with January). Default: now.",
)
@click.option("--component", help="Only the incidents and alerts on this component (its id).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="json and csv give durations in seconds.",
)
@click.option(
    "--svg",
    "svg_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the charts as SVG files into this folder.",
)
def metrics(
    root: Path,
    start: datetime | date | None,
    end: datetime | date | None,
    component: str | None,
    fmt: str,
    svg_dir: Path | None,
) -> None:
    """Incident frequency, MTTA and MTTR (mean and median) overall, by severity and by component,
    the longest incidents, and uptime, over a period of ROOT's incidents; the alerts received, the
    share ignored and the time to acknowledge them, by integration and by component; incidents and
    alerts by hour of day and day of week.

    Every incident counts, published or not. An incident never acknowledged is left out of MTTA
    (and counted); an unresolved one is left out of MTTR (and counted); one whose every alert was
    ignored is a false alarm, left out of both (and counted). Examples (`example: true`) count
    nowhere. Incident and alert files with errors are left out, with a warning naming each; an
    error in another file is listed and ignored; errors in the site file stop it. A mean rate a
    week needs a period of 7 days, a month's 28.
    """
    try:
        usable = scope(load(root))
    except SiteFileInvalid as exc:
        print_diagnostics(exc.diagnostics)
        raise
    _warn_left_out(usable)
    repo = usable.repo
    zone = ZoneInfo(repo.site.timezone)
    now = clock.now()
    if component is not None and repo.get("components", component) is None:
        known = [c.id for c in repo.components]
        hint = did_you_mean(component, known)
        raise click.BadParameter(
            f"unknown component '{component}'"
            + (f" ({hint})" if hint else "")
            + (f"; components are: {', '.join(known)}" if known else "; the repo has no components"),
            param_hint="--component",
        )
    lo = _instant(start, zone) or default_start(repo, now)
    hi = _instant(end, zone) or now
    if lo >= hi:
        raise UsageError(f"the period is empty: --from {lo.isoformat()} is not before --to {hi.isoformat()}")
    figures = compute(repo, lo, hi, now, component=component)
    click.echo(render(figures, fmt), nl=False)
    if svg_dir is not None:
        files = charts(figures)
        try:
            svg_dir.mkdir(parents=True, exist_ok=True)
            for name, data in files.items():
                (svg_dir / name).write_bytes(data)
        except OSError as exc:
            raise TidingsError(f"cannot write the charts to {svg_dir}: {exc.strerror}") from exc
        click.echo(f"{len(files)} charts written to {svg_dir}", err=True)

"""`tidings subscribers ...`: the runner's subscribers, on the runner's machine (they live nowhere else).

`export` and `delete` answer data-subject requests for one address; `count` gives figures without
an address (for the internal site); `backup` copies the database while the runner runs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tidings.cli.common import repo_root
from tidings.cli.runner import STATE_OPTION
from tidings.errors import TidingsError

if TYPE_CHECKING:
    from tidings.runner.subscribers.store import Store

FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)


def _store(root: Path, state_dir: Path | None) -> Store:
    from tidings.runner.remote import state_dir as runner_state_dir
    from tidings.runner.subscribers.store import FILENAME, Store

    state = runner_state_dir(root.resolve(), state_dir)
    if not (state / FILENAME).is_file():
        raise TidingsError(
            f"no subscriber database in {state}",
            hint="run this where `tidings runner serve --public-port` keeps its state (--state-dir, "
            "TIDINGS_RUNNER_STATE)",
        )
    return Store.open(state)


def _address(text: str) -> str:
    """As the runner stores it: a webhook URL as given, an e-mail address in lower case."""
    text = text.strip()
    return text if "://" in text else text.lower()


def _when(seconds: float | None) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC") if seconds else "-"


@click.group()
def subscribers() -> None:
    """Readers who subscribed to updates: kept by the runner, in its state folder only."""


@subscribers.command("list")
@repo_root
@STATE_OPTION
@FORMAT
def list_subscribers(root: Path, state_dir: Path | None, fmt: str) -> None:
    """Every subscriber of the runner of ROOT: address, state, components, when confirmed."""
    found = _store(root, state_dir).subscribers()
    if fmt == "json":
        rows = [
            {
                "id": s.id,
                "kind": s.kind,
                "address": s.address,
                "state": s.state,
                "components": list(s.components) or None,
                "created_at": _when(s.created_at),
                "confirmed_at": _when(s.confirmed_at),
                "consecutive_failures": s.failures,
            }
            for s in found
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for s in found:
        which = ", ".join(s.components) or "every component"
        failing = f", {s.failures} failure(s) in a row" if s.failures else ""
        since = f"confirmed {_when(s.confirmed_at)}{failing}"
        click.echo(f"{s.id}  {s.kind:<7}  {s.address}  {s.state}  {which}  {since}")
    if not found:
        click.echo("no subscribers", err=True)


@subscribers.command("export")
@click.argument("address")
@repo_root
@STATE_OPTION
def export(address: str, root: Path, state_dir: Path | None) -> None:
    """Everything stored about ADDRESS (an e-mail address or a webhook URL), as JSON."""
    click.echo(json.dumps(_store(root, state_dir).export(_address(address)), indent=2))


@subscribers.command("delete")
@click.argument("address")
@repo_root
@STATE_OPTION
def delete(address: str, root: Path, state_dir: Path | None) -> None:
    """Delete ADDRESS: its subscriptions, the opt-ins waiting for it and its deliveries."""
    subs, requests = _store(root, state_dir).delete(_address(address))
    if not subs and not requests:
        click.echo(f"nothing stored for {address}")
        return
    click.echo(f"deleted {subs} subscription(s) and {requests} opt-in(s) of {address}")


@subscribers.command("count")
@repo_root
@STATE_OPTION
@FORMAT
def count(root: Path, state_dir: Path | None, fmt: str) -> None:
    """How many subscribe, per component, and the outbox: figures without an address.

    `--format json` is what `tidings build --internal --subscriber-counts FILE` reads.
    """
    figures = _store(root, state_dir).counts()
    if fmt == "json":
        click.echo(json.dumps(figures, indent=2, sort_keys=True))
        return
    click.echo(
        f"active {figures['active']}, suspended {figures['suspended']}, "
        f"waiting for confirmation {figures['waiting_for_confirmation']}"
    )
    click.echo(f"every component: {figures['all_components']}")
    for component, n in figures["components"].items():
        click.echo(f"{component}: {n}")
    click.echo("deliveries: " + ", ".join(f"{n} {state}" for state, n in figures["deliveries"].items()))
    click.echo("updates: " + ", ".join(f"{n} {state}" for state, n in figures["updates"].items()))


@subscribers.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@repo_root
@STATE_OPTION
def backup(file: Path, root: Path, state_dir: Path | None) -> None:
    """Copy the subscriber database to FILE (consistent while the runner runs; readable by you only)."""
    store = _store(root, state_dir)
    store.backup(file)
    click.echo(f"{len(store.subscribers())} subscriber(s) backed up to {file}")

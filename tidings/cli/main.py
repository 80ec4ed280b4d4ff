"""The `tidings` command: the root group, its global options, and its commands loaded on first use."""

from __future__ import annotations

import importlib
import logging
import os
from functools import partial
from pathlib import Path

import click

from tidings import __version__
from tidings.cli.common import MappedErrors

# Every command lives in a module of its own, imported only when used: `tidings build` should not
# pay for the on-call, import or metrics code (the model alone takes a tenth of a second to import).
LAZY_COMMANDS = {
    "validate": "tidings.cli.site:validate",
    "schema": "tidings.cli.site:schema",
    "build": "tidings.cli.site:build",
    "serve": "tidings.cli.site:serve",
    "runner": "tidings.cli.runner:runner",
    "oncall": "tidings.cli.oncall:oncall",
    "incident": "tidings.cli.incident:incident",
    "review": "tidings.cli.review:review",
    "alert": "tidings.cli.alert:alert",
    "import": "tidings.cli.importer:import_group",
    "init": "tidings.cli.init:init",
    "log": "tidings.cli.log:log",
    "metrics": "tidings.cli.metrics:metrics",
    "subscribers": "tidings.cli.subscribers:subscribers",
}


class LazyGroup(MappedErrors):
    """A click group whose LAZY_COMMANDS are imported on first use (click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, name = LAZY_COMMANDS[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), name), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tidings")
@click.option("-v", "--verbose", is_flag=True, help="Say more about what is happening.")
@click.option("-q", "--quiet", is_flag=True, help="Only print errors.")
@click.option(
    "-C",
    "directory",
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Run as if started in DIR (as git -C): ROOT and other relative paths are read from there.",
)
def main(verbose: bool, quiet: bool, directory: Path | None) -> None:
    """Tidings: a status page and incident runner whose database is a git repository.

    A command that needs a status repo takes it as ROOT, always its last argument, and optional:
    without it, the repo the working directory is in is used, found upward as git finds its own.
    """
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s")
    if directory is not None:
        # Back where we were once the command is done: tests run many commands in one process.
        click.get_current_context().call_on_close(partial(os.chdir, os.getcwd()))
        os.chdir(directory)

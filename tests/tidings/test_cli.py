"""The command line as a whole: one ROOT convention, the status repo found upward, one error mapping,
and the README's command reference checked against every command's options and arguments."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from tidings.cli.common import MappedErrors
from tidings.cli.main import main
from tidings.errors import TidingsError, UsageError

from ..conftest import PROJECT_ROOT

TIDINGS = Path(sys.executable).parent / "tidings"
LAG = "2026-11-24-postgres-replica-lag"  # a demo incident
EPOCH = "1796155200"  # 2026-12-01, as the snapshot of the demo


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo status repo, committed in a fresh git repo (for `log`, `quick-actions`, `runner`)."""
    root = tmp_path / "status"
    root.mkdir()
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "Start")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return root


def tidings(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input=input, prog_name="tidings")


def leaves(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    """Every command of the click tree that is not a group, by its full name ("incident show")."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            yield from leaves(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


# --- ROOT found upward -------------------------------------------------------------------------------


def test_run_from_content_oncall_every_command_finds_the_repo_above(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = demo / "content" / "oncall"
    monkeypatch.chdir(here)
    before = sorted(p.name for p in here.iterdir())

    validate = tidings("validate")
    # The demo's one warning: its review's overdue action item (on purpose).
    assert validate.exit_code == 0 and validate.stdout.endswith("0 errors, 1 warning\n"), validate.output
    listed = tidings("incident", "list")
    assert listed.exit_code == 0 and LAG in listed.stdout, listed.output
    shown = tidings("incident", "show", LAG)
    assert shown.exit_code == 0 and shown.stdout.startswith(f"{LAG}: "), shown.output
    assert tidings("oncall", "now", "primary").exit_code == 0
    assert "MTTR" in tidings("metrics").stdout
    story = tidings("log", LAG)
    assert story.exit_code == 0 and story.stdout.strip(), story.output

    (demo / ".gitlab" / "schemas" / "site.schema.json").unlink()
    assert tidings("schema").exit_code == 0
    assert (demo / ".gitlab" / "schemas" / "site.schema.json").is_file()  # the repo's, not here

    built = tidings("build", "--out", tmp_path / "public")
    assert built.exit_code == 0 and (tmp_path / "public" / "index.html").is_file(), built.output
    assert tidings("build", "--internal", "--out", tmp_path / "internal").exit_code == 0

    payload = tmp_path / "alert.json"
    payload.write_text(json.dumps({"title": "Checkout fails", "service": "api", "fingerprint": "c1"}))
    applied = tidings("runner", "apply", payload, "--source", "generic", "--integration", "uptime-checks")
    assert applied.exit_code == 0 and applied.stdout.startswith("opened "), applied.output
    assert _git(demo, "status", "--porcelain") == ""  # committed, in the repo above

    statuspage = tmp_path / "statuspage.json"
    statuspage.write_text(json.dumps({"incidents": []}))
    assert tidings("import", "statuspage", statuspage).exit_code == 0

    assert sorted(p.name for p in here.iterdir()) == before  # nothing was written where we stand


def test_the_real_command_validates_the_repo_above(demo: Path) -> None:
    run = subprocess.run(
        [TIDINGS, "validate"], cwd=demo / "content" / "oncall", capture_output=True, text=True, check=False
    )
    assert run.returncode == 0 and run.stdout.endswith("[overdue-action-item]\n0 errors, 1 warning\n"), (
        run.stderr
    )


def test_root_is_the_last_argument_and_may_be_any_folder_in_the_repo(demo: Path) -> None:
    inside = demo / "content" / "incidents"
    assert tidings("incident", "show", LAG, inside).stdout.startswith(f"{LAG}: ")
    assert tidings("log", LAG, inside).exit_code == 0
    assert "primary" in tidings("oncall", "now", "primary", inside).stdout


def test_dash_c_runs_as_if_started_there_and_comes_back(demo: Path) -> None:
    where = os.getcwd()
    run = tidings("-C", demo / "content" / "oncall", "oncall", "now")
    assert run.exit_code == 0 and "primary" in run.stdout, run.output
    assert os.getcwd() == where
    failed = tidings("-C", demo, "incident", "show", "nope")
    assert failed.exit_code == 2 and os.getcwd() == where


def test_oncall_root_option_still_works_hidden_and_deprecated(demo: Path) -> None:
    old = tidings("oncall", "now", "primary", "--root", demo)
    assert old.exit_code == 0 and "primary" in old.stdout
    assert "--root is deprecated" in old.stderr
    assert "--root" not in tidings("oncall", "now", "--help").stdout
    both = tidings("oncall", "now", "primary", demo, "--root", demo)
    assert both.exit_code == 2 and "not both" in both.stderr


# --- outside any status repo ---------------------------------------------------------------------

# The arguments each command needs besides ROOT, so that only the missing repo can stop it.
NEEDS_A_REPO: dict[str, list[str]] = {
    "validate": [],
    "schema": [],
    "build": [],
    "serve": ["--port", "0"],
    "runner apply": ["{payload}", "--source", "generic"],
    "runner map": ["uptime-checks", "{payload}"],
    "runner serve": ["--port", "0"],
    "runner tick": ["--no-push"],
    "oncall now": [],
    "oncall at": ["now"],
    "oncall shifts": ["primary"],
    "oncall calendar": ["primary"],
    "incident open": ["--title", "Down", "--author", "A <a@example.com>"],
    "incident update": [LAG, "--body", "x", "--author", "A <a@example.com>"],
    "incident set": [LAG, "--severity", "high", "--author", "A <a@example.com>"],
    "incident ack": [LAG, "--author", "A <a@example.com>"],
    "incident resolve": [LAG, "--author", "A <a@example.com>"],
    "incident publish": [LAG, "--author", "A <a@example.com>"],
    "incident unpublish": [LAG, "--author", "A <a@example.com>"],
    "incident list": [],
    "incident show": [LAG],
    "incident quick-actions": ["HEAD"],
    "review open": [LAG, "--author", "A <a@example.com>"],
    "review list": ["--overdue"],
    "alert list": [],
    "alert show": ["prometheus-0123456789ab"],
    "alert ack": ["prometheus-0123456789ab", "--author", "A <a@example.com>"],
    "alert resolve": ["prometheus-0123456789ab", "--author", "A <a@example.com>"],
    "alert ignore": ["prometheus-0123456789ab", "--author", "A <a@example.com>"],
    "alert link": ["prometheus-0123456789ab", LAG, "--author", "A <a@example.com>"],
    "alert promote": ["prometheus-0123456789ab", "--author", "A <a@example.com>"],
    "log": [],
    "metrics": [],
    "import statuspage": ["{payload}"],
    "import cstate": ["{folder}"],
    "subscribers list": [],
    "subscribers count": [],
    "subscribers export": ["ann@example.com"],
    "subscribers delete": ["ann@example.com"],
    "subscribers backup": ["{folder}/subscribers.sqlite3"],
}
# `tidings init` makes a status repo; `schema --out DIR` writes schemas anywhere (tested below).
NEEDS_NONE = {"init"}


def test_the_table_names_every_command() -> None:
    assert {name for name, _ in leaves(main)} == set(NEEDS_A_REPO) | NEEDS_NONE


@pytest.mark.parametrize("command", sorted(NEEDS_A_REPO))
def test_outside_any_status_repo_a_command_says_so_and_exits_2(command: str, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "notes.txt").write_text("not a status repo\n")
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"incidents": [], "title": "x"}))
    (tmp_path / "cstate").mkdir()
    args = [a.format(payload=payload, folder=tmp_path / "cstate") for a in NEEDS_A_REPO[command]]
    # The real command, with a time limit: were the search broken, `serve` would serve forever.
    run = subprocess.run(
        [TIDINGS, *command.split(), *args],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert str(elsewhere.resolve()) in run.stderr  # the folder searched from
    if command.startswith("import"):  # an import may start a repo, in a new or empty folder
        assert "is not a status repo" in run.stderr and "new or empty folder" in run.stderr
    else:
        assert "no status repo in" in run.stderr and "tidings init" in run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
    assert [p.name for p in elsewhere.iterdir()] == ["notes.txt"]


def test_incident_list_outside_a_repo_no_longer_says_nothing(tmp_path: Path) -> None:
    run = subprocess.run(
        [TIDINGS, "incident", "list"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith(f"Error: no status repo in {tmp_path.resolve()} or any folder above it")


def test_init_and_schema_out_need_no_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert tidings("schema", "--out", "schemas").exit_code == 0
    assert (tmp_path / "schemas" / "site.schema.json").is_file()
    assert tidings("init", "new", "--yes", "--no-git").exit_code == 0
    assert tidings("validate", "new").exit_code == 0


# --- one error mapping ---------------------------------------------------------------------------


@click.group(cls=MappedErrors)
def sample() -> None:
    """A group mapped as `tidings` is, with commands that fail in each way."""


@sample.command()
def problem() -> None:
    raise TidingsError("the repo is broken", hint="fix the repo")


@sample.command()
def usage() -> None:
    raise UsageError("called wrongly")


@sample.command()
def bug() -> None:
    raise KeyError("a bug")


def test_a_tidings_error_is_one_line_and_its_hint_a_usage_error_exits_2_a_bug_keeps_its_traceback() -> None:
    problem_run = CliRunner().invoke(sample, ["problem"])
    assert problem_run.exit_code == 1
    assert problem_run.stderr == "Error: the repo is broken\nhint: fix the repo\n"
    usage_run = CliRunner().invoke(sample, ["usage"])
    assert usage_run.exit_code == 2 and usage_run.stderr == "Error: called wrongly\n"
    bug_run = CliRunner().invoke(sample, ["bug"])
    assert isinstance(bug_run.exception, KeyError)  # not handled: the real command shows its traceback


def test_a_library_error_through_the_real_command_is_one_line_and_a_hint(make_repo) -> None:
    root = make_repo({"content/incidents/broken.md": "---\ntitle: x\nstatus: nope\n---\n"})
    run = subprocess.run([TIDINGS, "build"], cwd=root, capture_output=True, text=True, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    *diagnostics, error, hint = run.stderr.splitlines()
    assert diagnostics and all(d.startswith("content/incidents/broken.md:") for d in diagnostics)
    assert error == f"Error: {len(diagnostics)} error(s) in the status repo"
    assert hint == "hint: nothing was written; run 'tidings validate' for details"
    assert not (root / "public").exists()


def test_a_usage_error_through_the_real_command_exits_2(make_repo) -> None:
    root = make_repo()
    run = subprocess.run(
        [TIDINGS, "incident", "show", "2026-03-14-api-error"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith("Error: no incident '2026-03-14-api-error'")
    assert "did you mean '2026-03-14-api-errors'?" in run.stderr
    bad_option = subprocess.run(
        [TIDINGS, "validate", "--format", "xml"], cwd=root, capture_output=True, text=True, check=False
    )
    assert bad_option.returncode == 2


def test_an_error_of_the_remote_exits_1_with_one_line(demo: Path) -> None:
    _git(demo, "remote", "add", "origin", str(demo.parent / "no-such-remote.git"))
    run = tidings("incident", "ack", LAG, demo, "--author", "Amara <amara.okafor@example.com>", "--push")
    assert run.exit_code == 1, run.output
    assert run.stderr.startswith("Error: committed locally but not pushed: ")
    assert "Traceback" not in run.output


# --- the README's command reference --------------------------------------------------------------

README = PROJECT_ROOT / "README.md"
# The sections whose synopses must list every option and argument; synopses elsewhere (a reminder
# of a few options) must only name real ones.
REFERENCE_SECTIONS = ("## Commands", "## The runner")


def synopses(text: str) -> Iterator[tuple[bool, str]]:
    """(in the reference?, synopsis) for each indented `tidings ...` line of a README, with the more
    indented lines that continue it."""
    section = ""
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if line.startswith("## "):
            section = line
        if not (line == "    tidings" or line.startswith("    tidings ")):
            continue
        parts = [line.strip()]
        for more in lines[n + 1 :]:
            if not more.startswith("     ") or more.strip().startswith(("tidings ", "$")):
                break
            parts.append(more.strip())
        yield section.startswith(REFERENCE_SECTIONS), " ".join(parts)


def _shown_names(param: click.Option) -> set[str]:
    """How a synopsis may name an option: any of its long names (--cache or --no-cache), or its
    short one when it has no long name (-C)."""
    names = [*param.opts, *param.secondary_opts]
    longs = {n for n in names if n.startswith("--")}
    return longs or set(names)


def _argument_name(param: click.Argument) -> str:
    return (param.metavar or param.name or "").upper().strip("[]").removesuffix("...")


def parse_synopsis(
    root: click.Group, synopsis: str
) -> tuple[list[tuple[str, click.Command]], list[str], set[str]]:
    """The commands a synopsis is about (`resolve|publish` is two), the positional arguments it
    shows, and the option names it shows. An option's value is skipped when the option takes one."""
    tokens = shlex.split(synopsis)
    assert tokens[0] == "tidings"
    commands: list[tuple[str, click.Command]] = [("tidings", root)]
    i = 1
    while i < len(tokens) and isinstance(commands[0][1], click.Group):
        group = commands[0][1]
        assert isinstance(group, click.Group)
        words = tokens[i].split("|")
        found = [group.get_command(click.Context(group), w) for w in words]
        if not all(found):
            break
        commands = [(f"{commands[0][0]} {w}", c) for w, c in zip(words, found, strict=True) if c]
        i += 1
    options: dict[str, click.Option] = {
        name: p
        for _, command in commands
        for p in command.params
        if isinstance(p, click.Option)
        for name in [*p.opts, *p.secondary_opts]
    }
    positionals: list[str] = []
    shown: set[str] = set()
    rest = tokens[i:]
    j = 0
    while j < len(rest):
        word = rest[j].strip("[]()").removesuffix("...").strip("[]()")
        j += 1
        if word in ("", "|", "..."):
            continue
        if word.startswith("-"):
            names = word.split("|")
            shown.update(names)
            param = options.get(names[0])
            if param is not None and not param.is_flag and not param.count:
                j += 1  # its value: TEXT, ROOT/public, "NAME <EMAIL>", text|json
            continue
        if isinstance(commands[0][1], click.Group) and word == "COMMAND":
            continue
        positionals.append(word)
    return commands, positionals, shown


def drift(root: click.Group, readme: str) -> list[str]:
    """What the README's synopses say that the commands do not, and the other way round."""
    problems: list[str] = []
    listed: dict[str, set[str]] = {}
    for in_reference, synopsis in synopses(readme):
        commands, positionals, shown = parse_synopsis(root, synopsis)
        for name, command in commands:
            arguments = [_argument_name(p) for p in command.params if isinstance(p, click.Argument)]
            known = set().union(
                *(
                    _shown_names(p) | set(p.opts) | set(p.secondary_opts)
                    for p in command.params
                    if isinstance(p, click.Option) and not p.hidden
                )
            )
            unknown = shown - known
            if unknown:
                problems.append(f"{name}: the README shows options it does not have: {sorted(unknown)}")
            if in_reference and positionals != arguments:
                problems.append(
                    f"{name}: the README shows arguments {positionals}, the command takes {arguments}"
                )
            elif not in_reference and set(positionals) - set(arguments):
                problems.append(f"{name}: the README shows arguments it does not take: {positionals}")
            if in_reference:
                listed.setdefault(name, set()).update(shown)
    everything = [("tidings", root), *((f"tidings {n}", c) for n, c in leaves(root))]
    for name, command in everything:
        if name not in listed:
            problems.append(f"{name}: not in the README's command reference")
            continue
        for p in command.params:
            if isinstance(p, click.Option) and not p.hidden and not _shown_names(p) & listed[name]:
                problems.append(f"{name}: the README's reference lacks {sorted(_shown_names(p))[0]}")
    return problems


def test_the_readme_command_reference_matches_every_command() -> None:
    problems = drift(main, README.read_text(encoding="utf-8"))
    assert problems == [], "\n".join(problems)


def test_the_drift_check_finds_a_missing_an_unknown_and_a_misplaced_name() -> None:
    @click.group()
    def tool() -> None:
        """A tool with one command."""

    @tool.command()
    @click.argument("thing")
    @click.argument("root", required=False)
    @click.option("--fast/--slow", default=False)
    @click.option("-o", "--output")
    @click.option("--secret", hidden=True)
    def go(thing: str, root: str | None, fast: bool, output: str | None, secret: str | None) -> None:
        """Go."""

    good = "## Commands\n\n    tidings\n    tidings go THING [ROOT] [--slow] [-o|--output FILE]\n"
    assert drift(tool, good) == []
    assert drift(tool, good.replace(" [--slow]", "")) == ["tidings go: the README's reference lacks --fast"]
    assert drift(tool, good.replace("[--slow]", "[--slow] [--quick]")) == [
        "tidings go: the README shows options it does not have: ['--quick']"
    ]
    assert drift(tool, good.replace("THING [ROOT]", "[ROOT] THING")) == [
        "tidings go: the README shows arguments ['ROOT', 'THING'], the command takes ['THING', 'ROOT']"
    ]
    assert drift(tool, good.replace("[-o|--output FILE]", "[-o|--output FILE] [--secret S]")) == [
        "tidings go: the README shows options it does not have: ['--secret']"
    ]
    # A synopsis outside the reference may leave options out, but not name wrong ones.
    extra = good + "\n## Later\n\n    tidings go THING [--slow]\n    tidings go THING [--fastest]\n"
    assert drift(tool, extra) == ["tidings go: the README shows options it does not have: ['--fastest']"]
    assert drift(tool, "## Commands\n\n    tidings\n") == [
        "tidings go: not in the README's command reference"
    ]


def test_every_help_shows_what_the_reference_shows() -> None:
    """--help is made from the same params the reference is checked against; ROOT is last in both."""
    for name, command in leaves(main):
        usage = tidings(*name.split(), "--help")
        assert usage.exit_code == 0, name
        arguments = [_argument_name(p) for p in command.params if isinstance(p, click.Argument)]
        shown = re.search(r"^Usage: tidings [a-z -]+? \[OPTIONS\](.*)$", usage.stdout, re.MULTILINE)
        assert shown is not None, usage.stdout
        assert [w.strip("[]").removesuffix("...") for w in shown.group(1).split()] == arguments, name
        if "ROOT" in arguments:
            assert arguments[-1] == "ROOT", f"{name}: ROOT is not the last argument"
            assert "always the last argument" in usage.stdout, name
        for p in command.params:
            if isinstance(p, click.Option) and not p.hidden:
                assert any(n in usage.stdout for n in p.opts), f"{name}: {p.opts} not in --help"


def test_build_loads_no_on_call_import_or_metrics_code(make_repo, tmp_path: Path) -> None:
    """Commands are imported when used: `tidings build` must not pay for the others' imports."""
    root = make_repo()
    code = (
        "import sys; from tidings.cli.main import main\n"
        "try:\n    main(['build', sys.argv[1], '--out', sys.argv[2]])\n"
        "except SystemExit as done:\n    assert not done.code, done.code\n"
        "print(sorted(m for m in sys.modules if m.startswith(('tidings.cli.', 'tidings.ops.'))))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(root), str(tmp_path / "public")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    loaded = run.stdout.splitlines()[-1]
    for heavy in ("tidings.cli.oncall", "tidings.cli.importer", "tidings.cli.metrics", "tidings.ops.oncall"):
        assert f"'{heavy}'" not in loaded, loaded
    assert "'tidings.ops.importers" not in loaded and "'tidings.ops.metrics" not in loaded, loaded
    assert "'tidings.cli.site'" in loaded  # the check sees what it should

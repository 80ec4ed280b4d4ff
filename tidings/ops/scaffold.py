"""`tidings init`: the files of a new status repo, which validate and build as they are."""

from __future__ import annotations

import json
import logging
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tidings.content.diagnostics import did_you_mean
from tidings.content.layout import SCHEMA_DIR, SITE_FILE
from tidings.content.model import known_timezones, slugify
from tidings.content.schema import schema_files
from tidings.errors import TidingsError, UsageError
from tidings.store.git import GitError, commit, git

log = logging.getLogger(__name__)

# The one line a status repo's .gitlab-ci.yml needs (README "GitLab" says how to use `project:` instead).
CI_TEMPLATE_URL = "https://gitlab.com/tidings/tidings/-/raw/main/.gitlab/ci/tidings.gitlab-ci.yml"
CI_TEMPLATE_PROJECT = "tidings/tidings"
CI_TEMPLATE_FILE = ".gitlab/ci/tidings.gitlab-ci.yml"

EXAMPLE_INCIDENT = "content/incidents/example-incident.md"

# Who makes the first commit when git knows nobody here: a name that says a tool wrote it, and an
# address that can never be someone's (.invalid), so nobody mistakes it for a person's change.
INIT_AUTHOR = ("tidings init", "init@tidings.invalid")
INIT_SUBJECT = "Create the status repo (tidings init)"


class BadAnswer(UsageError, ValueError):
    """An answer that would give a repo that does not validate; the message says what to give."""


class WouldOverwrite(TidingsError):
    """Files that exist already; nothing was written."""

    def __init__(self, paths: Sequence[str], root: Path = Path(".")):
        self.paths = list(paths)
        listing = "".join(f"\n  {p}" for p in self.paths)
        super().__init__(
            f"{root} has files that 'tidings init' would overwrite:{listing}",
            hint="nothing was written; use --force to overwrite them",
        )


@dataclass(frozen=True)
class Answers:
    title: str = "Service Status"
    base_url: str = "https://status.example.com/"
    timezone: str = "UTC"
    component: str = "Website"  # the first component: the examples are about it
    more_components: tuple[str, ...] = ()  # the others, in page order (--component given again)

    @property
    def components(self) -> tuple[str, ...]:
        return (self.component, *self.more_components)


@dataclass(frozen=True)
class Created:
    root: Path
    files: list[str]  # relative to root, in the order written
    git_initialized: bool
    commit: str | None = None  # the commit holding every file written, when there is one
    author: tuple[str, str] | None = None  # (name, email) it was made as
    not_committed: str = ""  # why there is no commit, in words for people


def check_timezone(name: str) -> str:
    """The IANA name, or BadAnswer with a did-you-mean."""
    name = name.strip()
    if name not in known_timezones():
        hint = did_you_mean(name, sorted(known_timezones()))
        raise BadAnswer(f"unknown IANA timezone {name!r}" + (f" ({hint})" if hint else ""))
    return name


def check_base_url(url: str) -> str:
    """An http(s) URL ending in '/': feeds, the calendar and the API build absolute links on it."""
    url = url.strip()
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
        raise BadAnswer(f"{url!r} is not a URL like 'https://status.example.com/'")
    return url if url.endswith("/") else url + "/"


def check_answers(answers: Answers) -> Answers:
    """The answers with their values checked and normalised, or BadAnswer."""
    title = answers.title.strip()
    components = [c.strip() for c in answers.components]
    if not title:
        raise BadAnswer("the title must not be empty")
    if not all(components):
        raise BadAnswer("the component's name must not be empty")
    seen: dict[str, str] = {}
    for name in components:
        if slugify(name) in seen:
            raise BadAnswer(
                f"components {seen[slugify(name)]!r} and {name!r} would both have the id {slugify(name)!r}"
            )
        seen[slugify(name)] = name
    return Answers(
        title,
        check_base_url(answers.base_url),
        check_timezone(answers.timezone),
        components[0],
        tuple(components[1:]),
    )


def _service(name: str) -> str:
    """One entry of `services:` in the site file."""
    return f"""\
  - name: {_q(name)}
    id: {slugify(name)}
    description: {_q(f"{name}, as customers use it.")}
    policy: default              # escalation policy: content/oncall/policies/default.yml
"""


def _q(text: str) -> str:
    """A YAML scalar for any text (a JSON string is a valid YAML double-quoted scalar)."""
    return json.dumps(text, ensure_ascii=False)


def files(answers: Answers, now: datetime) -> dict[str, str]:
    """Relative path -> text of every file of the new repo, schemas included."""
    a = check_answers(answers)
    component_id = slugify(a.component)
    yesterday = (now - timedelta(days=1)).date().isoformat()
    monday = (now - timedelta(days=now.weekday())).date().isoformat()
    out: dict[str, str] = {}
    out[SITE_FILE] = f"""\
# yaml-language-server: $schema=schemas/site.schema.json
# The status page: site settings and its components, in page order (GitLab's keys, extended).
title: {_q(a.title)}
description: {_q(f"Live status of {a.title.removesuffix(' Status')}.")}
base_url: {_q(a.base_url)}{"  # replace: where the page is served" if a.base_url == Answers.base_url else ""}
timezone: {a.timezone}
services:
{"".join(_service(name) for name in a.components)}incidents:
  publish: true                  # incidents with `published: true` appear on the page
  limit: 100
"""
    out[".gitlab-ci.yml"] = f"""\
# Tidings' jobs: validate merge requests (Code Quality), a preview per merge request, GitLab Pages
# on the default branch, the escalation tick on a schedule and alerts from a trigger.
# On the same GitLab instance you can include it from the project instead:
#   include:
#     - project: {CI_TEMPLATE_PROJECT}
#       ref: main
#       file: {CI_TEMPLATE_FILE}
include:
  - remote: {CI_TEMPLATE_URL}
"""
    # What builds write into the repo: the site, the internal site (private: notes, on-call) and the cache.
    out[".gitignore"] = "public/\ninternal/\n.tidings-cache/\n"
    out[EXAMPLE_INCIDENT] = f"""\
---
# yaml-language-server: $schema=../../.gitlab/schemas/incident.schema.json
# An EXAMPLE: resolved and never published, so it is not on the page. Copy it for a real incident
# (name the file <date>-<what>.md, and drop `example:`), or delete it.
example: true                    # not a real incident: `tidings metrics` leaves it out
title: "Example: {a.component} was slow"
severity: low
status: resolved
published: false                 # nothing is public until someone sets this to true
started_at: {yesterday}T09:00:00Z
resolved_at: {yesterday}T09:40:00Z
components:
  {component_id}: degraded_performance
updates:
  - at: {yesterday}T09:05:00Z
    status: investigating
    body: We are looking into slow responses.
  - at: {yesterday}T09:40:00Z
    status: resolved
    body: Responses are back to normal.
notes:                           # internal, never public
  - {{at: {yesterday}T09:10:00Z, author: alex, body: "An example note."}}
runbooks: [example]
assignees: [alex]
---
The public summary of the incident, in Markdown.
"""
    out["content/runbooks/example.md"] = f"""\
---
# yaml-language-server: $schema=../../.gitlab/schemas/runbook.schema.json
title: {_q(f"{a.component} is slow or down")}
services: [{component_id}]
tags: [example]
---
# {a.component} is slow or down

## Checks
1. Is it only us? Check the monitoring dashboard.
2. Was there a deploy in the last hour?

## Mitigation
- Roll back the last deploy.
- Post a public update within 15 minutes, even when the cause is unknown.
"""
    out["content/people.yml"] = f"""\
# yaml-language-server: $schema=../.gitlab/schemas/people.schema.json
# Responders: schedules, policies and incident assignees use these ids. An example person: replace.
people:
  - id: alex
    name: Alex Example
    email: alex@example.com
    timezone: {a.timezone}
"""
    out["content/oncall/schedules/primary.yml"] = f"""\
# yaml-language-server: $schema=../../../.gitlab/schemas/schedule.schema.json
name: Primary on-call
timezone: {a.timezone}
rotations:
  # A week each, handing over on Monday at 09:00 in the schedule's timezone (no offset: wall clock).
  - name: Weekly
    starts_at: {monday}T09:00:00
    rotation_length: 1
    rotation_length_unit: weeks
    participants: [alex]
"""
    out["content/oncall/policies/default.yml"] = """\
# yaml-language-server: $schema=../../../.gitlab/schemas/policy.schema.json
name: Default escalation
rules:
  - after_minutes: 0
    schedule: primary
  - after_minutes: 15
    unless: acknowledged
    person: alex
"""
    out["README.md"] = _readme(a, component_id)
    for name, text in schema_files().items():
        out[f"{SCHEMA_DIR}/{name}"] = text
    return out


def _readme(a: Answers, component_id: str) -> str:
    return f"""\
# {a.title}

The status page of {a.title.removesuffix(" Status")}, kept as files in this repository and published by
[Tidings](https://gitlab.com/tidings/tidings). Change it in merge requests: CI checks every file
and builds a preview; merging to the default branch publishes it with GitLab Pages.

    .gitlab/status-page.yml           title, timezone and the components ({component_id}, ...)
    .gitlab/schemas/                  JSON Schema for editors (`tidings schema` rewrites them)
    content/incidents/                one incident a file; nothing is public until `published: true`
    content/maintenance/              scheduled maintenance
    content/runbooks/                 what to do when something breaks
    content/people.yml                responders
    content/oncall/                   on-call schedules and escalation policies
    .gitlab-ci.yml                    includes Tidings' CI template

`{EXAMPLE_INCIDENT}` is an example: resolved and unpublished. Copy it for a real
incident or delete it; replace the example person `alex` with your team.

## Working on it

    pip install "git+https://gitlab.com/tidings/tidings.git"
    tidings validate                  # every problem, with file, line and a did-you-mean
    tidings serve                     # the page at http://127.0.0.1:8000/
    tidings log                       # who changed which incident, and how, from git

## GitLab

Turn on Pages for the project. CI variables (Settings > CI/CD > Variables) are described at the
top of the included template; the runner's jobs need `TIDINGS_PUSH_TOKEN`, a project access token
with the `write_repository` scope, as a masked and protected variable.
"""


def existing(root: Path, rels: Sequence[str]) -> list[str]:
    return [rel for rel in rels if (root / rel).exists()]


def _inside_git_work_tree(root: Path) -> bool:
    run = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--is-inside-work-tree"],
        capture_output=True,
        text=True,
        check=False,
    )
    return run.returncode == 0 and run.stdout.strip() == "true"


def init_author(root: Path) -> tuple[str, str]:
    """git's user.name and user.email where the repo is, else INIT_AUTHOR."""
    name = git(root, "config", "user.name", check=False).strip()
    email = git(root, "config", "user.email", check=False).strip()
    return (name, email) if name and email else INIT_AUTHOR


def _commit_created(root: Path, rels: Sequence[str]) -> tuple[str | None, tuple[str, str], str]:
    """Commit exactly the files init wrote (nothing else the user has staged), so history starts
    with the whole scaffold and the first incident's commit holds only that incident.

    (sha or None, the author, why there is no commit)."""
    author = init_author(root)
    try:
        sha = commit(root, rels, INIT_SUBJECT, body="Every file `tidings init` wrote.", author=author)
    except GitError as exc:  # a hook refused, a merge in progress...: the files stay written
        return None, author, f"git refused the commit: {exc}"
    if sha is None:
        return None, author, "git has these files as they are already"
    return sha, author, ""


def create(
    root: Path, answers: Answers, now: datetime, force: bool = False, git_init: bool = True
) -> Created:
    """Write a new status repo at root; WouldOverwrite (writing nothing) unless force.

    With git_init, a root that is not inside a git work tree becomes a repository, and the files
    written are committed (as git's user, else INIT_AUTHOR). Without it git is left alone.
    """
    planned = files(answers, now)
    clash = existing(root, list(planned))
    if clash and not force:
        raise WouldOverwrite(clash, root)
    for rel, text in planned.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if not git_init:
        return Created(root, list(planned), False, not_committed="--no-git: git was left alone")
    initialized = False
    if not _inside_git_work_tree(root):
        run = subprocess.run(["git", "init", "-q", str(root)], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            reason = (run.stderr or run.stdout).strip()
            log.warning("git init failed: %s", reason)
            return Created(root, list(planned), False, not_committed=f"git init failed: {reason}")
        initialized = True
    sha, author, why_not = _commit_created(root, list(planned))
    return Created(root, list(planned), initialized, sha, author if sha else None, why_not)

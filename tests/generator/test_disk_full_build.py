"""`tidings build` on a disk that fills up: a clear error, the last site and the cache intact, no
leftovers, and the next build (once there is room) the same as a cold one.

The build runs in a mount namespace of its own with the repo, the cache and the site on a small
tmpfs that a ballast file fills for real (ENOSPC from the kernel, not a patched function).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.runner.test_disk_full import UNSHARE

pytestmark = pytest.mark.skipif(UNSHARE is None, reason="needs unshare with mount namespaces (util-linux)")

EPOCH = "1796155200"
MOUNT = 'mount -t tmpfs -o size=6m tidings-disk "$0" && exec "$@"'

# Runs inside the namespace: build, fill the disk, edit, build again (fails), free it, build again.
DRIVER = r"""
import errno, hashlib, json, os, re, shutil, subprocess, sys
from pathlib import Path

disk, source, tidings = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
repo, site = disk / "repo", disk / "site"
shutil.copytree(source, repo)
env = {**os.environ, "SOURCE_DATE_EPOCH": sys.argv[4], "XDG_CACHE_HOME": str(disk / "user-cache")}


def build():
    command = [tidings, "build", str(repo), "--out", str(site)]
    return subprocess.run(command, capture_output=True, text=True, env=env)


def tree(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def fill():
    fd = os.open(disk / "ballast", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)


out = {}
first = build()
out["first"] = first.returncode
out["site_before"], out["cache_before"] = tree(site), tree(repo / ".tidings-cache")
incident = repo / sys.argv[5]
renamed = "title: Renamed while the disk was full"
incident.write_text(re.sub(r"^title: .*$", renamed, incident.read_text(), count=1, flags=re.M))
fill()
failed = build()
out["failed"] = [failed.returncode, failed.stdout + failed.stderr]
out["site_after"], out["cache_after"] = tree(site), tree(repo / ".tidings-cache")
out["cache_json_ok"] = all(
    json.loads((repo / ".tidings-cache" / rel).read_bytes()) is not None
    for rel in out["cache_after"] if rel.endswith(".json")
)
out["disk"] = sorted(p.name for p in disk.iterdir())
out["site_top"] = sorted(p.name for p in site.iterdir())
os.unlink(disk / "ballast")
again = build()
out["again"] = [again.returncode, again.stdout + again.stderr]
out["site_again"] = tree(site)
print(json.dumps(out))
"""


def demo_repo(where: Path) -> Path:
    repo = where / "repo"
    shutil.copytree(PROJECT_ROOT / "content", repo / "content", ignore=shutil.ignore_patterns("alerts"))
    shutil.copytree(PROJECT_ROOT / ".gitlab", repo / ".gitlab")
    return repo


def test_a_build_that_fills_the_disk_leaves_the_last_site_and_the_next_build_is_whole(tmp_path):
    assert UNSHARE is not None
    source = demo_repo(tmp_path / "source")
    incident = Path("content/incidents/2026-07-08-api-errors.md")  # a published one: its pages change
    assert "\npublished: true\n" in (source / incident).read_text()
    disk = tmp_path / "disk"
    disk.mkdir()
    (tmp_path / "driver.py").write_text(DRIVER)
    tidings = str(Path(sys.executable).parent / "tidings")
    run = subprocess.run(
        [*UNSHARE, "sh", "-c", MOUNT, str(disk), sys.executable, str(tmp_path / "driver.py"),
         str(disk), str(source), tidings, EPOCH, str(incident)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["first"] == 0

    code, said = seen["failed"]
    assert code == 1, said  # an error, not a crash
    assert "No space left on device" in said and "Traceback" not in said, said
    # The last site is served as it was, whole; the cache is what it was (or whole files).
    assert seen["site_after"] == seen["site_before"]
    assert seen["cache_json_ok"]
    assert not [rel for rel in seen["cache_after"] if rel.endswith(".tmp")]
    assert seen["disk"] == ["ballast", "repo", "site", "user-cache"]  # no staging folder left
    assert ".tidings-site" in seen["site_top"]

    # With room again, the next build is exactly a cold build of the edited repo.
    code, said = seen["again"]
    assert code == 0, said
    cold_repo = demo_repo(tmp_path / "cold")
    text = (source / incident).read_text()
    (cold_repo / incident).write_text(
        re.sub(r"^title: .*$", "title: Renamed while the disk was full", text, count=1, flags=re.M)
    )
    cold = tmp_path / "cold-site"
    subprocess.run(
        [tidings, "build", str(cold_repo), "--out", str(cold)],
        check=True, capture_output=True, env={"SOURCE_DATE_EPOCH": EPOCH, "PATH": "/usr/bin:/bin",
                                             "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "uc")},
    )  # fmt: skip
    cold_tree = {
        str(p.relative_to(cold)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(cold.rglob("*"))
        if p.is_file()
    }
    assert seen["site_again"] == cold_tree
    assert seen["site_again"] != seen["site_before"]  # the edit is in it

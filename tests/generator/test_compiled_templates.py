"""Compiled templates kept between builds in the cache folder: used when this user signed them, never
loaded otherwise (compiled code runs when it is loaded, and the folder sits in the work tree)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

from jinja2.bccache import Bucket

from tests.conftest import PROJECT_ROOT
from tidings.content.cache import signed
from tidings.generator.build import build
from tidings.generator.templates import SignedBytecodeCache, environment

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)


def repo(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(PROJECT_ROOT / ".gitlab", root / ".gitlab")
    shutil.copytree(PROJECT_ROOT / "content", root / "content")
    return root


def forged(root, folder, sign: bool) -> None:
    """An entry for 404.html with the real template's checksum and other code: what a merge request
    could put into the cache folder."""
    env = environment(root, "UTC")
    source, filename, _ = env.loader.get_source(env, "404.html")
    store = SignedBytecodeCache(folder)
    bucket = store.get_bucket(env, "404.html", filename, source)
    assert isinstance(bucket, Bucket)
    bucket.code = env.compile("FORGED", "404.html", filename)
    data = bucket.bytecode_to_string()
    (store.folder / f"{bucket.key}.template").write_bytes(signed(data) if sign else data)


def test_compiled_templates_are_kept_and_used_only_when_signed(tmp_path):
    root = repo(tmp_path)
    out = tmp_path / "public"
    build(root, out, now=NOW)
    folder = root / ".tidings-cache" / "templates"
    kept = sorted(folder.rglob("*.template"))
    assert kept  # compiled once, for the next process
    # Another version's compiled templates are removed, not left to pile up.
    (folder / "0123456789abcdef").mkdir()
    (folder / "0123456789abcdef" / "old.template").write_bytes(b"old")
    SignedBytecodeCache(folder)
    assert sorted(folder.rglob("*.template")) == kept
    expected = (out / "404.html").read_bytes()
    assert b"FORGED" not in expected

    forged(root, folder, sign=False)
    again = tmp_path / "again"
    build(root, again, now=NOW)
    assert (again / "404.html").read_bytes() == expected  # the unsigned entry was not loaded

    # The same entry signed with this user's key is taken (so the test above shows the signature at work).
    forged(root, folder, sign=True)
    third = tmp_path / "third"
    build(root, third, now=NOW)
    assert (third / "404.html").read_bytes() == b"FORGED"

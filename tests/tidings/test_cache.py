"""The parse cache: entries survive between runs, a small change is saved as a delta, junk is ignored."""

from __future__ import annotations

import pickle
from pathlib import Path

from tidings.content.cache import MAGIC, ParseCache
from tidings.generator.build import build


def fill(root: Path, keys: list[str], new: list[str] = ()) -> ParseCache:
    cache = ParseCache(root)
    for key in keys:
        if cache.get(key) is None:
            cache.put(key, {"value": key})
    for key in new:
        cache.put(key, {"value": key})
    cache.save()
    return cache


def test_a_small_change_writes_a_delta_and_reads_back_whole(tmp_path):
    keys = [f"k{n}" for n in range(200)]
    first = fill(tmp_path, keys)
    assert first.hits == 0 and first.path.exists() and not first.delta_path.exists()
    base = first.path.read_bytes()
    # One dropped, one added: only the delta file is written.
    second = fill(tmp_path, [*keys[1:], "k-new"])
    assert second.hits == 199 and second.path.read_bytes() == base and second.delta_path.exists()
    third = ParseCache(tmp_path)
    assert third.get("k-new") == {"value": "k-new"} and third.get("k0") is None and third.get("k5")
    # Many changes: the base is rewritten and the delta goes.
    fill(tmp_path, [f"m{n}" for n in range(200)])
    assert not third.delta_path.exists() and ParseCache(tmp_path).get("m7") == {"value": "m7"}


def test_a_torn_or_foreign_file_is_ignored(tmp_path):
    fill(tmp_path, ["a"])
    ParseCache(tmp_path).path.write_bytes(b"not a pickle")
    cache = ParseCache(tmp_path)
    assert cache.get("a") is None
    cache.put("a", 1)
    cache.save()
    assert ParseCache(tmp_path).get("a") == 1


class _Planted:
    """What a merge request could commit as .tidings-cache/parsed.pickle: code that runs when read."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_a_pickle_not_signed_by_this_user_is_never_read(tmp_path):
    marker = tmp_path / "PWNED"
    cache = ParseCache(tmp_path)
    cache.path.parent.mkdir(parents=True)
    cache.path.write_bytes(pickle.dumps(_Planted(marker)))  # a bare pickle
    cache.delta_path.write_bytes(MAGIC + b"\0" * 32 + pickle.dumps(_Planted(marker)))  # a forged signature
    again = ParseCache(tmp_path)
    assert not marker.exists() and again.get("anything") is None


def test_a_planted_cache_does_not_run_during_a_build(make_repo, tmp_path):
    root = make_repo()
    marker = tmp_path / "PWNED-by-cache"
    (root / ".tidings-cache").mkdir()
    (root / ".tidings-cache" / "parsed.pickle").write_bytes(pickle.dumps(_Planted(marker)))
    build(root, tmp_path / "public")
    assert not marker.exists() and (tmp_path / "public" / "index.html").is_file()


def test_the_code_fingerprint_covers_every_package_of_tidings():
    """A changed generator or runner module must read no old cache entry, as a changed core module."""
    from tidings.content.cache import PACKAGE, code_files

    names = {path.relative_to(PACKAGE).as_posix() for path in code_files()}
    for module in (
        "content/load.py",
        "generator/build.py",
        "generator/pages.py",
        "runner/worker.py",
        "cli/main.py",
    ):
        assert module in names, module

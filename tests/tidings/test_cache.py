"""The parse cache: entries survive between runs, a small change is saved as a delta, junk is ignored."""

from __future__ import annotations

from pathlib import Path

from tidings.cache import ParseCache


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

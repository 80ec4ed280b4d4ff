"""Payload paths: the grammar a mapping writes, and what a path finds in a payload."""

from __future__ import annotations

import pytest

from tidings.content.payload_paths import EVERY, PathSyntaxError, find, parse_path

PAYLOAD = {
    "monitor": {"name": "API", "tags": ["api", "prod"], "id": 7},
    "targets": [{"host": "a"}, {"host": "b"}],
    "labels": {"app.kubernetes.io/name": "web", "with space": "yes", 'quote"d': "q"},
    "empty": [],
    "nothing": None,
}


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("monitor.name", ("monitor", "name")),
        ("monitor.tags[0]", ("monitor", "tags", 0)),
        ("monitor.tags[-1]", ("monitor", "tags", -1)),
        ("targets[*].host", ("targets", EVERY, "host")),
        ('labels["app.kubernetes.io/name"]', ("labels", "app.kubernetes.io/name")),
        ("labels['with space']", ("labels", "with space")),
        ('labels["quote\\"d"]', ("labels", 'quote"d')),
        ('["monitor"].name', ("monitor", "name")),
        ("@timestamp", ("@timestamp",)),
        ("a-b.c_d", ("a-b", "c_d")),
    ],
)
def test_paths_parse_into_steps(path, steps):
    assert parse_path(path) == steps


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("", "empty"),
        ("a..b", "a key is missing before the '.' at character 3"),
        ("a.", "ends with '.'"),
        (".a", "a key is missing before the '.' at character 1"),
        ("a[x]", "[x] at character 2 is not an index"),
        ("a[0", "never closed"),
        ('a["b]', "never closed"),
        ('a["b"x]', "expected ']'"),
        ("a[0]b", "a '.' is missing before 'b'"),
        ('a"b"', "needs brackets"),
        ("a b", "unexpected ' '"),
    ],
)
def test_bad_paths_say_where_and_why(path, why):
    with pytest.raises(PathSyntaxError) as caught:
        parse_path(path)
    assert why in str(caught.value)


def test_find_follows_keys_indexes_and_every_item():
    assert find(PAYLOAD, parse_path("monitor.name")).values == ("API",)
    assert find(PAYLOAD, parse_path("monitor.tags[-1]")).values == ("prod",)
    assert find(PAYLOAD, parse_path("targets[*].host")).values == ("a", "b")
    assert find(PAYLOAD, parse_path('labels["app.kubernetes.io/name"]')).one == "web"
    assert find(PAYLOAD, parse_path("nothing")).values == (None,)  # present, and null


@pytest.mark.parametrize(
    ("path", "missing"),
    [
        ("monitor.title", "monitor has no key 'title'"),
        ("monitor.tags[5]", "monitor.tags has no item [5] (it has 2)"),
        ("monitor.name.first", "monitor.name is not an object"),
        ("monitor[0]", "monitor is not a list"),
        ("empty[*].host", "empty[*] matches nothing"),
        ('labels["no such"]', "labels has no key 'no such'"),
        ("absent", "the payload has no key 'absent'"),
    ],
)
def test_find_says_where_a_path_stops(path, missing):
    found = find(PAYLOAD, parse_path(path))
    assert found.values == () and found.missing == missing

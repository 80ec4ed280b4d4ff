"""Themes: a status repo's own site_templates/ override shipped templates and static files."""

from __future__ import annotations

import re
import struct
import zlib

import pytest

from tidings.generator.build import build
from tidings.site_templates import TEMPLATE_DIR

OVERRIDE_BASE = """\
{% extends "default:base.html" %}
{% block title %}Acme · {{ super() }}{% endblock %}
{% block feeds %}{{ super() }}<meta name="theme-color" content="#ff6600">{% endblock %}
"""

OVERRIDE_CSS = "body { font-family: 'Comic Neue', sans-serif; }\n"


def _png() -> bytes:
    """A real 1x1 PNG (binary, as an icon a repo ships may be)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x09\x69\xda\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = _png()

NEW_INDEX = """\
{% extends "base.html" %}
{% block main %}<h1>Custom index: {{ overall_text }}</h1>{% endblock %}
"""


def test_extending_the_shipped_template_changes_one_block(make_repo, tmp_path):
    root = make_repo({"site_templates/base.html": OVERRIDE_BASE})
    build(root, tmp_path / "out")
    index = (tmp_path / "out" / "index.html").read_text()
    assert "<title>Acme · Example Status</title>" in index
    assert "Components" in index  # the rest of the shipped page is untouched
    incident = (tmp_path / "out" / "incidents" / "2026-03-14-api-errors.html").read_text()
    # Pages that extend base.html now extend the override, keeping their own blocks.
    assert '<meta name="theme-color" content="#ff6600">' in incident
    assert "<title>API errors · Example Status</title>" in incident


def test_a_template_and_a_static_file_can_be_replaced(make_repo, tmp_path):
    root = make_repo({"site_templates/index.html": NEW_INDEX, "site_templates/style.css": OVERRIDE_CSS})
    build(root, tmp_path / "out")
    index = (tmp_path / "out" / "index.html").read_text()
    assert "<h1>Custom index: All Systems Operational</h1>" in index
    assert "Components" not in index
    assert (tmp_path / "out" / "static" / "style.css").read_text() == OVERRIDE_CSS


def _icon_links(html: str) -> list[str]:
    return re.findall(r'<link rel="icon"[^>]*>', html)


def test_every_page_links_the_shipped_favicon(make_repo, tmp_path):
    """A browser never asks for /favicon.ico (a 404, and an error in the console, on most hosts)."""
    build(make_repo(), tmp_path / "out")
    out = tmp_path / "out"
    assert (out / "static" / "favicon.svg").read_bytes() == (TEMPLATE_DIR / "favicon.svg").read_bytes()
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 5
    for page in pages:
        path = page.relative_to(out).as_posix()
        # The 404 page is served at any depth: its links start at the site's root (base_url's path).
        base = "/" if path == "404.html" else "../" * path.count("/")
        want = f'<link rel="icon" href="{base}static/favicon.svg" type="image/svg+xml">'
        assert _icon_links(page.read_text()) == [want], path


@pytest.mark.parametrize(
    ("name", "data", "media_type"),
    [
        ("favicon.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="9"/></svg>\n', "image/svg+xml"),
        ("favicon.png", PNG, "image/png"),
        ("favicon.ico", b"\x00\x00\x01\x00\x01\x00 icon bytes \xff", "image/x-icon"),
    ],
)
def test_the_repos_own_favicon_replaces_the_shipped_one(make_repo, tmp_path, name, data, media_type):
    root = make_repo()
    (root / "site_templates").mkdir()
    (root / "site_templates" / name).write_bytes(data)
    out = tmp_path / "out"
    build(root, out)
    assert (out / "static" / name).read_bytes() == data
    assert sorted(p.name for p in (out / "static").glob("favicon.*")) == [name]
    index = (out / "index.html").read_text()
    assert _icon_links(index) == [f'<link rel="icon" href="static/{name}" type="{media_type}">']
    incident = (out / "incidents" / "2026-03-14-api-errors.html").read_text()
    assert f'href="../static/{name}"' in _icon_links(incident)[0]

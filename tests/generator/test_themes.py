"""Themes: a status repo's own site_templates/ override shipped templates and static files."""

from __future__ import annotations

from tidings.generator.build import build

OVERRIDE_BASE = """\
{% extends "default:base.html" %}
{% block title %}Acme · {{ super() }}{% endblock %}
{% block feeds %}{{ super() }}<meta name="theme-color" content="#ff6600">{% endblock %}
"""

OVERRIDE_CSS = "body { font-family: 'Comic Neue', sans-serif; }\n"

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

"""JSON Schemas: committed copies match the model, and accept the files editors check with them."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from click.testing import CliRunner

from tests.conftest import PROJECT_ROOT
from tidings.cli.main import main
from tidings.content.documents import plain, read_markdown, read_yaml
from tidings.content.layout import SCHEMA_DIR
from tidings.content.schema import schema_files

MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)


def test_committed_schemas_are_current():
    committed = PROJECT_ROOT / SCHEMA_DIR
    for name, text in schema_files().items():
        assert (committed / name).read_text(encoding="utf-8") == text, (
            f"run 'tidings schema' to refresh {name}"
        )


def test_schema_command_writes_every_kind(tmp_path):
    run = CliRunner().invoke(main, ["schema", "--out", str(tmp_path)])
    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(schema_files())
    for path in tmp_path.iterdir():
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_schema_command_writes_into_root_wherever_it_runs(make_repo, monkeypatch):
    root = make_repo()
    monkeypatch.chdir(root / "content")
    run = CliRunner().invoke(main, ["schema", ".."])
    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in (root / SCHEMA_DIR).iterdir()) == sorted(schema_files())
    assert not (root / "content" / ".gitlab").exists()

    # Without ROOT, the status repo content/ is in, found upward as git finds its repository.
    (root / SCHEMA_DIR / "site.schema.json").unlink()
    here = CliRunner().invoke(main, ["schema"])
    assert here.exit_code == 0, here.output
    assert (root / SCHEMA_DIR / "site.schema.json").is_file()
    assert not (root / "content" / ".gitlab").exists()


def _demo_files():
    files = [
        PROJECT_ROOT / ".gitlab" / name
        for name in ("status-page.yml", "integrations.yml", "notifications.yml")
    ]
    files += sorted((PROJECT_ROOT / "content").rglob("*.md")) + sorted(
        (PROJECT_ROOT / "content").rglob("*.yml")
    )
    return [f for f in files if f.name != "README.md"]


@pytest.mark.parametrize("path", _demo_files(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_demo_files_name_their_schema_and_pass_it(path):
    text = path.read_text(encoding="utf-8")
    found = MODELINE.search(text)
    assert found, f"{path} has no yaml-language-server modeline"
    schema_path = (path.parent / found.group(1)).resolve()
    assert schema_path.is_file(), f"{path} points at {schema_path}, which does not exist"
    rel = str(path.relative_to(PROJECT_ROOT))
    doc = read_markdown(path, rel) if path.suffix == ".md" else read_yaml(path, rel)
    jsonschema.validate(plain(doc.data), json.loads(schema_path.read_text()))


def test_schema_rejects_what_the_validator_rejects():
    schema = json.loads(schema_files()["incident.schema.json"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"title": "x", "status": "resolvd", "started_at": "2026-01-01T00:00:00Z"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"title": "x", "status": "resolved", "started_at": "2026-01-01T00:00:00Z", "titel": 1}, schema
        )

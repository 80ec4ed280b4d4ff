"""JSON Schema for each kind of file, so editors complete and check them (yaml-language-server)."""

from __future__ import annotations

import json
from pathlib import Path

from tidings.content.model import FILE_MODELS


def schema_for(kind: str) -> dict[str, object]:
    model = FILE_MODELS[kind]
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_files() -> dict[str, str]:
    """File name -> JSON text, one per file kind."""
    return {
        f"{kind}.schema.json": json.dumps(schema_for(kind), indent=2, sort_keys=True) + "\n"
        for kind in FILE_MODELS
    }


def write_schemas(out: Path) -> list[Path]:
    """Write every schema file into `out` (a repo's is ROOT/.gitlab/schemas), rewriting only changed ones."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_files().items():
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written

"""Importers: other status pages' history as Tidings content files.

Each importer (`statuspage`, `cstate`) reads its format into neutral records
(`tidings.importers.records`); `tidings.importers.plan` turns them into files, checks every one,
and only then writes them all through tidings.edit.
"""

from __future__ import annotations

from tidings.ops.importers.plan import ImportPlan, PlannedFile, plan_import
from tidings.ops.importers.records import ImportBatch, ImportFailed

__all__ = ["ImportBatch", "ImportFailed", "ImportPlan", "PlannedFile", "plan_import"]

"""Validation engine: compare an old and a new destination inside DuckDB (no Dagster here).

Names load on first use, so a module that needs only `validation.verdict` (the spec, the CLI's
`--help`) does not load DuckDB.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    "ValidationOptions": "engine", "find_table": "engine", "validate": "engine",
    "record": "history",
    "PipelineSettings": "mapping", "TableMapping": "mapping", "TableRef": "mapping",
    "TableSettings": "mapping", "TableSide": "mapping", "map_pipelines": "mapping",
    "plain_mapping": "mapping",
    "TableReport": "report", "ValidationReport": "report",
    "report_json": "wire",
}  # fmt: skip

__all__ = [
    "PipelineSettings",
    "TableMapping",
    "TableRef",
    "TableReport",
    "TableSettings",
    "TableSide",
    "ValidationOptions",
    "ValidationReport",
    "find_table",
    "map_pipelines",
    "plain_mapping",
    "record",
    "report_json",
    "validate",
]

if TYPE_CHECKING:
    from migration_pipeline.validation.engine import ValidationOptions, find_table, validate
    from migration_pipeline.validation.history import record
    from migration_pipeline.validation.mapping import (
        PipelineSettings,
        TableMapping,
        TableRef,
        TableSettings,
        TableSide,
        map_pipelines,
        plain_mapping,
    )
    from migration_pipeline.validation.report import TableReport, ValidationReport
    from migration_pipeline.validation.wire import report_json


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)

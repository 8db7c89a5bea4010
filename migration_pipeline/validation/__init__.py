"""Validation engine: compare an old and a new destination inside DuckDB (no Dagster here)."""

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

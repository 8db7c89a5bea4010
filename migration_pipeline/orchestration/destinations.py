"""Which destinations a migration compares and how each pipeline writes them (from the
Terraform state), and one validation of them appended to the validation history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from migration_pipeline.errors import SpecError
from migration_pipeline.locations import is_motherduck, motherduck
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline.validation import (
    PipelineSettings,
    TableMapping,
    TableSettings,
    ValidationOptions,
    ValidationReport,
    map_pipelines,
    record,
    validate,
)
from migration_pipeline.validation.verdict import Limits


def destination_location(state: TerraformState, pipeline: str, field: str) -> str:
    """A DuckDB pipeline's file (`<connector directory>/<database>.duckdb`), or `md:<database>`."""
    attrs = state.attributes(pipeline)
    if attrs is None:
        raise SpecError(f"validation.{field}", f"{pipeline} is not in the Terraform state, so "
                        "its destination cannot be derived; set it explicitly")
    database = (attrs.get("destination_config") or {}).get("database")
    if database and is_motherduck(database):
        return database
    connector = state.by_uuid(attrs.get("destination_connector_uuid")) or {}
    directory = (connector.get("duckdb_config") or {}).get("directory")
    if connector.get("type") == "motherduck" and database:
        return motherduck(database)
    if not directory or not database or not Path(directory).is_absolute():
        raise SpecError(f"validation.{field}", f"the destination of {pipeline} is not a DuckDB "
                        "connector with an absolute directory; set it explicitly")
    return str(Path(directory) / f"{database}.duckdb")


def destinations(spec: MigrationSpec, state: TerraformState) -> tuple[str, str]:
    """The old and new destinations: the spec's `validation:` settings, else the state's."""
    v = spec.validation
    old = v.old_destination or destination_location(state, spec.old_pipeline, "old_destination")
    new = v.new_destination or destination_location(
        state, spec.new_pipeline.address, "new_destination")
    return old, new


def pipeline_settings(attrs: Mapping[str, Any]) -> PipelineSettings:
    """How an `artie_pipeline` (state attributes) writes its tables."""
    tables = tuple(
        TableSettings(
            name=t.get("name") or key, schema=t.get("schema"), alias=t.get("alias"),
            exclude_columns=frozenset(t.get("columns_to_exclude") or ()),
            history_mode=bool(t.get("enable_history_mode")),
        )
        for key, t in sorted((attrs.get("tables") or {}).items())
    )
    schema = (attrs.get("destination_config") or {}).get("schema")
    return PipelineSettings(tables, bool(attrs.get("soft_delete_rows")), schema)


def table_mappings(spec: MigrationSpec, state: TerraformState) -> tuple[TableMapping, ...]:
    """Old table -> new table, respecting aliases, excluded columns, soft delete and history."""
    mappings = map_pipelines(pipeline_settings(state.attributes(spec.old_pipeline) or {}),
                             pipeline_settings(state.attributes(spec.new_pipeline.address) or {}))
    keys = spec.validation.keys
    return tuple(replace(m, key_columns=tuple(keys[m.old.ref.name])) if m.old.ref.name in keys
                 else m for m in mappings)


def run_validation(spec: MigrationSpec, state: TerraformState,
                   options: ValidationOptions) -> ValidationReport:
    """Compare the two destinations of `spec` and append the run to its validation history."""
    old, new = destinations(spec, state)
    gates = spec.gates
    limits = Limits(gates.max_lag_seconds, gates.max_in_flight_keys,
                    gates.max_in_flight_age_seconds)
    report = validate(old, new, table_mappings(spec, state), replace(options, limits=limits))
    return record(spec.validation.history(spec.terraform.dir), report)

"""Which destinations a migration compares and how each pipeline writes them (from the
Terraform state), and one comparison of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.inputs import ConnectorSource, destination_location
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline.validation import (
    PipelineSettings,
    TableMapping,
    TableSettings,
    ValidationOptions,
    ValidationReport,
    map_pipelines,
    validate,
)
from migration_pipeline.validation.history import baselines
from migration_pipeline.validation.schedule import IncrementalPolicy
from migration_pipeline.validation.verdict import Limits


def destinations(
    spec: MigrationSpec, state: TerraformState, artie: ConnectorSource | None = None
) -> tuple[str, str]:
    """The old and new destinations: the spec's `validation:` settings, else the state's (a
    connector the module takes as a variable is looked up through Artie's API)."""
    v = spec.validation
    old = v.old_destination or destination_location(
        state, spec.old_pipeline, "old_destination", artie
    )
    new = v.new_destination or destination_location(
        state, spec.new_pipeline.address, "new_destination", artie
    )
    return old, new


def pipeline_settings(attrs: Mapping[str, Any]) -> PipelineSettings:
    """How an `artie_pipeline` (state attributes) writes its tables."""
    tables = tuple(
        TableSettings(
            name=t.get("name") or key,
            schema=t.get("schema"),
            alias=t.get("alias"),
            exclude_columns=frozenset(t.get("columns_to_exclude") or ()),
            history_mode=bool(t.get("enable_history_mode")),
        )
        for key, t in sorted((attrs.get("tables") or {}).items())
    )
    schema = (attrs.get("destination_config") or {}).get("schema")
    return PipelineSettings(tables, bool(attrs.get("soft_delete_rows")), schema)


def table_mappings(spec: MigrationSpec, state: TerraformState) -> tuple[TableMapping, ...]:
    """Old table -> new table, respecting aliases, excluded columns, soft delete and history."""
    mappings = map_pipelines(
        pipeline_settings(state.attributes(spec.old_pipeline) or {}),
        pipeline_settings(state.attributes(spec.new_pipeline.address) or {}),
    )
    keys = spec.validation.keys
    return tuple(
        replace(m, key_columns=tuple(keys[m.old.ref.name])) if m.old.ref.name in keys else m
        for m in mappings
    )


def run_validation(
    spec: MigrationSpec,
    state: TerraformState,
    options: ValidationOptions,
    artie: ConnectorSource | None = None,
    full: bool = False,
) -> ValidationReport:
    """Compare the two destinations of `spec` (incremental where its validation history
    allows, every row when `full`; not recorded yet: see evidence.record_evidence); `artie`
    finds a destination connector the module takes as a variable."""
    old, new = destinations(spec, state, artie)
    gates = spec.gates
    limits = Limits(
        gates.max_lag_seconds, gates.max_in_flight_keys, gates.max_in_flight_age_seconds
    )
    v = spec.validation
    policy = IncrementalPolicy(
        baselines(v.history(spec.terraform.dir), old, new),
        v.change_time_columns,
        full_every=v.full_every,
        full_every_hours=v.full_every_hours,
        force_full=full,
    )
    return validate(
        old, new, table_mappings(spec, state), replace(options, limits=limits, incremental=policy)
    )

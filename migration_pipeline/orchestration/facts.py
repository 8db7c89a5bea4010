"""Gathers a migration's facts (module, state, Artie API, Dagster records) and assesses them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import dagster as dg

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.errors import (
    ArtieApiError,
    InputCheckError,
    ModuleEditError,
    SpecError,
)
from migration_pipeline.orchestration.event_metadata import latest_approval, validation_records
from migration_pipeline.phases import (
    Assessment,
    GateSettings,
    MigrationFacts,
    ValidationRecord,
    assess,
)
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.facts import module_facts
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline.terraform.state import TerraformState

# What `gather` raises when the module is one the steps cannot read (an expression where a
# literal is needed, `for_each` / `count`) or lacks an address the spec names: the phase is
# unknown, and the job's first step refuses for the same reason.
UNREADABLE = (ModuleEditError, InputCheckError)


def gate_settings(spec: MigrationSpec) -> GateSettings:
    return GateSettings(
        spec.gates.clean_validations,
        timedelta(minutes=spec.gates.max_validation_age_minutes),
        spec.unshare,
    )


@dataclass(frozen=True)
class Snapshot:
    """The facts at one moment, the Terraform state they came from, and what they mean."""

    facts: MigrationFacts
    state: TerraformState = field(repr=False)
    assessment: Assessment

    def with_validation(self, record: ValidationRecord, settings: GateSettings) -> Snapshot:
        facts = replace(
            self.facts, validations=(record, *self.facts.validations), now=datetime.now(UTC)
        )
        return replace(self, facts=facts, assessment=assess(facts, settings))


def gather(
    spec: MigrationSpec, runner: TerraformRunner, artie: ArtieClient, instance: dg.DagsterInstance
) -> Snapshot:
    """Read everything the phase depends on (the state pulled once); nothing is changed."""
    runner.init()
    state = runner.state()
    module = module_facts(spec, state, artie)
    new_uuid = module.uuids.get(spec.new_pipeline.address)
    status = None
    if new_uuid:
        try:
            status = artie.get_pipeline(new_uuid)
        except ArtieApiError as e:
            if e.status_code != 404:
                raise
    facts = MigrationFacts(
        module,
        spec.reader,
        spec.old_pipeline,
        spec.new_pipeline.address,
        status,
        validation_records(instance, spec),
        latest_approval(instance, spec),
        datetime.now(UTC),
    )
    try:
        assessment = assess(facts, gate_settings(spec))
    except SpecError as e:  # an address neither the module nor the state holds: an input
        raise InputCheckError([str(e)]) from e
    return Snapshot(facts, state, assessment)

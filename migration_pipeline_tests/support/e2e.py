"""For end-to-end tests: an operator's own `terraform apply`, and what a migration's runs applied."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from migration_pipeline.orchestration.graph import STEP_EVENTS, step_key
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.runner import TerraformRunner


def apply_module(spec: MigrationSpec, plan_file: Path) -> None:
    """Apply the module as it is now, as an operator's `terraform apply` would."""
    runner = TerraformRunner.for_spec(spec.terraform)
    runner.init()
    if runner.plan(plan_file):
        runner.apply(plan_file)
    plan_file.unlink()


def applied_steps(instance: dg.DagsterInstance, spec: MigrationSpec) -> list[str]:
    """The Terraform steps the job applied, in order (from the events they record)."""
    events = []
    for key in {step_key(spec, step) for step in STEP_EVENTS}:
        for record in instance.fetch_materializations(key, limit=100).records:
            metadata = record.asset_materialization.metadata
            if "step" in metadata:
                events.append((record.storage_id, metadata["step"].value))
    return [step for _, step in sorted(events)]

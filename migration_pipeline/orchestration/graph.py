"""The asset graph a migration shows: the source reader, the old and new pipelines and their
destinations (managed outside Dagster, by Terraform and Artie), the validation evidence and the
approval; and the event each Terraform step records on the asset it changed."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from migration_pipeline.phases import Step
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.results import StepResult

ARTIE_KINDS = {"artie", "terraform"}


def reader_key(spec: MigrationSpec) -> dg.AssetKey:
    return dg.AssetKey([spec.name, "source_reader"])


def pipeline_key(spec: MigrationSpec, side: str) -> dg.AssetKey:
    return dg.AssetKey([spec.name, f"{side}_pipeline"])


def destination_key(spec: MigrationSpec, side: str) -> dg.AssetKey:
    return dg.AssetKey([spec.name, f"{side}_destination"])


def mismatches_key(spec: MigrationSpec) -> dg.AssetKey:
    return dg.AssetKey([spec.name, "validation_mismatches"])


# What each step changed: the asset, and what happened to it.
STEP_EVENTS = {
    Step.PROMOTE: ("reader", "shared"),
    Step.CREATE: ("new_pipeline", "created"),
    Step.CUTOVER: ("old_pipeline", "deleted"),
    Step.UNSHARE: ("reader", "unshared"),
}


def step_key(spec: MigrationSpec, step: Step) -> dg.AssetKey:
    """The asset a Terraform step changes."""
    target = STEP_EVENTS[step][0]
    return reader_key(spec) if target == "reader" else pipeline_key(spec, target.split("_")[0])


def step_event(spec: MigrationSpec, step: Step, result: StepResult) -> dg.AssetMaterialization:
    """The event a Terraform step records on the asset it changed, once applied: what happened
    and the plan that was checked and applied."""
    change = STEP_EVENTS[step][1]
    return dg.AssetMaterialization(
        step_key(spec, step),
        description=result.message,
        metadata={
            "change": change,
            "step": str(step),
            "status": result.status,
            "plan": dg.MetadataValue.md("\n".join(result.plan_lines())),
            "resources_changed": len(result.plan.changes) if result.plan else 0,
        },
    )


def code_references(*functions) -> dict:
    """Links from an asset to the code that makes it (shown in the UI as code references)."""
    refs = [
        dg.LocalFileCodeReference(
            file_path=str(Path(f.__code__.co_filename).resolve()),
            line_number=f.__code__.co_firstlineno,
        )
        for f in functions
    ]
    return {"dagster/code_references": dg.CodeReferencesMetadataValue(code_references=refs)}


def external_assets(spec: MigrationSpec, refs: dict) -> list[dg.AssetSpec]:
    """The reader, the pipelines and the destinations: Terraform and Artie change them, the
    migration job records what each step did."""
    owners = list(spec.owners)
    group = spec.name

    def asset(
        key: dg.AssetKey, kinds: set[str], description: str, deps: tuple[dg.AssetKey, ...] = ()
    ) -> dg.AssetSpec:
        return dg.AssetSpec(
            key,
            deps=deps,
            kinds=kinds,
            owners=owners,
            group_name=group,
            description=description,
            metadata=refs,
        )

    old, new = spec.old_pipeline, spec.new_pipeline.address
    return [
        asset(
            reader_key(spec),
            ARTIE_KINDS,
            f"The source reader {spec.reader}: reads the source "
            "once for every pipeline attached to it; shared while both pipelines run.",
        ),
        asset(
            pipeline_key(spec, "old"),
            ARTIE_KINDS,
            f"The pipeline moving away, {old}; deleted by the cutover.",
            (reader_key(spec),),
        ),
        asset(
            pipeline_key(spec, "new"),
            ARTIE_KINDS,
            f"The new pipeline, {new}, on the shared reader; created by the migration.",
            (reader_key(spec),),
        ),
        asset(
            destination_key(spec, "old"),
            {"duckdb"},
            f"Where {old} writes.",
            (pipeline_key(spec, "old"),),
        ),
        asset(
            destination_key(spec, "new"),
            {"duckdb"},
            f"Where {new} writes.",
            (pipeline_key(spec, "new"),),
        ),
    ]

"""Per migration: the asset graph from the source reader to the approval. The reader, pipelines
and destinations are external (Terraform and Artie change them); validation_report (with its
checks) and validation_mismatches are one validation; approval is a person's decision."""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations.
from typing import Literal

import dagster as dg
from pydantic import Field

from migration_pipeline.errors import ApprovalError
from migration_pipeline.orchestration.approvals import decide
from migration_pipeline.orchestration.checks import CHECKS
from migration_pipeline.orchestration.event_metadata import (
    approval_key,
    validation_key,
    validation_records,
)
from migration_pipeline.orchestration.evidence import gather_evidence
from migration_pipeline.orchestration.facts import gather
from migration_pipeline.orchestration.graph import (
    code_references,
    destination_key,
    external_assets,
    mismatches_key,
    step_event,
)
from migration_pipeline.orchestration.resources import (
    ArtieApiResource,
    TerraformResource,
    ValidationResource,
)
from migration_pipeline.orchestration.rollback import (
    abort_in_run,
    retry_like_the_abort_job,
    summary,
)
from migration_pipeline.orchestration.runs import pool
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.steps import run_step


class ApprovalConfig(dg.Config):
    """Your decision on the latest validation: approve, reject, or abort the migration."""

    who: str = Field(description="Your name or handle, recorded with the decision.")
    decision: Literal["approve", "reject", "abort"] = Field(
        default="approve",
        description=(
            "approve: the cutover may delete the old pipeline; reject: it may not; abort (before "
            "the cutover only): roll the migration back, the new pipeline deleted and the reader "
            "as it was."
        ),
    )
    comment: str = Field(default="", description="Why; shown with the decision.")
    validation_id: str = Field(
        default="",
        description=(
            "The validation you reviewed (validation_id in the validation_report's metadata): when "
            "given, the decision is refused if a newer validation exists."
        ),
    )


class ValidationConfig(dg.Config):
    """How this validation compares (the schedule and the job use the defaults)."""

    full: bool = Field(
        default=False,
        description=(
            "Compare every row of every table, instead of only the keys changed since the last "
            "clean validation where the history allows it (incremental, the default)."
        ),
    )


def validation_assets(spec: MigrationSpec) -> dg.AssetsDefinition:
    """validation_report (depends on both destinations, with its checks) and
    validation_mismatches (depends on the report), made by one comparison."""
    report, mismatches = validation_key(spec), mismatches_key(spec)
    owners = list(spec.owners)

    @dg.multi_asset(
        name=f"{spec.name}_validation",
        group_name=spec.name,
        pool=pool(spec),
        specs=[
            dg.AssetSpec(
                report,
                deps=[destination_key(spec, "old"), destination_key(spec, "new")],
                kinds={"duckdb"},
                owners=owners,
                description=(
                    f"The new destination of {spec.name} compared with the old one, table "
                    "by table (rows, missing / extra / changed keys, lag). The migration "
                    "job and the validation schedule materialize it (incremental where the "
                    "history allows); materialize it here to validate now, with config "
                    "full: true to compare every row."
                ),
            ),
            dg.AssetSpec(
                mismatches,
                deps=[report],
                kinds={"duckdb", "pandas"},
                owners=owners,
                description=(
                    "Every mismatched key of the latest validation (table, kind, key, "
                    "column, old and new value, first seen, confirmed), as the table "
                    "validation_mismatches in the validation history database (see its "
                    "`database` metadata); query it with duckdb."
                ),
            ),
        ],
        # Not blocking: a mismatch is evidence to record (and list in validation_mismatches),
        # not a failed run; the gates read the verdict.
        check_specs=[
            dg.AssetCheckSpec(name, asset=report, description=doc) for name, doc in CHECKS.items()
        ],
    )
    def validation(
        context: dg.AssetExecutionContext,
        config: ValidationConfig,
        terraform: TerraformResource,
        artie: ArtieApiResource,
        validation: ValidationResource,
    ):
        with artie.client() as client:
            snapshot = gather(spec, terraform.runner(spec), client, context.instance)
            evidence = gather_evidence(spec, snapshot, validation, client, config.full)
        context.log.info(f"validation {evidence.report.id}: {evidence.report.mode}")
        yield dg.MaterializeResult(asset_key=report, metadata=evidence.report_metadata)
        for o in evidence.checks:
            yield dg.AssetCheckResult(
                asset_key=report,
                check_name=o.name,
                passed=o.passed,
                metadata=o.metadata,
                severity=o.severity,
            )
        yield dg.MaterializeResult(asset_key=mismatches, metadata=evidence.mismatches_metadata)
        for observation in evidence.observations(spec):
            context.log_event(observation)

    return validation


def approval_asset(spec: MigrationSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=approval_key(spec),
        group_name=spec.name,
        pool=pool(spec),
        deps=[validation_key(spec)],
        owners=list(spec.owners),
        # An abort's decision is recorded once, before its rollback (see abort_from_the_ui).
        output_required=False,
        description=(
            f"A person's decision on the cutover of {spec.name}: materialize with config "
            "who / decision (approve, reject, abort) / comment / validation_id (the one you "
            "read in validation_report's metadata; refused if a newer one exists). An "
            "approval holds for the "
            "clean validation it saw until a later validation confirms a mismatch (an "
            "inconclusive one does not void it). Abort (before cutover only) rolls the "
            "migration back: the new pipeline deleted, the reader as it was before."
        ),
    )
    def approval(
        context: dg.AssetExecutionContext,
        config: ApprovalConfig,
        terraform: TerraformResource,
        artie: ArtieApiResource,
    ):
        try:
            if config.decision == "abort":
                yield from abort_from_the_ui(context, spec, config, terraform, artie)
                return
            metadata = decide(
                validation_records(context.instance, spec),
                config.who,
                config.decision,
                config.comment,
                config.validation_id,
            )
        except ApprovalError as e:
            raise dg.Failure(str(e)) from e
        context.log.info(
            f"{metadata['who']} decided {metadata['decision']} on validation "
            f"{metadata['validation_id'] or '(none)'}"
        )
        yield dg.MaterializeResult(metadata=metadata)

    return approval


def abort_from_the_ui(
    context: dg.AssetExecutionContext,
    spec: MigrationSpec,
    config: ApprovalConfig,
    terraform: TerraformResource,
    artie: ArtieApiResource,
):
    """The approval's `abort`: the decision is materialized once, in this run and before the
    rollback starts (so nothing advances again; a retry of the run continues it and records
    nothing), then the rollback is observed on the asset."""
    retry_like_the_abort_job(context.instance, context.run_id, spec)
    results = abort_in_run(
        context, spec, config.who, config.comment, terraform, artie, config.validation_id
    )
    context.log.info(f"{config.who} decided abort: {spec.name} is rolled back")
    yield dg.AssetObservation(
        asset_key=approval_key(spec), metadata={"rollback": dg.MetadataValue.md(summary(results))}
    )


def build_assets(spec: MigrationSpec) -> list:
    """Everything the migration shows in the asset graph; the reader, pipelines and destinations
    link to the code of the Terraform steps that change them."""
    return [
        *external_assets(spec, code_references(run_step, step_event)),
        *dg.with_source_code_references([validation_assets(spec), approval_asset(spec)]),
    ]

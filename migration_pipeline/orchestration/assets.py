"""Per migration: the validation_report asset (with its checks) and the approval asset."""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations.
from typing import Literal

import dagster as dg

from migration_pipeline.errors import ApprovalError
from migration_pipeline.orchestration.approvals import decide
from migration_pipeline.orchestration.checks import CHECKS, checks
from migration_pipeline.orchestration.destinations import run_validation
from migration_pipeline.orchestration.event_metadata import (
    approval_key,
    validation_key,
    validation_metadata,
    validation_records,
)
from migration_pipeline.orchestration.resources import (
    ArtieApiResource,
    TerraformResource,
    ValidationResource,
)
from migration_pipeline.orchestration.rollback import abort_and_roll_back, summary
from migration_pipeline.orchestration.runs import pool
from migration_pipeline.spec import MigrationSpec


class ApprovalConfig(dg.Config):
    """Your decision on the latest validation: approve, reject, or abort the migration."""

    who: str
    decision: Literal["approve", "reject", "abort"] = "approve"
    comment: str = ""
    # The validation you reviewed (validation_id in the validation_report's metadata): when
    # given, the decision is refused if a newer validation exists.
    validation_id: str = ""


def build_assets(spec: MigrationSpec) -> list[dg.AssetsDefinition]:
    key = validation_key(spec)

    @dg.asset(key=key, group_name=spec.name, pool=pool(spec), check_specs=[
        dg.AssetCheckSpec(name, asset=key, description=doc) for name, doc in CHECKS.items()],
        description=(
        f"The new destination of {spec.name} compared with the old one, table by table (rows, "
        "missing / extra / changed keys, lag). The migration job materializes it on every "
        "validation; materialize it here to validate now."))
    def validation_report(context: dg.AssetExecutionContext, terraform: TerraformResource,
                          validation: ValidationResource) -> dg.MaterializeResult:
        runner = terraform.runner(spec)
        runner.init()
        report = run_validation(spec, runner.state(), validation.options())
        return dg.MaterializeResult(metadata=validation_metadata(report), check_results=[
            dg.AssetCheckResult(check_name=o.name, passed=o.passed, metadata=o.metadata)
            for o in checks(report)])

    @dg.asset(key=approval_key(spec), group_name=spec.name, pool=pool(spec), description=(
        f"A person's decision on the cutover of {spec.name}: materialize with config who / "
        "decision (approve, reject, abort) / comment. An approval holds for the clean "
        "validation it saw until a later validation confirms a mismatch (an inconclusive one "
        "does not void it). Abort (before cutover only) "
        "rolls the migration back: the new pipeline deleted, the reader as it was before."))
    def approval(context: dg.AssetExecutionContext, config: ApprovalConfig,
                 terraform: TerraformResource, artie: ArtieApiResource) -> dg.MaterializeResult:
        try:
            metadata = decide(validation_records(context.instance, spec), config.who,
                              config.decision, config.comment, config.validation_id)
        except ApprovalError as e:
            raise dg.Failure(str(e)) from e
        if config.decision == "abort":
            # Recorded before the rollback starts (so nothing advances again), then rolled back.
            with artie.client() as client:
                results = abort_and_roll_back(context.instance, spec, config.who,
                                              config.comment, terraform.runner(spec), client)
            metadata = {**metadata, "rollback": dg.MetadataValue.md(summary(results))}
        context.log.info(f"{metadata['who']} decided {metadata['decision']} on validation "
                         f"{metadata['validation_id'] or '(none)'}")
        return dg.MaterializeResult(metadata=metadata)

    return [validation_report, approval]

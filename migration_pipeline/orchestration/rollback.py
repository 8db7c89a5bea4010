"""Abort before cutover: record the decision, then roll back with the guarded abort steps.

One path for the three ways a person aborts: the approval asset's `abort` decision, the launchable
`<migration>_abort_job`, and `migration-pipeline abort`. The decision is recorded before any
step runs, so an interrupted rollback never lets the migration advance again; running the
abort again finishes the rollback (each step is idempotent). Both Dagster ways carry the same run
tags (`runs.job_tags`), so Dagster retries a rollback whose worker died either way, and record
the decision once in the run a person launched: its retries continue that decision.
"""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations.
import dagster as dg

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.orchestration.approvals import record_approval, record_in_run
from migration_pipeline.orchestration.resources import ArtieApiResource, TerraformResource
from migration_pipeline.orchestration.runs import job_tags, pool
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform import abort
from migration_pipeline.terraform.results import StepResult
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline.terraform.steps import abort_migration


def abort_and_roll_back(
    instance: dg.DagsterInstance,
    spec: MigrationSpec,
    who: str,
    comment: str,
    runner: TerraformRunner,
    artie: ArtieClient,
    context: dg.OpExecutionContext | dg.AssetExecutionContext | None = None,
    reviewed: str = "",
) -> tuple[StepResult, ...]:
    """Refuse after cutover; otherwise record `who`'s abort and run the rollback steps. From a run
    (`context`), the decision is recorded in that run, once for it and its retries; without one
    (the CLI), every command is a person's decision and is recorded."""
    abort.check_before_cutover(spec)
    if context is None:
        record_approval(instance, spec, who, "abort", comment, reviewed)
    else:
        record_in_run(context, spec, who, "abort", comment, reviewed)
    return abort_migration(spec, runner, artie)


def abort_in_run(
    context: dg.OpExecutionContext | dg.AssetExecutionContext,
    spec: MigrationSpec,
    who: str,
    comment: str,
    terraform: TerraformResource,
    artie: ArtieApiResource,
    reviewed: str = "",
) -> tuple[StepResult, ...]:
    """The abort from a Dagster run (the abort job, the approval asset's decision)."""
    with artie.client() as client:
        return abort_and_roll_back(
            context.instance, spec, who, comment, terraform.runner(spec), client, context, reviewed
        )


def retry_like_the_abort_job(
    instance: dg.DagsterInstance, run_id: str, spec: MigrationSpec
) -> None:
    """Give the run that aborts from the approval asset (a UI materialization: Dagster's asset
    job, with none of the migration's tags) the abort job's tags, the migration's name and its
    run retries, so a rollback whose worker dies is retried whichever way it started. Dagster
    reads a run's retry tags when the run fails: tagging it before the rollback is enough."""
    instance.add_run_tags(run_id, job_tags(spec))


def summary(results: tuple[StepResult, ...]) -> str:
    return "\n\n".join(r.to_markdown() for r in results)


class AbortConfig(dg.Config):
    """Who aborts the migration, and why."""

    who: str
    comment: str = ""


def build_abort_job(spec: MigrationSpec) -> dg.JobDefinition:
    """`<migration>_abort_job`: abort and roll back (before cutover only)."""

    @dg.op(
        name="roll_back",
        pool=pool(spec),
        description=(
            f"Abort {spec.name} and roll it back: delete the new pipeline (the plan may only destroy "
            "it), then put the reader's is_shared / tables back as they were before the migration "
            "(the plan may only update those). Refused once the cutover has started."
        ),
    )
    def roll_back(
        context: dg.OpExecutionContext,
        config: AbortConfig,
        terraform: TerraformResource,
        artie: ArtieApiResource,
    ) -> None:
        results = abort_in_run(context, spec, config.who, config.comment, terraform, artie)
        context.log.info(f"{spec.name} aborted by {config.who} and rolled back.")
        context.add_output_metadata({"rollback": dg.MetadataValue.md(summary(results))})

    @dg.job(
        name=f"{spec.name}_abort_job",
        executor_def=dg.in_process_executor,
        tags=job_tags(spec),
        description=(
            f"Abort the migration {spec.name} before cutover and roll it back (launch with "
            "config: who, comment)."
        ),
    )
    def abort_job():
        roll_back()

    return abort_job

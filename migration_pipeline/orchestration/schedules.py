"""The validation schedule: keeps the evidence fresh from the moment the new pipeline streams
until the cutover, so an approval waiting for a person does not go stale."""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations.
import dagster as dg

from migration_pipeline.orchestration.event_metadata import validation_key
from migration_pipeline.orchestration.facts import Snapshot, gather
from migration_pipeline.orchestration.graph import mismatches_key
from migration_pipeline.orchestration.resources import ArtieApiResource, TerraformResource
from migration_pipeline.orchestration.runs import job_tags
from migration_pipeline.phases import Phase, Step, is_streaming
from migration_pipeline.spec import MigrationSpec


def skip_reason(snapshot: Snapshot) -> str | None:
    """Why a validation now would mean nothing, or None when it is due."""
    a, facts = snapshot.assessment, snapshot.facts
    if a.phase in (Phase.PLANNED, Phase.READER_SHARED):
        return f"{a.phase}: the new pipeline does not exist yet, nothing to validate ({a.reason})"
    if a.phase in (Phase.CUT_OVER, Phase.COMPLETE) or facts.module.pending_step == Step.CUTOVER:
        return f"{a.phase}: the cutover is under way or done, nothing left to validate"
    if a.phase == Phase.ABORTED:
        return f"aborted: {a.reason}"
    if not is_streaming(facts.new_status):
        return f"{a.phase}: the new pipeline does not stream every table yet ({a.reason})"
    return None


def tick(spec: MigrationSpec, snapshot: Snapshot) -> dg.RunRequest | dg.SkipReason:
    """A tick's answer to the facts read: a validation run tagged with the migration and its
    phase, or why not."""
    reason = skip_reason(snapshot)
    if reason is not None:
        return dg.SkipReason(reason)
    return dg.RunRequest(tags={**job_tags(spec), "migration/phase": str(snapshot.assessment.phase)})


def build_validation_job(spec: MigrationSpec):
    """`<migration>_validation_job`: materializes validation_report and validation_mismatches."""
    return dg.define_asset_job(
        f"{spec.name}_validation_job",
        selection=[validation_key(spec), mismatches_key(spec)],
        tags=job_tags(spec),
        description=(f"Validate {spec.name} now: compare the new destination with the old one."),
    )


def build_schedule(spec: MigrationSpec, job) -> dg.ScheduleDefinition:
    settings = spec.validation.schedule

    @dg.schedule(
        name=f"{spec.name}_validation_schedule",
        job=job,
        cron_schedule=settings.cron,
        execution_timezone=settings.timezone,
        default_status=(
            dg.DefaultScheduleStatus.RUNNING
            if settings.enabled
            else dg.DefaultScheduleStatus.STOPPED
        ),
        description=(
            f"Validates {spec.name} on a schedule ({settings.cron}, "
            f"{settings.timezone}) while the new pipeline streams and the cutover has "
            "not happened, so the evidence stays fresh while the migration waits for "
            "approval. Skips, saying why, before the new pipeline streams, after the "
            "cutover and once aborted."
        ),
    )
    def validation_schedule(
        context: dg.ScheduleEvaluationContext, terraform: TerraformResource, artie: ArtieApiResource
    ):
        with artie.client() as client:
            snapshot = gather(spec, terraform.runner(spec), client, context.instance)
        return tick(spec, snapshot)

    return validation_schedule

"""The catch-up sensor: looks at the facts and launches the job when a gate may have opened."""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations.
import dagster as dg

from migration_pipeline.orchestration.facts import Snapshot, gather
from migration_pipeline.orchestration.refusals import latest_refusal
from migration_pipeline.orchestration.resources import ArtieApiResource, TerraformResource
from migration_pipeline.phases import Assessment, Phase, is_streaming
from migration_pipeline.spec import MigrationSpec

# A run in any of these may still be inside `terraform apply`.
ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
          dg.DagsterRunStatus.MANAGED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.SUSPENDED,
          dg.DagsterRunStatus.CANCELING]


def launch_reason(snapshot: Snapshot) -> str | None:
    """Why a run now could advance the migration, or None when it would stop where it is."""
    a: Assessment = snapshot.assessment
    if a.phase in (Phase.PLANNED, Phase.COMPLETE, Phase.ABORTED):
        return None  # a person starts a migration (launches the job); the sensor carries it on
    if a.next_step:
        return f"{a.next_step} is allowed: {a.reason}"
    gate = a.closed_gate
    if gate is None:
        return None
    if gate.name == "catch_up" and is_streaming(snapshot.facts.new_status):
        return "the new pipeline streams every table: validate again"
    if gate.name == "fresh_validation":
        return "approved, but the latest validation is too old: validate again"
    return None


def run_blocker(instance: dg.DagsterInstance, job_name: str) -> str | None:
    """Why the sensor must not launch now: a run is in progress, or the latest one failed."""
    active = instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=ACTIVE), limit=1)
    if active:
        return f"run {active[0].run_id} of {job_name} is still in progress"
    latest = instance.get_runs(dg.RunsFilter(job_name=job_name), limit=1)
    refused = latest_refusal(instance, job_name)
    if refused:
        return (f"the latest run {latest[0].run_id} of {job_name} was refused: {refused} "
                "Fix that, then launch the job again.")
    if latest and latest[0].status == dg.DagsterRunStatus.FAILURE:
        # A closed gate ends a run successfully; a failure needs a person, not a retry loop.
        return (f"the latest run {latest[0].run_id} of {job_name} failed: read its logs, fix "
                "the cause, then launch the job again (the sensor resumes after it succeeds)")
    return None


def build_sensor(spec: MigrationSpec, job: dg.JobDefinition) -> dg.SensorDefinition:
    @dg.sensor(name=f"{spec.name}_catch_up_sensor", job=job,
               minimum_interval_seconds=spec.gates.poll_seconds,
               default_status=dg.DefaultSensorStatus.RUNNING, description=(
                   f"Polls {spec.name}'s pipeline status, validations and approvals; once a "
                   "person has launched the migration job, launches it again when the new "
                   "pipeline has caught up, when a validation is due, or when an approval opens "
                   "the cutover. Skips while a run is active, and after a failed run until a person "
                   "launches the job again."))
    def catch_up_sensor(context: dg.SensorEvaluationContext, terraform: TerraformResource,
                        artie: ArtieApiResource):
        blocker = run_blocker(context.instance, job.name)
        if blocker:
            return dg.SkipReason(blocker)
        with artie.client() as client:
            snapshot = gather(spec, terraform.runner(spec), client, context.instance)
        reason = launch_reason(snapshot)
        if reason is None:
            return dg.SkipReason(f"{snapshot.assessment.phase}: {snapshot.assessment.reason}")
        return dg.RunRequest(tags={"migration/phase": str(snapshot.assessment.phase),
                                   "migration/reason": reason[:200]})

    return catch_up_sensor

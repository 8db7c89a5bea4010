"""The migration job: one op per step, each advancing only when its gate is open.

Every op looks at the facts again, runs its step only when the phase says it is next, passes
through when it is already done, and otherwise stops: it yields `gate_closed` (with the reason as
metadata) instead of `proceed`, so every later op shows as skipped. Nothing waits inside a run;
the catch-up sensor launches the job again when a gate may have opened.
"""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations.
from collections.abc import Iterator

import dagster as dg

from migration_pipeline.orchestration.event_metadata import totals, validation_record
from migration_pipeline.orchestration.evidence import gather_evidence
from migration_pipeline.orchestration.facts import Snapshot, gate_settings, gather
from migration_pipeline.orchestration.graph import step_event
from migration_pipeline.orchestration.instance_checks import instance_checks
from migration_pipeline.orchestration.refusals import REFUSALS, refuse
from migration_pipeline.orchestration.resources import (
    ArtieApiResource,
    TerraformResource,
    ValidationResource,
)
from migration_pipeline.orchestration.runs import job_name, job_tags, pool, stop_tags
from migration_pipeline.phases import Phase, Step, done_in, is_streaming
from migration_pipeline.preflight import preflight, require
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.inputs import check_inputs
from migration_pipeline.terraform.steps import run_step
from migration_pipeline.validation import ValidationReport

MISMATCH_KEYS_SHOWN = 3

OUTS = {
    "proceed": dg.Out(is_required=False, description="The gate is open: go on."),
    "gate_closed": dg.Out(is_required=False, description="Stopped here; see the reason."),
}


def stop(
    context, snapshot: Snapshot, reason: str | None = None, gate: str | None = None, keys: str = ""
) -> Iterator[dg.Output]:
    """End the run here: the reason as output metadata and, for the runs list, as run tags
    (`migration/stopped_at` = the closed gate, `migration/stop_reason`, and the first
    mismatched keys when a validation found some)."""
    a = snapshot.assessment
    reason = reason or a.reason
    gate = gate or (a.closed_gate.name if a.closed_gate else str(a.phase))
    context.log.info(f"Stopped in phase {a.phase} at {gate}: {reason}")
    context.instance.add_run_tags(context.run_id, stop_tags(gate, reason, keys))
    yield dg.Output(
        None,
        "gate_closed",
        metadata={"phase": str(a.phase), "gate": gate, "reason": dg.MetadataValue.text(reason)},
    )


def first_keys(report: ValidationReport) -> str:
    """The first mismatched keys of each table (`orders (id): 4; 9; 12 (of 7)`), or ''."""
    shown = []
    for table in report.tables:
        keys = table.listed_keys()[:MISMATCH_KEYS_SHOWN]
        if keys:
            columns = ", ".join(table.key_columns) or "key"
            listed = "; ".join(", ".join(map(str, key)) for key in keys)
            more = "" if table.mismatched_rows <= len(keys) else f" (of {table.mismatched_rows})"
            shown.append(f"{table.table} ({columns}): {listed}{more}")
    return " | ".join(shown)


def mismatch_reason(spec: MigrationSpec, report: ValidationReport, reason: str) -> str:
    """`reason`, then the first mismatched keys of each table and where to read them all."""
    keys = first_keys(report)
    if not keys:
        return reason
    return (
        f"{reason} First mismatched keys: {keys}. Every key: the "
        f"{spec.name}/validation_mismatches asset (and validation_report's metadata)."
    )


def proceed(context, snapshot: Snapshot, note: str, **metadata) -> Iterator[dg.Output]:
    context.log.info(note)
    yield dg.Output(
        None,
        "proceed",
        metadata={
            "phase": str(snapshot.assessment.phase),
            "note": dg.MetadataValue.text(note),
            **metadata,
        },
    )


def look(
    spec: MigrationSpec, context, terraform: TerraformResource, artie: ArtieApiResource
) -> Snapshot:
    """The migration's facts now, as an op sees them."""
    with artie.client() as client:
        return gather(spec, terraform.runner(spec), client, context.instance)


def before_first_step(context, spec: MigrationSpec, artie: ArtieApiResource) -> None:
    """Preflight before anything is applied: a failed check stops the run with every failed
    line; the instance's lines are warnings here (rehearsals and tests run on temporary
    instances without the shipped limits; `migration-pipeline preflight` fails on them)."""
    results = preflight(spec, artie.api_key, job=True)
    for result in instance_checks(context.instance, spec):
        if not result.passed:
            context.log.warning(result.line())
    require(results)
    context.log.info("Preflight passed: " + ", ".join(r.name for r in results))


def _step_op(spec: MigrationSpec, name: str, step: Step, description: str):
    @dg.op(
        name=name,
        description=description,
        out=OUTS,
        ins={"after": dg.In(dg.Nothing)},
        pool=pool(spec),
    )
    def step_op(
        context: dg.OpExecutionContext, terraform: TerraformResource, artie: ArtieApiResource
    ):
        runner = terraform.runner(spec)
        with artie.client() as client:
            a = snapshot = None
            try:
                if step == Step.PROMOTE:  # the job's first step: inputs checked before any apply
                    runner.init()
                    check_inputs(spec, runner.state(), client, runner.evaluate)
                snapshot = gather(spec, runner, client, context.instance)
                a = snapshot.assessment
                if step == Step.PROMOTE and a.next_step == Step.PROMOTE:
                    before_first_step(context, spec, artie)
                result = run_step(step, spec, runner, client) if a.next_step == step else None
            except REFUSALS as e:
                yield from refuse(context, step, e, a.phase if a else None)
                return
            if result is not None:
                if result.status == "applied":
                    context.log_event(step_event(spec, step, result))
                context.log.info(f"{step} runs because: {a.reason}")
                yield from proceed(
                    context,
                    snapshot,
                    result.message,
                    reason=dg.MetadataValue.text(a.reason),  # e.g. the tables a reader lost
                    step_result=dg.MetadataValue.md(result.to_markdown()),
                )
            elif done_in(step, a.phase):
                yield from proceed(context, snapshot, f"{step}: already done (phase {a.phase}).")
            else:
                yield from stop(context, snapshot)

    return step_op


def _validate_op(spec: MigrationSpec):
    @dg.op(
        name="validate_destinations",
        out=OUTS,
        ins={"after": dg.In(dg.Nothing)},
        pool=pool(spec),
        description=(
            "Once the new pipeline streams every table, compare the new destination with the old one "
            "(recorded as the validation_report asset and its checks). Goes on when enough "
            "consecutive validations were clean; otherwise stops with the reason."
        ),
    )
    def validate_destinations(
        context: dg.OpExecutionContext,
        terraform: TerraformResource,
        artie: ArtieApiResource,
        validation: ValidationResource,
    ):
        snapshot = look(spec, context, terraform, artie)
        a = snapshot.assessment
        # A block removed by hand (no cutover journal) still needs fresh validations: the
        # phases then hold the cutover behind the approval and freshness gates.
        if done_in(Step.CUTOVER, a.phase) or snapshot.facts.module.pending_step == Step.CUTOVER:
            yield from proceed(
                context, snapshot, "Nothing to validate: the cutover is under way or done."
            )
            return
        if a.phase in (Phase.ABORTED, Phase.PLANNED, Phase.READER_SHARED):
            yield from stop(context, snapshot)
            return
        if not is_streaming(snapshot.facts.new_status):
            yield from stop(context, snapshot)
            return
        with artie.client() as client:  # a connector taken as a variable is found through it
            evidence = gather_evidence(spec, snapshot, validation, client)
        for event in evidence.events(spec):
            context.log_event(event)
        report = evidence.report
        snapshot = snapshot.with_validation(validation_record(report), gate_settings(spec))
        gate = snapshot.assessment.gate("catch_up")
        if gate is None or not gate.open:
            reason = gate.reason if gate else snapshot.assessment.reason
            yield from stop(
                context,
                snapshot,
                mismatch_reason(spec, report, reason),
                "catch_up",
                first_keys(report),
            )
        else:
            yield from proceed(context, snapshot, gate.reason, **totals(report))

    return validate_destinations


def _approval_op(spec: MigrationSpec):
    @dg.op(
        name="check_approval",
        out=OUTS,
        ins={"after": dg.In(dg.Nothing)},
        pool=pool(spec),
        description=(
            "Goes on only when a person approved a clean validation that no later validation has "
            "voided with a confirmed mismatch (the approval asset, or `migration-pipeline approve`) "
            "and the latest validation is clean and recent enough; otherwise stops and says what is "
            "missing."
        ),
    )
    def check_approval(
        context: dg.OpExecutionContext, terraform: TerraformResource, artie: ArtieApiResource
    ):
        snapshot = look(spec, context, terraform, artie)
        a = snapshot.assessment
        if a.next_step == Step.CUTOVER or done_in(Step.CUTOVER, a.phase):
            yield from proceed(context, snapshot, a.reason)
        else:
            yield from stop(context, snapshot)

    return check_approval


STEP_OPS: tuple[tuple[str, Step, str], ...] = (
    (
        "promote_reader",
        Step.PROMOTE,
        "Share the source reader: `is_shared = true` and `tables` = "
        "every attached pipeline's tables; the plan may only update the reader. A no-op once done.",
    ),
    (
        "create_pipeline",
        Step.CREATE,
        "Add the new artie_pipeline (a copy of the old one with the "
        "spec's overrides) on the shared reader; the plan may only create it.",
    ),
    (
        "cut_over",
        Step.CUTOVER,
        "Delete the old pipeline (remove its block; the plan may only delete "
        "it). Runs only with a valid approval and a fresh clean validation.",
    ),
    (
        "unshare_reader",
        Step.UNSHARE,
        "Make the reader dedicated again (`is_shared = false`, `tables` "
        "removed) when the spec asks for it and one pipeline is left.",
    ),
)


def build_job(spec: MigrationSpec) -> dg.JobDefinition:
    """`<migration>_job`: promote, create, validate, approval gate, cut over, unshare."""
    promote, create, cut, unshare = (_step_op(spec, *op) for op in STEP_OPS)
    validate, approve = _validate_op(spec), _approval_op(spec)

    @dg.job(
        name=job_name(spec),
        executor_def=dg.in_process_executor,
        tags=job_tags(spec),
        description=(
            f"Advance the migration {spec.name} as far as its gates allow; safe to launch at any "
            "time (every step is idempotent)."
        ),
    )
    def migration_job():
        out = promote().proceed
        for op in (create, validate, approve, cut, unshare):
            out = op(after=out).proceed

    return migration_job

"""The catch-up sensor: carries on a migration a person launched, when a gate may have opened.

It acts only after a person launched the job (a run without the sensor's tag) and stops for good
once a person terminated a run or a run failed, until a person launches again. A run whose
worker crashed is not a failure here: Dagster's run retries launch it again and the sensor waits
for that. It launches only when what the gates read changed since its last launch (a new
validation, a decision, Artie's table statuses): the cursor keeps that fingerprint, so a lasting
mismatch or a closed gate costs a look per poll, never a run per poll.
"""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations.
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass

import dagster as dg

from migration_pipeline.orchestration.facts import Snapshot, gather
from migration_pipeline.orchestration.resources import ArtieApiResource, TerraformResource
from migration_pipeline.orchestration.runs import (
    RETRIED_BY_TAG,
    SENSOR,
    automation,
    sensor_tags,
    short,
)
from migration_pipeline.phases import Assessment, Phase, is_streaming
from migration_pipeline.spec import RETRY_GRACE_SECONDS, MigrationSpec
from migration_pipeline.validation.verdict import MISMATCH


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
        if lasting_mismatch(snapshot):
            return None
        return "the new pipeline streams every table: validate again"
    if gate.name == "fresh_validation":
        return "approved, but the latest validation is too old: validate again"
    return None


def lasting_mismatch(snapshot: Snapshot) -> bool:
    """The latest validation confirmed a mismatch (one seen again after its rows settled):
    validating again at once would find it again."""
    latest = snapshot.facts.validations[:1]
    return bool(latest) and latest[0].verdict == MISMATCH


def fingerprint(snapshot: Snapshot) -> str:
    """What the gates read, in short: the phase and next step, Artie's table statuses, the latest
    decision and the latest validation (a lasting mismatch counts as one state, however many
    validations repeat it)."""
    f, a = snapshot.facts, snapshot.assessment
    status = f.new_status
    approval = f.approval
    latest = f.validations[0] if f.validations else None
    facts = {
        "phase": str(a.phase),
        "next_step": str(a.next_step or ""),
        "artie": None
        if status is None
        else [status.status, sorted((t.schema, t.name, t.status or "") for t in status.tables)],
        "approval": None
        if approval is None
        else [
            approval.decision,
            approval.validation_id,
            approval.who,
            approval.at.isoformat() if approval.at else "",
        ],
        "validation": "lasting mismatch"
        if lasting_mismatch(snapshot)
        else (None if latest is None else [latest.id, latest.verdict]),
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Cursor:
    """The sensor's memory between ticks: the newest person's launch seen and the fingerprint of
    the facts its last launch acted on."""

    person_run: str | None = None
    launched: str | None = None

    @classmethod
    def load(cls, text: str | None) -> "Cursor":
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return cls()  # a cursor from an older version: start afresh (launches are guarded)
        return cls(data.get("person_run"), data.get("launched"))

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def tick(
    context: dg.SensorEvaluationContext,
    job_name: str,
    read: Callable[[], Snapshot],
    grace: float = RETRY_GRACE_SECONDS,
) -> dg.RunRequest | dg.SkipReason:
    """One evaluation of the sensor: its standing from the job's runs first, then (only when
    nothing blocks it) the facts `read` gathers; the cursor keeps the person's launch and the
    fingerprint of each launch. A crash Dagster has not retried within `grace` s is launched."""
    cursor = Cursor.load(context.cursor)
    standing = automation(context.instance, job_name, cursor.person_run, grace=grace)
    if standing.person_run != cursor.person_run:
        cursor = Cursor(standing.person_run, cursor.launched)
        context.update_cursor(cursor.dump())
    if standing.blocker:
        return dg.SkipReason(standing.blocker)
    if standing.missed_retry:
        # Nobody decided anything: the crashed run is launched again, as Dagster would have.
        context.instance.add_run_tags(standing.missed_retry, {RETRIED_BY_TAG: SENSOR})
        return dg.RunRequest(
            run_key=f"retry-of:{standing.missed_retry}",
            tags={
                **sensor_tags(),
                "migration/reason": short(
                    f"Dagster did not retry crashed run {standing.missed_retry} within "
                    f"{grace:g} s: launched in its place"
                ),
            },
        )
    snapshot = read()
    a = snapshot.assessment
    reason = launch_reason(snapshot)
    if reason is None:
        return dg.SkipReason(
            f"{a.phase}: {a.reason}"
            + (
                " A confirmed mismatch: the sensor launches again after the next validation (the "
                "validation schedule, or materialize validation_report), a decision or a change "
                "in Artie's status."
                if lasting_mismatch(snapshot)
                else ""
            )
        )
    seen = fingerprint(snapshot)
    if seen == cursor.launched:
        return dg.SkipReason(f"{a.phase}: {a.reason} (nothing changed since the last launch)")
    context.update_cursor(Cursor(cursor.person_run, seen).dump())
    return dg.RunRequest(
        run_key=f"{cursor.person_run}:{seen}",
        tags={
            **sensor_tags(),
            "migration/phase": str(a.phase),
            "migration/reason": short(reason),
        },
    )


def build_sensor(spec: MigrationSpec, job: dg.JobDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{spec.name}_catch_up_sensor",
        job=job,
        minimum_interval_seconds=spec.gates.poll_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Carries on {spec.name} after a person launched its job: launches it again "
            "when the new pipeline has caught up, when a validation is due, or when an "
            "approval opens the cutover, and only when one of those changed since its last "
            "launch. Launches nothing before a person's first launch, while a run is "
            "active, and after a run a person terminated or one that failed, until a "
            "person launches the job again (a run whose worker crashed is retried by "
            "Dagster, or by this sensor if Dagster has not within "
            f"{spec.gates.retry_grace_seconds:g} s: not a failure). Its "
            "runs carry the tag "
            "migration/launched_by=sensor."
        ),
    )
    def catch_up_sensor(
        context: dg.SensorEvaluationContext, terraform: TerraformResource, artie: ArtieApiResource
    ):
        def read() -> Snapshot:
            with artie.client() as client:
                return gather(spec, terraform.runner(spec), client, context.instance)

        return tick(context, job.name, read, spec.gates.retry_grace_seconds)

    return catch_up_sensor

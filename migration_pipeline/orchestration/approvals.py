"""A person's decision on the cutover: who may decide what, recorded as an approval event."""

from __future__ import annotations

import os

import dagster as dg

from migration_pipeline.errors import ApprovalError, ConfigurationError
from migration_pipeline.orchestration.event_metadata import (
    approval_key,
    approval_metadata,
    validation_records,
)
from migration_pipeline.phases import Approval, ValidationRecord
from migration_pipeline.spec import MigrationSpec

DECISIONS = ("approve", "reject", "abort")


def decide(
    records: tuple[ValidationRecord, ...], who: str, decision: str, comment: str, reviewed: str = ""
) -> dict[str, str | bool]:
    """The metadata of a decision: who, the decision, the comment and the validation it saw.
    An approval needs a latest validation that passed; `reviewed` (the validation id the person
    read) must then be that latest one."""
    if decision not in DECISIONS:
        raise ApprovalError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if not who.strip():
        raise ApprovalError("say who decides (who: your name or handle)")
    latest = records[0] if records else None
    if decision == "approve" and (latest is None or not latest.clean):
        raise ApprovalError(
            "nothing to approve: no validation has run yet. Approve once the job's "
            "validate_destinations step or the validation schedule has recorded a clean one."
            if latest is None
            else f"nothing to approve: the latest validation ({latest.id}) was {latest.verdict}. "
            "Let the job validate again, then approve."
        )
    if reviewed and latest is not None and reviewed != latest.id:
        raise ApprovalError(
            f"you reviewed validation {reviewed}, but the latest is {latest.id}: read the latest "
            "validation_report, then decide again"
        )
    return approval_metadata(
        Approval(who.strip(), decision, latest.id if latest else "", comment),
        latest.verdict if latest else "",
    )


def record_approval(
    instance: dg.DagsterInstance,
    spec: MigrationSpec,
    who: str,
    decision: str,
    comment: str = "",
    reviewed: str = "",
) -> dict:
    """Record a decision without a run (the CLI's way); the job honours it like a UI one."""
    metadata = decide(validation_records(instance, spec), who, decision, comment, reviewed)
    instance.report_runless_asset_event(
        dg.AssetMaterialization(approval_key(spec), metadata=metadata)
    )
    return metadata


def record_in_run(
    context: dg.OpExecutionContext | dg.AssetExecutionContext,
    spec: MigrationSpec,
    who: str,
    decision: str,
    comment: str = "",
    reviewed: str = "",
) -> None:
    """Record a decision from the run that acts on it (the abort job, the approval asset), linked
    to that run; once for the run and its retries. Dagster's retry of a crashed run (or a
    re-execution) carries the first run's root run id and continues the decision that run
    recorded, without judging it again; a run a person launches anew is a new decision."""
    if recorded_by(context.instance, spec, context.run):
        return
    metadata = decide(validation_records(context.instance, spec), who, decision, comment, reviewed)
    context.log_event(dg.AssetMaterialization(approval_key(spec), metadata=metadata))


def recorded_by(instance: dg.DagsterInstance, spec: MigrationSpec, run: dg.DagsterRun) -> bool:
    """Whether the latest decision was recorded by `run` or by a run of the same lineage."""
    found = instance.fetch_materializations(approval_key(spec), limit=1).records
    recorded = instance.get_run_by_id(found[0].run_id) if found and found[0].run_id else None
    return recorded is not None and same_lineage(recorded, run)


def same_lineage(recorded: dg.DagsterRun, run: dg.DagsterRun) -> bool:
    """`run` is `recorded` itself, or a retry or re-execution of the same first run."""
    return (recorded.root_run_id or recorded.run_id) == (run.root_run_id or run.run_id)


def open_instance() -> dg.DagsterInstance:
    """The Dagster instance under $DAGSTER_HOME (the one the job, sensor and UI use)."""
    if not os.environ.get("DAGSTER_HOME"):
        raise ConfigurationError(
            "DAGSTER_HOME is not set: point it at the Dagster instance the "
            "migration job runs in (where validations and approvals are kept)."
        )
    return dg.DagsterInstance.get()

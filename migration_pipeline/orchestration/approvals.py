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


def open_instance() -> dg.DagsterInstance:
    """The Dagster instance under $DAGSTER_HOME (the one the job, sensor and UI use)."""
    if not os.environ.get("DAGSTER_HOME"):
        raise ConfigurationError(
            "DAGSTER_HOME is not set: point it at the Dagster instance the "
            "migration job runs in (where validations and approvals are kept)."
        )
    return dg.DagsterInstance.get()

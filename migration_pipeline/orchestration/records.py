"""Validation and approval records as the Dagster instance keeps them (asset materializations)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import dagster as dg

from migration_pipeline.errors import ApprovalError, MigrationError
from migration_pipeline.phases import Approval, ValidationRecord
from migration_pipeline.spec import MigrationSpec

DECISIONS = ("approve", "reject", "abort")
HISTORY = 100  # validations read back: enough to find an approved one inside a clean streak


def validation_key(spec: MigrationSpec) -> dg.AssetKey:
    return dg.AssetKey([spec.name, "validation_report"])


def approval_key(spec: MigrationSpec) -> dg.AssetKey:
    return dg.AssetKey([spec.name, "approval"])


def _values(materialization: dg.AssetMaterialization) -> dict:
    return {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}


def validation_records(instance: dg.DagsterInstance, spec: MigrationSpec) -> tuple[ValidationRecord, ...]:
    """Every recorded validation of this migration, newest first."""
    records = []
    for rec in instance.fetch_materializations(validation_key(spec), limit=HISTORY).records:
        md = _values(rec.asset_materialization)
        if "validation_id" in md:
            records.append(ValidationRecord(
                md["validation_id"], bool(md["matches"]),
                datetime.fromtimestamp(float(md["finished_at"]), UTC),
                int(md.get("missing", 0)) + int(md.get("extra", 0)) + int(md.get("changed", 0))))
    return tuple(records)


def latest_approval(instance: dg.DagsterInstance, spec: MigrationSpec) -> Approval | None:
    """The latest decision recorded on the approval asset (from the UI or the CLI)."""
    found = instance.fetch_materializations(approval_key(spec), limit=1).records
    if not found:
        return None
    md = _values(found[0].asset_materialization)
    return Approval(md.get("who", ""), md.get("decision", ""), md.get("validation_id", ""),
                    md.get("comment", ""), datetime.fromtimestamp(found[0].timestamp, UTC))


def approval_metadata(records: tuple[ValidationRecord, ...], who: str, decision: str,
                      comment: str, reviewed: str = "") -> dict[str, str | bool]:
    """What an approval records: who, the decision, the comment and the validation it saw.
    An approval needs a latest validation that passed; `reviewed` (the validation id the person
    read) must then be that latest one."""
    if decision not in DECISIONS:
        raise ApprovalError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if not who.strip():
        raise ApprovalError("say who decides (who: your name or handle)")
    latest = records[0] if records else None
    if decision == "approve" and (latest is None or not latest.matches):
        raise ApprovalError(
            "nothing to approve: " + ("no validation has run yet" if latest is None else
                                      f"the latest validation ({latest.id}) did not pass")
            + ". Let the job validate again, then approve.")
    if reviewed and latest is not None and reviewed != latest.id:
        raise ApprovalError(
            f"you reviewed validation {reviewed}, but the latest is {latest.id}: read the latest "
            "validation_report, then decide again")
    return {"who": who.strip(), "decision": decision, "comment": comment,
            "validation_id": latest.id if latest else "",
            "validation_matches": bool(latest and latest.matches)}


def record_approval(instance: dg.DagsterInstance, spec: MigrationSpec, who: str, decision: str,
                    comment: str = "", reviewed: str = "") -> dict:
    """Record a decision without a run (the CLI's way); the job honours it like a UI one."""
    metadata = approval_metadata(validation_records(instance, spec), who, decision, comment,
                                 reviewed)
    instance.report_runless_asset_event(dg.AssetMaterialization(approval_key(spec), metadata=metadata))
    return metadata


def open_instance() -> dg.DagsterInstance:
    """The Dagster instance under $DAGSTER_HOME (the one the job, sensor and UI use)."""
    if not os.environ.get("DAGSTER_HOME"):
        raise MigrationError("DAGSTER_HOME is not set: point it at the Dagster instance the "
                             "migration job runs in (where validations and approvals are kept).")
    return dg.DagsterInstance.get()

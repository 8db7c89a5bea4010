"""The one codec of the Dagster events a migration keeps: what a validation_report materialization
and an approval materialization carry as metadata, written and read back only here.

A validation is named by the id its validation history row has (`ValidationReport.id`), so the
history, the event log and an approval all say the same id. Its mismatch count is the report's
own (`TableReport.mismatched_rows`: missing + extra + changed + duplicated keys); numbers are
numbers and times are timestamps, so Dagster plots them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from migration_pipeline.phases import Approval, ValidationRecord
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.validation import ValidationReport

HISTORY = 100  # validations read back: enough to find an approved one inside a clean streak


def validation_key(spec: MigrationSpec) -> dg.AssetKey:
    return dg.AssetKey([spec.name, "validation_report"])


def approval_key(spec: MigrationSpec) -> dg.AssetKey:
    return dg.AssetKey([spec.name, "approval"])


def validation_record(report: ValidationReport) -> ValidationRecord:
    """What the gates need of a validation (equal to what its metadata reads back as)."""
    return ValidationRecord(report.id, report.verdict, report.finished_at,
                            sum(t.mismatched_rows for t in report.tables), report.judgement.reason)


def totals(report: ValidationReport) -> dict[str, float | int]:
    """The numbers Dagster plots: rows, missing, extra, changed, duplicates, the verdict's
    counts and lag (seconds the new side trails the old; < 0: the old side trails)."""
    tables, summary = report.tables, report.summary
    return {
        "old_rows": sum(t.old_rows for t in tables),
        "new_rows": sum(t.new_rows for t in tables),
        "missing": sum(t.missing_in_new.total for t in tables),
        "extra": sum(t.extra_in_new.total for t in tables),
        "changed": sum(t.changed_total for t in tables),
        "duplicates": sum(t.duplicate_total for t in tables),
        "schema_differences": sum(t.schema_blocks for t in tables),
        "confirmed": summary.confirmed,
        "unconfirmed": summary.unconfirmed,
        "pending_deletes": summary.pending_deletes,
        "in_flight": summary.in_flight,
        "new_behind_old_seconds": summary.new_behind_old_seconds or 0.0,
    }


def validation_metadata(report: ValidationReport) -> dict[str, Any]:
    """The validation_report materialization's metadata."""
    record = validation_record(report)
    return {"validation_id": record.id, "verdict": record.verdict, "reason": record.reason,
            "finished_at": dg.MetadataValue.timestamp(record.finished_at),
            "mismatched_rows": record.mismatched_rows, **totals(report),
            "tables": dg.MetadataValue.md(report_markdown(report))}


def read_validation(metadata: Mapping[str, Any]) -> ValidationRecord | None:
    """The validation a validation_report materialization recorded (None: not one of ours)."""
    md = _values(metadata)
    if "validation_id" not in md:
        return None
    return ValidationRecord(str(md["validation_id"]), str(md.get("verdict", "")),
                            datetime.fromtimestamp(float(md["finished_at"]), UTC),
                            int(md.get("mismatched_rows", 0)), str(md.get("reason", "")))


def approval_metadata(approval: Approval, validation_verdict: str) -> dict[str, str | bool]:
    """The approval materialization's metadata (its time is the event's own timestamp)."""
    return {"who": approval.who, "decision": approval.decision, "comment": approval.comment,
            "validation_id": approval.validation_id, "validation_verdict": validation_verdict}


def read_approval(metadata: Mapping[str, Any], at: datetime | None) -> Approval:
    """The decision an approval materialization recorded at `at`."""
    md = _values(metadata)
    return Approval(str(md.get("who", "")), str(md.get("decision", "")),
                    str(md.get("validation_id", "")), str(md.get("comment", "")), at)


def validation_records(instance: dg.DagsterInstance,
                       spec: MigrationSpec) -> tuple[ValidationRecord, ...]:
    """Every recorded validation of this migration, newest first."""
    found = instance.fetch_materializations(validation_key(spec), limit=HISTORY).records
    records = (read_validation(r.asset_materialization.metadata) for r in found)
    return tuple(r for r in records if r is not None)


def latest_approval(instance: dg.DagsterInstance, spec: MigrationSpec) -> Approval | None:
    """The latest decision recorded on the approval asset (from the UI or the CLI)."""
    found = instance.fetch_materializations(approval_key(spec), limit=1).records
    if not found:
        return None
    return read_approval(found[0].asset_materialization.metadata,
                         datetime.fromtimestamp(found[0].timestamp, UTC))


def report_markdown(report: ValidationReport) -> str:
    lines = ["| table | verdict | old rows | new rows | missing | extra | changed | lag s |",
             "|---|---|---|---|---|---|---|---|"]
    for t in report.tables:
        lag = t.new_behind_old_seconds
        lines.append(f"| {t.table} -> {t.new_table or '(none)'} | {t.verdict} | {t.old_rows} | "
                     f"{t.new_rows} | {t.missing_in_new.total} | {t.extra_in_new.total} | "
                     f"{t.changed_total} | {'' if lag is None else f'{lag:.1f}'} |")
    lines += [f"\n{s.table}: skipped ({s.reason})" for s in report.skipped]
    return "\n".join(lines)


def _values(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}

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

from migration_pipeline.artie.models import PipelineDetail
from migration_pipeline.artie.progress import pipeline_progress, summary
from migration_pipeline.phases import Approval, ValidationRecord
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.validation import ValidationReport
from migration_pipeline.validation.report import INCREMENTAL

HISTORY = 100  # validations read back: enough to find an approved one inside a clean streak


def validation_key(spec: MigrationSpec) -> dg.AssetKey:
    return dg.AssetKey([spec.name, "validation_report"])


def approval_key(spec: MigrationSpec) -> dg.AssetKey:
    return dg.AssetKey([spec.name, "approval"])


def validation_record(report: ValidationReport) -> ValidationRecord:
    """What the gates and `status` need of a validation (equal to what its metadata reads back
    as)."""
    return ValidationRecord(
        report.id,
        report.verdict,
        report.finished_at,
        sum(t.mismatched_rows for t in report.tables),
        report.judgement.reason,
        report.mode,
        coverage_line(report),
    )


def coverage_line(report: ValidationReport) -> str:
    """What each table's comparison covered, in one line ("orders: incremental since
    12:03:04.118: 10,412 changed keys checked, counts equal; ...")."""
    return "; ".join(f"{t.table}: {t.coverage.description}" for t in report.tables)


def coverage_metadata(report: ValidationReport) -> dict[str, Any]:
    """Which mode ran and what it covered: the line, and as numbers the changed keys checked
    and the earliest change time an incremental table started from."""
    incremental = [t.coverage for t in report.tables if t.coverage.mode == INCREMENTAL]
    since = [c.since for c in incremental if c.since is not None]
    return {
        "mode": report.mode,
        "coverage": dg.MetadataValue.text(coverage_line(report)),
        "changed_keys_checked": sum(c.changed_keys for c in incremental),
        **({"incremental_since": dg.MetadataValue.timestamp(min(since))} if since else {}),
    }


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
    return {
        "validation_id": record.id,
        "verdict": record.verdict,
        "reason": record.reason,
        "finished_at": dg.MetadataValue.timestamp(record.finished_at),
        "mismatched_rows": record.mismatched_rows,
        **coverage_metadata(report),
        **totals(report),
        "dagster/row_count": sum(t.new_rows for t in report.tables),
        "tables": report_table(report),
    }


def progress_metadata(status: PipelineDetail | None, now: datetime) -> dict[str, Any]:
    """Where the new pipeline stood when it was validated: per table in one line, and its lag
    as numbers (only what Artie reported)."""
    if status is None:
        return {}
    tables = pipeline_progress(status, now)
    changes = [t.changes_behind for t in tables if t.changes_behind is not None]
    seconds = [t.seconds_behind for t in tables if t.seconds_behind is not None]
    return {
        "new_pipeline_progress": dg.MetadataValue.text(summary(status, now)),
        **({"changes_behind": max(changes)} if changes else {}),
        **({"seconds_behind": float(max(seconds))} if seconds else {}),
    }


def read_validation(metadata: Mapping[str, Any]) -> ValidationRecord | None:
    """The validation a validation_report materialization recorded (None: not one of ours)."""
    md = _values(metadata)
    if "validation_id" not in md:
        return None
    return ValidationRecord(
        str(md["validation_id"]),
        str(md.get("verdict", "")),
        datetime.fromtimestamp(float(md["finished_at"]), UTC),
        int(md.get("mismatched_rows", 0)),
        str(md.get("reason", "")),
        str(md.get("mode", "full")),
        str(md.get("coverage", "")),
    )


def approval_metadata(approval: Approval, validation_verdict: str) -> dict[str, str | bool]:
    """The approval materialization's metadata (its time is the event's own timestamp)."""
    return {
        "who": approval.who,
        "decision": approval.decision,
        "comment": approval.comment,
        "validation_id": approval.validation_id,
        "validation_verdict": validation_verdict,
    }


def read_approval(metadata: Mapping[str, Any], at: datetime | None) -> Approval:
    """The decision an approval materialization recorded at `at`."""
    md = _values(metadata)
    return Approval(
        str(md.get("who", "")),
        str(md.get("decision", "")),
        str(md.get("validation_id", "")),
        str(md.get("comment", "")),
        at,
    )


def validation_records(
    instance: dg.DagsterInstance, spec: MigrationSpec
) -> tuple[ValidationRecord, ...]:
    """Every recorded validation of this migration, newest first."""
    found = instance.fetch_materializations(validation_key(spec), limit=HISTORY).records
    records = (read_validation(r.asset_materialization.metadata) for r in found)
    return tuple(r for r in records if r is not None)


def latest_approval(instance: dg.DagsterInstance, spec: MigrationSpec) -> Approval | None:
    """The latest decision recorded on the approval asset (from the UI or the CLI)."""
    found = instance.fetch_materializations(approval_key(spec), limit=1).records
    if not found:
        return None
    return read_approval(
        found[0].asset_materialization.metadata, datetime.fromtimestamp(found[0].timestamp, UTC)
    )


TABLE_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("table", "string", description="old table -> new table"),
        dg.TableColumn("verdict", "string"),
        dg.TableColumn("old_rows", "int"),
        dg.TableColumn("new_rows", "int"),
        dg.TableColumn("missing", "int", description="keys in old, not in new"),
        dg.TableColumn("extra", "int", description="keys in new, not in old"),
        dg.TableColumn("changed", "int"),
        dg.TableColumn("duplicates", "int"),
        dg.TableColumn(
            "in_flight",
            "int",
            description="differences explained by rows still in flight under live replication",
        ),
        dg.TableColumn("new_behind_old_seconds", "float", description="how far new trails old"),
        dg.TableColumn(
            "mode",
            "string",
            description="full: every row; incremental: only the keys changed since `since`",
        ),
        dg.TableColumn(
            "since",
            "string",
            description="the change time an incremental comparison started from (UTC)",
        ),
        dg.TableColumn(
            "changed_keys", "int", description="changed keys an incremental comparison checked"
        ),
        dg.TableColumn(
            "coverage", "string", description="what the comparison covered, and why full"
        ),
        dg.TableColumn("note", "string", description="why a table was skipped"),
    ]
)


def report_table(report: ValidationReport) -> dg.TableMetadataValue:
    """Per-table results as a table Dagster renders (and skipped tables with their reason)."""
    rows = [
        dg.TableRecord(
            {
                "table": f"{t.table} -> {t.new_table or '(none)'}",
                "verdict": t.verdict,
                "old_rows": t.old_rows,
                "new_rows": t.new_rows,
                "missing": t.missing_in_new.total,
                "extra": t.extra_in_new.total,
                "changed": t.changed_total,
                "duplicates": t.duplicate_total,
                "in_flight": t.in_flight.total,
                "new_behind_old_seconds": t.new_behind_old_seconds,
                "mode": t.coverage.mode,
                "since": t.coverage.since.astimezone(UTC).isoformat() if t.coverage.since else None,
                "changed_keys": t.coverage.changed_keys if t.coverage.mode == INCREMENTAL else None,
                "coverage": t.coverage.description,
                "note": "",
            }
        )
        for t in report.tables
    ]
    blank = dict.fromkeys((c.name for c in TABLE_SCHEMA.columns), None)
    rows += [
        dg.TableRecord({**blank, "table": s.table, "verdict": "skipped", "note": s.reason})
        for s in report.skipped
    ]
    return dg.MetadataValue.table(rows, schema=TABLE_SCHEMA)


def _values(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}

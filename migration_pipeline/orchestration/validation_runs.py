"""One validation of a migration: compare, append to the history, and sum up for Dagster."""

from __future__ import annotations

from dataclasses import dataclass

from migration_pipeline.orchestration.destinations import destinations, table_mappings
from migration_pipeline.phases import ValidationRecord
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline.validation import ValidationOptions, ValidationReport, record, validate

CHECKS = {
    "row_counts_match": "Every table has as many live rows in the new destination as in the old "
                        "(a difference covered by rows still in flight under live replication is "
                        "allowed).",
    "content_matches": "No key is missing, extra, changed or duplicated in the new destination.",
    "schemas_match": "Every compared column exists in both destinations with compatible types.",
}


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    metadata: dict[str, float | int | str]


def run_validation(spec: MigrationSpec, state: TerraformState, options: ValidationOptions) -> ValidationReport:
    """Compare the two destinations of `spec` and append the run to its validation history."""
    old, new = destinations(spec, state)
    report = validate(old, new, table_mappings(spec, state), options)
    return record(spec.validation.history(spec.terraform.dir), report)


def validation_id(report: ValidationReport) -> str:
    return report.finished_at.isoformat()


def as_record(report: ValidationReport) -> ValidationRecord:
    return ValidationRecord(validation_id(report), report.matches, report.finished_at,
                            sum(t.mismatched_rows for t in report.tables))


def totals(report: ValidationReport) -> dict[str, float | int]:
    """The numbers Dagster plots: rows, missing, extra, changed, duplicates, lag seconds."""
    tables = report.tables
    lags = [t.freshness.lag_seconds for t in tables if t.freshness.lag_seconds is not None]
    return {
        "old_rows": sum(t.old_rows for t in tables),
        "new_rows": sum(t.new_rows for t in tables),
        "missing": sum(t.missing_in_new.total for t in tables),
        "extra": sum(t.extra_in_new.total for t in tables),
        "changed": sum(t.changed_total for t in tables),
        "duplicates": sum(t.duplicate_total for t in tables),
        "schema_differences": sum(len(t.schema_differences) for t in tables),
        "lag_seconds": max(lags) if lags else 0.0,
    }


def report_markdown(report: ValidationReport) -> str:
    lines = ["| table | verdict | old rows | new rows | missing | extra | changed | lag s |",
             "|---|---|---|---|---|---|---|---|"]
    for t in report.tables:
        lag = t.freshness.lag_seconds
        lines.append(f"| {t.table} -> {t.new_table or '(none)'} | {t.verdict} | {t.old_rows} | "
                     f"{t.new_rows} | {t.missing_in_new.total} | {t.extra_in_new.total} | "
                     f"{t.changed_total} | {'' if lag is None else f'{lag:.1f}'} |")
    lines += [f"\n{s.table}: skipped ({s.reason})" for s in report.skipped]
    return "\n".join(lines)


def checks(report: ValidationReport) -> list[CheckOutcome]:
    """The asset checks' outcomes, each with its numbers."""
    sums = totals(report)
    count_diff = [t.table for t in report.tables
                  if abs(t.old_rows - t.new_rows) > t.in_flight.total]
    return [
        CheckOutcome("row_counts_match", not count_diff, {
            "old_rows": sums["old_rows"], "new_rows": sums["new_rows"],
            "in_flight": sum(t.in_flight.total for t in report.tables),
            "tables_differing": len(count_diff)}),
        CheckOutcome("content_matches", report.matches, {
            k: sums[k] for k in ("missing", "extra", "changed", "duplicates", "lag_seconds")}),
        CheckOutcome("schemas_match", not sums["schema_differences"], {
            "schema_differences": sums["schema_differences"]}),
    ]

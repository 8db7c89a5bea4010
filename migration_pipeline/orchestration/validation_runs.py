"""One validation of a migration: compare, append to the history, and the asset checks."""

from __future__ import annotations

from dataclasses import dataclass

from migration_pipeline.orchestration.destinations import destinations, table_mappings
from migration_pipeline.orchestration.event_metadata import totals
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

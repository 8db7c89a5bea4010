"""The validation_report asset's checks: what each one asserts and its outcome for a report."""

from __future__ import annotations

from dataclasses import dataclass

from migration_pipeline.orchestration.event_metadata import totals
from migration_pipeline.validation import ValidationReport

CHECKS = {
    "row_counts_match": "Every table has as many live rows in the new destination as in the old "
                        "(a difference covered by rows still in flight under live replication is "
                        "allowed).",
    "content_matches": "No key is missing, extra, changed or duplicated in the new destination.",
    "schemas_match": "Every compared column exists in both destinations with compatible types.",
}


@dataclass(frozen=True)
class CheckOutcome:
    """One check's verdict on a validation, with the figures it is based on."""

    name: str
    passed: bool
    metadata: dict[str, float | int | str]


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

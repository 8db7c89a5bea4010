"""The validation_report asset's checks: what each one asserts and its outcome for a report."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from migration_pipeline.orchestration.event_metadata import totals
from migration_pipeline.validation import ValidationReport
from migration_pipeline.validation.verdict import CLEAN

CHECKS = {
    "row_counts_match": "Every table has as many live rows in the new destination as in the old "
    "(a gap is allowed only when the validation is clean: the gap is rows in "
    "flight, few and young, with nothing mismatched).",
    "content_matches": "The validation is clean: no key mismatched (confirmed or not), no "
    "pending delete, lag and keys in flight within the gates' limits.",
    "schemas_match": "Every compared column exists in both destinations and its values compare "
    "(a widened type such as INTEGER -> BIGINT is listed, not failed).",
}
# A count difference beyond the rows in flight warns (the content check names the keys); a
# content or schema mismatch blocks the cutover.
SEVERITIES = {
    "row_counts_match": dg.AssetCheckSeverity.WARN,
    "content_matches": dg.AssetCheckSeverity.ERROR,
    "schemas_match": dg.AssetCheckSeverity.ERROR,
}


@dataclass(frozen=True)
class CheckOutcome:
    """One check's verdict on a validation, with the figures it is based on."""

    name: str
    passed: bool
    metadata: dict[str, float | int | str]

    @property
    def severity(self) -> dg.AssetCheckSeverity:
        return SEVERITIES[self.name]


def checks(report: ValidationReport) -> list[CheckOutcome]:
    """The asset checks' outcomes, each with its numbers; all follow the one verdict."""
    sums = totals(report)
    clean = report.verdict == CLEAN
    count_diff = [t.table for t in report.tables if t.old_rows != t.new_rows]
    return [
        CheckOutcome(
            "row_counts_match",
            clean or not count_diff,
            {
                "old_rows": sums["old_rows"],
                "new_rows": sums["new_rows"],
                "in_flight": sums["in_flight"],
                "tables_differing": len(count_diff),
                "verdict": report.verdict,
            },
        ),
        CheckOutcome(
            "content_matches",
            clean,
            {
                "verdict": report.verdict,
                "reason": report.judgement.reason,
                **{
                    k: sums[k]
                    for k in (
                        "confirmed",
                        "unconfirmed",
                        "pending_deletes",
                        "in_flight",
                        "new_behind_old_seconds",
                    )
                },
            },
        ),
        CheckOutcome(
            "schemas_match",
            not sums["schema_differences"],
            {"schema_differences": sums["schema_differences"]},
        ),
    ]

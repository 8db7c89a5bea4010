"""The rows a person reviews in validation_mismatches: one per key (one per differing column of a
changed row), confirmed when the previous validation listed it too, first seen when the
validations started listing it without a break."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

from migration_pipeline.validation.history import append
from migration_pipeline.validation.mismatches import mismatch_rows
from migration_pipeline.validation.report import (
    ChangedRow,
    ColumnDiff,
    KeyList,
    TableReport,
    ValidationReport,
)

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def _report(minutes: int, missing: tuple[int, ...], changed: bool = False) -> ValidationReport:
    table = TableReport(
        "orders",
        "orders",
        ("id",),
        missing_in_new=KeyList(tuple((k,) for k in missing), len(missing)),
        changed=(ChangedRow((9,), (ColumnDiff("total", 1.5, 2.5), ColumnDiff("note", "a", None))),)
        if changed
        else (),
        changed_total=int(changed),
    )
    at = T0 + timedelta(minutes=minutes)
    return ValidationReport("old.duckdb", "new.duckdb", at, at, (table,))


def test_first_seen_is_the_start_of_an_unbroken_listing_and_confirmed_the_previous_one():
    con = duckdb.connect()
    for minutes, missing in ((0, (1, 2)), (15, (1,))):
        append(con, _report(minutes, missing))
    latest = append(con, _report(30, (1, 2), changed=True))
    rows = sorted(mismatch_rows(con, latest), key=lambda r: (r.kind, r.key, r.column or ""))
    at = {m: T0 + timedelta(minutes=m) for m in (0, 30)}
    assert [(r.kind, r.key, r.column, r.old_value, r.new_value, r.confirmed) for r in rows] == [
        ("changed", "9", "note", '"a"', "null", False),
        ("changed", "9", "total", "1.5", "2.5", False),
        ("missing_in_new", "1", None, None, None, True),
        ("missing_in_new", "2", None, None, None, False),
    ]
    assert [r.first_seen for r in rows] == [at[30], at[30], at[0], at[30]]
    assert {r.validation_id for r in rows} == {latest.id}

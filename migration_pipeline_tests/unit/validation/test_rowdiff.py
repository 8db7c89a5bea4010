"""The second pass's row-by-row rules that only some tables reach (a float tolerance, a table of
keys only), on in-memory DuckDB: a rule broken there would pass or fail a validation wrongly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from migration_pipeline.validation.report import ChangedRow, ColumnDiff, DuplicateKey, KeyList
from migration_pipeline_tests.support.validation import compare

FLOATS = "id INTEGER PRIMARY KEY, x DOUBLE, n INTEGER"


def test_a_float_difference_within_the_tolerance_is_equal_and_beyond_it_or_null_is_not():
    report = compare(
        FLOATS,
        "(1, 1.0, 1), (2, 1.0, 1), (3, NULL, 1), (4, NULL, 1), (5, 1.0, 1)",
        "(1, 1.25, 1), (2, 1.75, 1), (3, 1.0, 1), (4, NULL, 1), (5, 0.75, 1)",
        float_tolerance=0.5,
    )
    assert report.changed == (
        ChangedRow((2,), (ColumnDiff("x", 1.0, 1.75),)),
        ChangedRow((3,), (ColumnDiff("x", None, 1.0),)),
    )


def test_the_tolerance_never_applies_to_an_integer_column():
    report = compare(
        FLOATS, "(1, 1.0, 5), (2, 1.0, 5)", "(1, 2.5, 5), (2, 1.0, 6)", float_tolerance=2.0
    )
    assert report.changed == (ChangedRow((2,), (ColumnDiff("n", 5, 6),)),)


def test_a_tolerance_on_a_table_without_float_columns_compares_exactly():
    schema = "id INTEGER PRIMARY KEY, n INTEGER"
    report = compare(schema, "(1, 5), (2, 5)", "(1, 5), (2, 6)", float_tolerance=2.0)
    assert report.changed == (ChangedRow((2,), (ColumnDiff("n", 5, 6),)),)


def test_without_a_tolerance_any_float_difference_is_a_change():
    report = compare(FLOATS, "(1, 1.0, 1), (2, 1.0, 1)", "(1, 1.0000001, 1), (2, 1.0, 1)")
    assert report.changed == (ChangedRow((1,), (ColumnDiff("x", 1.0, 1.0000001),)),)


@pytest.mark.parametrize("tolerance", [0.0, 0.5])
def test_a_table_of_keys_only_lists_missing_and_extra_keys(tolerance):
    report = compare(
        "id INTEGER PRIMARY KEY", "(1), (2), (4)", "(1), (3), (4)", float_tolerance=tolerance
    )
    assert (report.missing_in_new, report.extra_in_new, report.changed) == (
        KeyList(((2,),), 1),
        KeyList(((3,),), 1),
        (),
    )


def test_max_keys_truncates_every_list_of_differing_keys_but_not_its_total():
    report = compare(
        "id INTEGER, s VARCHAR",
        "(1, 'a'), (2, 'b'), (3, 'c'), (3, 'c'), (4, 'd'), (4, 'd'), (5, 'e'), (6, 'f')",
        "(1, 'x'), (2, 'y'), (3, 'c'), (4, 'd'), (7, 'g'), (8, 'h')",
        keys=("id",),
        max_keys=1,
    )
    assert (report.changed, report.changed_total) == (
        (ChangedRow((1,), (ColumnDiff("s", "a", "x"),)),),
        2,
    )
    assert (report.duplicate_keys, report.duplicate_total) == ((DuplicateKey((3,), 2, 1),), 2)
    assert (report.missing_in_new, report.extra_in_new) == (
        KeyList(((5,),), 2),
        KeyList(((7,),), 2),
    )


def test_max_keys_truncates_keys_in_flight_and_pending_deletes_but_not_their_totals():
    report = compare(
        "id INTEGER PRIMARY KEY, s VARCHAR, __artie_updated_at TIMESTAMP",
        "(1, 'a', '2026-04-01 10:01'), (3, 'c', '2026-04-01 10:01'), (4, 'd', '2026-04-01 10:01')",
        "(1, 'a', '2026-04-01 10:01'), (5, 'e', '2026-04-01 10:05'), (6, 'f', '2026-04-01 10:06')",
        max_keys=1,
    )
    assert report.in_flight == KeyList(((5,),), 2)
    assert report.oldest_in_flight == datetime(2026, 4, 1, 10, 5, tzinfo=UTC)
    assert report.pending_deletes == KeyList(((3,),), 2)


def test_a_nanosecond_timestamp_that_changed_is_shown_to_the_nanosecond():
    report = compare(
        "id INTEGER PRIMARY KEY, t TIMESTAMP_NS",
        "(1, '2026-01-01 00:00:00.000000001'), (2, '2026-01-01 00:00:00')",
        "(1, '2026-01-01 00:00:00.000000002'), (2, '2026-01-01 00:00:00')",
    )
    assert report.changed == (
        ChangedRow(
            (1,),
            (ColumnDiff("t", "2026-01-01 00:00:00.000000001", "2026-01-01 00:00:00.000000002"),),
        ),
    )

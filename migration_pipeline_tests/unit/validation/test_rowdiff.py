"""The second pass's row-by-row rules that only some tables reach (a float tolerance, a table of
keys only), on in-memory DuckDB: a rule broken there would pass or fail a validation wrongly."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from migration_pipeline.validation.report import ChangedRow, ColumnDiff, DuplicateKey, KeyList
from migration_pipeline.validation.rowdiff import side_rows
from migration_pipeline.validation.sides import Side
from migration_pipeline.validation.sql import Sql, compose, ident
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


def test_a_key_read_without_its_content_keeps_its_liveness_and_write_time_and_nothing_else():
    # A key in flight is read without its content: it still counts, its hash NULL whatever it holds.
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        con.execute("CREATE TABLE t (id INTEGER, v VARCHAR, x INTEGER, d BOOLEAN, w TIMESTAMPTZ)")
        con.execute(
            "INSERT INTO t VALUES (1, 'a', 5, false, '2026-04-01 10:01+00'), "
            "(2, 'b', 6, true, '2026-04-01 10:02+00')"
        )
        side = Side(
            "old", Sql("t"), (ident("id"),), (ident("v"), ident("x")), ident("d"), ident("w")
        )
        read = {}
        for content in (True, False):
            query = side_rows(side, Sql("id > 0"), content=content)
            rows = con.execute(
                compose("SELECT *, typeof(h) FROM ({q}) ORDER BY k0", q=query)
            ).fetchall()
            read[content] = (rows, [c[0] for c in con.description])
    finally:
        con.close()
    first, second = datetime(2026, 4, 1, 10, 1, tzinfo=UTC), datetime(2026, 4, 1, 10, 2, tzinfo=UTC)
    rows, columns = read[False]
    assert columns == ["k0", "c0", "c1", "h", "live", "wt", "typeof(h)"]
    assert rows == [
        (1, None, None, None, True, first, "UBIGINT"),
        (2, None, None, None, False, second, "UBIGINT"),
    ]
    rows, columns = read[True]
    assert columns == ["k0", "c0", "c1", "h", "live", "wt", "typeof(h)"]
    assert [r[:3] + r[4:] for r in rows] == [
        (1, "a", 5, True, first, "UBIGINT"),
        (2, "b", 6, False, second, "UBIGINT"),
    ]
    assert None not in [r[3] for r in rows]


def test_with_no_key_in_flight_there_is_no_oldest_in_flight_write_time():
    # A report names the oldest in-flight write only while a key is in flight: none means none.
    report = compare(
        "id INTEGER PRIMARY KEY, s VARCHAR, __artie_updated_at TIMESTAMP",
        "(1, 'a', '2026-04-01 10:01'), (2, 'b', '2026-04-01 10:02')",
        "(1, 'x', '2026-04-01 10:02'), (3, 'c', '2026-04-01 10:02')",
    )
    assert (report.changed_total, report.missing_in_new, report.extra_in_new) == (
        1,
        KeyList(((2,),), 1),
        KeyList(((3,),), 1),
    )
    assert (report.in_flight, report.oldest_in_flight) == (KeyList((), 0), None)

"""The comparison's two passes on in-memory DuckDB: the value, delete and bucket rules that a
validation stands on, caught by `make unit` rather than only by the integration tier.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import duckdb
import pytest

from migration_pipeline.validation.catalog import list_tables
from migration_pipeline.validation.compare import (
    bucket_count,
    missing_table_keys,
)
from migration_pipeline.validation.report import (
    ChangedRow,
    ColumnDiff,
    DuplicateKey,
    Freshness,
    KeyList,
)
from migration_pipeline.validation.sql import Sql, compose, qualified
from migration_pipeline_tests.support.validation import compare

TEXT = "id INTEGER PRIMARY KEY, s VARCHAR, n INTEGER, b BOOLEAN"
SOFT = "id INTEGER PRIMARY KEY, s VARCHAR, __artie_delete BOOLEAN"


def test_identical_tables_have_no_differing_bucket():
    rows = "(1, 'a', 1, true), (2, NULL, NULL, NULL)"
    report = compare(TEXT, rows, rows)
    assert (report.old_rows, report.new_rows, report.differing_buckets, report.changed) == (
        2,
        2,
        0,
        (),
    )
    assert report.clean


def test_null_differs_from_empty_zero_and_false_both_ways():
    report = compare(
        TEXT,
        "(1, NULL, NULL, NULL), (2, '', 0, false), (3, NULL, NULL, NULL)",
        "(1, NULL, NULL, NULL), (2, NULL, NULL, NULL), (3, '', 0, false)",
    )
    assert report.changed == (
        ChangedRow(
            (2,),
            (ColumnDiff("s", "", None), ColumnDiff("n", 0, None), ColumnDiff("b", False, None)),
        ),
        ChangedRow(
            (3,),
            (ColumnDiff("s", None, ""), ColumnDiff("n", None, 0), ColumnDiff("b", None, False)),
        ),
    )
    assert report.changed_total == 2 and not report.clean


def test_only_the_column_that_is_null_on_one_side_is_listed():
    report = compare(TEXT, "(1, 'a', NULL, true)", "(1, 'a', 5, true)")
    assert report.changed == (ChangedRow((1,), (ColumnDiff("n", None, 5),)),)


def test_a_bucket_with_equal_counts_and_different_values_is_compared():
    report = compare(TEXT, "(1, 'a', 1, true)", "(1, 'b', 1, true)")
    assert (report.old_rows, report.new_rows, report.differing_buckets) == (1, 1, 1)
    assert report.changed == (ChangedRow((1,), (ColumnDiff("s", "a", "b"),)),)


def test_among_many_buckets_only_the_one_holding_the_changed_row_differs():
    rows = ", ".join(f"({i}, 'v{i}', {i}, true)" for i in range(64))
    changed = rows.replace("(17, 'v17',", "(17, 'w17',")
    report = compare(TEXT, rows, changed, rows_per_bucket=4)
    assert (report.buckets, report.differing_buckets, report.changed_total) == (16, 1, 1)
    assert report.changed == (ChangedRow((17,), (ColumnDiff("s", "v17", "w17"),)),)


def test_a_coarse_first_pass_narrows_to_the_fine_bucket_that_differs():
    rows = ", ".join(f"({i}, 'v{i}', {i}, true)" for i in range(64))
    changed = rows.replace("(17, 'v17',", "(17, 'w17',")
    report = compare(TEXT, rows, changed, rows_per_bucket=4, first_pass_buckets=4)
    assert (report.buckets, report.differing_buckets, report.changed_total) == (16, 1, 1)
    assert report.changed == (ChangedRow((17,), (ColumnDiff("s", "v17", "w17"),)),)


MIXED = "id INTEGER, s VARCHAR, __artie_delete BOOLEAN, __artie_updated_at TIMESTAMP"


def _mixed_pair() -> tuple[str, str]:
    """64 keys, then on the new side: changed values (NULL and '' included), an extra, a
    duplicated, a soft-deleted (missing), a pending-delete and an in-flight key."""
    old = {i: f"({i}, 'v{i}', false, '2026-04-01 10:01')" for i in range(64)}
    new = dict(old)
    new[3] = "(3, NULL, false, '2026-04-01 10:01')"
    new[9] = "(9, '', false, '2026-04-01 10:01')"
    del new[20]  # gone from the leading new side (a hard delete old has not applied yet)
    new[70] = "(70, 'x', false, '2026-04-01 10:01')"  # extra in new
    new[33] = old[33] + ", " + old[33]  # duplicated in new
    new[41] = "(41, 'v41', true, '2026-04-01 10:01')"  # soft-deleted in new only
    new[50] = "(50, 'later', false, '2026-04-01 10:03')"  # in flight
    return ", ".join(old.values()), ", ".join(new.values())


@pytest.mark.parametrize(
    "first_pass_buckets, rows_read_limit",
    ((1, 1 << 22), (2, 1 << 22), (4, 1 << 22), (2, 0), (4, 3)),
)
def test_every_first_pass_size_and_read_limit_finds_the_same_keys(
    first_pass_buckets, rows_read_limit
):
    # One fine pass (first_pass_buckets = buckets) is the reference: coarser first passes,
    # finer passes of only the differing buckets and the narrowing must not change a key.
    old, new = _mixed_pair()
    options = {"keys": ("id",), "rows_per_bucket": 4}
    reference = compare(MIXED, old, new, first_pass_buckets=1 << 20, **options)
    report = compare(
        MIXED,
        old,
        new,
        first_pass_buckets=first_pass_buckets,
        rows_read_limit=rows_read_limit,
        **options,
    )
    assert reference.buckets == 32 and reference.differing_buckets > 4
    assert replace(report, seconds=0) == replace(reference, seconds=0)
    assert [r.key for r in report.changed] == [(3,), (9,)]
    assert (report.missing_in_new.keys, report.extra_in_new.keys) == (((41,),), ((70,),))
    assert report.duplicate_keys == (DuplicateKey((33,), 1, 2),)
    assert report.in_flight.keys == ((50,),)
    assert report.pending_deletes.keys == ((20,),)


def test_swapped_values_between_keys_are_two_changed_rows():
    report = compare(
        TEXT, "(1, 'a', 1, true), (2, 'b', 1, true)", "(1, 'b', 1, true), (2, 'a', 1, true)"
    )
    assert [r.key for r in report.changed] == [(1,), (2,)]


def test_a_row_soft_deleted_on_the_old_side_and_absent_in_new_is_not_missing():
    report = compare(SOFT, "(1, 'a', true), (2, 'x', false)", "(2, 'x', false)")
    assert (report.old_rows, report.new_rows, report.differing_buckets) == (1, 1, 0)
    assert report.clean


def test_soft_deleted_rows_stay_out_of_the_second_pass():
    # Key 2 differs, so the bucket is read row by row: key 1, deleted in old and absent in new,
    # must not be counted live there.
    report = compare(
        SOFT,
        "(1, 'a', true), (2, 'x', false), (3, 'z', true)",
        "(2, 'y', false), (3, 'other', true)",
    )
    assert report.missing_in_new == KeyList()
    assert report.extra_in_new == KeyList()
    assert report.duplicate_keys == ()
    assert report.changed == (ChangedRow((2,), (ColumnDiff("s", "x", "y"),)),)
    assert (report.old_rows, report.new_rows) == (1, 1)


def test_a_row_soft_deleted_on_one_side_only_is_missing_or_extra():
    report = compare(SOFT, "(1, 'a', false), (2, 'b', true)", "(1, 'a', true), (2, 'b', false)")
    assert report.missing_in_new == KeyList(((1,),), 1)
    assert report.extra_in_new == KeyList(((2,),), 1)
    assert report.changed == ()


def test_a_null_delete_flag_is_a_live_row():
    report = compare(SOFT, "(1, 'a', NULL)", "(1, 'a', false)")
    assert (report.old_rows, report.new_rows, report.differing_buckets) == (1, 1, 0)


def test_a_duplicated_soft_deleted_row_is_no_duplicate():
    no_pk = "id INTEGER, s VARCHAR, __artie_delete BOOLEAN"
    report = compare(
        no_pk,
        "(1, 'a', false), (1, 'a', true), (2, 'b', false)",
        "(1, 'a', false), (2, 'c', false)",
        keys=("id",),
    )
    assert report.duplicate_keys == ()
    assert [r.key for r in report.changed] == [(2,)]


def test_duplicated_live_rows_are_reported_with_their_counts():
    no_pk = "id INTEGER, s VARCHAR"
    report = compare(no_pk, "(1, 'a'), (1, 'a'), (2, 'b')", "(1, 'a'), (2, 'b')", keys=("id",))
    assert report.duplicate_keys == (DuplicateKey((1,), 2, 1),)
    assert (report.old_rows, report.new_rows, report.changed) == (3, 2, ())


def test_missing_and_extra_keys_are_told_apart():
    report = compare(
        TEXT, "(1, 'a', 1, true), (2, 'b', 2, true)", "(2, 'b', 2, true), (3, 'c', 3, true)"
    )
    assert (report.missing_in_new, report.extra_in_new) == (
        KeyList(((1,),), 1),
        KeyList(((3,),), 1),
    )


def test_a_null_key_joins_a_null_key():
    no_pk = "id INTEGER, s VARCHAR"
    report = compare(no_pk, "(NULL, 'a'), (1, 'b')", "(NULL, 'z'), (1, 'b')", keys=("id",))
    assert report.changed == (ChangedRow((None,), (ColumnDiff("s", "a", "z"),)),)
    assert report.missing_in_new == report.extra_in_new == KeyList()


def test_max_keys_truncates_lists_but_not_totals():
    report = compare(
        TEXT, "", "(1, 'a', 1, true), (2, 'b', 2, true), (3, 'c', 3, true)", max_keys=2
    )
    assert report.extra_in_new == KeyList(((1,), (2,)), 3)


@pytest.mark.parametrize(
    "rows, buckets",
    ((0, 1), (256, 1), (257, 2), (512, 2), (513, 4), (10_000_000, 65536), (10**12, 1 << 20)),
)
def test_bucket_count_is_a_power_of_two_near_256_rows_each_up_to_a_cap(rows, buckets):
    assert bucket_count(rows) == buckets


LIVE = "id INTEGER PRIMARY KEY, s VARCHAR, __artie_updated_at TIMESTAMP"
T1, T2, T3 = (datetime(2026, 4, 1, 10, m, tzinfo=UTC) for m in (1, 2, 3))


def test_keys_written_after_the_watermark_are_in_flight_not_mismatched():
    report = compare(
        LIVE,
        "(1, 'a', '2026-04-01 10:01'), (2, 'b', '2026-04-01 10:02')",
        "(1, 'a', '2026-04-01 10:01'), (2, 'x', '2026-04-01 10:03')",
    )
    assert report.freshness == Freshness("__artie_updated_at", T2, T3, T2)
    assert report.in_flight == KeyList(((2,),), 1)
    assert report.oldest_in_flight == T3
    assert report.changed == () and report.pending_deletes == KeyList()


def test_a_key_only_on_the_lagging_side_is_a_pending_delete():
    report = compare(
        LIVE,
        "(1, 'a', '2026-04-01 10:01'), (3, 'c', '2026-04-01 10:01')",
        "(1, 'a', '2026-04-01 10:03')",
    )
    assert report.freshness.leading == "new"
    assert report.pending_deletes == KeyList(((3,),), 1)
    assert report.missing_in_new == KeyList()


def test_a_given_watermark_is_used_as_given():
    report = compare(
        LIVE, "(1, 'a', '2026-04-01 10:01')", "(1, 'b', '2026-04-01 10:02')", watermark=T3
    )
    assert report.freshness.watermark == T3
    assert report.changed == (ChangedRow((1,), (ColumnDiff("s", "a", "b"),)),)


def test_a_write_time_on_one_side_only_reports_it_without_a_watermark():
    report = compare(
        LIVE,
        "(1, 'a', '2026-04-01 10:01')",
        "(1, 'a')",
        new_schema="id INTEGER PRIMARY KEY, s VARCHAR",
    )
    assert report.freshness == Freshness("__artie_updated_at", T1, None, None)


def test_a_key_column_missing_in_new_leaves_counts_of_live_rows_only():
    report = compare(
        SOFT,
        "(1, 'a', false), (2, 'b', true), (3, 'c', NULL)",
        "('a', false)",
        new_schema="s VARCHAR, __artie_delete BOOLEAN",
    )
    assert (report.old_rows, report.new_rows, report.buckets, report.changed) == (2, 1, 0, ())


def test_a_table_missing_in_new_lists_its_live_keys():
    con = duckdb.connect()
    try:
        con.execute("ATTACH ':memory:' AS old")
        con.execute(compose("CREATE TABLE {t} ({s})", t=qualified("old", "main", "t"), s=Sql(SOFT)))
        con.execute(
            compose(
                "INSERT INTO {t} VALUES {r}",
                t=qualified("old", "main", "t"),
                r=Sql("(3, 'c', false), (1, 'a', NULL), (2, 'b', true), (4, 'd', false)"),
            )
        )
        (old,) = list_tables(con, "old")
        assert missing_table_keys(con, ("id",), old, "__artie_delete", 2) == (
            3,
            KeyList(((1,), (3,)), 3),
        )
        assert missing_table_keys(con, ("id",), old, None, None) == (
            4,
            KeyList(((1,), (2,), (3,), (4,)), 4),
        )
    finally:
        con.close()


def test_counts_only_still_reads_each_sides_latest_write_time():
    new_schema = "s VARCHAR, __artie_updated_at TIMESTAMP"
    report = compare(
        LIVE,
        "(1, 'a', '2026-04-01 10:01'), (2, 'b', '2026-04-01 10:03')",
        "('a', '2026-04-01 10:02')",
        new_schema=new_schema,
    )
    assert (report.old_rows, report.new_rows) == (2, 1)
    assert report.freshness == Freshness("__artie_updated_at", T3, T2, T2)
    given = compare(
        LIVE,
        "(1, 'a', '2026-04-01 10:01')",
        "('a', '2026-04-01 10:02')",
        new_schema=new_schema,
        watermark=T3,
    )
    assert given.freshness == Freshness("__artie_updated_at", T1, T2, T3)


def test_a_write_time_on_the_new_side_only_is_named_and_no_watermark_is_kept():
    report = compare(
        "id INTEGER PRIMARY KEY, s VARCHAR",
        "(1, 'a')",
        "(1, 'a', '2026-04-01 10:01')",
        new_schema=LIVE,
        watermark=T3,
    )
    assert report.freshness == Freshness("__artie_updated_at", None, T1, None)


def test_the_report_carries_the_comparisons_own_duration():
    report = compare(TEXT, "(1, 'a', 1, true)", "(1, 'b', 1, true)")
    assert 0 < report.seconds < 60

"""How one side of a pair is read, on in-memory DuckDB: the bucket a key falls in (every bucket
used, none beyond the count, in a type that holds it), which rows are live, and a side's latest
write time; a wrong bucket or side would compare the wrong rows."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from migration_pipeline.validation.catalog import list_tables
from migration_pipeline.validation.mapping import plain_mapping
from migration_pipeline.validation.plan import plan_table
from migration_pipeline.validation.report import KeyList
from migration_pipeline.validation.sides import Side, key_join, latest_write_time, side_of
from migration_pipeline.validation.sql import Sql, compose, ident
from migration_pipeline_tests.support.validation import compare


def side(delete: str | None = None, write_time: str | None = None) -> Side:
    return Side(
        "old",
        Sql("t"),
        (ident("id"),),
        (ident("v"),),
        ident(delete) if delete else None,
        ident(write_time) if write_time else None,
    )


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    yield con
    con.close()


@pytest.mark.parametrize(
    ("buckets", "type_"),
    [
        (1, "USMALLINT"),
        (2, "USMALLINT"),
        (8, "USMALLINT"),
        (65536, "USMALLINT"),
        (131072, "UINTEGER"),
    ],
)
def test_every_key_falls_in_one_of_the_buckets_and_every_bucket_is_used(con, buckets, type_):
    con.execute("CREATE TABLE t AS SELECT range AS id, 'x' AS v FROM range(20000)")
    low, high, used, typ = con.execute(
        compose(
            "SELECT min(b), max(b), count(DISTINCT b), any_value(typeof(b)) "
            "FROM (SELECT {b} AS b FROM t)",
            b=side().bucket(buckets),
        )
    ).fetchone()
    assert (low, typ) == (0, type_)
    assert buckets // 2 <= high < buckets  # the top bits: a hash's whole range is used
    if buckets <= 8:
        assert (high, used) == (buckets - 1, buckets)


def test_a_row_is_live_unless_its_delete_flag_is_true(con):
    con.execute("CREATE TABLE t (id INTEGER, v VARCHAR, d BOOLEAN)")
    con.execute("INSERT INTO t VALUES (1, 'a', true), (2, 'b', false), (3, 'c', NULL)")
    for s, live in ((side("d"), [2, 3]), (side(), [1, 2, 3])):
        rows = con.execute(
            compose("SELECT id FROM {t} WHERE {l} ORDER BY id", t=s.table, l=s.live)
        ).fetchall()
        assert [r[0] for r in rows] == live


def test_the_row_hash_covers_the_key_and_every_compared_column(con):
    con.execute("CREATE TABLE t (id INTEGER, v VARCHAR)")
    con.execute("INSERT INTO t VALUES (1, 'a'), (1, 'b'), (2, 'a')")
    hashes = con.execute(compose("SELECT {h} FROM t", h=side().row_hash)).fetchall()
    assert len(set(hashes)) == 3


def test_a_sides_latest_write_time_is_its_newest_and_none_without_the_column(con):
    con.execute("CREATE TABLE t (id INTEGER, v VARCHAR, w TIMESTAMP)")
    con.execute(
        "INSERT INTO t VALUES (1, 'a', '2026-03-01 12:00:00'), (2, 'b', '2026-03-02 08:30:00'), "
        "(3, 'c', NULL)"
    )
    assert latest_write_time(con, side(write_time="w")) == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert latest_write_time(con, side()) is None


def test_a_composite_key_joins_only_when_every_part_matches_nulls_included(con):
    for name, rows in (("l", "(1, 1), (1, 2), (NULL, 3)"), ("r", "(1, 2), (2, 1), (NULL, 3)")):
        con.execute(
            compose(
                "CREATE TABLE {t} AS SELECT * FROM (VALUES {r}) v(k0, k1)",
                t=ident(name),
                r=Sql(rows),
            )
        )
    joined = con.execute(
        compose("SELECT l.k0, l.k1 FROM l JOIN r ON {on} ORDER BY l.k1", on=key_join(2, "l", "r"))
    ).fetchall()
    assert joined == [(1, 2), (None, 3)]


def test_each_side_reads_its_own_delete_flag_when_only_one_side_soft_deletes():
    report = compare(
        "id INTEGER PRIMARY KEY, s VARCHAR, __artie_delete BOOLEAN",
        "(1, 'a', false), (2, 'b', true)",
        "(1, 'a')",
        new_schema="id INTEGER PRIMARY KEY, s VARCHAR",
    )
    assert (report.old_rows, report.new_rows, report.missing_in_new) == (1, 1, KeyList())
    assert report.clean


def test_a_side_without_a_write_time_column_has_no_latest_write_time(con):
    con.execute("ATTACH ':memory:' AS old")
    con.execute("CREATE TABLE old.main.t (id INTEGER PRIMARY KEY, v VARCHAR)")
    con.execute("INSERT INTO old.main.t VALUES (1, 'a')")
    (table,) = list_tables(con, "old")
    plan = plan_table(plain_mapping("t"), table, table, ())
    assert latest_write_time(con, side_of("old", table, plan)) is None

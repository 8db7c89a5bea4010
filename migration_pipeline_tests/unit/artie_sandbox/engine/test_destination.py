"""Destination shapes and batch semantics of one pipeline table, on an in-memory DuckDB."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from artie_sandbox.engine.destination import TablePlan
from artie_sandbox.models import Pipeline, PipelineTable, ReaderTable
from artie_sandbox.source.schema import CUSTOMERS, ORDER_ITEMS

NOW = datetime(2026, 1, 1, 12, 0, 0)


def _plan(table=CUSTOMERS, **settings) -> TablePlan:
    pipeline_fields = {
        k: settings.pop(k)
        for k in list(settings)
        if k
        in (
            "soft_delete_rows",
            "include_artie_updated_at_column",
            "include_database_updated_at_column",
            "schema",
        )
    }
    pipeline = Pipeline("p", "p", "r", "d", "db", **pipeline_fields)
    return TablePlan.build(pipeline, PipelineTable(table.name, **settings), table)


def _columns(con, name: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]


def _customer(id_: int, name: str) -> dict:
    return {
        "id": id_,
        "email": f"e{id_}",
        "name": name,
        "country": None,
        "credit_limit": "10.50",
        "score": 1.25,
        "is_active": 1,
        "created_at": "2024-01-02 03:04:05.000006",
        "preferences": '{"a":1}',
    }


def _apply(con, plan: TablePlan, changes: list[tuple[int, str, dict]], after: int = 0) -> None:
    batch = pa.table(
        {
            "off": [c[0] for c in changes],
            "tbl": [plan.source.name] * len(changes),
            "op": [c[1] for c in changes],
            "row": [json.dumps(c[2]) for c in changes],
            "committed_at": ["2026-01-01 11:00:00.000"] * len(changes),
        }
    )
    con.register("_changes", batch)
    plan.apply_changes(con, after, NOW)


def test_shape_with_every_setting():
    con = duckdb.connect()
    plan = _plan(
        alias="clients",
        columns_to_exclude=("email", "id"),
        enable_history_mode=True,
        soft_delete_rows=True,
        include_artie_updated_at_column=True,
        include_database_updated_at_column=True,
        schema="analytics",
    )
    plan.create(con)
    data = [
        "id",
        "name",
        "country",
        "credit_limit",
        "score",
        "is_active",
        "created_at",
        "preferences",
    ]
    assert _columns(con, "analytics.clients") == [
        *data,
        "__artie_delete",
        "__artie_updated_at",
        "__artie_db_updated_at",
    ]
    assert _columns(con, "analytics.clients__history") == [
        *data,
        "__artie_operation",
        "__artie_updated_at",
        "__artie_db_updated_at",
    ]


def test_a_shared_readers_column_lists_narrow_the_shape_but_keep_the_key():
    pipeline = Pipeline("p", "p", "r", "d", "db")
    reader_table = ReaderTable(
        "customers", columns_to_include=("name", "email", "score"), columns_to_exclude=("score",)
    )
    plan = TablePlan.build(
        pipeline, PipelineTable("customers", columns_to_exclude=("email",)), CUSTOMERS, reader_table
    )
    assert [c.name for c in plan.columns] == ["id", "name"]


def test_plain_shape_has_no_metadata_and_typed_columns():
    con = duckdb.connect()
    plan = _plan(ORDER_ITEMS)
    plan.create(con)
    assert con.execute("DESCRIBE main.order_items").fetchall()[0][:2] == ("order_id", "BIGINT")
    assert [r[1] for r in con.execute("DESCRIBE main.order_items").fetchall()] == [
        "BIGINT",
        "BIGINT",
        "BIGINT",
        "BIGINT",
        "DECIMAL(12,2)",
        "DOUBLE",
        "BOOLEAN",
        "TIMESTAMP",
    ]


def test_last_change_per_key_wins_and_hard_delete_removes():
    con = duckdb.connect()
    plan = _plan()
    plan.create(con)
    _apply(
        con,
        plan,
        [
            (1, "c", _customer(1, "a")),
            (2, "c", _customer(2, "b")),
            (3, "u", _customer(1, "a2")),
            (4, "d", _customer(2, "b")),
            (5, "c", _customer(3, "c")),
        ],
    )
    assert con.execute(
        "SELECT id, name, credit_limit::VARCHAR, is_active FROM customers ORDER BY id"
    ).fetchall() == [(1, "a2", "10.50", True), (3, "c", "10.50", True)]
    # Replaying the same batch (e.g. after a backfill) converges to the same rows.
    _apply(con, plan, [(3, "u", _customer(1, "a2")), (4, "d", _customer(2, "b"))])
    assert con.execute("SELECT count(*) FROM customers").fetchone()[0] == 2


def test_changes_at_or_before_the_tables_start_offset_are_skipped():
    con = duckdb.connect()
    plan = _plan()
    plan.create(con)
    _apply(con, plan, [(1, "c", _customer(1, "a")), (2, "c", _customer(2, "b"))], after=1)
    assert con.execute("SELECT id FROM customers").fetchall() == [(2,)]


def test_soft_delete_keeps_the_row_flagged_and_history_keeps_every_change():
    con = duckdb.connect()
    plan = _plan(
        soft_delete_rows=True, enable_history_mode=True, include_database_updated_at_column=True
    )
    plan.create(con)
    _apply(
        con,
        plan,
        [(1, "c", _customer(1, "a")), (2, "u", _customer(1, "b")), (3, "d", _customer(1, "b"))],
    )
    assert con.execute(
        "SELECT id, name, __artie_delete, __artie_db_updated_at FROM customers"
    ).fetchall() == [(1, "b", True, datetime(2026, 1, 1, 11, 0))]
    assert con.execute("SELECT __artie_operation, name FROM customers__history").fetchall() == [
        ("c", "a"),
        ("u", "b"),
        ("d", "b"),
    ]


def test_snapshot_rows_land_typed_and_upsert_replaces():
    con = duckdb.connect()
    plan = _plan(enable_history_mode=True)
    plan.create(con)
    plan.write_snapshot(con, [json.dumps(list(_customer(1, "a").values()))], upsert=False, now=NOW)
    plan.write_snapshot(con, [json.dumps(list(_customer(1, "z").values()))], upsert=True, now=NOW)
    assert con.execute("SELECT id, name, score, created_at FROM customers").fetchall() == [
        (1, "z", 1.25, datetime(2024, 1, 2, 3, 4, 5, 6))
    ]
    assert con.execute("SELECT __artie_operation FROM customers__history").fetchall() == [
        ("r",),
        ("r",),
    ]


def test_skip_deletes_ignores_deletes():
    con = duckdb.connect()
    plan = _plan(skip_deletes=True)
    plan.create(con)
    _apply(con, plan, [(1, "c", _customer(1, "a")), (2, "d", _customer(1, "a"))])
    assert con.execute("SELECT id FROM customers").fetchall() == [(1,)]


_OPS = st.lists(
    st.tuples(st.integers(1, 6), st.sampled_from("cud"), st.text("abc", max_size=3)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None, database=None)  # nothing written to the working directory
@given(ops=_OPS, cut=st.integers(0, 40), replay_from=st.integers(0, 40), batch=st.integers(1, 7))
def test_snapshot_then_replay_from_the_recorded_offset_converges(ops, cut, replay_from, batch):
    """A snapshot taken after change `cut`, then every change after an offset recorded earlier
    (`replay_from <= cut`) re-applied in batches, ends equal to the source: the backfill race."""
    cut, replay_from = min(cut, len(ops)), min(replay_from, cut, len(ops))
    source: dict[int, str] = {}
    changes = []
    for offset, (key, op, name) in enumerate(ops, start=1):
        if op == "d" and key in source:
            changes.append((offset, "d", _customer(key, source.pop(key))))
        elif op != "d":
            changes.append((offset, "u" if key in source else "c", _customer(key, name)))
            source[key] = name
        if offset == cut:
            snapshot = dict(source)
    if cut == 0:
        snapshot = {}
    con = duckdb.connect()
    plan = _plan()
    plan.create(con)
    if snapshot:
        rows = [json.dumps(list(_customer(k, v).values())) for k, v in snapshot.items()]
        plan.write_snapshot(con, rows, upsert=False, now=NOW)
    todo = [c for c in changes if c[0] > replay_from]
    for start in range(0, len(todo), batch):
        _apply(con, plan, todo[start : start + batch])
    assert dict(con.execute("SELECT id, name FROM customers").fetchall()) == source

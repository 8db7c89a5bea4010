"""Engine behaviour on real SQLite and DuckDB files, driven round by round in-process: a table left
out of the shared reader, the documented destination shapes, and each injected fault."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import duckdb
from fastapi.testclient import TestClient

from artie_sandbox.api.app import create_app
from artie_sandbox.engine.engine import Engine
from artie_sandbox.engine.progress import NOT_CAPTURED_DETAIL
from artie_sandbox.models import (
    Connector,
    Pipeline,
    PipelineProgress,
    PipelineTable,
    ReaderTable,
    SourceReader,
)
from artie_sandbox.source.seed import create_source
from artie_sandbox.source.workload import Workload
from artie_sandbox.sql import compose, ident
from artie_sandbox.store import Store

ALL = ("customers", "products", "orders", "order_items")


class Rig:
    """A seeded source, a control plane with one reader, and an engine run round by round."""

    def __init__(self, root: Path, rows: int = 1500):
        self.root = root
        self.source = root / "shop.db"
        create_source(self.source, rows=rows, seed=2)
        self.store = Store(root / "control-plane.db")
        with self.store.transaction() as tx:
            tx.put(Connector("src", "sqlite", "shop", {"path": str(self.source)}))
            tx.put(Connector("wh", "duckdb", "wh", {"directory": str(root / "wh")}))
            tx.put(SourceReader("reader", "shop", "src", "main"))
        self.engine = Engine(root, self.store, pipeline_gap=0, linger=0, report_every=0)
        self.workload = Workload(self.source, seed=4)

    def add(self, pipeline: Pipeline) -> None:
        with self.store.transaction() as tx:
            tx.put(pipeline)

    def drain(self, rounds: int = 200) -> None:
        idle = 0
        for _ in range(rounds):
            idle = 0 if self.engine.run_once() else idle + 1
            if idle == 2:
                return
        raise AssertionError(f"engine still busy after {rounds} rounds: {self.engine.errors}")

    def progress(self, uuid: str) -> PipelineProgress:
        return self.store.read().get(PipelineProgress, uuid)

    def db(self, name: str) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.root / "wh" / f"{name}.duckdb"), read_only=True)

    def source_keys(self, table: str, key: str = "id") -> set:
        with sqlite3.connect(self.source) as conn:
            return {
                r[0]
                for r in conn.execute(
                    compose("SELECT {key} FROM {table}", key=ident(key), table=ident(table))
                )
            }


def _pipeline(uuid: str, tables=ALL, **settings) -> Pipeline:
    tables = tuple(t if isinstance(t, PipelineTable) else PipelineTable(t) for t in tables)
    return Pipeline(uuid, uuid, "reader", "wh", uuid, tables=tables, **settings)


def test_a_table_left_out_of_the_shared_reader_stops_changing_and_status_says_why(tmp_path):
    rig = Rig(tmp_path)
    rig.add(_pipeline("v1"))
    rig.drain()
    with rig.store.transaction() as tx:
        reader = tx.get(SourceReader, "reader")
        tx.put(
            replace(
                reader, is_shared=True, tables={n: ReaderTable(n) for n in ALL if n != "products"}
            )
        )
    rig.drain()
    with rig.db("v1") as con:
        before = con.execute("SELECT * FROM products ORDER BY id").fetchall()
    rig.workload.apply(800)
    rig.drain()
    with rig.db("v1") as con:
        assert con.execute("SELECT * FROM products ORDER BY id").fetchall() == before
        assert {
            r[0] for r in con.execute("SELECT id FROM customers").fetchall()
        } == rig.source_keys("customers")
    assert rig.source_keys("products") != {r[0] for r in before}

    products = next(t for t in rig.progress("v1").tables if t.table_key == "products")
    assert (products.status, products.detail) == ("not_captured", NOT_CAPTURED_DETAIL)
    counters = rig.progress("v1").extra["reader"]
    assert counters["changes_read"] > counters["changes_captured"]  # still read once, just not kept

    (tmp_path / "api-key").write_text("k")
    client = TestClient(create_app(tmp_path, "k"), headers={"Authorization": "Bearer k"})
    body = client.get("/pipelines/v1").json()
    assert {t["name"]: t["status"] for t in body["tables"]}["products"] == "not_captured"
    report = client.get("/sandbox/progress").json()["pipelines"][0]
    assert (
        next(t for t in report["tables"] if t["table_key"] == "products")["detail"]
        == NOT_CAPTURED_DETAIL
    )


def _columns(con, table: str) -> list[str]:
    return [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]


def test_soft_delete_alias_excluded_columns_and_history_shapes(tmp_path):
    rig = Rig(tmp_path)
    rig.add(
        _pipeline(
            "v2",
            tables=(
                PipelineTable("customers", columns_to_exclude=("email", "preferences")),
                PipelineTable("orders", alias="orders_v2"),
                PipelineTable("order_items", enable_history_mode=True),
                PipelineTable("products"),
            ),
            soft_delete_rows=True,
            include_artie_updated_at_column=True,
            include_database_updated_at_column=True,
        )
    )
    rig.drain()
    rig.workload.apply(1500)
    rig.drain()
    meta = ["__artie_delete", "__artie_updated_at", "__artie_db_updated_at"]
    with rig.db("v2") as con:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        assert tables == {
            "customers",
            "orders_v2",
            "order_items",
            "order_items__history",
            "products",
        }
        assert _columns(con, "customers") == [
            "id",
            "name",
            "country",
            "credit_limit",
            "score",
            "is_active",
            "created_at",
            *meta,
        ]
        assert _columns(con, "order_items__history") == [
            "order_id",
            "line_no",
            "product_id",
            "quantity",
            "unit_price",
            "tax_rate",
            "is_returned",
            "added_at",
            "__artie_operation",
            "__artie_updated_at",
            "__artie_db_updated_at",
        ]
        live = {
            r[0]
            for r in con.execute("SELECT id FROM orders_v2 WHERE NOT __artie_delete").fetchall()
        }
        gone = {
            r[0] for r in con.execute("SELECT id FROM orders_v2 WHERE __artie_delete").fetchall()
        }
        assert live == rig.source_keys("orders")
        assert gone and not gone & live
        history = dict(
            con.execute(
                "SELECT __artie_operation, count(*) FROM order_items__history GROUP BY 1"
            ).fetchall()
        )
        assert con.execute(
            "SELECT count(*) FROM order_items WHERE __artie_db_updated_at IS NULL"
        ).fetchone() == (0,)
    with sqlite3.connect(rig.source) as conn:
        changed = dict(
            conn.execute(
                "SELECT op, count(*) FROM _artie_changes WHERE table_name = 'order_items' GROUP BY 1"
            ).fetchall()
        )
    assert history == {"r": 750, **changed}


def test_drop_and_corrupt_faults_make_the_destination_differ(tmp_path):
    rig = Rig(tmp_path)
    rig.add(_pipeline("v1", tables=("customers",)))
    rig.drain()
    rig.engine.faults.add("drop_changes", "v1", count=5)
    rig.engine.faults.add("corrupt_rows", "v1", count=3, table="customers")
    with sqlite3.connect(rig.source, isolation_level=None) as conn:
        conn.execute("UPDATE customers SET name = 'renamed' WHERE id <= 10")
    rig.drain()
    with rig.db("v1") as con:
        renamed = con.execute("SELECT count(*) FROM customers WHERE name = 'renamed'").fetchone()[0]
        corrupted = con.execute(
            "SELECT count(*) FROM customers WHERE email LIKE '%~corrupt'"
        ).fetchone()[0]
    assert (renamed, corrupted) == (5, 3)
    assert rig.engine.faults.active() == []
    assert rig.progress("v1").offset == rig.progress("v1").log_end == 10


def test_stall_holds_a_pipeline_and_slow_backfill_caps_its_batches(tmp_path):
    rig = Rig(tmp_path)
    stall = rig.engine.faults.add("stall", "v1")
    rig.engine.faults.add("slow_backfill", "v1", rows_per_second=200)
    rig.add(_pipeline("v1"))
    rig.drain()
    assert rig.progress("v1").extra["phase"] == "stalled"
    assert all(t.backfill_stage == "not_started" for t in rig.progress("v1").tables)
    rig.engine.faults.clear(kind="stall")
    assert stall.kind == "stall"
    rig.engine.run_once()
    rig.engine.run_once()
    first = sum(t.rows_backfilled for t in rig.progress("v1").tables)
    assert 0 < first <= 200
    assert rig.progress("v1").tables[0].status == "backfilling"
    rig.engine.faults.clear()
    rig.drain()
    assert {t.status for t in rig.progress("v1").tables} == {"streaming"}


def test_a_reader_holding_the_file_delays_but_never_breaks_the_pipeline(tmp_path):
    rig = Rig(tmp_path, rows=300)
    rig.add(_pipeline("v1", tables=("customers",)))
    rig.drain()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print('ready', flush=True); time.sleep(60)",
            str(tmp_path / "wh" / "v1.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        rig.workload.apply(50)
        rig.engine.run_once()
        assert rig.progress("v1").offset == 0 < rig.progress("v1").log_end
        assert (
            rig.progress("v1")
            .extra["error"]
            .endswith("v1.duckdb is in use by another process; retrying")
        )
    finally:
        holder.kill()
        holder.wait()
    rig.drain()
    assert rig.progress("v1").extra["error"] == ""
    assert rig.progress("v1").offset == rig.progress("v1").log_end > 0


def test_a_re_created_source_is_reported_not_silently_ignored(tmp_path):
    rig = Rig(tmp_path, rows=200)
    rig.add(_pipeline("v1", tables=("customers",)))
    rig.drain()
    rig.workload.apply(20)
    rig.drain()
    rig.workload.close()
    rig.engine.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{rig.source}{suffix}").unlink(missing_ok=True)
    create_source(rig.source, rows=200, seed=2)
    engine = Engine(tmp_path, rig.store, pipeline_gap=0, linger=0, report_every=0)
    engine.run_once()
    assert (
        "the source database was re-created under the same path"
        in rig.progress("v1").extra["error"]
    )


def test_a_pipeline_moved_to_another_reader_is_refused_not_mixed_up(tmp_path):
    rig = Rig(tmp_path, rows=200)
    rig.add(_pipeline("v1", tables=("customers",)))
    rig.drain()
    with rig.store.transaction() as tx:
        tx.put(SourceReader("other", "shop-2", "src", "main"))
        tx.put(replace(tx.get(Pipeline, "v1"), source_reader_uuid="other"))
    rig.engine.run_once()
    assert rig.progress("v1").extra["error"] == (
        f"{tmp_path / 'wh' / 'v1.duckdb'} was filled from source reader reader's change log, but the "
        "pipeline now reads from other; offsets do not carry over between readers: re-create the "
        "pipeline (or delete its DuckDB file to backfill again)"
    )


def test_seconds_behind_counts_changes_the_reader_has_not_read_yet(tmp_path):
    rig = Rig(tmp_path, rows=200)
    rig.add(_pipeline("v1", tables=("customers",)))
    rig.drain()
    assert rig.progress("v1").seconds_behind == 0.0
    with sqlite3.connect(rig.source, isolation_level=None) as conn:
        conn.execute("UPDATE customers SET name = 'late' WHERE id = 1")
        conn.execute("UPDATE _artie_changes SET committed_at = '2020-01-01 00:00:00.000'")
    rig.engine.report(force=True)  # nothing read or applied yet
    assert rig.progress("v1").seconds_behind > 3600
    rig.drain()
    assert rig.progress("v1").seconds_behind == 0.0


def test_a_slowed_backfill_wakes_the_resting_engine_for_its_next_batch(tmp_path):
    # A round where the fault held the batch back writes nothing; the engine then rests, and
    # must wake for the batch the rate allows next instead of at its idle refresh.
    rig = Rig(tmp_path)
    rig.engine.idle_refresh = 20
    rig.engine.faults.add("slow_backfill", "v1", rows_per_second=200)
    rig.add(_pipeline("v1"))
    assert rig.engine.run_once()
    seen = rig.engine.fingerprint()
    assert not rig.engine.run_once()  # within the batch interval: held back
    started = time.monotonic()
    rig.engine.sleep(threading.Event(), seen)
    assert time.monotonic() - started < 5
    assert rig.engine.run_once()


def test_a_slow_backfill_under_a_row_per_check_still_moves(tmp_path):
    # Two rows a second is under one row per 0.25 s check: the rows add up between checks.
    rig = Rig(tmp_path, rows=300)
    rig.engine.faults.add("slow_backfill", "v1", rows_per_second=2)
    rig.add(_pipeline("v1", tables=("customers",)))
    deadline = time.monotonic() + 10
    while (progress := rig.progress("v1")) is None or sum(
        t.rows_backfilled for t in progress.tables
    ) < 3:
        assert time.monotonic() < deadline, progress
        rig.engine.run_once()
        time.sleep(0.05)

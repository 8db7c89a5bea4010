"""Issue 5's acceptance on the sandbox: validations while v1 and v2 stream confirm nothing, and
after faults injected into v2 they confirm exactly the keys the faults left wrong.

The engine runs as a real subprocess with a workload on the source. Which keys are wrong is
this module's own reference query of the source against v2, never the validation engine's.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from artie_sandbox.engine.faults import Faults
from artie_sandbox.models import Connector, Pipeline, PipelineTable, ReaderTable, SourceReader
from artie_sandbox.source.schema import DEMO_TABLES
from artie_sandbox.source.seed import create_source
from artie_sandbox.source.workload import Workload
from artie_sandbox.sql import compose, ident, join
from artie_sandbox.store import Store
from migration_pipeline.validation import ValidationReport, record, validate
from migration_pipeline_tests.integration.test_engine_migration import (
    KINDS,
    EngineProcess,
    canon,
    drained,
    streaming,
    wait_for,
)

PIPELINES = ("v1", "v2")
CORRUPTED_TABLE = "customers"


def _rows_by_key(rows, table) -> dict[tuple, tuple]:
    kinds = list(KINDS[table.name].values())
    width = len(table.primary_key)
    return {
        tuple(row[:width]): tuple(canon(k, v) for k, v in zip(kinds, row[width:], strict=True))
        for row in rows
    }


def _select(table) -> str:
    columns = join(ident(c) for c in (*table.primary_key, *KINDS[table.name]))
    return compose("SELECT {columns} FROM {table}", columns=columns, table=ident(table.name))


def _open(path: Path) -> duckdb.DuckDBPyConnection:
    """`path` read-only, retried while the engine holds it for a batch."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def wrong_keys(source: Path, destination: Path) -> dict[str, set[tuple]]:
    """Per table, the keys whose row in `destination` is not the source's (or is absent / extra)."""
    wrong = {}
    with sqlite3.connect(source) as src, _open(destination) as dst:
        for table in DEMO_TABLES:
            expected = _rows_by_key(src.execute(_select(table)).fetchall(), table)
            actual = _rows_by_key(dst.execute(_select(table)).fetchall(), table)
            wrong[table.name] = {
                k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k)
            }
    return wrong


def confirmed_keys(report: ValidationReport) -> dict[str, set[tuple]]:
    return {t.table: set(t.confirmed.keys if t.confirmed else ()) for t in report.tables}


def listed_keys(report: ValidationReport) -> dict[str, set[tuple]]:
    return {t.table: set(t.listed_keys()) for t in report.tables}


def _start(state: Path) -> tuple[Store, Path]:
    source = state / "shop.db"
    create_source(source, rows=3000, seed=7)
    store = Store(state / "control-plane.db")
    names = [t.name for t in DEMO_TABLES]
    tables = tuple(PipelineTable(n) for n in names)
    with store.transaction() as tx:
        tx.put(Connector("src", "sqlite", "shop", {"path": str(source)}))
        tx.put(SourceReader("reader", "shop", "src", "main", is_shared=True,
                            tables={n: ReaderTable(n) for n in names}))  # fmt: skip
        for uuid in PIPELINES:
            database = f"analytics_{uuid}"
            directory = state / "warehouse" / database
            tx.put(Connector(f"wh-{uuid}", "duckdb", database, {"directory": str(directory)}))
            tx.put(Pipeline(uuid, database, "reader", f"wh-{uuid}", database, tables=tables,
                            include_artie_updated_at_column=True,
                            include_database_updated_at_column=True))  # fmt: skip
    return store, source


def _destination(state: Path, uuid: str) -> Path:
    return state / "warehouse" / f"analytics_{uuid}" / f"analytics_{uuid}.duckdb"


@pytest.fixture
def engine(tmp_path):
    process = EngineProcess(tmp_path)
    yield process
    process.stop()


def test_validations_confirm_nothing_while_streaming_and_exactly_the_faulted_keys_after(
    tmp_path, engine
):
    store, source = _start(tmp_path)
    v1, v2 = (str(_destination(tmp_path, u)) for u in PIPELINES)
    history = tmp_path / "history"
    engine.start()
    wait_for(lambda: all(streaming(store, u) for u in PIPELINES), 30, "v1 and v2 to stream", engine)
    stop = threading.Event()
    workload = Workload(source, seed=5)
    worker = threading.Thread(target=workload.run, kwargs={"rate": 200, "stop": stop})
    worker.start()
    try:
        live = []
        for _ in range(5):
            time.sleep(0.4)
            live.append(record(history, validate(v1, v2)))
        assert [confirmed_keys(r) for r in live[1:]] == [{n: set() for n in KINDS}] * 4
        assert all(not t.schema_differences for r in live for t in r.tables)

        faults = Faults(store)
        faults.add("drop_changes", "v2", count=20)
        faults.add("corrupt_rows", "v2", count=6, table=CORRUPTED_TABLE)
        wait_for(lambda: not faults.for_pipeline("drop_changes", "v2")
                 and not faults.for_pipeline("corrupt_rows", "v2"), 15, "the faults to apply", engine)  # fmt: skip
        time.sleep(1.5)  # more changes on top of the faults, to every table
    finally:
        stop.set()
        worker.join()
        workload.close()
    stopped = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    wait_for(lambda: drained(store, list(PIPELINES), stopped), 30, "v1 and v2 to drain", engine)

    assert wrong_keys(source, Path(v1)) == {n: set() for n in KINDS}
    expected = wrong_keys(source, Path(v2))
    assert expected[CORRUPTED_TABLE] and sum(map(len, expected.values())) > 6
    first = record(history, validate(v1, v2))
    second = record(history, validate(v1, v2))
    assert listed_keys(first) == expected
    assert listed_keys(second) == expected
    assert confirmed_keys(second) == expected
    assert all(t.in_flight.total == 0 for t in second.tables)
    assert second.verdict == "mismatch"

"""Validation on the sandbox while v1 and v2 stream: nothing confirmed without faults; with faults
on v2 every round reports each wrong key as a mismatch (never only in flight) and none is clean;
with v2 stalled every round is inconclusive and the catch-up gate stays closed.
Issue 10: the stored validation_mismatches table then holds exactly the wrong keys,
queryable with duckdb.

The engine runs as a real subprocess with a workload on the source. Which keys are wrong is
this module's own reference query of the source against v2, never the validation engine's.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from artie_sandbox.engine.faults import Faults
from artie_sandbox.models import Connector, Pipeline, PipelineTable, ReaderTable, SourceReader
from artie_sandbox.source.schema import DEMO_TABLES
from artie_sandbox.source.seed import create_source
from artie_sandbox.source.workload import Workload
from artie_sandbox.sql import compose, ident, join
from artie_sandbox.store import Store
from migration_pipeline.artie.models import PipelineDetail, TableStatus
from migration_pipeline.orchestration.event_metadata import validation_record
from migration_pipeline.orchestration.evidence import record_evidence
from migration_pipeline.phases import Gate, GateSettings, MigrationFacts, ModuleFacts, catch_up_gate
from migration_pipeline.validation import ValidationOptions, ValidationReport, record, validate
from migration_pipeline.validation.history import history_path
from migration_pipeline.validation.verdict import Limits
from migration_pipeline.validation.wire import json_key
from migration_pipeline_tests.support.engine import (
    KINDS,
    EngineProcess,
    canon,
    drained,
    progress,
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


def more_changes(workload: Workload, count: int, engine: EngineProcess) -> None:
    """Waits until the running workload has written `count` more source changes."""
    target = workload.applied + count
    wait_for(lambda: workload.applied >= target, 30, f"{count} more source changes", engine)


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


def _no_keys() -> dict[str, set[tuple]]:
    return {n: set() for n in KINDS}


def _set_aside(report: ValidationReport) -> dict[str, set[tuple]]:
    return {t.table: set(t.in_flight.keys) | set(t.pending_deletes.keys) for t in report.tables}


def _repair(v1: str, v2: str, wrong: dict[str, set[tuple]]) -> None:
    """Copy v1's rows (the source's, checked) over v2's wrong ones, as an operator's fix would."""
    deadline = time.monotonic() + 10
    while True:  # the running engine holds v1 and v2 for a moment now and then, even when drained
        con = None
        try:
            con = duckdb.connect(v2)
            con.execute("ATTACH ? AS v1 (READ_ONLY)", [v1])
            break
        except duckdb.IOException:
            if con is not None:
                con.close()
            assert time.monotonic() < deadline, "v1 or v2 stayed locked"
            time.sleep(0.05)
    with con:
        for table in DEMO_TABLES:
            where = compose("WHERE ({k}) = ({p})", k=join(ident(c) for c in table.primary_key),
                            p=join(compose("?") for _ in table.primary_key))  # fmt: skip
            for key in wrong[table.name]:
                con.execute(compose("DELETE FROM {t} ", t=ident(table.name)) + where, list(key))
                con.execute(
                    compose("INSERT INTO {t} SELECT * FROM v1.{t} ", t=ident(table.name)) + where,
                    list(key),
                )


def test_every_round_after_faults_reports_each_wrong_key_and_none_is_clean_until_repaired(
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
        for _ in range(3):
            more_changes(workload, 80, engine)
            live.append(record(history, validate(v1, v2)))
        assert [confirmed_keys(r) for r in live[1:]] == [_no_keys()] * 2
        assert all(not t.schema_differences for r in live for t in r.tables)

        faults = Faults(store)
        faults.add("drop_changes", "v2", count=20)
        faults.add("corrupt_rows", "v2", count=6, table=CORRUPTED_TABLE)
        wait_for(lambda: not faults.for_pipeline("drop_changes", "v2")
                 and not faults.for_pipeline("corrupt_rows", "v2"), 15, "the faults to apply", engine)  # fmt: skip
        more_changes(workload, 200, engine)  # on top of the faults, to every table
        # A pending delete is re-read until the lagging side has passed it (seconds on a busy
        # machine); the wait ends as soon as every pending key is resolved or confirmed.
        patient = ValidationOptions(pending_recheck_seconds=10)
        rounds = [record(history, validate(v1, v2, None, patient)) for _ in range(3)]
    finally:
        stop.set()
        worker.join()
        workload.close()
    stopped = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    wait_for(lambda: drained(store, list(PIPELINES), stopped), 30, "v1 and v2 to drain", engine)

    assert wrong_keys(source, Path(v1)) == _no_keys()
    expected = wrong_keys(source, Path(v2))
    assert sum(map(len, expected.values())) >= 6  # later changes may have mended a few
    # A key still wrong after the drain was not touched after its fault: every round since saw
    # it as a mismatch (confirmed or not), none only as in flight or as a pending delete.
    for i, report in enumerate(rounds):
        listed, set_aside = listed_keys(report), _set_aside(report)
        unlisted = {n: (expected[n] - listed[n], expected[n] & set_aside[n]) for n in KINDS}
        assert all(expected[n] <= listed[n] for n in KINDS), (i, unlisted, report.judgement.reasons)
        assert all(not expected[n] & set_aside[n] for n in KINDS)
        assert report.verdict != "clean"
    first = record(history, validate(v1, v2))
    evidence = record_evidence(
        DuckDBResource(database=str(history_path(history))), validate(v1, v2)
    )
    second = evidence.report
    assert listed_keys(first) == expected
    assert listed_keys(second) == expected
    assert confirmed_keys(second) == expected
    assert all(t.in_flight.total == 0 for t in second.tables)
    assert (second.verdict, second.summary.confirmed) == (
        "mismatch",
        sum(map(len, expected.values())),
    )
    with duckdb.connect(str(history_path(history)), read_only=True) as con:
        stored = con.execute(
            "SELECT DISTINCT table_name, key, confirmed FROM validation_mismatches"
        ).fetchall()
    assert sorted(stored) == sorted(
        (table, json.dumps(json_key(key)), True) for table, keys in expected.items() for key in keys
    )
    assert evidence.mismatches_metadata["dagster/row_count"] == len(evidence.mismatches)
    assert set(evidence.mismatches["validation_id"]) == {second.id}

    _repair(v1, v2, expected)
    repaired = record(history, validate(v1, v2))
    assert (repaired.verdict, repaired.summary.confirmed) == ("clean", 0)


def _gate(records: list) -> Gate:
    facts = MigrationFacts(
        ModuleFacts(True, (), True, True, None), "reader", "v1", "v2",
        PipelineDetail("v2", "analytics_v2", "reader", "wh-v2", "running",
                       tables=tuple(TableStatus(t.name, "main", "streaming") for t in DEMO_TABLES)),
        tuple(reversed(records)),
    )  # fmt: skip
    return catch_up_gate(facts, GateSettings(clean_validations=2))


def test_a_stalled_new_pipeline_is_inconclusive_with_its_lag_and_holds_the_catch_up_gate(
    tmp_path, engine
):
    store, source = _start(tmp_path)
    v1, v2 = (str(_destination(tmp_path, u)) for u in PIPELINES)
    history, records = tmp_path / "history", []
    options = ValidationOptions(limits=Limits(max_lag_seconds=1.0), pending_recheck_seconds=1.0)

    def validated() -> tuple[ValidationReport, Gate]:
        report = record(history, validate(v1, v2, None, options))
        records.append(validation_record(report))
        return report, _gate(records)

    engine.start()
    wait_for(lambda: all(streaming(store, u) for u in PIPELINES), 30, "v1 and v2 to stream", engine)
    stop = threading.Event()
    workload = Workload(source, seed=11)
    worker = threading.Thread(target=workload.run, kwargs={"rate": 200, "stop": stop})
    worker.start()
    faults = Faults(store)
    try:
        faults.add("stall", "v2")
        wait_for(lambda: (progress(store, "v2").extra.get("phase") == "stalled"), 10,
                 "v2 to stall", engine)  # fmt: skip
        time.sleep(1.5)  # the stall outlasts max_lag_seconds
        for _ in range(3):
            report, gate = validated()
            assert report.verdict == "inconclusive"
            lag = report.summary.new_behind_old_seconds
            assert lag > 1.0 and report.judgement.reasons[0].startswith(
                f"analytics_v2 is {lag:.1f} s behind (limit 1 s); "
            )
            assert not gate.open
        faults.clear("v2", "stall")
    finally:
        stop.set()
        worker.join()
        workload.close()
    stopped = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    wait_for(lambda: drained(store, list(PIPELINES), stopped), 30, "v1 and v2 to drain", engine)
    cleans = 0
    for _ in range(4):
        report, gate = validated()
        cleans = cleans + 1 if report.verdict == "clean" else 0
        assert gate.open == (cleans >= 2), (report.judgement.reasons, gate.reason)
        if gate.open:
            break
    assert gate.open and cleans == 2

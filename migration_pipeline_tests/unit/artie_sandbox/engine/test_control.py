"""Engine control surfaces: fault records, table status, the fault CLI and the /sandbox endpoints."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from artie_sandbox import paths
from artie_sandbox.api import extensions
from artie_sandbox.cli import build_parser as sandbox_parser
from artie_sandbox.engine import fault_command
from artie_sandbox.engine.faults import Faults
from artie_sandbox.engine.pipeline import State, TableState
from artie_sandbox.engine.progress import NOT_CAPTURED_DETAIL, table_progress
from artie_sandbox.engine.reader import captured_tables
from artie_sandbox.models import (
    Pipeline,
    PipelineProgress,
    PipelineTable,
    ReaderTable,
    SourceReader,
)
from artie_sandbox.store import Store

TABLES = (PipelineTable("customers"), PipelineTable("orders"))
PIPELINE = Pipeline("p1", "analytics_v1", "r1", "d", "analytics_v1", tables=TABLES)
SHARED = SourceReader(
    "r1", "shop", "c", "main", is_shared=True, tables={"customers": ReaderTable("customers")}
)


def test_capture_follows_the_shared_readers_tables():
    dedicated = SourceReader("r1", "shop", "c", "main")
    assert captured_tables(dedicated, [PIPELINE]) == {"customers", "orders"}
    assert captured_tables(SHARED, [PIPELINE]) == {"customers"}
    assert [SHARED.captures(t) for t in TABLES] == [True, False]


def test_table_status_through_backfill_streaming_and_uncaptured():
    state = State(
        "p1",
        0,
        0,
        0,
        streaming=False,
        tables={"customers": TableState("customers", 0, "[5]", 5, 10, done=False)},
    )
    tables = table_progress(PIPELINE, SHARED, state, {"customers"}, running=True)
    assert [(t.status, t.backfill_stage, t.rows_backfilled, t.rows_estimated) for t in tables] == [
        ("backfilling", "in_progress", 5, 10),
        ("not_captured", "not_started", 0, 0),
    ]
    assert tables[1].detail == NOT_CAPTURED_DETAIL
    state.tables["customers"] = TableState("customers", 0, "[10]", 10, 10, done=True)
    state.streaming = True
    assert (
        table_progress(PIPELINE, SHARED, state, {"customers"}, running=True)[0].status
        == "streaming"
    )
    assert (
        table_progress(PIPELINE, SHARED, state, {"customers"}, running=False)[0].status == "paused"
    )


def test_faults_expire_get_used_up_and_clear(tmp_path):
    faults = Faults(Store(tmp_path / "cp.db"))
    drop = faults.add("drop_changes", "p1", count=3)
    faults.add("stall", "p2", seconds=-1)  # already expired
    faults.add("slow_backfill", rows_per_second=10)
    assert [f.kind for f in faults.for_pipeline("slow_backfill", "any")] == ["slow_backfill"]
    assert faults.for_pipeline("stall", "p2") == []
    faults.use(drop, 3)
    assert faults.active("drop_changes") == []
    assert faults.clear() == 3
    with pytest.raises(ValueError, match="drop_changes needs a positive count"):
        faults.add("drop_changes", "p1")
    with pytest.raises(ValueError, match="unknown fault 'explode'"):
        faults.add("explode")


def _store(tmp_path) -> Store:
    store = Store(tmp_path / paths.STORE_FILE)
    with store.transaction() as tx:
        tx.put(PIPELINE)
        tx.put(PipelineProgress("p1", offset=4, log_end=10, seconds_behind=1.5))
    return store


def test_fault_cli_resolves_pipeline_names(tmp_path, capsys):
    _store(tmp_path)
    parser = sandbox_parser()
    args = parser.parse_args(
        [
            "fault",
            "drop",
            "--pipeline",
            "analytics_v1",
            "--count",
            "2",
            "--state-dir",
            str(tmp_path),
        ]
    )
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["pipeline_uuid"] == "p1"
    args = parser.parse_args(["fault", "stall", "--pipeline", "nope", "--state-dir", str(tmp_path)])
    assert args.func(args) == 2
    assert "no pipeline 'nope'; known pipelines: analytics_v1 (p1)" in capsys.readouterr().err
    assert fault_command.resolve_pipeline(Store(tmp_path / paths.STORE_FILE), None) == ""


def test_extension_endpoints_and_api_error_fault(tmp_path):
    store = _store(tmp_path)
    app = FastAPI()
    app.state.store = store

    @app.get("/pipelines")
    def pipelines():
        return {"items": []}

    extensions.install(app)
    client = TestClient(app)
    progress = client.get("/sandbox/progress").json()["pipelines"][0]
    assert (progress["name"], progress["offset_lag"], progress["seconds_behind"]) == (
        "analytics_v1",
        6,
        1.5,
    )
    made = client.post("/sandbox/faults", json={"kind": "api_errors", "seconds": 30, "status": 502})
    assert made.status_code == 201
    broken = client.get("/pipelines")
    assert broken.status_code == 502
    assert broken.json()["error"].startswith("injected fault: the sandbox API answers 502")
    assert client.get("/sandbox/faults").json()["faults"][0]["kind"] == "api_errors"
    assert client.delete("/sandbox/faults").json() == {"removed": 1}
    assert client.get("/pipelines").status_code == 200
    assert (
        client.post("/sandbox/faults", json={"kind": "stall", "pipeline": "x"}).status_code == 400
    )


def test_a_counted_api_error_fault_answers_exactly_its_next_calls(tmp_path):
    # Retry tests need errors that do not depend on how fast the client comes back.
    app = FastAPI()
    app.state.store = _store(tmp_path)

    @app.get("/pipelines")
    def pipelines():
        return {"items": []}

    extensions.install(app)
    client = TestClient(app)
    fault = {"kind": "api_errors", "count": 2, "status": 429, "retry_after": 1}
    assert client.post("/sandbox/faults", json=fault).status_code == 201
    answers = [client.get("/pipelines") for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "1"
    assert client.get("/sandbox/faults").json()["faults"] == []  # used up
    for wrong in ({"kind": "api_errors"}, {"kind": "api_errors", "count": 1, "seconds": 5}):
        refused = client.post("/sandbox/faults", json=wrong)
        assert refused.status_code == 400
        assert refused.json()["error"] == (
            "api_errors needs either seconds (how long) or count (how many calls)"
        )

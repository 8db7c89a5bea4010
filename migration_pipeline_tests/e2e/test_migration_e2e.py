"""The whole migration through real Dagster runs on the sandbox (engine and workload running):
the job stops at the catch-up and approval gates, the sensor relaunches it, an approval opens the
cutover, and the module ends with exactly the expected diff while v1's file is left alone."""

from __future__ import annotations

import difflib
import hashlib
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from artie_sandbox.source.seed import create_source
from artie_sandbox.source.workload import Workload
from migration_pipeline.cli import main
from migration_pipeline.orchestration import build_definitions
from migration_pipeline.spec import load_specs
from migration_pipeline_tests.integration.conftest import (
    example_module,
    start_sandbox,
    stop_sandbox,
)
from sandbox_demo.prepare import MIGRATION as NAME
from sandbox_demo.prepare import migrations_text

JOB, SENSOR = f"{NAME}_job", f"{NAME}_catch_up_sensor"
ROWS = 3000
EXPECTED_DIFF = Path(__file__).with_name("expected_module.diff")


@pytest.fixture
def sandbox(tmp_path, terraform_bin):
    handle = start_sandbox(tmp_path / "sandbox", tmp_path / "plugin-cache", terraform_bin)
    yield handle
    stop_sandbox(handle)


@pytest.fixture(scope="session")
def terraform_bin():
    from migration_pipeline.terraform.binary import find_terraform

    return find_terraform()


class RunningWorkload(threading.Thread):
    """Inserts, updates and deletes on the source at a steady rate until stopped."""

    def __init__(self, source: Path, rate: float):
        super().__init__(daemon=True)
        self.source, self.rate, self.stop = source, rate, threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        workload = Workload(self.source, seed=1)
        try:
            workload.run(self.rate, stop=self.stop)
        except BaseException as e:  # surfaced by the test
            self.error = e
        finally:
            workload.close()


def migrations_file(tmp_path: Path, handle, module: Path) -> Path:
    path = tmp_path / "migrations.yaml"
    path.write_text(migrations_text(module, handle.tf_cli_config, handle.endpoint,
                                    poll_seconds=1, max_age_minutes=10))
    return path


def outputs(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """op -> `proceed`, `gate_closed` or `skipped`."""
    done = {e.step_key: e.event_specific_data.step_output_handle.output_name
            for e in result.all_events if e.event_type_value == "STEP_OUTPUT"}
    return {n.name: done.get(n.name, "skipped") for n in result.job_def.graph.node_defs}


def gate_reason(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.event_type_value == "STEP_OUTPUT" and \
                event.event_specific_data.step_output_handle.output_name == "gate_closed":
            return event.event_specific_data.metadata["reason"].value
    raise AssertionError("no gate closed in this run")


def sensor_context(defs: dg.Definitions, instance) -> dg.SensorEvaluationContext:
    return dg.build_sensor_context(instance=instance, definitions=defs, resources=defs.resources)


def tick_until(defs, instance, done, timeout: float) -> list[dg.ExecuteInProcessResult]:
    """Evaluate the sensor and run what it requests until `done(last run)`; returns the runs."""
    sensor, job = defs.resolve_sensor_def(SENSOR), defs.resolve_job_def(JOB)
    runs: list[dg.ExecuteInProcessResult] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tick = sensor.evaluate_tick(sensor_context(defs, instance))
        for request in tick.run_requests or ():
            runs.append(job.execute_in_process(instance=instance, tags=request.tags))
            assert runs[-1].success
            if done(runs[-1]):
                return runs
        time.sleep(1)
    last = gate_reason(runs[-1]) if runs else tick.skip_message
    raise AssertionError(f"timed out; last: {last}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def module_diff(before: Path, after: Path) -> str:
    return "".join(
        "".join(difflib.unified_diff(
            (before / name).read_text().splitlines(True) if (before / name).exists() else [],
            (after / name).read_text().splitlines(True), f"a/{name}", f"b/{name}"))
        for name in sorted(p.name for p in after.glob("*.tf")))


@pytest.mark.timeout(300)
def test_the_migration_runs_through_dagster_gate_by_gate(tmp_path, sandbox, monkeypatch, capsys):
    create_source(sandbox.source_db, rows=ROWS)
    module = example_module(sandbox, tmp_path / "module")
    sandbox.terraform(module, "init", "-input=false")
    sandbox.terraform(module, "apply", "-auto-approve", "-input=false")
    original = example_module(sandbox, tmp_path / "original")
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    config = migrations_file(tmp_path, sandbox, module)
    defs = build_definitions(load_specs(config))
    workload = RunningWorkload(sandbox.source_db, rate=10)
    workload.start()
    try:
        with dg.DagsterInstance.get() as instance:
            first = defs.resolve_job_def(JOB).execute_in_process(instance=instance)
            assert outputs(first) == {
                "promote_reader": "proceed", "create_pipeline": "proceed",
                "validate_destinations": "gate_closed", "check_approval": "skipped",
                "cut_over": "skipped", "unshare_reader": "skipped"}

            waiting = tick_until(defs, instance, lambda r: outputs(r)["check_approval"] ==
                                 "gate_closed", timeout=90)[-1]
            assert gate_reason(waiting).startswith("Waiting for a person to approve")
            idle = defs.resolve_sensor_def(SENSOR).evaluate_tick(sensor_context(defs, instance))
            assert not idle.run_requests
            assert "Waiting for a person to approve" in idle.skip_message
            for check in ("row_counts_match", "content_matches", "schemas_match"):
                record = instance.get_latest_asset_check_evaluation_record(
                    dg.AssetCheckKey(dg.AssetKey([NAME, "validation_report"]), check))
                assert record.event.asset_check_evaluation.passed, check

            def approve() -> None:
                assert main(["approve", "--config", str(config), "--migration", NAME,
                             "--who", "e2e", "--comment", "two clean validations"]) == 0

            # Exactly one approval: a mismatch not yet confirmed makes a validation inconclusive,
            # which holds the cutover without voiding the approval.
            approve()
            old_file = sandbox.warehouse / "analytics_v1" / "analytics_v1.duckdb"
            final = tick_until(defs, instance, lambda r: outputs(r)["unshare_reader"] ==
                               "proceed", timeout=120)[-1]
            assert outputs(final)["cut_over"] == "proceed"
            frozen = sha256(old_file)
            time.sleep(2)
            assert sha256(old_file) == frozen
        capsys.readouterr()
        assert main(["status", "--config", str(config), "--migration", NAME]) == 0
        assert capsys.readouterr().out.startswith(f"{NAME}: complete\n")
    finally:
        workload.stop.set()
        workload.join(10)
    assert workload.error is None
    _, pipelines = sandbox.api("GET", "pipelines")
    assert [p["name"] for p in pipelines["items"]] == ["analytics_v2"]
    assert module_diff(original, module) == EXPECTED_DIFF.read_text()

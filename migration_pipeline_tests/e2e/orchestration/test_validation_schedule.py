"""The validation schedule keeps the evidence fresh while a migration waits for approval: ticks
evaluated as Dagster evaluates them materialize validations between the new pipeline streaming
and the cutover (and skip, saying why, outside it), so an approved migration cuts over with no
one validating by hand, even when the approved validation itself has gone stale; a full validation forced with the asset's
config is recorded as full."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import dagster as dg
import duckdb
import pytest

from artie_sandbox.source.seed import create_source
from migration_pipeline.orchestration import build_definitions
from migration_pipeline.orchestration.approvals import record_approval
from migration_pipeline.orchestration.event_metadata import validation_key, validation_records
from migration_pipeline.orchestration.facts import gather
from migration_pipeline.orchestration.graph import destination_key, mismatches_key, pipeline_key
from migration_pipeline.phases import Phase, Step
from migration_pipeline.spec import load_specs
from migration_pipeline.validation.history import history_path
from migration_pipeline_tests.support.sandbox import (
    example_module,
    start_sandbox,
    stop_sandbox,
)
from sandbox_demo.prepare import MIGRATION as NAME
from sandbox_demo.prepare import migrations_text

MAX_AGE_MINUTES = 0.1  # 6 s: the approved validation goes stale while the test waits


@pytest.fixture
def sandbox(tmp_path):
    from migration_pipeline.terraform.binary import find_terraform

    handle = start_sandbox(tmp_path / "sandbox", tmp_path / "plugin-cache", find_terraform())
    yield handle
    stop_sandbox(handle)


class Deployment:
    """The code location's schedule, jobs and resources on one instance."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance):
        self.defs, self.instance = defs, instance
        self.schedule = defs.resolve_schedule_def(f"{NAME}_validation_schedule")

    def tick(self) -> dg.ScheduleExecutionData:
        """One schedule tick; the run it requests is executed like the daemon's."""
        context = dg.build_schedule_context(
            instance=self.instance,
            resources=self.defs.resources,
            scheduled_execution_time=datetime.now(UTC),
        )
        data = self.schedule.evaluate_tick(context)
        job = self.defs.resolve_job_def(self.schedule.job_name)
        for request in data.run_requests or ():
            assert request.tags["migration"] == NAME
            result = job.execute_in_process(instance=self.instance, tags=request.tags)
            assert result.success
        return data

    def launch(self) -> dict[str, str]:
        """The migration job once; op -> proceed / gate_closed / skipped."""
        result = self.defs.resolve_job_def(f"{NAME}_job").execute_in_process(instance=self.instance)
        assert result.success
        done = {
            e.step_key: e.event_specific_data.step_output_handle.output_name
            for e in result.all_events
            if e.event_type_value == "STEP_OUTPUT"
        }
        return {n.name: done.get(n.name, "skipped") for n in result.job_def.graph.node_defs}


@pytest.mark.timeout(300)
def test_scheduled_validations_keep_an_approval_fresh_until_the_cutover(
    tmp_path, sandbox, monkeypatch
):
    create_source(sandbox.source_db, rows=500)
    module = example_module(sandbox, tmp_path / "module")
    sandbox.terraform(module, "init", "-input=false")
    sandbox.terraform(module, "apply", "-auto-approve", "-input=false")
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    config = tmp_path / "migrations.yaml"
    config.write_text(
        migrations_text(
            module,
            sandbox.tf_cli_config,
            sandbox.endpoint,
            poll_seconds=1,
            max_age_minutes=MAX_AGE_MINUTES,
        )
    )
    spec = load_specs(config)[NAME]
    defs = build_definitions({NAME: spec})
    with dg.DagsterInstance.get() as instance:
        deployment = Deployment(defs, instance)

        def assessment():
            artie = defs.resources["artie"].process_config_and_initialize()
            terraform = defs.resources["terraform"].process_config_and_initialize()
            with artie.client() as client:
                return gather(spec, terraform.runner(spec), client, instance).assessment

        before = deployment.tick()
        assert not before.run_requests
        assert before.skip_message.startswith("planned: the new pipeline does not exist yet")

        assert deployment.launch()["create_pipeline"] == "proceed"
        deadline, start = time.monotonic() + 120, len(validation_records(instance, spec))
        while len(validation_records(instance, spec)) < start + 2:  # the schedule validates
            assert time.monotonic() < deadline, deployment.tick().skip_message
            data = deployment.tick()
            if not data.run_requests:
                assert "does not stream every table yet" in data.skip_message
                time.sleep(1)
        assert all(r.clean for r in validation_records(instance, spec))
        assert instance.fetch_materializations(mismatches_key(spec), limit=1).records
        # The schedule continues incrementally; a person forces a full validation with the
        # asset's config (the Launchpad's `full: true`) and the event log and history say so.
        assert validation_records(instance, spec)[0].mode == "incremental"
        scheduled = instance.fetch_materializations(validation_key(spec), limit=1).records[0]
        assert isinstance(
            scheduled.asset_materialization.metadata["incremental_since"], dg.TimestampMetadataValue
        )
        forced = defs.resolve_job_def(deployment.schedule.job_name).execute_in_process(
            instance=instance,
            run_config={"ops": {f"{NAME}_validation": {"config": {"full": True}}}},
        )
        assert forced.success
        full = validation_records(instance, spec)[0]
        assert full.mode == "full" and full.clean
        assert all(
            part.endswith(": full (full validation requested)")
            for part in full.coverage.split("; ")
        )
        metadata = (
            instance.fetch_materializations(validation_key(spec), limit=1)
            .records[0]
            .asset_materialization.metadata
        )
        assert metadata["mode"].value == "full" and metadata["changed_keys_checked"].value == 0
        assert "incremental_since" not in metadata
        with duckdb.connect(
            str(history_path(spec.validation.history(spec.terraform.dir))), read_only=True
        ) as con:
            modes = con.execute(
                "SELECT DISTINCT mode FROM validation_tables WHERE run_id = ?", [full.id]
            ).fetchall()
        assert modes == [("full",)]
        waiting = assessment()
        assert (waiting.phase, waiting.closed_gate.name) == (Phase.CAUGHT_UP, "approval")

        record_approval(instance, spec, "e2e", "approve", "two scheduled validations matched")
        # The approved (latest) validation goes stale MAX_AGE_MINUTES after it finished.
        stale_at = full.finished_at.timestamp() + MAX_AGE_MINUTES * 60 + 0.5
        time.sleep(max(0.0, stale_at - time.time()))
        stale = assessment()
        assert (stale.phase, stale.closed_gate.name) == (Phase.APPROVED, "fresh_validation")
        count = len(validation_records(instance, spec))
        assert deployment.tick().run_requests  # the schedule validates while approved
        assert len(validation_records(instance, spec)) == count + 1
        assert assessment().next_step == Step.CUTOVER

        outputs = deployment.launch()
        assert outputs["cut_over"] == outputs["unshare_reader"] == "proceed"
        # The job's validate step (latest) and the scheduled materialization record alike.
        for key in (validation_key(spec), mismatches_key(spec)):
            by_job, by_schedule = (
                r.asset_materialization.metadata
                for r in instance.fetch_materializations(key, limit=2).records
            )
            assert set(by_job) == set(by_schedule)
        assert by_job["dagster/row_count"].value == 0  # no mismatched key
        # Every validation observed both destinations and the new pipeline: their pages plot the
        # row counts converging and the lag.
        observed = {
            side: [
                r.asset_observation.metadata
                for r in instance.fetch_observations(destination_key(spec, side), 100).records
            ]
            for side in ("old", "new")
        }
        assert (
            len(observed["old"]) == len(observed["new"]) == len(validation_records(instance, spec))
        )
        latest_old, latest_new = observed["old"][0], observed["new"][0]
        assert latest_new["dagster/row_count"].value == latest_old["dagster/row_count"].value > 0
        assert isinstance(latest_new["latest_write"], dg.TimestampMetadataValue)
        progress = instance.fetch_observations(pipeline_key(spec, "new"), 1).records[0]
        assert "streaming" in progress.asset_observation.metadata["new_pipeline_progress"].value
        report = instance.fetch_materializations(validation_key(spec), limit=1).records[0]
        assert "streaming" in report.asset_materialization.metadata["new_pipeline_progress"].value
        after = deployment.tick()
        assert not after.run_requests
        assert (
            after.skip_message == "complete: the cutover is under way or done, nothing left "
            "to validate"
        )
        # Each applied Terraform step recorded what it did on the asset it changed (newest first).
        changes = {
            name: [
                r.asset_materialization.metadata["change"].value
                for r in instance.fetch_materializations(dg.AssetKey([NAME, name]), 10).records
            ]
            for name in ("source_reader", "new_pipeline", "old_pipeline")
        }
        assert changes == {
            "source_reader": ["unshared", "shared"],
            "new_pipeline": ["created"],
            "old_pipeline": ["deleted"],
        }

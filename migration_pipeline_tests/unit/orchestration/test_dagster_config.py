"""The shipped dagster.yaml loads in Dagster 1.13, fails the runs of dead workers and retries
them, and runs one thing at a time per migration (pools)."""

from __future__ import annotations

import shutil

import dagster as dg

from migration_pipeline.orchestration import build_definitions
from migration_pipeline.orchestration.event_metadata import approval_key, validation_key
from migration_pipeline.spec import load_specs
from migration_pipeline_tests.support.orchestration import SPEC_YAML
from migration_pipeline_tests.support.paths import ROOT

SHIPPED = ROOT / "dagster.yaml"


def test_the_shipped_instance_config_loads_with_run_monitoring_on(tmp_path, monkeypatch):
    shutil.copy(SHIPPED, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert instance.run_monitoring_enabled
        # The default run launcher cannot resume a run: a resume attempt would only fail later.
        assert instance.run_monitoring_max_resume_run_attempts == 0
        assert instance.run_monitoring_start_timeout_seconds <= 300


def test_the_shipped_instance_config_retries_crashed_runs_of_the_migration_jobs_only(
    tmp_path, monkeypatch
):
    shutil.copy(SHIPPED, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        # On, but no retry unless a job asks (the migration's jobs ask for 3 in their tags), and
        # never after an op failed: a crash is retried, an error waits for a person.
        assert (
            instance.run_retries_enabled,
            instance.run_retries_max_retries,
            instance.run_retries_retry_on_asset_or_op_failure,
        ) == (True, 0, False)
        assert instance.run_coordinator.dequeue_interval_seconds == 1


def test_the_shipped_instance_config_limits_each_pool_to_one_run(tmp_path, monkeypatch):
    shutil.copy(SHIPPED, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        pools = instance.get_concurrency_config().pool_config
    assert (pools.default_pool_limit, str(pools.pool_granularity.value)) == (1, "run")


def test_every_op_and_asset_that_runs_terraform_or_validates_is_in_the_migrations_pool(tmp_path):
    (tmp_path / "migrations.yaml").write_text(SPEC_YAML)
    spec = load_specs(tmp_path / "migrations.yaml")["shop_move"]
    defs = build_definitions({spec.name: spec})
    job = defs.resolve_job_def("shop_move_job")
    assert {n.name: n.pool for n in job.graph.node_defs} == {
        name: "migration-shop_move"
        for name in (
            "promote_reader",
            "create_pipeline",
            "validate_destinations",
            "check_approval",
            "cut_over",
            "unshare_reader",
        )
    }
    abort = defs.resolve_job_def("shop_move_abort_job")
    assert [n.pool for n in abort.graph.node_defs] == ["migration-shop_move"]
    for key in (validation_key(spec), approval_key(spec)):  # an abort decision runs terraform
        assert defs.resolve_assets_def(key).op.pool == "migration-shop_move"

"""Abort before cutover rolls back with guarded steps: the new pipeline deleted, the reader as it
was before the migration in Artie and in the module (byte for byte); after cutover it refuses."""

from __future__ import annotations

import pytest

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.errors import StepRefused
from migration_pipeline.terraform.steps import abort_migration, run_step
from migration_pipeline_tests.support.crash import assert_nothing_secret_left, private_temp
from migration_pipeline_tests.support.sandbox_module import (
    deployed_module,
    runner_for,
    spec_for,
    tf_bytes,
)

SHARED_READER = """  database_name  = var.source_database_name
  is_shared      = true
  # every table analytics_v1 reads; the reader was shared before the migration
  tables = {
    "customers"   = { name = "customers" }
    "orders"      = { name = "orders" }
    "order_items" = { name = "order_items" }
    "products"    = { name = "products" }
  }
}"""


def share_reader(main_tf: str) -> str:
    return main_tf.replace("  database_name  = var.source_database_name\n}", SHARED_READER, 1)


def reader_in_artie(api: ArtieClient, uuid: str) -> tuple:
    reader = api.get_source_reader(uuid)
    return reader.is_shared, sorted((t.schema, t.name) for t in reader.tables)


# A dedicated reader before the migration is covered through the CLI and the approval asset
# (test_orchestration_abort.py); here, a reader that was shared already, and each step's plan.
@pytest.mark.timeout(300)
def test_abort_after_create_deletes_the_new_pipeline_and_leaves_a_reader_shared_before_as_it_was(
    sandbox, tmp_path, monkeypatch
):
    temp = private_temp(monkeypatch, tmp_path)
    directory = deployed_module(sandbox, tmp_path, share_reader)
    spec = spec_for(directory)
    runner = runner_for(sandbox, directory)
    before = tf_bytes(directory)
    reader_uuid = runner.state().uuids()[spec.reader]
    with ArtieClient(sandbox.endpoint, sandbox.api_key) as api:
        reader_before = reader_in_artie(api, reader_uuid)
        for step in ("promote", "create"):
            run_step(step, spec, runner, api)
        assert len(api.pipelines_on_reader(reader_uuid)) == 2
        results = abort_migration(spec, runner, api)
        assert [(r.step, r.status) for r in results] == [
            ("abort_pipeline", "applied"),
            ("abort_reader", "already done"),
            ("abort_tidy", "already done"),
        ]
        assert [c.describe() for c in results[0].plan.changes] == [
            "artie_pipeline.analytics_v2 would be destroyed"
        ]
        assert reader_before[0] is True
        assert tf_bytes(directory) == before
        assert [p.name for p in api.pipelines_on_reader(reader_uuid)] == ["analytics_v1"]
        assert reader_in_artie(api, reader_uuid) == reader_before
        assert [r.status for r in abort_migration(spec, runner, api)] == ["already done"] * 3
    assert set(runner.state().uuids()) == {
        "artie_connector.shop",
        "artie_connector.analytics_v1",
        "artie_connector.analytics_v2",
        spec.reader,
        spec.old_pipeline,
    }
    assert_nothing_secret_left(directory, sandbox.api_key, temp)


@pytest.mark.timeout(300)
def test_abort_after_cutover_is_refused_and_changes_nothing(sandbox, tmp_path):
    directory = deployed_module(sandbox, tmp_path)
    spec = spec_for(directory)
    runner = runner_for(sandbox, directory)
    with ArtieClient(sandbox.endpoint, sandbox.api_key) as api:
        for step in ("promote", "create", "cutover"):
            run_step(step, spec, runner, api)
        after_cutover = tf_bytes(directory)
        with pytest.raises(StepRefused) as refusal:
            abort_migration(spec, runner, api)
    assert str(refusal.value) == (
        "The cutover has started or is done: artie_pipeline.analytics_v1 is no longer in the "
        "module, so the old pipeline is being (or has been) deleted and there is nothing to roll "
        "back to. Abort only applies before cutover; finish the migration instead."
    )
    assert tf_bytes(directory) == after_cutover
    assert not (directory / ".terraform" / "migration-pipeline" / "journal.json").exists()

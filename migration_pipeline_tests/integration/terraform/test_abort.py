"""Abort before cutover rolls back with guarded steps: the new pipeline deleted, the reader as it
was before the migration in Artie and in the module (byte for byte); a promote or create killed
mid-apply is settled first (what Artie accepted adopted, a saved pipeline then deleted once; a
promote or create Artie never saw undone, nothing applied); once the cutover has started,
finished or not, it refuses."""

from __future__ import annotations

import pytest

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.errors import StepRefused
from migration_pipeline.terraform.plan import Redactor, parse_plan
from migration_pipeline.terraform.steps import abort_migration, run_step
from migration_pipeline.terraform.workdir import Journal
from migration_pipeline_tests.support.crash import (
    HoldingProxy,
    assert_nothing_secret_left,
    killed_mid_apply,
    private_temp,
)
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


def deployed(sandbox, tmp_path, main_tf=str) -> tuple:
    """The example module deployed (its main.tf through `main_tf`): its folder, spec, runner,
    files and reader's uuid."""
    directory = deployed_module(sandbox, tmp_path, main_tf)
    spec, runner = spec_for(directory), runner_for(sandbox, directory)
    return directory, spec, runner, tf_bytes(directory), runner.state().uuids()[spec.reader]


# A dedicated reader before the migration is covered through the CLI and the approval asset
# (test_orchestration_abort.py); here, a reader that was shared already, and each step's plan.
@pytest.mark.timeout(300)
def test_abort_after_create_deletes_the_new_pipeline_and_leaves_a_reader_shared_before_as_it_was(
    sandbox, tmp_path, monkeypatch
):
    temp = private_temp(monkeypatch, tmp_path)
    directory, spec, runner, before, reader_uuid = deployed(sandbox, tmp_path, share_reader)
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


CREATE = ("POST", r"^/pipelines$")
PIPELINE = r"^/pipelines/[^/]+$"


READER = ("POST", r"^/source-readers/(?!validate)[^/]+$")
ADOPTED_PROMOTE = (
    "Artie already held the promote change to artie_source_reader.shop (an earlier run was "
    "stopped after Artie accepted it, before Terraform recorded it): recorded it in the state (a "
    "checked refresh-only apply, or `state rm` of a pipeline Artie deleted)."
)
NOT_APPLIED = "**Plan:**\n\nNot applied: the step's edit was undone"
UNDONE = (
    "{step} had not reached Artie (an earlier run stopped before Artie accepted it): its edit is "
    "undone and nothing was applied."
)


# (step killed, whether Artie accepted its request, what the settle and each abort step did).
# A promote Artie never saw is undone by its journal: the reader's file is back as it was before
# the migration, so abort_reader, though promote recorded the reader's `before`, has nothing left.
@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "step, reached, settled",
    [
        ("create", True, ("applied", "applied", "applied", "applied")),
        ("create", False, ("undone", "already done", "applied", "applied")),
        ("promote", True, ("applied", "already done", "applied", "applied")),
        ("promote", False, ("undone", "already done", "already done", "already done")),
    ],
    ids=["create-accepted", "create-never-seen", "promote-accepted", "promote-never-seen"],
)
def test_an_abort_settles_a_step_killed_mid_apply_then_rolls_back(
    sandbox, tmp_path, monkeypatch, step, reached, settled
):
    temp = private_temp(monkeypatch, tmp_path)
    directory, spec, runner, before, reader_uuid = deployed(sandbox, tmp_path)
    with ArtieClient(sandbox.endpoint, sandbox.api_key) as api:
        reader_before = reader_in_artie(api, reader_uuid)
        if step == "create":
            run_step("promote", spec, runner, api)
        trap = CREATE if step == "create" else READER
        killed_mid_apply(sandbox, directory, spec, api, step, trap, reached)
        orphans = [p.uuid for p in api.pipelines_on_reader(reader_uuid) if p.name == "analytics_v2"]
        assert len(orphans) == (step == "create" and reached)
        # Every request the abort's terraform sends to Artie goes through this proxy (no trap).
        with HoldingProxy(sandbox.endpoint, "NONE", r"^$") as seen:
            results = abort_migration(spec, runner_for(sandbox, directory, seen.url), api)
        assert [(r.step, r.status) for r in results] == list(
            zip((step, "abort_pipeline", "abort_reader", "abort_tidy"), settled, strict=True)
        )
        assert results[0].message == (
            f"Artie already had 'analytics_v2' ({orphans[0]}) on the reader, unknown to the state "
            "(an earlier create was stopped after Artie accepted it): imported it as "
            "artie_pipeline.analytics_v2 instead of creating a second pipeline."
            if orphans
            else (ADOPTED_PROMOTE if reached else UNDONE.format(step=step))
        )
        # What the rollback summary shows: an undone step applied nothing of its plan.
        shown = results[0].to_markdown()
        assert "would be" not in shown and (NOT_APPLIED in shown) == (not reached), shown
        # Nothing created by the abort; the pipeline Artie accepted deleted once, by the abort;
        # the reader updated once, only where abort_reader applied.
        assert seen.reached(*CREATE) == []
        assert len(seen.reached(*READER)) == (settled[2] == "applied")
        assert [p for _, p, _ in seen.reached("DELETE", PIPELINE)] == [
            f"/pipelines/{uuid}" for uuid in orphans
        ]
        assert tf_bytes(directory) == before
        assert [p.name for p in api.pipelines_on_reader(reader_uuid)] == ["analytics_v1"]
        assert reader_in_artie(api, reader_uuid) == reader_before
        assert [r.status for r in abort_migration(spec, runner, api)] == ["already done"] * 3
    assert Journal(directory).pending_step() is None
    plan_file = tmp_path / "check.tfplan"
    assert runner.plan(plan_file) is False  # the state is what Artie holds
    assert parse_plan(runner.show_json(plan_file), Redactor()).drift == ()
    plan_file.unlink()
    assert_nothing_secret_left(directory, sandbox.api_key, temp)


@pytest.mark.timeout(300)
def test_abort_after_cutover_is_refused_and_changes_nothing(sandbox, tmp_path):
    directory = deployed_module(sandbox, tmp_path)
    spec = spec_for(directory)
    runner = runner_for(sandbox, directory)
    with ArtieClient(sandbox.endpoint, sandbox.api_key) as api:
        for step in ("promote", "create"):
            run_step(step, spec, runner, api)
        # A cutover killed once Artie accepted its DELETE: unfinished, and still refused.
        killed_mid_apply(sandbox, directory, spec, api, "cutover", ("DELETE", PIPELINE), True)
        mid_cutover = tf_bytes(directory)
        with pytest.raises(StepRefused) as refusal:
            abort_migration(spec, runner, api)
        assert str(refusal.value) == (
            f"A cutover step did not finish in {directory}: the cutover has started, so Artie may "
            "already have deleted artie_pipeline.analytics_v1 and there is nothing to roll back "
            "to. Abort only applies before cutover; launch the job to finish the cutover step "
            "and the migration."
        )
        assert tf_bytes(directory) == mid_cutover
        assert Journal(directory).pending_step() == "cutover"  # left for the job to finish
        assert run_step("cutover", spec, runner, api).status == "applied"
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

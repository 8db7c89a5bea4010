"""The runbook's classic mistake end to end: a shared reader missing a table the old pipeline uses, and the same table dropped from the reader by hand mid-migration; each time real Dagster runs of the job (launched by a person, then by the catch-up sensor) add it back with promote before anything else and carry the migration to complete, and rehearse on the same module takes the same steps."""

from __future__ import annotations

import time

import pytest

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.phases import Phase
from migration_pipeline.spec import load_spec
from migration_pipeline.terraform.rehearse import rehearse
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline_tests.support.demo import prepared_demo
from migration_pipeline_tests.support.e2e import applied_steps, apply_module
from migration_pipeline_tests.support.sandbox import drop_reader_table, promote
from sandbox_demo.driver import Driver
from sandbox_demo.prepare import MIGRATION

TABLES = ["customers", "order_items", "orders", "products"]
MISSING = "The reader is shared but missing products (used by artie_pipeline.analytics_v1"


@pytest.fixture
def prepared(tmp_path, monkeypatch):
    with prepared_demo(tmp_path, monkeypatch) as ready:
        yield ready


def rehearsed_changes(spec, api) -> list[str]:
    """The steps a rehearsal of the module as it is now would change something with (a file
    edit, or a change of its own in the plan)."""
    rehearsal = rehearse(spec, lambda copy: TerraformRunner.for_spec(spec.terraform, copy), api)
    assert rehearsal.ok, rehearsal.to_markdown()
    return [
        r.step
        for r in rehearsal.results
        if r.status == "planned" and (r.diffs or "this step's own change: none" not in r.notes)
    ]


@pytest.mark.timeout(400)
def test_a_missing_reader_table_is_added_first_then_the_migration_completes(prepared, tmp_path):
    spec = load_spec(prepared.config, MIGRATION)
    promote(prepared.module, TABLES)  # an operator shared the reader by hand...
    apply_module(spec, tmp_path / "shared.tfplan")
    promote(prepared.module, TABLES[:-1])  # ...then left products out: Artie accepts it
    apply_module(spec, tmp_path / "missing.tfplan")
    driver = Driver.from_file(prepared.config, MIGRATION)
    with ArtieClient(spec.artie.api_url, prepared.env["ARTIE_API_KEY"]) as api:
        before_start = rehearsed_changes(spec, api)
        with driver.instance() as instance:
            first_run = driver.launch(instance)  # a person starts the migration
            first_steps = applied_steps(instance, spec)
            drop_reader_table(prepared.module, "products")  # by hand, mid-migration
            waiting = driver.step(instance).line  # the sensor launches nothing: it says why
            mid_rehearsal = rehearsed_changes(spec, api)
            driver.launch(instance)  # the person who read the reason
            approved, phase = False, None
            deadline = time.monotonic() + 300
            while phase != Phase.COMPLETE:
                assert time.monotonic() < deadline, f"stuck in {phase}"
                outcome = driver.step(instance)
                phase = outcome.phase
                if outcome.awaiting_approval and not approved:
                    driver.approve(instance, "e2e", "products captured again")
                    approved = True
                time.sleep(0.5)
            taken = applied_steps(instance, spec)
        reader_uuid = TerraformRunner.for_spec(spec.terraform).state().uuids()[spec.reader]
        reader = api.get_source_reader(reader_uuid)
    assert before_start == ["promote", "create", "cutover", "unshare"]
    assert "promote_reader ok, create_pipeline ok" in first_run
    assert first_steps == before_start[:2]
    assert waiting.startswith(f"waiting: planned: {MISSING}"), waiting
    assert waiting.endswith("): promote will add it.")
    assert mid_rehearsal == ["promote", "cutover", "unshare"]
    assert taken == first_steps + mid_rehearsal
    assert approved and not reader.is_shared and reader.uuid == reader_uuid

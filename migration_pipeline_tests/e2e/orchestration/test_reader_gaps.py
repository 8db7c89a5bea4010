"""The runbook's classic mistake end to end through the real Dagster path (dagster dev: web server, daemon, sensor ticks, runs launched over GraphQL as the UI does): a shared reader missing a table the old pipeline uses, and the same table dropped from the reader by hand mid-migration; each time the job adds it back with promote before anything else (the sensor launching nothing meanwhile, saying why) and carries the migration to complete, and rehearse on the same module takes the same steps."""

from __future__ import annotations

import time

import dagster as dg
import pytest

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.orchestration.runs import LAUNCHED_BY_TAG, job_name
from migration_pipeline.spec import load_spec
from migration_pipeline.terraform.rehearse import rehearse
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline_tests.support.daemon import FINISHED, finished_runs, set_gates, wait_for
from migration_pipeline_tests.support.demo import prepared_demo
from migration_pipeline_tests.support.e2e import applied_steps, apply_module
from migration_pipeline_tests.support.sandbox import drop_reader_table, promote
from sandbox_demo.deployment import Deployment
from sandbox_demo.prepare import MIGRATION
from sandbox_demo.watch import Watch

TABLES = ["customers", "order_items", "orders", "products"]
SENSOR = f"{MIGRATION}_catch_up_sensor"
MISSING = "The reader is shared but missing products (used by artie_pipeline.analytics_v1"


@pytest.fixture
def prepared(tmp_path, monkeypatch):
    with prepared_demo(tmp_path, monkeypatch) as ready:
        # One clean validation opens the approval gate: the reader's gap, not the streak rule (the
        # phases' own, tested without Dagster), is under test; each validation is one more run.
        set_gates(ready.config, MIGRATION, clean_validations=1)
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


def gap_skips(deployment: Deployment, since: float) -> list:
    """The sensor's finished ticks since `since` that skipped because the reader has a gap."""
    return [
        t
        for t in deployment.ticks(SENSOR)
        if t.started > since and t.ended and (t.skip_reason or "").startswith("planned: ")
    ]


def ended_ticks_between(deployment: Deployment, start: float, end: float) -> list:
    """The sensor's ticks started from `start` until before `end`, once every one of them has
    ended ([] until then)."""
    ticks = [t for t in deployment.ticks(SENSOR) if start <= t.started < end]
    return ticks if all(t.ended for t in ticks) else []


@pytest.mark.timeout(600)
def test_a_missing_reader_table_is_added_first_then_the_migration_completes(prepared, tmp_path):
    spec = load_spec(prepared.config, MIGRATION)
    job = job_name(spec)
    promote(prepared.module, TABLES)  # an operator shared the reader by hand...
    apply_module(spec, tmp_path / "shared.tfplan")
    promote(prepared.module, TABLES[:-1])  # ...then left products out: Artie accepts it
    apply_module(spec, tmp_path / "missing.tfplan")
    with (
        ArtieClient(spec.artie.api_url, prepared.env["ARTIE_API_KEY"]) as api,
        Deployment(prepared.env, tmp_path / "dagster-dev.log") as deployment,
        dg.DagsterInstance.get() as instance,
    ):
        before_start = rehearsed_changes(spec, api)
        watch = Watch(deployment, spec, instance)
        first = deployment.launch_job(job)  # a person starts the migration
        wait_for("the first run", lambda: deployment.runs(job)[-1].status in FINISHED, 120)
        first_steps = applied_steps(instance, spec)
        drop_reader_table(prepared.module, "products")  # by hand, mid-migration
        dropped_at = time.time()
        waiting = wait_for(  # the sensor launches nothing, tick after tick, and says why
            "two of the sensor's skips",
            lambda: found if len(found := gap_skips(deployment, dropped_at)) >= 2 else [],
            120,
        )
        mid_rehearsal = rehearsed_changes(spec, api)
        resumed_at = time.time()
        resumed = deployment.launch_job(job)  # the person who read the reason
        held = wait_for(  # a tick still running at the launch is judged once it has ended
            "the ticks started before the launch to end",
            lambda: ended_ticks_between(deployment, waiting[0].started, resumed_at),
            60,
        )
        approved = []
        while (status := watch.status())["phase"] != "complete":
            assert status["phase"] != "aborted", status
            if watch.approve_when_asked(status, "e2e", "products captured again"):
                approved.append(status["latest_validation"]["id"])
            assert time.time() - dropped_at < 400, watch.progress()
            time.sleep(1)
        runs = finished_runs(deployment, job)
        taken = applied_steps(instance, spec)
        reader_uuid = TerraformRunner.for_spec(spec.terraform).state().uuids()[spec.reader]
        reader = api.get_source_reader(reader_uuid)
    assert before_start == ["promote", "create", "cutover", "unshare"]
    assert first_steps == before_start[:2]
    assert waiting[0].skip_reason.startswith(f"planned: {MISSING}"), waiting
    assert waiting[0].skip_reason.endswith("): promote will add it.")
    # From its first such tick to the person's launch the sensor launched nothing: no run started
    # in that window. (The tick history does not keep every skipped tick: on a quiet machine two
    # skips were seen, then one listed; so ticks are not counted.)
    assert held and all(t.status == "SKIPPED" for t in held), held
    assert not [r for r in runs if dropped_at <= (r.start or 0) < resumed_at], runs
    assert mid_rehearsal == ["promote", "cutover", "unshare"]
    assert taken == first_steps + mid_rehearsal
    by_person = [r.run_id for r in runs if LAUNCHED_BY_TAG not in r.tags]
    assert sorted(by_person) == sorted([first, resumed])
    assert all(r.status == "SUCCESS" for r in runs), runs
    assert approved and not reader.is_shared and reader.uuid == reader_uuid

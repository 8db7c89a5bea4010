"""A crash is nobody's decision: the run worker and terraform SIGKILLed right after Artie accepted
the first change of each Terraform step (promote, create, cutover, unshare), in one migration
through the real Dagster path (dagster dev: code server, daemon, run queue, run retries, the
catch-up sensor, the shipped dagster.yaml), and one person's launch and one approval still carry
it to `complete` with no command run by hand: one new pipeline, the old one deleted once, the
Terraform state equal to what Artie holds, the module as intended, no key left behind. A person's
abort (the abort job, or the approval asset's decision from the UI) whose run worker is killed
once Artie deleted the new pipeline is retried by Dagster and rolls back with no second DELETE.

Later requests of a step (a second resource, a start after a create) are covered step by step
in integration/terraform/test_crash.py; this test pays for one crash per step."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.cli import main
from migration_pipeline.orchestration.event_metadata import approval_key, read_approval
from migration_pipeline.orchestration.runs import (
    LAUNCHED_BY_TAG,
    REFUSED_TAG,
    RETRIED_BY_TAG,
    job_name,
)
from migration_pipeline.spec import load_spec
from migration_pipeline.terraform.plan import Redactor, parse_plan
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline.terraform.steps import run_step
from migration_pipeline_tests.support.crash import (
    HoldingProxy,
    files_holding,
    kill_when_accepted,
)
from migration_pipeline_tests.support.daemon import (
    EXPECTED_DIFF,
    finished_runs,
    module_diff,
    pipelines,
    set_gates,
    wait_for,
)
from migration_pipeline_tests.support.demo import prepared_demo
from migration_pipeline_tests.support.sandbox_module import tf_bytes
from sandbox_demo.deployment import ASSET_JOB, Deployment
from sandbox_demo.prepare import EXAMPLE_MODULE, MIGRATION
from sandbox_demo.watch import Watch

READER = r"^/source-readers/(?!validate)[^/]+$"
PIPELINE = r"^/pipelines/[^/]+$"
# The first request that changes Artie in each step, in the order the migration sends them.
TRAPS = (
    ("promote", "POST", READER),
    ("create", "POST", r"^/pipelines$"),
    ("cutover", "DELETE", PIPELINE),
    ("unshare", "POST", READER),
)


@pytest.fixture
def prepared(tmp_path, monkeypatch):
    with prepared_demo(tmp_path, monkeypatch) as ready:
        # One clean validation before approval: the crashes, not the evidence, are under test.
        set_gates(ready.config, MIGRATION, clean_validations=1)
        yield ready


def crash_deployment(prepared, proxy: HoldingProxy, tmp_path: Path) -> Deployment:
    """dagster dev with terraform reaching Artie through `proxy`."""
    env = {
        **prepared.env,
        "ARTIE_ENDPOINT": proxy.url,
        # The daemon that retries failed runs reads new failures every second (its default is
        # 5 s): each crash is retried as soon as Dagster marked it failed.
        "DAGSTER_EVENT_LOG_CONSUMER_DAEMON_INTERVAL_SECONDS": "1",
    }
    return Deployment(env, tmp_path / "dagster-dev.log")


def approve_when_asked(watch: Watch, config: Path) -> bool:
    """Approve the latest clean validation through the CLI once the job waits for approval."""
    status = watch.status()
    closed = next((g for g in status["gates"] if not g["open"]), None)
    latest = status["latest_validation"]
    if closed is None or closed["name"] != "approval" or (latest or {}).get("verdict") != "clean":
        return False
    argv = ["approve", "--config", str(config), "--migration", MIGRATION, "--who", "crash-test"]
    return main([*argv, "--comment", "clean", "--validation", latest["id"]]) == 0


@pytest.mark.timeout(600)
def test_the_run_worker_killed_in_every_step_still_completes_with_no_hand_run_command(
    prepared, tmp_path
):
    spec = load_spec(prepared.config, MIGRATION)
    job = job_name(spec)
    runner = TerraformRunner.for_spec(spec.terraform)
    before = runner.state().uuids()
    proxy = HoldingProxy(prepared.sandbox.endpoint(), *TRAPS[0][1:])
    started = time.monotonic()
    with (
        proxy,
        crash_deployment(prepared, proxy, tmp_path) as deployment,
        dg.DagsterInstance.get() as instance,
    ):
        watch = Watch(deployment, spec, instance)
        person = deployment.launch_job(job)
        for index, (step, _, _) in enumerate(TRAPS):
            if step == "cutover":
                wait_for(
                    "the approval gate", lambda: approve_when_asked(watch, prepared.config), 240
                )
            killed = kill_when_accepted(proxy, deployment.process.pid, worker=True)
            assert 200 <= proxy.trapped[2] < 300, (step, proxy.trapped)  # Artie accepted it
            assert killed.worker is not None, step
            if index + 1 < len(TRAPS):
                proxy.rearm(*TRAPS[index + 1][1:])  # and release the answer to the dead worker
            else:
                proxy.release.set()
        wait_for("complete", lambda: watch.status()["phase"] == "complete", 240, every=2)
        runs = finished_runs(deployment, job)
    total = time.monotonic() - started

    crashed = [r for r in runs if r.status == "FAILURE"]
    assert len(crashed) == len(TRAPS), runs
    # Each crash was retried by Dagster (nobody launched anything by hand) and was not a refusal;
    # one Dagster's retry daemon missed is launched by the sensor in its place (it has happened).
    assert all(r.tags.get("dagster/will_retry") == "true" for r in crashed), crashed
    retries = {r.run_id for r in runs if "dagster/retry_number" in r.tags}
    by_dagster = [r for r in crashed if RETRIED_BY_TAG not in r.tags]
    assert {r.tags["dagster/auto_retry_run_id"] for r in by_dagster} <= retries
    assert all(r.tags[RETRIED_BY_TAG] == "sensor" for r in crashed if r not in by_dagster)
    assert [
        r.run_id for r in runs if LAUNCHED_BY_TAG not in r.tags and r.run_id not in retries
    ] == [person]
    assert all(r.status == "SUCCESS" for r in runs if r not in crashed), runs
    assert not [r for r in runs if REFUSED_TAG in r.tags]

    # Artie: one pipeline ever created, the old one deleted once, only the new one left.
    created = proxy.reached("POST", r"^/pipelines$")
    assert len(created) == 1 and 200 <= created[0][2] < 300, created
    deleted = proxy.reached("DELETE", PIPELINE)
    assert [path for _, path, _ in deleted] == [f"/pipelines/{before[spec.old_pipeline]}"]
    assert 200 <= deleted[0][2] < 300, deleted
    assert pipelines(prepared) == ["analytics_v2"]
    # The state is what Artie holds: a refreshed plan finds nothing changed or drifted.
    after = runner.state().uuids()
    with ArtieClient(prepared.sandbox.endpoint(), prepared.env["ARTIE_API_KEY"]) as api:
        (new,) = api.pipelines_on_reader(after[spec.reader])
        reader = api.get_source_reader(after[spec.reader])
    assert (new.uuid, new.status, reader.is_shared) == (
        after[spec.new_pipeline.address],
        "running",
        False,
    )
    assert spec.old_pipeline not in after
    plan_file = tmp_path / "check.tfplan"
    assert runner.plan(plan_file) is False
    plan = parse_plan(runner.show_json(plan_file), Redactor())
    plan_file.unlink()
    assert (plan.changes, plan.drift) == ((), ())
    original = tmp_path / "original"
    shutil.copytree(EXAMPLE_MODULE, original, ignore=shutil.ignore_patterns(".terraform*"))
    assert module_diff(original, prepared.module) == EXPECTED_DIFF.read_text()
    assert not files_holding(prepared.module, prepared.env["ARTIE_API_KEY"])
    assert not list(prepared.module.rglob("*.tfplan"))
    print(
        f"\n{len(runs)} runs, {len(crashed)} crashed and retried; launch to complete {total:.0f} s"
    )


def launch_abort(deployment: Deployment, spec, way: str) -> tuple[str, str]:
    """A person's abort, `way` being the abort job or the approval asset's decision from the UI;
    the run id and its job."""
    decision = {"who": "ana", "comment": "wrong warehouse"}
    if way == "abort job":
        job = f"{spec.name}_abort_job"
        return deployment.launch_job(job, {"ops": {"roll_back": {"config": decision}}}), job
    config = {"ops": {f"{spec.name}__approval": {"config": {**decision, "decision": "abort"}}}}
    return deployment.materialize(list(approval_key(spec).path), config), ASSET_JOB


@pytest.mark.timeout(300)
@pytest.mark.parametrize("way", ["abort job", "approval asset"])
def test_an_abort_run_killed_after_artie_deleted_the_new_pipeline_is_retried_and_rolls_back(
    prepared, tmp_path, way
):
    spec = load_spec(prepared.config, MIGRATION)
    runner = TerraformRunner.for_spec(spec.terraform)
    original = tf_bytes(prepared.module)
    # The migration up to its new pipeline, without Dagster, while dagster dev starts.
    created = threading.Thread(target=promote_and_create, args=(spec, prepared), daemon=True)
    created.start()
    proxy = HoldingProxy(prepared.sandbox.endpoint(), "DELETE", PIPELINE)
    started = time.monotonic()
    with (
        proxy,
        crash_deployment(prepared, proxy, tmp_path) as deployment,
        dg.DagsterInstance.get() as instance,
    ):
        created.join(120)
        new_uuid = runner.state().uuids()[spec.new_pipeline.address]
        person, abort_job = launch_abort(deployment, spec, way)
        killed = kill_when_accepted(proxy, deployment.process.pid, worker=True)
        assert 200 <= proxy.trapped[2] < 300, proxy.trapped  # Artie deleted it
        assert killed.worker is not None
        proxy.rearm("NONE", r"^$")  # and release the answer to the dead worker
        runs = wait_for(
            "the retried abort to succeed",
            lambda: (r := finished_runs(deployment, abort_job, 240))[0].status == "SUCCESS" and r,
            240,
        )
        status = Watch(deployment, spec, instance).status()
        recorded = instance.fetch_materializations(approval_key(spec), limit=10).records
    total = time.monotonic() - started

    crashed, retried = runs[-1], runs[0]
    assert [r.run_id for r in runs] == [retried.run_id, person], runs
    assert (crashed.status, crashed.tags.get("dagster/will_retry")) == ("FAILURE", "true")
    assert retried.tags["dagster/retry_number"] == "1"
    assert crashed.tags["dagster/auto_retry_run_id"] == retried.run_id
    # One decision, recorded once by the run the person launched: the retry continues it.
    decisions = [
        (r.run_id, read_approval(r.asset_materialization.metadata, None)) for r in recorded
    ]
    assert [(run, a.who, a.decision, a.comment) for run, a in decisions] == [
        (person, "ana", "abort", "wrong warehouse")
    ]
    # Artie saw one DELETE, of the new pipeline; the old one streams on, the reader as it was.
    assert [(m, p) for m, p, _ in proxy.reached("DELETE", PIPELINE)] == [
        ("DELETE", f"/pipelines/{new_uuid}")
    ]
    assert pipelines(prepared) == ["analytics_v1"]
    assert tf_bytes(prepared.module) == original
    assert (status["phase"], status["reason"]) == (
        "aborted",
        "ana aborted the migration: wrong warehouse. Rolled back: "
        f"{spec.new_pipeline.address} is deleted.",
    )
    assert not files_holding(prepared.module, prepared.env["ARTIE_API_KEY"])
    print(f"\nabort ({way}) launched, crashed, retried and rolled back in {total:.0f} s")


def promote_and_create(spec, prepared) -> None:
    with ArtieClient(spec.artie.api_url, prepared.env["ARTIE_API_KEY"]) as client:
        for step in ("promote", "create"):
            run_step(step, spec, TerraformRunner.for_spec(spec.terraform), client)

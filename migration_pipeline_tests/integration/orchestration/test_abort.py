"""A person's abort rolls the migration back whichever way it comes: `migration-pipeline abort`
or the approval asset materialized with `decision: abort`, through real Dagster and terraform;
an abort killed mid-rollback converges when the person runs it again, deleting nothing twice."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import pytest

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.cli import main
from migration_pipeline.orchestration import build_definitions
from migration_pipeline.orchestration.event_metadata import approval_key, latest_approval
from migration_pipeline.terraform.plan import Redactor, parse_plan
from migration_pipeline.terraform.steps import run_step
from migration_pipeline_tests.support.crash import (
    HoldingProxy,
    assert_nothing_secret_left,
    kill_when_accepted,
    private_temp,
)
from migration_pipeline_tests.support.sandbox_module import (
    deployed_module,
    migrations_file,
    runner_for,
    spec_for,
    tf_bytes,
)

RETRY_TAG = "dagster/max_retries"


@pytest.fixture
def created(sandbox, tmp_path, monkeypatch):
    """The example migration after promote and create, its migrations file and instance home."""
    directory = deployed_module(sandbox, tmp_path)
    before = tf_bytes(directory)
    spec = spec_for(directory)
    with ArtieClient(sandbox.endpoint, sandbox.api_key) as api:
        for step in ("promote", "create"):
            run_step(step, spec, runner_for(sandbox, directory), api)
    spec, config = migrations_file(sandbox, tmp_path, directory, monkeypatch)
    return spec, config, before


def rolled_back(sandbox, spec, before: dict) -> None:
    directory = spec.terraform.dir
    assert tf_bytes(directory) == before
    reader_uuid = runner_for(sandbox, directory).state().uuids()[spec.reader]
    with ArtieClient(sandbox.endpoint, sandbox.api_key) as api:
        assert [p.name for p in api.pipelines_on_reader(reader_uuid)] == ["analytics_v1"]
        assert api.get_source_reader(reader_uuid).is_shared is False


@pytest.mark.timeout(300)
def test_the_abort_command_records_the_decision_and_rolls_back(
    sandbox, created, capsys, tmp_path, monkeypatch
):
    spec, config, before = created
    temp = private_temp(monkeypatch, tmp_path)
    argv = [
        "abort",
        "--config",
        str(config),
        "--migration",
        spec.name,
        "--who",
        "ana",
        "--comment",
        "wrong warehouse",
    ]
    assert main(argv) == 0
    rolled_back(sandbox, spec, before)
    out = capsys.readouterr().out
    assert out.endswith(f"{spec.name} aborted by ana and rolled back.\n")
    assert sandbox.api_key not in out
    with dg.DagsterInstance.get() as instance:
        approval = latest_approval(instance, spec)
        assert (approval.who, approval.decision, approval.comment) == (
            "ana",
            "abort",
            "wrong warehouse",
        )
        # The launchable abort job takes the same path: here it finds everything rolled back.
        job = build_definitions({spec.name: spec}).resolve_job_def(f"{spec.name}_abort_job")
        result = job.execute_in_process(
            instance=instance, run_config={"ops": {"roll_back": {"config": {"who": "bo"}}}}
        )
        assert result.success
        assert latest_approval(instance, spec).who == "bo"
    rolled_back(sandbox, spec, before)
    assert_nothing_secret_left(spec.terraform.dir, sandbox.api_key, temp)


@pytest.mark.timeout(300)
def test_the_approval_assets_abort_decision_rolls_back(sandbox, created, tmp_path, monkeypatch):
    spec, _, before = created
    temp = private_temp(monkeypatch, tmp_path)
    defs = build_definitions({spec.name: spec})
    asset = defs.resolve_assets_def(approval_key(spec))
    config = {"ops": {f"{spec.name}__approval": {"config": {"who": "bo", "decision": "abort"}}}}
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([asset], instance=instance, run_config=config)
        assert result.success
        assert latest_approval(instance, spec).decision == "abort"
        # Retried by Dagster like the abort job when its worker dies: the same run tags.
        abort_job = defs.resolve_job_def(f"{spec.name}_abort_job")
        tags = instance.get_run_by_id(result.run_id).tags
        assert abort_job.run_tags.items() <= tags.items(), tags
        assert abort_job.run_tags[RETRY_TAG] == "3"
        # The decision is recorded once, by this run; the rollback is observed on the asset.
        records = instance.fetch_materializations(approval_key(spec), limit=10).records
        assert [r.run_id for r in records] == [result.run_id]
        (observation,) = result.asset_observations_for_node(f"{spec.name}__approval")
    shown = observation.metadata["rollback"].value
    assert "artie_pipeline.analytics_v2 would be destroyed" in shown
    # The reader's `tables`, left out, is "known after apply" (Optional + Computed, as in Artie's
    # provider): the plan summary lists the attribute the step sets.
    assert "artie_source_reader.shop would be updated in place (changes is_shared)" in shown
    rolled_back(sandbox, spec, before)
    assert_nothing_secret_left(spec.terraform.dir, sandbox.api_key, temp)


ABORT = "import sys; from migration_pipeline.cli import main; sys.exit(main(sys.argv[1:]))"
PIPELINE = r"^/pipelines/[^/]+$"
READER = r"^/source-readers/(?!validate)[^/]+$"
# The first request that changes Artie in each rollback step (abort_tidy's plan changes nothing).
ROLLBACK_TRAPS = (("abort_pipeline", "DELETE", PIPELINE), ("abort_reader", "POST", READER))


def abort_through(proxy: HoldingProxy, config, spec) -> subprocess.Popen:
    """`migration-pipeline abort` as a person runs it, its terraform reaching Artie via `proxy`."""
    argv = ["abort", "--config", str(config), "--migration", spec.name, "--who", "ana"]
    return subprocess.Popen(
        [sys.executable, "-c", ABORT, *argv, "--comment", "wrong warehouse"],
        env={**os.environ, "ARTIE_ENDPOINT": proxy.url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.timeout(400)
def test_an_abort_killed_after_artie_accepted_each_rollback_step_converges_when_run_again(
    sandbox, created, tmp_path, monkeypatch
):
    spec, config, before = created
    temp = private_temp(monkeypatch, tmp_path)
    runner = runner_for(sandbox, spec.terraform.dir)
    uuids = runner.state().uuids()
    with HoldingProxy(sandbox.endpoint, *ROLLBACK_TRAPS[0][1:]) as proxy:
        for index, (step, _, _) in enumerate(ROLLBACK_TRAPS):
            worker = abort_through(proxy, config, spec)
            # The person's abort command and its terraform, killed once Artie accepted the step's
            # request; the person then runs abort again (a crash undoes nobody's decision).
            kill_when_accepted(proxy, worker.pid, worker=True)
            worker.communicate(timeout=30)
            assert 200 <= proxy.trapped[2] < 300, (step, proxy.trapped)
            following = ROLLBACK_TRAPS[index + 1][1:] if index + 1 < len(ROLLBACK_TRAPS) else None
            proxy.rearm(*(following or ("NONE", r"^$")))
        finished = abort_through(proxy, config, spec)
        out, _ = finished.communicate(timeout=240)
    assert finished.returncode == 0, out
    # It resumes at the step the killed abort left unfinished.
    assert out.splitlines() == [
        "abort_reader: Artie already held the abort_reader change to artie_source_reader.shop (an "
        "earlier run was stopped after Artie accepted it, before Terraform recorded it): recorded "
        "it in the state (a checked refresh-only apply, or `state rm` of a pipeline Artie "
        "deleted).",
        "abort_tidy: Edited the module for abort_tidy; Terraform found nothing to change.",
        f"{spec.name} aborted by ana and rolled back.",
    ]
    # Every change that reached Artie: the new pipeline deleted once, the reader updated once;
    # the old pipeline never deleted, nothing created.
    changes = [r for r in proxy.requests if r[0] in ("POST", "PUT", "PATCH", "DELETE")]
    assert [(m, p) for m, p, _ in changes if not p.endswith("/validate-unsaved")] == [
        ("DELETE", f"/pipelines/{uuids[spec.new_pipeline.address]}"),
        ("POST", f"/source-readers/{uuids[spec.reader]}"),
    ], changes
    rolled_back(sandbox, spec, before)
    plan_file = tmp_path / "check.tfplan"
    assert runner.plan(plan_file) is False  # the state is what Artie holds
    assert parse_plan(runner.show_json(plan_file), Redactor()).drift == ()
    plan_file.unlink()
    assert_nothing_secret_left(spec.terraform.dir, sandbox.api_key, temp)

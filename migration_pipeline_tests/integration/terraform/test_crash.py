"""Every crash converges: terraform or the run worker killed right after Artie accepted a step's
request (its first change, or the second where a step sends two) leaves a module the next run
finishes, with one new pipeline and nothing secret behind."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform import hcl
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline.terraform.steps import make_edit, run_step
from migration_pipeline_tests.support.crash import (
    HoldingProxy,
    assert_nothing_secret_left,
    kill_when_accepted,
    killed_mid_apply,
    private_temp,
)
from migration_pipeline_tests.support.sandbox_module import (
    deployed_module,
    runner_for,
    spec_for,
    tf_bytes,
)

STEPS = ("promote", "create", "cutover", "unshare")
# The request that carries each step's change; validate-unsaved and deploy calls do not match.
TRAPS = {
    "promote": ("POST", r"^/source-readers/(?!validate)[^/]+$"),
    "create": ("POST", r"^/pipelines$"),
    "cutover": ("DELETE", r"^/pipelines/[^/]+$"),
    "unshare": ("POST", r"^/source-readers/(?!validate)[^/]+$"),
}


def intended_files(original: dict[str, bytes], steps: tuple[str, ...], tmp_path: Path) -> dict:
    """The module's files after `steps`, from the edits alone (no terraform, no crash)."""
    scratch = Path(tempfile.mkdtemp(prefix="intended-", dir=tmp_path))
    for name, data in original.items():
        (scratch / name).write_bytes(data)
    scratch_spec = spec_for(scratch)
    for step in steps:
        edit = make_edit(step, scratch_spec, hcl.load_module(scratch), TerraformState(), None)
        for path, text in edit.files.items():
            path.write_bytes(text.encode())
    result = {p.name: p.read_bytes() for p in scratch.glob("*.tf")}
    shutil.rmtree(scratch)
    return result


def one_new_pipeline(sandbox, directory: Path, spec: MigrationSpec) -> None:
    uuids = runner_for(sandbox, directory).state().uuids()
    with ArtieClient(sandbox.endpoint, sandbox.api_key) as api:
        on_reader = api.pipelines_on_reader(uuids[spec.reader])
    names = sorted(p.name for p in on_reader)
    assert [(p.uuid, p.status) for p in on_reader if p.name == "analytics_v2"] == [
        (uuids[spec.new_pipeline.address], "running")
    ]  # started, not left a draft
    return names


@pytest.mark.timeout(600)
def test_terraform_killed_right_after_artie_accepted_each_step_converges(
    sandbox, tmp_path, monkeypatch
):
    temp = private_temp(monkeypatch, tmp_path)
    directory = deployed_module(sandbox, tmp_path)
    spec = spec_for(directory)
    runner = runner_for(sandbox, directory)
    original = tf_bytes(directory)
    with ArtieClient(sandbox.endpoint, sandbox.api_key) as api:
        for done, step in enumerate(STEPS, 1):
            killed_mid_apply(sandbox, directory, spec, api, step, TRAPS[step])
            result = run_step(step, spec, runner, api)
            assert result.status == "applied", result.message
            assert "Artie already" in result.message, result.message
            assert run_step(step, spec, runner, api).status == "already done"
            assert tf_bytes(directory) == intended_files(original, STEPS[:done], tmp_path)
            if step == "create":
                assert one_new_pipeline(sandbox, directory, spec) == [
                    "analytics_v1",
                    "analytics_v2",
                ]
    assert one_new_pipeline(sandbox, directory, spec) == ["analytics_v2"]
    assert_nothing_secret_left(directory, sandbox.api_key, temp)


# The second change a step sends (the other steps send one): promote deploys the shared reader,
# create starts the pipeline it saved. Killed after Artie accepted it, the step converges too.
SECOND_TRAPS = {
    "promote": ("POST", r"^/source-readers/[^/]+/deploy$"),
    "create": ("POST", r"^/pipelines/[^/]+/start$"),
}


@pytest.mark.timeout(400)
def test_terraform_killed_after_artie_accepted_a_steps_second_request_converges(
    sandbox, tmp_path, monkeypatch
):
    temp = private_temp(monkeypatch, tmp_path)
    directory = deployed_module(sandbox, tmp_path)
    spec = spec_for(directory)
    runner = runner_for(sandbox, directory)
    original = tf_bytes(directory)
    with ArtieClient(sandbox.endpoint, sandbox.api_key) as api:
        for done, (step, trap) in enumerate(SECOND_TRAPS.items(), 1):
            proxy = killed_mid_apply(sandbox, directory, spec, api, step, trap)
            # The step's first change reached Artie once, before the second.
            assert len(proxy.reached(*TRAPS[step])) == 1
            result = run_step(step, spec, runner, api)
            assert result.status == "applied", result.message
            assert "Artie already" in result.message, result.message
            if step == "create":  # started already: imported, not started a second time
                assert result.message.endswith("instead of creating a second pipeline."), result
            assert run_step(step, spec, runner, api).status == "already done"
            assert tf_bytes(directory) == intended_files(original, STEPS[:done], tmp_path)
    assert one_new_pipeline(sandbox, directory, spec) == ["analytics_v1", "analytics_v2"]
    assert_nothing_secret_left(directory, sandbox.api_key, temp)


WORKER = """
import json, sys
from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline.terraform.steps import run_step
args = json.loads(sys.stdin.read())
spec = MigrationSpec.model_validate(args["spec"])
runner = TerraformRunner(args["dir"], cli_config_file=args["cli_config"], extra_env=args["env"])
with ArtieClient(args["env"]["ARTIE_ENDPOINT"], args["env"]["ARTIE_API_KEY"]) as api:
    run_step(args["step"], spec, runner, api)
"""


@pytest.mark.timeout(300)
def test_a_run_worker_killed_mid_step_takes_terraform_with_it_and_the_next_run_converges(
    sandbox, tmp_path, monkeypatch
):
    temp = private_temp(monkeypatch, tmp_path)
    directory = deployed_module(sandbox, tmp_path)
    spec = spec_for(directory)
    runner = runner_for(sandbox, directory)
    original = tf_bytes(directory)
    with ArtieClient(sandbox.endpoint, sandbox.api_key) as api:
        run_step("promote", spec, runner, api)
        with HoldingProxy(sandbox.endpoint, *TRAPS["create"]) as proxy:
            worker = subprocess.Popen(
                [sys.executable, "-c", WORKER],
                stdin=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            worker.stdin.write(
                json.dumps(
                    {
                        "spec": spec.model_dump(mode="json"),
                        "dir": str(directory),
                        "step": "create",
                        "cli_config": str(sandbox.tf_cli_config),
                        "env": {"ARTIE_API_KEY": sandbox.api_key, "ARTIE_ENDPOINT": proxy.url},
                    }
                )
            )
            worker.stdin.close()
            # Only the worker is killed: the parent-death signal stops terraform at once (within
            # the helper's 5 s); without it terraform only dies on its next write to the dead
            # worker's pipe ("Still creating... [10s elapsed]").
            killed = kill_when_accepted(proxy, worker.pid, worker=True, terraform=False)
            assert killed.worker == worker.pid
            worker.wait(10)
            # Artie's answer is still held: terraform did not finish, it was stopped.
            assert not proxy.release.is_set()
        plans = directory / ".terraform" / "migration-pipeline" / "plans"
        assert [p.name for p in plans.iterdir()] == [f"create-{worker.pid}.tfplan"]
        result = run_step("create", spec, runner, api)
        assert result.message.startswith("Artie already had 'analytics_v2' ("), result.message
        assert result.message.endswith("instead of creating a second pipeline and started it.")
    assert one_new_pipeline(sandbox, directory, spec) == ["analytics_v1", "analytics_v2"]
    assert tf_bytes(directory) == intended_files(original, ("promote", "create"), tmp_path)
    assert_nothing_secret_left(directory, sandbox.api_key, temp)

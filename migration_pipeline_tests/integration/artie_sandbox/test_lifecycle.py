"""`artie-sandbox init|up|status|down` as real processes: files written, PIDs owned, nothing left running."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from artie_sandbox.lifecycle import SERVICES, Sandbox, is_alive
from artie_sandbox.provider.install import launcher_path
from migration_pipeline_tests.support.races import wait_until_flock_waiters
from sandbox_demo.prepare import EXAMPLE_MODULE as EXAMPLE

API = next(s for s in SERVICES if s.name == "api")


def cli(*args: str, env: dict | None = None, preexec_fn=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "artie_sandbox.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or _env(),
        preexec_fn=preexec_fn,
    )


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTIE_", "TF_"))}
    return {**env, **extra}


@pytest.fixture
def state(tmp_path):
    state_dir = tmp_path / "state"
    yield state_dir
    Sandbox(state_dir).down()  # whatever a failed test left running


def test_init_writes_the_key_the_mirror_and_the_cli_config(state, tmp_path, terraform_bin):
    result = cli("init", "--state-dir", str(state))

    assert result.returncode == 0, result.stderr
    key_file = state / "api-key"
    key = key_file.read_text().strip()
    assert key.startswith("arsk_") and len(key) > 20
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key not in result.stdout
    assert result.stdout.endswith(
        f"export TF_CLI_CONFIG_FILE={state}/terraform.rc\n"
        "export CHECKPOINT_DISABLE=1\n"
        f"export ARTIE_SANDBOX_HOME={state}\n"
        f"export ARTIE_API_KEY=$(cat {state}/api-key)\n"
        "# ARTIE_ENDPOINT: `artie-sandbox up` prints it; unset, the provider finds the sandbox "
        "running under ARTIE_SANDBOX_HOME\n"
    )
    launcher = launcher_path(state / "mirror")
    assert launcher.name == "terraform-provider-artie_v0.1.0"
    assert (
        launcher.parent == state / "mirror/registry.terraform.io/artie-labs/artie/0.1.0/linux_amd64"
    )
    assert os.access(launcher, os.X_OK)
    config = (state / "terraform.rc").read_text()
    assert f'path    = "{state / "mirror"}"' in config
    assert 'exclude = ["registry.terraform.io/artie-labs/artie"]' in config

    again = cli("init", "--state-dir", str(state))
    assert again.returncode == 0 and key_file.read_text().strip() == key
    assert f"API key kept in {key_file}" in again.stdout

    workdir = tmp_path / "tf"
    workdir.mkdir()
    (workdir / "versions.tf").write_text((EXAMPLE / "versions.tf").read_text())
    (workdir / "variables.tf").write_text((EXAMPLE / "variables.tf").read_text())
    init = subprocess.run(
        [terraform_bin, "init", "-input=false", "-no-color"],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=_env(TF_CLI_CONFIG_FILE=str(state / "terraform.rc"), CHECKPOINT_DISABLE="1"),
    )
    assert init.returncode == 0, init.stderr
    assert "- Installing artie-labs/artie v0.1.0..." in init.stdout
    assert (
        'provider "registry.terraform.io/artie-labs/artie"'
        in (workdir / ".terraform.lock.hcl").read_text()
    )


def test_state_dir_defaults_to_artie_sandbox_home(tmp_path):
    home = tmp_path / "home"
    result = cli("init", env=_env(ARTIE_SANDBOX_HOME=str(home)))

    assert result.returncode == 0, result.stderr
    assert (home / "api-key").exists() and (home / "terraform.rc").exists()


def test_up_status_down_own_exactly_their_processes(state):
    up = cli(
        "up",
        "--state-dir",
        str(state),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )

    assert up.returncode == 0, up.stderr
    sandbox = Sandbox(state)
    pid = sandbox.running(API)
    assert pid is not None and is_alive(pid)
    assert f"api: running (pid {pid}, log {state}/logs/api.log)" in up.stdout
    assert f"Artie API at {sandbox.endpoint()}" in up.stdout
    assert f"export ARTIE_ENDPOINT={sandbox.endpoint()}" in up.stdout
    proc_stat = Path(f"/proc/{pid}/stat").read_text()
    assert int(proc_stat[proc_stat.rindex(")") + 2 :].split()[3]) == pid  # own session
    ignored = int(
        next(
            line
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("SigIgn:")
        ).split()[1],
        16,
    )
    assert not ignored & (1 << (signal.SIGINT - 1)) and not ignored & (1 << (signal.SIGTERM - 1))

    assert cli("up", "--state-dir", str(state)).returncode == 0
    assert sandbox.running(API) == pid  # idempotent: the same process

    status = cli("status", "--state-dir", str(state))
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[:4] == [
        f"Artie sandbox at {sandbox.endpoint()}",
        "",
        "Connectors (0)",
        "NAME  TYPE  UUID",
    ]
    assert "Source readers (0)" in status.stdout and "Pipelines (0)" in status.stdout

    others = {s.name: sandbox.running(s) for s in SERVICES if s is not API}
    down = cli("down", "--state-dir", str(state))
    assert down.returncode == 0 and f"api: stopped (pid {pid})\n" in down.stdout
    assert not any(is_alive(p) for p in [pid, *others.values()] if p)
    assert not any(sandbox.pid_file(s).exists() for s in SERVICES)
    assert cli("down", "--state-dir", str(state)).stdout == "".join(
        f"{s.name}: not running\n" for s in reversed(SERVICES)
    )
    stopped = cli("status", "--state-dir", str(state))
    assert stopped.returncode == 1
    assert stopped.stderr == (
        f"The sandbox is not running (state {state}); start it with `artie-sandbox up`.\n"
    )


def test_down_leaves_a_process_that_merely_reuses_a_recorded_pid_alone(state):
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        Sandbox(state).init()
        pid_file = Sandbox(state).pid_file(API)
        pid_file.parent.mkdir(parents=True)
        pid_file.write_text(json.dumps({"pid": bystander.pid, "start_time": 1, "argv": ["x"]}))

        down = cli("down", "--state-dir", str(state))

        assert "api: not running\n" in down.stdout
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_up_reports_a_service_that_dies_at_startup(state):
    Sandbox(state).init()
    (state / "api-key").write_text("")

    up = cli("up", "--state-dir", str(state))

    assert up.returncode == 1
    assert up.stderr.startswith(
        f"error: the sandbox API exited during startup; see {state}/logs/api.log:\n"
    )
    assert "no API key in" in up.stderr
    assert Sandbox(state).running(API) is None


def test_concurrent_ups_start_one_api(state):
    command = [sys.executable, "-m", "artie_sandbox.cli", "up", "--state-dir", str(state)]
    state.mkdir(parents=True)
    lock_path = state / ".lifecycle.lock"  # the lock every `up` takes first (Sandbox._locked)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        racers = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
            for _ in range(3)
        ]
        wait_until_flock_waiters(lock_path, 3)  # all three queued: released together below
    outputs = [racer.communicate(timeout=60) for racer in racers]

    assert [r.returncode for r in racers] == [0, 0, 0], outputs
    pid = Sandbox(state).running(API)
    assert all(f"api: running (pid {pid}," in out.decode() for out, _ in outputs)
    assert f"api: stopped (pid {pid})\n" in cli("down", "--state-dir", str(state)).stdout
    assert not is_alive(pid)


def test_an_unwritable_default_state_dir_says_what_to_do():
    result = cli("init", env=_env(HOME="/proc"))

    assert result.returncode == 1
    assert result.stderr == (
        "error: cannot write /proc/.artie-sandbox: No such file or directory. Choose a writable "
        "state directory with --state-dir or ARTIE_SANDBOX_HOME.\n"
    )

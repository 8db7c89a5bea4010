"""What an operator sees when the key is wrong or the sandbox is down, and that the provider never outlives Terraform."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from artie_sandbox.lifecycle import Sandbox, is_alive
from migration_pipeline_tests.support.sandbox import example_module, one_line

APPLY = ("apply", "-auto-approve", "-input=false", "-no-color")
PLAN = ("plan", "-input=false", "-no-color")


@pytest.fixture(scope="module")
def applied(sandbox, tmp_path_factory) -> Path:
    workdir = example_module(sandbox, tmp_path_factory.mktemp("errors") / "tf")
    sandbox.terraform(workdir, "init", "-input=false", "-no-color")
    sandbox.terraform(workdir, *APPLY)
    return workdir


def failing(sandbox, workdir, *args, **env) -> str:
    result = sandbox.terraform(workdir, *args, check=False, env={**sandbox.env, **env})
    assert result.returncode == 1, result.stdout
    return one_line(result.stderr)


def test_a_wrong_api_key_is_reported_as_such(sandbox, applied):
    error = failing(sandbox, applied, *PLAN, ARTIE_API_KEY="arsk_not_the_sandbox_key")

    assert (
        "Error: Artie API key rejected with artie_connector.shop, on main.tf line 8, in resource "
        '"artie_connector" "shop": 8: resource "artie_connector" "shop" { The Artie API rejected '
        "the API key (HTTP 401). Set `api_key` in the provider block or ARTIE_API_KEY to a valid "
        "key; for the sandbox: export ARTIE_API_KEY=$(cat <state dir>/api-key)."
    ) in error


def test_a_malformed_api_key_is_refused_before_any_request(sandbox, applied):
    from_env = failing(sandbox, applied, *PLAN, ARTIE_API_KEY="sk_live_123")
    from_block = failing(sandbox, applied, *PLAN, TF_VAR_artie_api_key="sk_live_123")

    expected = "Error: Invalid api_key"
    detail = "The Artie API key is malformed: it should start with arsk_."
    assert expected in from_env and detail in from_env
    assert expected in from_block and detail in from_block
    assert "sk_live_123" not in from_env + from_block


def test_a_stopped_sandbox_is_reported_with_what_to_run(fresh_sandbox, tmp_path):
    workdir = example_module(fresh_sandbox, tmp_path / "tf")
    fresh_sandbox.terraform(workdir, "init", "-input=false", "-no-color")
    fresh_sandbox.terraform(workdir, *APPLY)
    Sandbox(fresh_sandbox.state_dir).down()

    error = failing(fresh_sandbox, workdir, *PLAN)

    assert (
        f"Error: Cannot reach the Artie API with artie_connector.shop, on main.tf line 8, in "
        f'resource "artie_connector" "shop": 8: resource "artie_connector" "shop" {{ Cannot reach '
        f"the Artie API at {fresh_sandbox.endpoint} (connection refused). Is the sandbox running? "
        "Start it with `artie-sandbox up`."
    ) in error


def test_provider_runs_with_an_unwritable_home_and_never_logs_the_key(sandbox, applied, tmp_path):
    log = tmp_path / "provider.log"
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {
        **sandbox.env,
        "HOME": "/proc",
        "TMPDIR": str(tmpdir),
        "ARTIE_PROVIDER_LOG": str(log),
        "TF_LOG": "TRACE",
        "TF_LOG_PATH": str(tmp_path / "terraform.log"),
    }
    env.pop("XDG_CACHE_HOME", None)

    result = sandbox.terraform(applied, *PLAN, "-detailed-exitcode", env=env)

    assert result.returncode == 0, result.stdout
    assert (tmpdir / f"artie-sandbox-provider-{os.getuid()}" / "ssl_cert.json").exists()
    assert "Making API request: GET " in log.read_text()
    for text in (log.read_text(), (tmp_path / "terraform.log").read_text(), result.stdout):
        assert sandbox.api_key not in text


def test_provider_runs_with_a_temp_folder_too_deep_for_its_socket(sandbox, applied, tmp_path):
    deep = tmp_path / ("deep" * 20)
    deep.mkdir()

    result = sandbox.terraform(
        applied, *PLAN, "-detailed-exitcode", env={**sandbox.env, "TMPDIR": str(deep)}
    )

    assert result.returncode == 0, result.stdout


def _children(parent: int, marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == parent and marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


def test_provider_exits_when_terraform_is_killed(sandbox, tmp_path):
    # An endpoint that accepts connections and never answers keeps the provider busy in a create.
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(16)
    workdir = example_module(sandbox, tmp_path / "tf")
    env = {**sandbox.env, "ARTIE_ENDPOINT": f"http://127.0.0.1:{blackhole.getsockname()[1]}"}
    sandbox.terraform(workdir, "init", "-input=false", "-no-color")
    terraform = subprocess.Popen(
        [sandbox.terraform_bin, *APPLY],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    held = None
    try:
        deadline = time.monotonic() + 30
        providers: list[int] = []
        while not providers and time.monotonic() < deadline:
            providers = _children(terraform.pid, "artie_sandbox.provider")
            time.sleep(0.05)
        assert providers, "terraform never started the provider"
        blackhole.settimeout(60)
        held, _ = blackhole.accept()  # the provider's request reached the endpoint: it hangs there
        held.settimeout(30)
        assert held.recv(1), "the provider connected but sent no request"

        terraform.send_signal(signal.SIGKILL)
        terraform.wait()

        deadline = time.monotonic() + 5
        while any(is_alive(p) for p in providers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in providers if is_alive(p)]
    finally:
        if terraform.poll() is None:
            terraform.kill()
            terraform.wait()
        if held is not None:
            held.close()
        blackhole.close()


def test_without_an_endpoint_the_provider_finds_the_running_sandbox(sandbox, applied):
    env = {k: v for k, v in sandbox.env.items() if k != "ARTIE_ENDPOINT"}

    result = sandbox.terraform(applied, *PLAN, "-detailed-exitcode", env=env)

    assert result.returncode == 0, result.stdout


def test_a_missing_api_key_says_where_to_set_it(sandbox, applied):
    env = {k: v for k, v in sandbox.env.items() if k != "ARTIE_API_KEY"}
    result = sandbox.terraform(applied, *PLAN, check=False, env=env)

    assert result.returncode == 1
    assert (
        'Error: Missing Artie API key with provider["registry.terraform.io/artie-labs/artie"], '
        'on versions.tf line 16, in provider "artie": 16: api_key = var.artie_api_key Set '
        "`api_key` in the provider block or the ARTIE_API_KEY environment variable. For the "
        "sandbox: export ARTIE_API_KEY=$(cat <state dir>/api-key)."
    ) in one_line(result.stderr)

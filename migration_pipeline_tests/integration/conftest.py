"""Integration fixtures: a real sandbox (API process by PID) and real terraform with its provider.

- `terraform_bin` (session): path of the terraform binary (`find_terraform()`).
- `sandbox` (session): a `SandboxHandle` (support/sandbox.py) for one sandbox initialised and
  started under a tmp state dir, shared by the tests of a session (create your own resources; do
  not assume the sandbox is empty). Stopped at the end of the session; the fixture asserts nothing
  is left.
- `fresh_sandbox` (function): the same, for one test only (for tests that stop it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_pipeline_tests.support.sandbox import start_sandbox, stop_sandbox
from migration_pipeline_tests.support.terraform_bin import terraform


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    return terraform()


@pytest.fixture(scope="session")
def tf_plugin_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tf-plugin-cache")


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory, tf_plugin_cache, terraform_bin):
    handle = start_sandbox(tmp_path_factory.mktemp("sandbox"), tf_plugin_cache, terraform_bin)
    yield handle
    stop_sandbox(handle)


@pytest.fixture
def fresh_sandbox(tmp_path, tf_plugin_cache, terraform_bin):
    handle = start_sandbox(tmp_path / "sandbox", tf_plugin_cache, terraform_bin)
    yield handle
    stop_sandbox(handle)

"""Terraform's own parser (stricter than python-hcl2) accepts every file each step writes."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from migration_pipeline.terraform import edits, hcl
from migration_pipeline.terraform.binary import find_terraform
from migration_pipeline_tests.unit.test_tf_layouts import modules, run
from migration_pipeline_tests.unit.test_tf_modules import spec_for

TERRAFORM = find_terraform()
ENV = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"}


def terraform_parses(text: str) -> str:
    result = subprocess.run([TERRAFORM, "fmt", "-no-color", "-"], input=text, env=ENV,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr + text
    return result.stdout


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules())
def test_every_step_writes_files_terraform_parses(module):
    files, _ = module
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for name, text in files.items():
            (directory / name).write_bytes(text.encode())
        spec = spec_for(directory)
        for step in edits.STEPS:
            loaded = hcl.load_module(directory)
            extra = (edits.module_pipelines(loaded, spec.reader),) if step in (
                "promote", "unshare") else ()
            for _before, after in run(step, directory, spec, *extra).values():
                terraform_parses(after)

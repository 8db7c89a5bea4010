"""Terraform's own parser (stricter than python-hcl2) accepts every file each step writes."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from migration_pipeline.phases import STEPS
from migration_pipeline.terraform import edits, hcl
from migration_pipeline_tests.support.terraform_bin import terraform
from migration_pipeline_tests.support.tf_layouts import modules, run
from migration_pipeline_tests.support.tf_modules import (
    SINGLE_FILE_TF,
    single_file_spec,
    spec_for,
    write_module,
)

ENV = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"}


def terraform_parses(text: str) -> str:
    result = subprocess.run(
        [terraform(), "fmt", "-no-color", "-"],
        input=text,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + text
    return result.stdout


def migrate_checking_syntax(directory: Path, spec) -> None:
    for step in STEPS:
        loaded = hcl.load_module(directory)
        extra = (
            (edits.module_pipelines(loaded, spec.reader),) if step in ("promote", "unshare") else ()
        )
        changed = run(step, directory, spec, *extra)
        assert changed, f"{step} changed nothing"
        for _before, after in changed.values():
            terraform_parses(after)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules())
def test_every_step_writes_files_terraform_parses(module):
    files, _ = module
    with tempfile.TemporaryDirectory() as tmp:
        directory = write_module(Path(tmp), files)
        migrate_checking_syntax(directory, spec_for(directory))


def test_the_hand_written_modules_stay_valid_after_each_step(tmp_path):
    for directory, spec in (
        (write_module(tmp_path / "three-files"), None),
        (write_module(tmp_path / "one-file", {"main.tf": SINGLE_FILE_TF}), single_file_spec),
    ):
        migrate_checking_syntax(directory, (spec or spec_for)(directory))

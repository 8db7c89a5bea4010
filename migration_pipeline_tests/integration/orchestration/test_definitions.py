"""`dagster definitions validate` accepts the code location built from the example migrations file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from migration_pipeline_tests.support.paths import ROOT

EXAMPLE = ROOT / "examples" / "sandbox" / "migrations.yaml"


def _validate(tmp_path: Path, migrations: Path, *target: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "MIGRATIONS_FILE": str(migrations),
        "DAGSTER_HOME": str(tmp_path),
        "ARTIE_ENDPOINT": "http://127.0.0.1:9",
        "ARTIE_API_KEY": "not-used",
        "ARTIE_SANDBOX_HOME": str(tmp_path),
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", *target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_example_migrations_file_validates_through_the_workspace(tmp_path):
    result = _validate(tmp_path, EXAMPLE, "-w", "workspace.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation." in result.stdout + result.stderr


def test_a_broken_migrations_file_fails_validation_naming_the_field(tmp_path):
    broken = tmp_path / "migrations.yaml"
    broken.write_text(EXAMPLE.read_text().replace("old_pipeline:", "old_pipline:"))
    result = _validate(tmp_path, broken, "-m", "migration_pipeline.definitions")
    assert result.returncode != 0
    assert (
        "SpecError: migrations.analytics_v1_to_v2.old_pipeline: this field is required"
        in result.stdout + result.stderr
    )

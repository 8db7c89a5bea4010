"""The example module deployed on a test's sandbox, and the migration spec the steps run with."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline_tests.support.paths import EXAMPLE_MODULE

EXAMPLE = EXAMPLE_MODULE


def spec_for(directory: Path) -> MigrationSpec:
    return MigrationSpec.model_validate(
        {
            "name": "analytics_v1_to_v2",
            "terraform": {"dir": str(directory)},
            "reader": "artie_source_reader.shop",
            "old_pipeline": "artie_pipeline.analytics_v1",
            "new_pipeline": {
                "address": "artie_pipeline.analytics_v2",
                "name": "analytics_v2",
                "destination_connector": "artie_connector.analytics_v2",
                "destination_config": {"database": "analytics_v2", "schema": "main"},
            },
        }
    )


def runner_for(sandbox, directory: Path, endpoint: str | None = None) -> TerraformRunner:
    env = {"ARTIE_API_KEY": sandbox.api_key, "ARTIE_ENDPOINT": endpoint or sandbox.endpoint}
    return TerraformRunner(
        directory, cli_config_file=sandbox.tf_cli_config, extra_env=env, timeout=120
    )


def deployed_module(sandbox, tmp_path: Path, main_tf: Callable[[str], str] = str) -> Path:
    """The example module under `tmp_path/module` (its main.tf passed through `main_tf`),
    applied on the sandbox."""
    directory = tmp_path / "module"
    directory.mkdir()
    for path in EXAMPLE.glob("*.tf"):
        shutil.copy(path, directory / path.name)
    main = directory / "main.tf"
    main.write_text(main_tf(main.read_text()))
    (directory / "terraform.tfvars").write_text(
        f'source_database_path = "{tmp_path / "source.db"}"\n'
        f'warehouse_directory = "{tmp_path / "warehouse"}"\n'
    )
    runner = runner_for(sandbox, directory)
    runner.init()
    plan = tmp_path / "deploy.tfplan"
    if runner.plan(plan):
        runner.apply(plan)
    plan.unlink()
    return directory


def tf_bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.glob("*.tf")}

"""The example module deployed on a test's sandbox, and the migration spec the steps run with."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import yaml

from migration_pipeline.spec import MigrationSpec, load_spec
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


def migrations_file(
    sandbox, tmp_path: Path, directory: Path, monkeypatch, **settings
) -> tuple[MigrationSpec, Path]:
    """The example migration written as a migrations.yaml (`settings` added to its entry) with a
    fresh Dagster home; DAGSTER_HOME and the Artie variables set for the test. Returns the spec as
    the file loads and the file's path."""
    spec = spec_for(directory)
    config = tmp_path / "migrations.yaml"
    entry = {
        **spec.model_dump(mode="json", include={"reader", "old_pipeline", "new_pipeline"}),
        "terraform": {"dir": str(directory), "cli_config_file": str(sandbox.tf_cli_config)},
        "artie": {"api_url": sandbox.endpoint, "api_key_env": "ARTIE_API_KEY"},
        **settings,
    }
    config.write_text(yaml.safe_dump({"migrations": {spec.name: entry}}))
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for name, value in (
        ("DAGSTER_HOME", str(home)),
        ("ARTIE_API_KEY", sandbox.api_key),
        ("ARTIE_ENDPOINT", sandbox.endpoint),
    ):
        monkeypatch.setenv(name, value)
    return load_spec(config, spec.name), config

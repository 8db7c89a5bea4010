"""The `migration-pipeline` command's shared rules: one exit code per error class, one default for
--config, one behaviour for a missing API key, and the demo pointing out of the product."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from migration_pipeline import errors
from migration_pipeline.cli import main
from migration_pipeline.cli.common import api_key, config_path, exit_code

EXPECTED = {
    errors.MigrationError: 1,
    errors.ConfigurationError: 2,
    errors.TerraformNotFoundError: 2,
    errors.SpecError: 2,
    errors.InputCheckError: 2,
    errors.PreflightFailed: 2,
    errors.ModuleEditError: 2,
    errors.TerraformCommandError: 1,
    errors.PlanGuardRefusal: 1,
    errors.StepRefused: 1,
    errors.StepLockedError: 1,
    errors.ArtieApiError: 1,
    errors.ValidationInputError: 2,
    errors.ApprovalError: 1,
}
ARGS = {
    errors.SpecError: ("field", "message"),
    errors.InputCheckError: (["reader: artie_source_reader.x is not declared"],),
    errors.PreflightFailed: (["FAIL lock: another step holds the lock"],),
    errors.TerraformCommandError: (["terraform", "plan"], 1, "stderr"),
    errors.PlanGuardRefusal: ("create", ["artie_pipeline.v1 would be destroyed"]),
}


def every_error_class() -> set[type]:
    found = {errors.MigrationError}
    pending = [errors.MigrationError]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub.__module__ == errors.__name__ and sub not in found:
                found.add(sub)
                pending.append(sub)
    return found


def test_every_error_class_has_its_expected_exit_code_in_the_table():
    assert every_error_class() == set(EXPECTED)


@pytest.mark.parametrize(("cls", "code"), EXPECTED.items(), ids=lambda v: getattr(v, "__name__", v))
def test_exit_code_follows_the_class_not_the_message(cls, code):
    error = cls(*ARGS.get(cls, ("DAGSTER_HOME is not set; nothing to approve",)))
    assert exit_code(error) == code


def test_an_error_subclassed_outside_errors_inherits_its_parents_code():
    class LocalSpecProblem(errors.SpecError):
        pass

    assert exit_code(LocalSpecProblem("f", "m")) == 2


@pytest.mark.parametrize(
    ("given", "env", "expected"),
    [
        ("given.yaml", "from-env.yaml", "given.yaml"),
        (None, "from-env.yaml", "from-env.yaml"),
        (None, None, "migrations.yaml"),
        (None, "", "migrations.yaml"),
    ],
)
def test_config_is_the_flag_else_migrations_file_else_the_local_file(
    given, env, expected, monkeypatch
):
    if env is None:
        monkeypatch.delenv("MIGRATIONS_FILE", raising=False)
    else:
        monkeypatch.setenv("MIGRATIONS_FILE", env)
    args = argparse.Namespace(config=Path(given) if given else None)
    assert config_path(args) == Path(expected)


def test_a_missing_api_key_is_a_configuration_error(monkeypatch):
    monkeypatch.delenv("SOME_ARTIE_KEY", raising=False)
    with pytest.raises(errors.ConfigurationError) as raised:
        api_key("SOME_ARTIE_KEY")
    assert str(raised.value) == (
        "artie.api_key_env: SOME_ARTIE_KEY is not set; it must hold the Artie API key"
    )
    monkeypatch.setenv("SOME_ARTIE_KEY", "k")
    assert api_key("SOME_ARTIE_KEY") == "k"


def test_status_without_an_api_key_exits_2_naming_the_variable(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    monkeypatch.delenv("ARTIE_API_KEY", raising=False)
    config = tmp_path / "migrations.yaml"
    config.write_text(
        "migrations:\n  m:\n    terraform: {dir: module}\n    reader: artie_source_reader.r\n"
        "    old_pipeline: artie_pipeline.old\n    new_pipeline:\n"
        "      address: artie_pipeline.new\n      destination_connector: artie_connector.c\n"
        "      destination_config: {database: d}\n"
    )
    monkeypatch.setenv("MIGRATIONS_FILE", str(config))
    assert main(["status", "--migration", "m"]) == 2
    assert capsys.readouterr().err == (
        "migration-pipeline status: error: artie.api_key_env: ARTIE_API_KEY is not set; it must "
        "hold the Artie API key\n"
    )


def test_the_demo_is_not_a_product_command(capsys):
    assert main(["demo", "--state", "x"]) == 2
    assert capsys.readouterr().err == (
        "migration-pipeline demo: error: the demo is not part of the product: run `make demo` "
        "(python -m sandbox_demo --state DIR) from a clone of the repository\n"
    )


def test_an_unknown_command_is_a_usage_error(capsys):
    assert main(["nope"]) == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err

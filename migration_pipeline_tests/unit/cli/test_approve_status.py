"""`migration-pipeline approve` and `status`: what they record, what they refuse, their exit codes."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from migration_pipeline.cli import main
from migration_pipeline.orchestration.event_metadata import latest_approval
from migration_pipeline.spec import load_specs
from migration_pipeline_tests.support.orchestration import SPEC_YAML, report_validation


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    path = tmp_path / "migrations.yaml"
    path.write_text(SPEC_YAML)
    return path


def _validation(passed: bool) -> None:
    spec = load_specs(Path(os.environ["DAGSTER_HOME"]) / "migrations.yaml")["shop_move"]
    with dg.DagsterInstance.get() as instance:
        report_validation(instance, spec, "2026-01-01T00:00:00+00:00", passed, 1.7e9)


def test_approve_records_who_decision_comment_and_the_validation(config, capsys):
    _validation(True)
    code = main(
        [
            "approve",
            "--config",
            str(config),
            "--migration",
            "shop_move",
            "--who",
            "ana",
            "--comment",
            "counts agree",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out == (
        "Recorded: approve by ana on validation 2026-01-01T00:00:00+00:00 of shop_move.\n"
    )
    with dg.DagsterInstance.get() as instance:
        approval = latest_approval(instance, load_specs(config)["shop_move"])
    assert (approval.who, approval.comment) == ("ana", "counts agree")


def test_approving_a_failed_validation_exits_1(config, capsys):
    _validation(False)
    code = main(["approve", "--config", str(config), "--migration", "shop_move", "--who", "ana"])
    assert code == 1
    assert capsys.readouterr().err == (
        "migration-pipeline approve: error: nothing to approve: the latest validation (2026-01-01T00:00:00+00:00) was "
        "mismatch. Let the job validate again, then approve.\n"
    )


def test_a_rejection_needs_no_passing_validation(config):
    code = main(
        [
            "approve",
            "--config",
            str(config),
            "--migration",
            "shop_move",
            "--who",
            "bo",
            "--decision",
            "reject",
        ]
    )
    assert code == 0


def test_an_unknown_migration_exits_2(config, capsys):
    assert main(["status", "--config", str(config), "--migration", "nope"]) == 2
    assert "no migration named 'nope'" in capsys.readouterr().err


def test_without_dagster_home_status_exits_2(config, monkeypatch, capsys):
    monkeypatch.delenv("DAGSTER_HOME")
    assert main(["status", "--config", str(config), "--migration", "shop_move"]) == 2
    assert capsys.readouterr().err.startswith(
        "migration-pipeline status: error: DAGSTER_HOME is not set"
    )

"""A whole migration on PostgreSQL instance storage (a real local server the test starts and stops, examples/production/dagster-postgres.yaml copied as is): runs, validations and the approval live in PostgreSQL, and `status` and `approve` from the CLI read and write that instance."""

from __future__ import annotations

import shutil
import time

import dagster as dg
import pytest
import yaml

from migration_pipeline.cli import main
from migration_pipeline.phases import Phase
from migration_pipeline_tests.support.demo import prepared_demo
from migration_pipeline_tests.support.postgres import LocalPostgres
from sandbox_demo.driver import Driver
from sandbox_demo.prepare import MIGRATION, ROOT

EXAMPLE = ROOT / "examples" / "production" / "dagster-postgres.yaml"


@pytest.fixture
def postgres():
    with LocalPostgres() as server:
        yield server


@pytest.fixture
def prepared(tmp_path, monkeypatch, postgres):
    with prepared_demo(tmp_path, monkeypatch) as ready:
        for key, value in postgres.env().items():
            monkeypatch.setenv(key, value)
        shutil.copyfile(EXAMPLE, tmp_path / "state" / "dagster" / "dagster.yaml")
        yield ready


def test_the_example_keeps_the_shipped_run_limits():
    example = yaml.safe_load(EXAMPLE.read_text())
    assert example.pop("storage")["postgres"]["postgres_db"]["password"] == {
        "env": "DAGSTER_PG_PASSWORD"
    }
    assert example == yaml.safe_load((ROOT / "dagster.yaml").read_text())


@pytest.mark.timeout(300)
def test_the_migration_runs_on_postgresql_storage(prepared, capsys):
    config = str(prepared.config)
    driver = Driver.from_file(prepared.config, MIGRATION)
    with driver.instance() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        driver.launch(instance)
        approved, phase = False, None
        deadline = time.monotonic() + 240
        while phase != Phase.COMPLETE:
            assert time.monotonic() < deadline, f"stuck in {phase}"
            outcome = driver.step(instance)
            phase = outcome.phase
            if outcome.awaiting_approval and not approved:
                capsys.readouterr()
                assert main(["status", "--config", config, "--migration", MIGRATION]) == 0
                assert "gate approval: closed" in capsys.readouterr().out
                assert (
                    main(
                        [
                            "approve",
                            "--config",
                            config,
                            "--migration",
                            MIGRATION,
                            "--who",
                            "pg-e2e",
                            "--comment",
                            "clean on PostgreSQL",
                        ]
                    )
                    == 0
                )
                approved = True
            time.sleep(0.5)
        runs = instance.get_runs_count(dg.RunsFilter(job_name=f"{MIGRATION}_job"))
    capsys.readouterr()
    assert main(["status", "--config", config, "--migration", MIGRATION]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{MIGRATION}: complete\n")
    assert "approval: approve by pg-e2e" in out
    assert approved and runs >= 3

"""The shipped dagster.yaml loads in Dagster 1.13 and fails the runs of dead workers."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

SHIPPED = Path(__file__).resolve().parents[2] / "dagster.yaml"


def test_the_shipped_instance_config_loads_with_run_monitoring_on(tmp_path, monkeypatch):
    shutil.copy(SHIPPED, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert instance.run_monitoring_enabled
        # The default run launcher cannot resume a run: a resume attempt would only fail later.
        assert instance.run_monitoring_max_resume_run_attempts == 0
        assert instance.run_monitoring_start_timeout_seconds <= 300

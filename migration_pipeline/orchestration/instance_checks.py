"""Preflight's checks of the Dagster instance a migration runs in: lasting storage, and the run
limits and pools that keep one run per migration at a time (see the shipped dagster.yaml)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import dagster as dg

from migration_pipeline.orchestration.runs import MIGRATION_TAG, pool
from migration_pipeline.preflight import CheckResult
from migration_pipeline.spec import MigrationSpec

_YAML_FIX = (
    "copy the concurrency:, run_monitoring: and run_retries: sections of the shipped dagster.yaml "
    "into $DAGSTER_HOME/dagster.yaml and restart the Dagster daemon and web server"
)


def _temporary(root: str | None) -> bool:
    if root is None:
        return True
    return Path(root).resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())


def instance_checks(instance: dg.DagsterInstance, spec: MigrationSpec) -> list[CheckResult]:
    """A pass/fail line each: the instance keeps its history, runs are limited per migration,
    the migration's pool admits one run, dead run workers are noticed and their runs retried."""
    results = []
    storage = type(instance.run_storage).__name__
    if instance.is_ephemeral or (
        storage.startswith("Sqlite") and _temporary(instance.root_directory)
    ):
        results.append(
            CheckResult(
                "dagster instance",
                False,
                f"{storage} in {instance.root_directory or 'memory'} "
                "(a temporary directory: validations and approvals would be lost)",
                "set DAGSTER_HOME to a lasting directory, or configure PostgreSQL storage "
                "(docs/operators-guide.md)",
            )
        )
    else:
        results.append(
            CheckResult("dagster instance", True, f"{storage} in {instance.root_directory}")
        )
    config = instance.get_concurrency_config()
    per_migration = [
        limit
        for limit in config.run_queue_config.tag_concurrency_limits or ()
        if limit.get("key") == MIGRATION_TAG
        and limit.get("limit") == 1
        and (limit.get("value") or {}).get("applyLimitPerUniqueValue")
    ]
    pools = config.pool_config
    if not per_migration:
        results.append(
            CheckResult(
                "run limits",
                False,
                f"no run limit of 1 per `{MIGRATION_TAG}` "
                "tag value: two runs of this migration could race",
                _YAML_FIX,
            )
        )
    elif pools.default_pool_limit != 1 or getattr(pools.pool_granularity, "value", None) != "run":
        results.append(
            CheckResult(
                "run limits",
                False,
                f"pool {pool(spec)} admits {pools.default_pool_limit} at "
                f"{getattr(pools.pool_granularity, 'value', None)} granularity: a UI materialization could run beside the job",
                _YAML_FIX,
            )
        )
    else:
        results.append(
            CheckResult(
                "run limits", True, f"one run per migration; pool {pool(spec)} admits one run"
            )
        )
    if not instance.run_monitoring_enabled:
        results.append(
            CheckResult(
                "run monitoring",
                False,
                "off: a run whose worker died stays STARTED and blocks the migration's pool",
                _YAML_FIX,
            )
        )
    else:
        results.append(CheckResult("run monitoring", True, "on"))
    if not instance.run_retries_enabled:
        results.append(
            CheckResult(
                "run retries",
                False,
                "off: a run whose worker crashed is not launched again; the migration waits "
                "until a person launches the job",
                _YAML_FIX,
            )
        )
    else:
        results.append(
            CheckResult("run retries", True, "on: a run whose worker crashed is launched again")
        )
    return results

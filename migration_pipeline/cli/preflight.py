"""`migration-pipeline preflight`: check a migration's setup before its first step."""

from __future__ import annotations

import argparse
import os

from migration_pipeline.cli.common import CHECK_FAILED, OK, add_spec_arguments, config_path
from migration_pipeline.orchestration.approvals import open_instance
from migration_pipeline.orchestration.instance_checks import instance_checks
from migration_pipeline.preflight import preflight
from migration_pipeline.spec import load_spec

DESCRIPTION = (
    "Check what can be checked before a migration starts, one PASS/FAIL line each with what to "
    "do: terraform's version; the artie provider's source and version; the module parses and "
    "the reader and old pipeline are declared (not in count / for_each / a module) and in the "
    "state; the shared reader captures every table its pipelines need; the API key is set, "
    "accepted and reads the reader and pipeline; the old destination opens read-only and its "
    "tables have keys; no other step holds the module's lock; the Dagster instance "
    "($DAGSTER_HOME) is lasting and limits runs per migration. Changes nothing. The job runs "
    "the same checks before its first step. Exit 0 all pass, 1 a check failed, 2 usage or "
    "input error."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_spec_arguments(parser)


def run(args: argparse.Namespace) -> int:
    spec = load_spec(config_path(args), args.migration)
    results = preflight(spec, os.environ.get(spec.artie.api_key_env) or None)
    with open_instance() as instance:
        results += instance_checks(instance, spec)
    for result in results:
        print(result.line())
    failed = [r for r in results if not r.passed]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return CHECK_FAILED if failed else OK

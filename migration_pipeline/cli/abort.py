"""`migration-pipeline abort`: abort a migration before cutover and roll it back."""

from __future__ import annotations

import argparse
import getpass

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.cli.common import add_spec_arguments, api_key, config_path
from migration_pipeline.orchestration.approvals import open_instance
from migration_pipeline.orchestration.rollback import abort_and_roll_back
from migration_pipeline.spec import load_spec
from migration_pipeline.terraform.runner import TerraformRunner

DESCRIPTION = (
    "Abort the migration and roll it back, as the approval asset's `abort` decision does: the "
    "decision is recorded in the Dagster instance ($DAGSTER_HOME), then the new pipeline is "
    "deleted and the reader's is_shared / tables are put back as they were before the migration, "
    "each a guarded Terraform step (the plan may only destroy the new pipeline; only update the "
    "reader). The module ends as it was, except what you changed meanwhile. Refused once the "
    "cutover has started. Running it again finishes an interrupted rollback. Exit 0 rolled "
    "back, 1 refused or a step failed, 2 usage or input error."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_spec_arguments(parser)
    parser.add_argument("--who", default=getpass.getuser(), help="who aborts (default: you)")
    parser.add_argument("--comment", default="", help="why")


def run(args: argparse.Namespace) -> int:
    spec = load_spec(config_path(args), args.migration)
    with (
        open_instance() as instance,
        ArtieClient(spec.artie.api_url, api_key(spec.artie.api_key_env)) as client,
    ):
        results = abort_and_roll_back(
            instance, spec, args.who, args.comment, TerraformRunner.for_spec(spec.terraform), client
        )
    for result in results:
        print(f"{result.step}: {result.message}")
    print(f"{spec.name} aborted by {args.who} and rolled back.")
    return 0

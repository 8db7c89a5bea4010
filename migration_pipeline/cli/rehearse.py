"""`migration-pipeline rehearse`: show every step's file diff and plan without applying anything."""

from __future__ import annotations

import argparse
import json

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.cli.common import add_spec_arguments, api_key, config_path
from migration_pipeline.spec import load_spec
from migration_pipeline.terraform.rehearse import rehearse
from migration_pipeline.terraform.runner import TerraformRunner

DESCRIPTION = (
    "Rehearse a migration: promote, create, cutover and unshare are edited and planned in order "
    "on a temporary copy of the Terraform module, each on top of the previous step's edits, and "
    "checked by the plan guard. Nothing is applied and your files are left untouched. Prints "
    "each step's file diff and plan. Exit 0 when every step passes, 1 when one is refused, 2 on "
    "a usage or input error (an unset API key included)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_spec_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def run(args: argparse.Namespace) -> int:
    spec = load_spec(config_path(args), args.migration)
    with ArtieClient(spec.artie.api_url, api_key(spec.artie.api_key_env)) as artie:
        rehearsal = rehearse(
            spec, lambda copy: TerraformRunner.for_spec(spec.terraform, copy), artie
        )
    if args.json:
        print(json.dumps(rehearsal.to_json(), indent=2))
    else:
        print(rehearsal.to_markdown())
    return 0 if rehearsal.ok else 1

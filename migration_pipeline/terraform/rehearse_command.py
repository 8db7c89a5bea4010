"""`migration-pipeline rehearse`: show every step's file diff and plan without applying anything."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.errors import (
    MigrationError,
    ModuleEditError,
    SpecError,
    TerraformNotFoundError,
)
from migration_pipeline.spec import MigrationSpec, load_spec
from migration_pipeline.terraform.rehearse import rehearse
from migration_pipeline.terraform.runner import TerraformRunner


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "rehearse",
        help="Plan every step of a migration on a copy of the module; apply nothing.",
        description=(
            "Rehearse a migration: promote, create, cutover and unshare are edited and planned "
            "in order on a temporary copy of the Terraform module, each on top of the previous "
            "step's edits, and checked by the plan guard. Nothing is applied and your files are "
            "left untouched. Prints each step's file diff and plan. Exit 0 when every step "
            "passes, 1 when one is refused, 2 on a usage or input error."
        ),
    )
    parser.add_argument("--config", default="migrations.yaml", type=Path,
                        help="the migrations file (default: migrations.yaml)")
    parser.add_argument("--migration", required=True, help="the migration's name in the file")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=run)


def _artie(spec: MigrationSpec) -> ArtieClient | None:
    key = os.environ.get(spec.artie.api_key_env)
    if not key:
        print(f"warning: {spec.artie.api_key_env} is not set, so pipelines that only Artie's "
              "API knows about are not considered.", file=sys.stderr)
        return None
    return ArtieClient(spec.artie.api_url, key)


def run(args: argparse.Namespace) -> int:
    try:
        spec = load_spec(args.config, args.migration)
        artie = _artie(spec)
        try:
            rehearsal = rehearse(
                spec, lambda copy: TerraformRunner.for_spec(spec.terraform, copy), artie)
        finally:
            if artie is not None:
                artie.close()
    except (SpecError, ModuleEditError, TerraformNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except MigrationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rehearsal.to_json(), indent=2))
    else:
        print(rehearsal.to_markdown())
    return 0 if rehearsal.ok else 1

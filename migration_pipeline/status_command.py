"""`migration-pipeline status`: a migration's phase, its gates and the next step."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.errors import (
    ArtieApiError,
    MigrationError,
    ModuleEditError,
    SpecError,
    TerraformNotFoundError,
)
from migration_pipeline.orchestration.facts import Snapshot, gather
from migration_pipeline.orchestration.records import open_instance
from migration_pipeline.spec import MigrationSpec, load_spec
from migration_pipeline.terraform.runner import TerraformRunner

INPUT_ERRORS = (SpecError, ModuleEditError, TerraformNotFoundError)


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=Path(os.environ.get("MIGRATIONS_FILE", "migrations.yaml")),
                        type=Path, help="the migrations file (default: $MIGRATIONS_FILE, else "
                        "migrations.yaml)")
    parser.add_argument("--migration", required=True, help="the migration's name in the file")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "status", help="Show a migration's phase, gates and next step.",
        description=(
            "Derive the migration's phase from the Terraform module and state, Artie's API, and "
            "the validations and approvals in the Dagster instance ($DAGSTER_HOME); show each "
            "gate with its reason and the next step the job would take. Changes nothing. "
            "Exit 0 ok, 1 the migration was aborted or a service failed, 2 usage or input error."))
    add_spec_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.set_defaults(func=run)


def with_migration(args: argparse.Namespace, body: Callable[[MigrationSpec, object], int]) -> int:
    """Load the spec and the Dagster instance, run `body`, and map errors to exit codes."""
    try:
        spec = load_spec(args.config, args.migration)
        with open_instance() as instance:
            return body(spec, instance)
    except INPUT_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except MigrationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if "DAGSTER_HOME" in str(e) else 1


def snapshot_of(spec: MigrationSpec, instance) -> Snapshot:
    key = os.environ.get(spec.artie.api_key_env)
    if not key:
        raise SpecError("artie.api_key_env", f"{spec.artie.api_key_env} is not set; it must "
                        "hold the Artie API key")
    with ArtieClient(spec.artie.api_url, key) as client:
        return gather(spec, TerraformRunner.for_spec(spec.terraform), client, instance)


def status_json(spec: MigrationSpec, snapshot: Snapshot) -> dict:
    a, f = snapshot.assessment, snapshot.facts
    latest = f.validations[0] if f.validations else None
    return {
        "migration": spec.name, "phase": a.phase, "next_step": a.next_step, "reason": a.reason,
        "gates": [{"name": g.name, "open": g.open, "reason": g.reason} for g in a.gates],
        "latest_validation": None if latest is None else {
            "id": latest.id, "matches": latest.matches, "finished_at": latest.finished_at.isoformat()},
        "approval": None if f.approval is None else {
            "who": f.approval.who, "decision": f.approval.decision,
            "validation_id": f.approval.validation_id, "comment": f.approval.comment},
    }


def render(status: dict) -> str:
    lines = [f"{status['migration']}: {status['phase']}",
             f"  next step: {status['next_step'] or '(none: waiting or done)'}",
             f"  why: {status['reason']}"]
    lines += [f"  gate {g['name']}: {'open' if g['open'] else 'closed'} - {g['reason']}"
              for g in status["gates"]]
    v, ap = status["latest_validation"], status["approval"]
    lines.append("  latest validation: " + ("none" if v is None else
                 f"{v['id']} {'matched' if v['matches'] else 'MISMATCH'}"))
    lines.append("  approval: " + ("none" if ap is None else
                 f"{ap['decision']} by {ap['who']} on validation {ap['validation_id']}"))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    def body(spec: MigrationSpec, instance) -> int:
        try:
            status = status_json(spec, snapshot_of(spec, instance))
        except ArtieApiError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(json.dumps(status, indent=2) if args.json else render(status))
        return 1 if status["phase"] == "aborted" else 0

    return with_migration(args, body)

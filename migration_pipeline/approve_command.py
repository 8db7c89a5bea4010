"""`migration-pipeline approve`: record a person's decision on the cutover, as the UI does."""

from __future__ import annotations

import argparse
import getpass
import sys

from migration_pipeline.errors import ApprovalError
from migration_pipeline.orchestration.records import DECISIONS, record_approval
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.status_command import add_spec_arguments, with_migration


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "approve", help="Approve (or reject, or abort) a migration's cutover.",
        description=(
            "Record a decision on the approval asset of the migration in the Dagster instance "
            "($DAGSTER_HOME), exactly as materializing it from the UI does: who, the decision, "
            "a comment, and the latest validation it refers to. An approval needs a latest "
            "validation that passed and holds while later validations keep passing. "
            "Exit 0 recorded, 1 nothing to approve, 2 usage or input error."))
    add_spec_arguments(parser)
    parser.add_argument("--who", default=getpass.getuser(), help="who decides (default: you)")
    parser.add_argument("--decision", choices=DECISIONS, default="approve")
    parser.add_argument("--comment", default="", help="why")
    parser.add_argument("--validation", default="", metavar="ID",
                        help="the validation you reviewed (`status` shows it); refused if a "
                        "newer one exists")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    def body(spec: MigrationSpec, instance) -> int:
        try:
            recorded = record_approval(instance, spec, args.who, args.decision, args.comment,
                                       args.validation)
        except ApprovalError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"Recorded: {recorded['decision']} by {recorded['who']} on validation "
              f"{recorded['validation_id'] or '(none)'} of {spec.name}.")
        return 0

    return with_migration(args, body)

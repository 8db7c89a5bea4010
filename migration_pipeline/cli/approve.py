"""`migration-pipeline approve`: record a person's decision on the cutover, as the UI does."""

from __future__ import annotations

import argparse
import getpass

from migration_pipeline.cli.common import add_spec_arguments, config_path
from migration_pipeline.orchestration.approvals import DECISIONS, open_instance, record_approval
from migration_pipeline.spec import load_spec

DESCRIPTION = (
    "Record a decision on the approval asset of the migration in the Dagster instance "
    "($DAGSTER_HOME), exactly as materializing it from the UI does: who, the decision, a "
    "comment, and the latest validation it refers to. An approval needs a latest validation "
    "that was clean and holds until a later validation confirms a mismatch. Exit 0 recorded, 1 nothing to "
    "approve, 2 usage or input error."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_spec_arguments(parser)
    parser.add_argument("--who", default=getpass.getuser(), help="who decides (default: you)")
    parser.add_argument("--decision", choices=DECISIONS, default="approve")
    parser.add_argument("--comment", default="", help="why")
    parser.add_argument(
        "--validation",
        default="",
        metavar="ID",
        help="the validation you reviewed (`status` shows it); refused if a newer one exists",
    )


def run(args: argparse.Namespace) -> int:
    spec = load_spec(config_path(args), args.migration)
    with open_instance() as instance:
        recorded = record_approval(
            instance, spec, args.who, args.decision, args.comment, args.validation
        )
    print(
        f"Recorded: {recorded['decision']} by {recorded['who']} on validation "
        f"{recorded['validation_id'] or '(none)'} of {spec.name}."
    )
    return 0

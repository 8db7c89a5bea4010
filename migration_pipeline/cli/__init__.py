"""The `migration-pipeline` command: one subcommand per operator task, each in its own module.

Only the module of the subcommand being run is imported (so `validate` never loads Dagster).
Errors map to exit codes in one place (`cli.common.exit_code`): 0 ok, 1 check failed / mismatch
found, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from migration_pipeline.cli.common import INPUT_ERROR, exit_code
from migration_pipeline.errors import MigrationError

PROG = "migration-pipeline"
# subcommand -> (module, one-line help). The module exposes DESCRIPTION, `add_arguments(parser)`
# and `run(args) -> int`.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": (
        "migration_pipeline.cli.validate",
        "compare the new destination with the old one, key by key",
    ),
    "rehearse": (
        "migration_pipeline.cli.rehearse",
        "plan every step of a migration on a copy of the module; apply nothing",
    ),
    "preflight": (
        "migration_pipeline.cli.preflight",
        "check a migration's setup before its first step; change nothing",
    ),
    "status": ("migration_pipeline.cli.status", "show a migration's phase, gates and next step"),
    "approve": (
        "migration_pipeline.cli.approve",
        "approve (or reject, or abort) a migration's cutover",
    ),
    "abort": ("migration_pipeline.cli.abort", "abort a migration before cutover and roll it back"),
}
MOVED = {
    "demo": "the demo is not part of the product: run `make demo` "
    "(python -m sandbox_demo --state DIR) from a clone of the repository"
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only `command`'s module is imported and its arguments added."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Move a live Artie pipeline to a new destination: rehearse, validate, "
        "approve, cut over.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_line) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_line, description=help_line)
        if name == command:
            module = importlib.import_module(module_name)
            sub.description = module.DESCRIPTION
            sub.formatter_class = argparse.RawDescriptionHelpFormatter
            module.add_arguments(sub)
            sub.set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command in MOVED:
        print(f"{PROG} {command}: error: {MOVED[command]}", file=sys.stderr)
        return INPUT_ERROR
    try:
        args = build_parser(command).parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code or 0)
    try:
        return int(args.func(args))
    except MigrationError as e:
        print(f"{PROG} {args.command}: error: {e}", file=sys.stderr)
        return exit_code(e)

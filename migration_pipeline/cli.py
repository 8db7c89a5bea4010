"""The `migration-pipeline` command: one subcommand per operator task, each in its own module.

Exit codes: 0 ok, 1 check failed / mismatch found, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> module exposing `register(subparsers)`; the parser it adds sets `func(args) -> int`.
SUBCOMMANDS = {
    "validate": "migration_pipeline.validation.command",
    "rehearse": "migration_pipeline.terraform.rehearse_command",
    "status": "migration_pipeline.status_command",
    "approve": "migration_pipeline.approve_command",
    "demo": "migration_pipeline.demo",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="migration-pipeline",
        description="Move a live Artie pipeline to a new destination: rehearse, validate, approve, cut over.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS.values():
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code or 0)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

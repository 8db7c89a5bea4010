"""What every `migration-pipeline` command shares: the spec arguments, the API key lookup, and the
one mapping from an error's class to the exit code.

Exit codes: 0 ok, 1 a check failed or a mismatch was found, 2 a usage or input error.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from migration_pipeline.errors import (
    ConfigurationError,
    MigrationError,
    ModuleEditError,
    SpecError,
    ValidationInputError,
)

OK, CHECK_FAILED, INPUT_ERROR = 0, 1, 2
CONFIG_VARIABLE = "MIGRATIONS_FILE"
DEFAULT_CONFIG = Path("migrations.yaml")

# The closest class in an error's MRO decides; anything else this project raises on purpose is a
# failed check or a failed service (1). Input the operator must fix is 2.
EXIT_CODES: dict[type[BaseException], int] = {
    MigrationError: CHECK_FAILED,
    ConfigurationError: INPUT_ERROR,
    ModuleEditError: INPUT_ERROR,
    ValidationInputError: INPUT_ERROR,
}


def exit_code(error: MigrationError) -> int:
    """The exit code for `error`, from its class alone (never from its message)."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    raise TypeError(f"{type(error).__name__} is not a MigrationError")


def default_config() -> Path:
    """`$MIGRATIONS_FILE`, else `./migrations.yaml`."""
    return Path(os.environ.get(CONFIG_VARIABLE) or DEFAULT_CONFIG)


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """`--config` (default: $MIGRATIONS_FILE, else ./migrations.yaml) and `--migration`."""
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"the migrations file (default: ${CONFIG_VARIABLE}, else ./{DEFAULT_CONFIG})",
    )
    parser.add_argument("--migration", required=True, help="the migration's name in the file")


def config_path(args: argparse.Namespace) -> Path:
    """The migrations file the operator chose (see `add_spec_arguments`)."""
    return args.config or default_config()


def api_key(variable: str) -> str:
    """The Artie API key from the environment variable the spec names; a ConfigurationError (exit
    2) when it is unset or empty."""
    key = os.environ.get(variable, "")
    if not key:
        raise SpecError(
            "artie.api_key_env", f"{variable} is not set; it must hold the Artie API key"
        )
    return key

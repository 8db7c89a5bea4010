"""Offline install of the provider: a filesystem mirror holding a launcher, and a CLI config using it.

`terraform init` then finds `artie-labs/artie` in `<state>/mirror` with no network. The launcher
only execs this Python on `artie_sandbox.provider`, so editing the provider's code does not change
the launcher's hash in users' lock files; it is rewritten only when its text would change.
"""

from __future__ import annotations

import shlex
import stat
import sys
from pathlib import Path

import artie_sandbox
from artie_sandbox.provider import FULL_NAME, VERSION

PLATFORM = "linux_amd64"
CLI_CONFIG = "terraform.rc"


def launcher_path(mirror: Path) -> Path:
    return mirror / FULL_NAME / VERSION / PLATFORM / f"terraform-provider-artie_v{VERSION}"


def launcher_text(python: str = sys.executable) -> str:
    package_root = str(Path(artie_sandbox.__path__[0]).resolve().parent)
    return (
        "#!/bin/sh\n"
        f"# terraform-provider-artie v{VERSION}, the artie-sandbox provider written in Python.\n"
        "# Written by `artie-sandbox init`; it runs the provider from this Python environment.\n"
        f'PYTHONPATH={shlex.quote(package_root)}"${{PYTHONPATH:+:$PYTHONPATH}}" '
        f'exec {shlex.quote(python)} -P -m artie_sandbox.provider "$@"\n'
    )


def cli_config_text(mirror: Path, plugin_cache_dir: Path | None = None) -> str:
    cache = f'plugin_cache_dir = "{plugin_cache_dir}"\n' if plugin_cache_dir else ""
    return (
        "# Terraform CLI config written by `artie-sandbox init`: artie-labs/artie comes from the\n"
        "# local filesystem mirror, every other provider from the registry as usual.\n"
        f"{cache}"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{mirror}"\n'
        f'    include = ["{FULL_NAME}"]\n'
        "  }\n"
        "  direct {\n"
        f'    exclude = ["{FULL_NAME}"]\n'
        "  }\n"
        "}\n"
    )


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True


def install(state_dir: Path, plugin_cache_dir: Path | None = None) -> Path:
    """Write the mirror's launcher and the CLI config under `state_dir`; return the config path."""
    mirror = state_dir / "mirror"
    launcher = launcher_path(mirror)
    _write_if_changed(launcher, launcher_text())
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    config = state_dir / CLI_CONFIG
    _write_if_changed(config, cli_config_text(mirror.resolve(), plugin_cache_dir))
    return config

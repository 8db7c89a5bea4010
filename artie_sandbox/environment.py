"""The environment that points Terraform and the provider at one sandbox (the one list of it)."""

from __future__ import annotations

from pathlib import Path

from artie_sandbox.lifecycle import Sandbox
from artie_sandbox.paths import HOME_VARIABLE

API_KEY_VARIABLE = "ARTIE_API_KEY"


def terraform_environment(sandbox: Sandbox, cli_config: Path | None = None) -> dict[str, str]:
    """The variables Terraform and the provider need for `sandbox` (the key included: pass it to
    processes, never print it). `cli_config` replaces the sandbox's own Terraform CLI config."""
    return {
        "TF_CLI_CONFIG_FILE": str(cli_config or sandbox.cli_config),
        "CHECKPOINT_DISABLE": "1",
        HOME_VARIABLE: str(sandbox.state_dir),
        API_KEY_VARIABLE: sandbox.api_key(),
        "ARTIE_ENDPOINT": sandbox.endpoint() or "",
    }

"""The one sandbox preparation (`make sandbox`, and the start of `make demo`, `make ui`, the tests).

`python -m sandbox_demo.prepare --state DIR`: brings the sandbox up under `DIR/sandbox`, seeds its
shop source (once), copies the example root module to `DIR/terraform` (once: later runs keep the
operator's edits) with its `terraform.tfvars` (once), runs `terraform init` and `terraform apply`
with the sandbox's provider, writes `DIR/migrations.yaml` and the Dagster instance `DIR/dagster`,
then prints what exists. Re-running is safe: everything already there is kept and the apply finds
no changes.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from artie_sandbox import cli as sandbox_cli
from artie_sandbox.environment import API_KEY_VARIABLE, terraform_environment
from artie_sandbox.errors import LifecycleError
from artie_sandbox.lifecycle import Sandbox
from artie_sandbox.source.command import DEFAULT_SOURCE
from artie_sandbox.source.seed import create_source
from migration_pipeline.errors import MigrationError
from migration_pipeline.terraform.binary import find_terraform

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_MODULE = ROOT / "examples" / "sandbox" / "terraform"
EXAMPLE_SPEC = ROOT / "examples" / "sandbox" / "migrations.yaml"
MIGRATION = "analytics_v1_to_v2"
WAREHOUSE = "warehouse"
DEMO_ROWS = 5000


class PrepareError(Exception):
    """A preparation step failed; the message says which and what to do next."""


@dataclass(frozen=True)
class Prepared:
    """A prepared sandbox: its module copy, migrations file, and the environment to run in
    (Terraform's and the provider's variables, DAGSTER_HOME, MIGRATIONS_FILE; holds the API key)."""

    sandbox: Sandbox
    module: Path
    config: Path
    env: dict[str, str] = field(repr=False)

    @property
    def source_db(self) -> Path:
        return source_db(self.sandbox.state_dir)


def source_db(sandbox_state: Path) -> Path:
    """The seeded shop source, where `artie-sandbox source create` puts it by default."""
    return sandbox_state / DEFAULT_SOURCE


def environment(sandbox: Sandbox, cli_config: Path | None = None) -> dict[str, str]:
    """This process's environment without inherited TF_* and ARTIE_* variables (a stale one would
    point Terraform elsewhere), plus what Terraform and the provider need for `sandbox`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ARTIE_"))}
    env.update(terraform_environment(sandbox, cli_config), TF_IN_AUTOMATION="1")
    return env


def copy_example(workdir: Path, sandbox_state: Path) -> bool:
    """Copy the example module and write its tfvars (pointing into `sandbox_state`) unless
    already there; True if copied now."""
    copied = not workdir.exists()
    if copied:
        shutil.copytree(
            EXAMPLE_MODULE, workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*")
        )
    tfvars = workdir / "terraform.tfvars"
    if not tfvars.exists():
        tfvars.write_text(
            "# Written by sandbox_demo: the sandbox's seeded source and its DuckDB warehouses.\n"
            f'source_database_path = "{source_db(sandbox_state)}"\n'
            f'warehouse_directory  = "{sandbox_state / WAREHOUSE}"\n'
        )
    return copied


def migrations_text(
    module: Path, cli_config: Path, endpoint: str, poll_seconds: int = 5, max_age_minutes: int = 30
) -> str:
    """The example migration's spec (examples/sandbox/migrations.yaml) pointed at a copy of the
    example module on a running sandbox, with the demo's own polling pace."""
    specs = yaml.safe_load(EXAMPLE_SPEC.read_text())
    spec = specs["migrations"][MIGRATION]
    spec["terraform"].update(dir=str(module), cli_config_file=str(cli_config))
    spec["artie"]["api_url"] = endpoint
    spec["gates"].update(poll_seconds=poll_seconds, max_validation_age_minutes=max_age_minutes)
    return yaml.safe_dump({"migrations": {MIGRATION: spec}}, sort_keys=False)


def run_terraform(terraform: str, workdir: Path, env: dict[str, str], *args: str) -> None:
    """Run one terraform command with its output shown; PrepareError when it fails."""
    print(f"$ terraform {' '.join(args)}", flush=True)
    try:
        subprocess.run([terraform, *args], cwd=workdir, env=env, check=True)
    except subprocess.CalledProcessError as e:
        raise PrepareError(
            f"terraform {args[0]} failed (exit {e.returncode}) in {workdir}; see its output above"
        ) from e


def prepare(
    state: Path,
    terraform: str,
    rows: int = DEMO_ROWS,
    say: Callable[[str], None] = print,
    poll_seconds: int = 5,
) -> Prepared:
    """Sandbox up, source seeded, example module applied with `terraform` (the binary's path),
    migrations file (the sensor polling every `poll_seconds`) and Dagster instance written under
    `state`. Safe to repeat."""
    sandbox = Sandbox(state / "sandbox")
    sandbox.up()
    say(f"Sandbox up at {sandbox.endpoint()} (state {sandbox.state_dir})")
    source = source_db(sandbox.state_dir)
    if not source.exists():
        counts = create_source(source, rows=rows)
        say(f"Seeded the shop source {source}: " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    module = state / "terraform"
    if copy_example(module, sandbox.state_dir):
        say(f"Copied the example module to {module}")
    env = environment(sandbox)
    run_terraform(terraform, module, env, "init", "-input=false", "-no-color")
    run_terraform(terraform, module, env, "apply", "-auto-approve", "-input=false", "-no-color")
    home = state / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    config = state / "migrations.yaml"
    config.write_text(
        f"# Written by sandbox_demo for the sandbox under {sandbox.state_dir}.\n"
        + migrations_text(module, sandbox.cli_config, sandbox.endpoint(), poll_seconds=poll_seconds)
    )
    env.update(DAGSTER_HOME=str(home), MIGRATIONS_FILE=str(config))
    shell = write_shell_environment(state, env, sandbox)
    say(f"For the CLI in another shell: source {shell}")
    return Prepared(sandbox, module, config, env)


SHELL_VARIABLES = (
    "DAGSTER_HOME",
    "MIGRATIONS_FILE",
    "ARTIE_SANDBOX_HOME",
    "ARTIE_ENDPOINT",
    "TF_CLI_CONFIG_FILE",
    "CHECKPOINT_DISABLE",
)


def write_shell_environment(state: Path, env: dict[str, str], sandbox: Sandbox) -> Path:
    """`state/env.sh`: what a shell needs to run `migration-pipeline` and `artie-sandbox` on this
    sandbox (the venv's bin on PATH, the instance, the migrations file, Terraform's and the
    provider's variables). The API key is read from the sandbox's 0600 key file when sourced,
    never written here."""
    lines = [
        f"# Written by sandbox_demo for {state}: `source` it to use the CLI on this sandbox.",
        f'export PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"',
        *(f"export {k}={shlex.quote(env[k])}" for k in SHELL_VARIABLES),
        f'export {API_KEY_VARIABLE}="$(cat {shlex.quote(str(sandbox.api_key_file))})"',
    ]
    path = state / "env.sh"
    path.write_text("\n".join(lines) + "\n")
    return path


def prepare_or_explain(
    state: Path, rows: int = DEMO_ROWS, poll_seconds: int = 5
) -> Prepared | None:
    """`prepare` with the terraform binary found as the product finds it; None (the reason
    printed) when the sandbox, terraform or a file could not be set up."""
    try:
        return prepare(
            state.expanduser().absolute(), find_terraform(), rows, poll_seconds=poll_seconds
        )
    except (LifecycleError, PrepareError, MigrationError) as e:
        print(f"error: could not prepare the sandbox: {e}", file=sys.stderr)
    except OSError as e:
        print(
            f"error: could not prepare the sandbox: {e}. Choose a writable --state directory.",
            file=sys.stderr,
        )
    return None


def main(argv: list[str] | None = None) -> int:
    """Bring the Artie sandbox up and apply the example Terraform module to it."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox_demo.prepare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--state", required=True, type=Path, help="state directory")
    parser.add_argument(
        "--rows",
        type=int,
        default=DEMO_ROWS,
        help=f"rows seeded in the source (default {DEMO_ROWS})",
    )
    args = parser.parse_args(argv)
    prepared = prepare_or_explain(args.state, args.rows)
    if prepared is None:
        return 1
    print()
    return sandbox_cli.main(["status", "--state-dir", str(prepared.sandbox.state_dir)])


if __name__ == "__main__":
    sys.exit(main())

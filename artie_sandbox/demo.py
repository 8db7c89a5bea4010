"""`python -m artie_sandbox.demo --state DIR` (what `make demo` runs): the sandbox, applied.

Brings the sandbox up under `DIR/sandbox`, seeds its shop source (once), copies the example root module to `DIR/terraform`
(once: later runs keep the operator's edits), writes its `terraform.tfvars` (once), runs
`terraform init` and `terraform apply` with the Python provider, then prints what exists.
Re-running is safe: everything already there is kept and the apply finds no changes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from artie_sandbox import cli
from artie_sandbox.lifecycle import LifecycleError, Sandbox

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sandbox" / "terraform"
# Where the sandbox keeps the seeded shop database (as `artie-sandbox source create` does) and
# the DuckDB warehouses.
SOURCE_DB = "source.db"
WAREHOUSE = "warehouse"
DEMO_ROWS = 50_000


def terraform_env(sandbox: Sandbox) -> dict[str, str]:
    """The environment Terraform and the provider need for this sandbox."""
    return {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(sandbox.cli_config),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "ARTIE_SANDBOX_HOME": str(sandbox.state_dir),
        "ARTIE_API_KEY": sandbox.api_key(),
        "ARTIE_ENDPOINT": sandbox.endpoint() or "",
    }


def prepare_module(workdir: Path, sandbox: Sandbox) -> bool:
    """Copy the example module and write its tfvars unless already there; True if copied now."""
    copied = not workdir.exists()
    if copied:
        shutil.copytree(
            EXAMPLE, workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*")
        )
    tfvars = workdir / "terraform.tfvars"
    if not tfvars.exists():
        tfvars.write_text(
            "# Written by the demo: the sandbox's seeded source and its DuckDB warehouses.\n"
            f'source_database_path = "{sandbox.state_dir / SOURCE_DB}"\n'
            f'warehouse_directory  = "{sandbox.state_dir / WAREHOUSE}"\n'
        )
    return copied


def run(terraform: str, workdir: Path, env: dict, *args: str) -> None:
    print(f"$ terraform {' '.join(args)}", flush=True)
    subprocess.run([terraform, *args], cwd=workdir, env=env, check=True)


def main(argv: list[str] | None = None) -> int:
    """Bring the Artie sandbox up and apply the example Terraform module to it."""
    parser = argparse.ArgumentParser(prog="python -m artie_sandbox.demo", description=main.__doc__)
    parser.add_argument("--state", required=True, type=Path, help="demo state directory")
    args = parser.parse_args(argv)
    state = args.state.expanduser().absolute()
    sandbox = Sandbox(state / "sandbox")
    try:
        sandbox.up()
    except LifecycleError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"Sandbox up at {sandbox.endpoint()} (state {sandbox.state_dir})")
    source = sandbox.state_dir / SOURCE_DB
    if not source.exists():
        from artie_sandbox.source.seed import create_source

        counts = create_source(source, rows=DEMO_ROWS)
        print(
            f"Seeded the shop source {source}: " + ", ".join(f"{t} {n}" for t, n in counts.items())
        )
    workdir = state / "terraform"
    if prepare_module(workdir, sandbox):
        print(f"Copied the example module to {workdir}")

    from migration_pipeline.terraform.binary import find_terraform

    terraform = find_terraform()
    env = terraform_env(sandbox)
    try:
        run(terraform, workdir, env, "init", "-input=false", "-no-color")
        run(terraform, workdir, env, "apply", "-auto-approve", "-input=false", "-no-color")
    except subprocess.CalledProcessError as e:
        print(
            f"error: terraform failed (exit {e.returncode}); see the output above", file=sys.stderr
        )
        return 1
    print()
    return cli.main(["status", "--state-dir", str(sandbox.state_dir)])


if __name__ == "__main__":
    sys.exit(main())

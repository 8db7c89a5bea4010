"""`migration-pipeline demo --state DIR`: the whole online migration on the sandbox, end to end.

Like `make demo` promises: the sandbox up with a seeded shop source and a running workload, the
example Terraform module applied, then the migration driven exactly as Dagster drives it (the
catch-up sensor evaluated, the job run in a Dagster instance under DIR/dagster) until it is
complete; the approval is recorded on the way, as a person would from the UI. The demo script is
the one place in migration_pipeline that uses artie_sandbox (DESIGN.md: tests and the demo may).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
import warnings
from pathlib import Path

import yaml

from migration_pipeline.errors import MigrationError

MIGRATION = "analytics_v1_to_v2"
DEMO_ROWS = 5000


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="Run the example migration on the local sandbox, end to end.",
        description=main.__doc__)
    parser.add_argument("--state", type=Path, default=Path(".state"),
                        help="where the sandbox, module copy and Dagster instance live "
                        "(default: .state)")
    parser.add_argument("--rows", type=int, default=DEMO_ROWS, help="rows seeded in the source")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many s")
    parser.set_defaults(func=lambda args: main(args.state, args.rows, args.timeout))


EXAMPLE_SPEC = Path(__file__).resolve().parent.parent / "examples" / "sandbox" / "migrations.yaml"


def migrations_text(module: Path, cli_config: Path, endpoint: str, poll_seconds: int = 5,
                    max_age_minutes: int = 30) -> str:
    """The example migration's spec (examples/sandbox/migrations.yaml) pointed at a copy of the
    example module on a running sandbox, with the demo's own polling pace."""
    specs = yaml.safe_load(EXAMPLE_SPEC.read_text())
    spec = specs["migrations"][MIGRATION]
    spec["terraform"].update(dir=str(module), cli_config_file=str(cli_config))
    spec["artie"]["api_url"] = endpoint
    spec["gates"].update(poll_seconds=poll_seconds, max_validation_age_minutes=max_age_minutes)
    return yaml.safe_dump({"migrations": {MIGRATION: spec}}, sort_keys=False)


def prepare(state: Path, rows: int = DEMO_ROWS) -> Path:
    """Sandbox up, source seeded, example module applied, migrations file and environment set
    (ARTIE_*, TF_*, DAGSTER_HOME); returns the migrations file. Safe to repeat."""
    from artie_sandbox import demo as sandbox_demo
    from artie_sandbox.lifecycle import Sandbox
    from artie_sandbox.source.seed import create_source
    from migration_pipeline.terraform.binary import find_terraform

    sandbox = Sandbox(state / "sandbox")
    sandbox.up()
    source = sandbox.state_dir / sandbox_demo.SOURCE_DB
    if not source.exists():
        create_source(source, rows=rows)
    module = state / "terraform"
    sandbox_demo.prepare_module(module, sandbox)
    env = sandbox_demo.terraform_env(sandbox)
    terraform = find_terraform()
    sandbox_demo.run(terraform, module, env, "init", "-input=false", "-no-color")
    sandbox_demo.run(terraform, module, env, "apply", "-auto-approve", "-input=false", "-no-color")
    os.environ.update(env)
    home = state / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).resolve().parent.parent / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    config = state / "migrations.yaml"
    config.write_text(f"# Written by the demo for the sandbox under {sandbox.state_dir}.\n"
                      + migrations_text(module, sandbox.cli_config, sandbox.endpoint()))
    os.environ["MIGRATIONS_FILE"] = str(config)
    return config


def _workload(source: Path, stop: threading.Event) -> threading.Thread:
    from artie_sandbox.source.workload import Workload

    def run() -> None:
        workload = Workload(source, seed=7)
        try:
            workload.run(10, stop=stop)
        finally:
            workload.close()

    thread = threading.Thread(target=run, name="demo-workload", daemon=True)
    thread.start()
    return thread


def drive(config: Path, timeout: float) -> int:
    """Tick the catch-up sensor and run what it asks for until the migration is complete."""
    from migration_pipeline.orchestration.driver import Driver

    # Dagster's notices about its own beta parameters are noise in a demo's progress.
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    driver = Driver.from_file(config, MIGRATION)
    deadline = time.monotonic() + timeout
    with driver.instance() as instance:
        last = driver.launch(instance)
        print(last, flush=True)
        while time.monotonic() < deadline:
            outcome = driver.step(instance)
            if outcome.line != last:
                print(outcome.line, flush=True)
                last = outcome.line
            if outcome.phase == "complete":
                return 0
            if outcome.phase == "aborted":
                return 1
            if outcome.awaiting_approval:
                print("  -> approving as `demo` (in the UI: materialize the approval asset; or "
                      "`migration-pipeline approve`)", flush=True)
                driver.approve(instance, "demo", "two clean validations in a row")
                continue
            time.sleep(1)
    print(f"error: the migration did not complete within {timeout:.0f} s", file=sys.stderr)
    return 1


def main(state: Path = Path(".state"), rows: int = DEMO_ROWS, timeout: float = 600) -> int:
    """Run the example migration on the sandbox end to end, printing each run's progress."""
    state = state.expanduser().absolute()
    try:
        config = prepare(state, rows)
    except Exception as e:  # the sandbox's own errors (LifecycleError, a failed terraform)
        print(f"error: could not prepare the sandbox: {e}", file=sys.stderr)
        return 1
    stop = threading.Event()
    thread = _workload(state / "sandbox" / "source.db", stop)
    print(f"\nMigrating {MIGRATION} (workload running; Dagster instance {state / 'dagster'})")
    try:
        code = drive(config, timeout)
    except MigrationError as e:
        print(f"error: {e}", file=sys.stderr)
        code = 1
    finally:
        stop.set()
        thread.join(10)
    if code == 0:
        print(f"\nDone. The module in {state / 'terraform'} now holds analytics_v2 only. "
              "`make down` stops the sandbox.")
    return code


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m migration_pipeline.demo")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(["demo", *sys.argv[1:]])
    sys.exit(args.func(args))

"""`python -m sandbox_demo --state DIR` (what `make demo` runs): the whole online migration on the
sandbox, end to end, through a real Dagster deployment.

As `make demo` promises: the sandbox up with a seeded shop source and a running workload, the
example Terraform module applied, then `dagster dev` (web server, daemon, code server) on a free
loopback port with the Dagster instance under DIR/dagster. The demo does only what a person does
in the UI, over the same GraphQL API: it launches the migration job once and, when the job waits
for it, materializes the approval asset with its config. The daemon's run queue and catch-up
sensor do the rest. Each run's progress is printed as the runs list shows it, with the time.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import warnings
from pathlib import Path

import dagster as dg

from artie_sandbox.source.workload import Workload
from migration_pipeline.errors import MigrationError
from migration_pipeline.orchestration.runs import job_name
from migration_pipeline.spec import load_spec
from sandbox_demo.deployment import Deployment, DeploymentError
from sandbox_demo.prepare import DEMO_ROWS, MIGRATION, prepare_or_explain
from sandbox_demo.watch import Watch


def _workload(source: Path, stop: threading.Event) -> threading.Thread:
    def run() -> None:
        workload = Workload(source, seed=7)
        try:
            workload.run(10, stop=stop)
        finally:
            workload.close()

    thread = threading.Thread(target=run, name="demo-workload", daemon=True)
    thread.start()
    return thread


def drive(config: Path, env: dict[str, str], log: Path, timeout: float) -> int:
    """Launch the job over GraphQL, approve when asked, print progress until it is complete."""
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    spec = load_spec(config, MIGRATION)
    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {line}", flush=True)

    say(f"starting dagster dev (web server, daemon, code server); its log: {log}")
    with Deployment(env, log) as deployment, dg.DagsterInstance.get() as instance:
        say(f"Dagster UI on {deployment.url}: launching {job_name(spec)} as a person would")
        watch = Watch(deployment, spec, instance)
        deployment.launch_job(job_name(spec))
        deadline = started + timeout
        last = ""
        while time.monotonic() < deadline:
            for line in watch.progress():
                say(line)
            status = watch.status()
            summary = f"phase {status['phase']}: {status['reason']}"
            if summary != last:
                say(summary)
                last = summary
            if status["phase"] in ("complete", "aborted"):
                say(f"wall time {time.monotonic() - started:.0f} s")
                return 0 if status["phase"] == "complete" else 1
            if (
                not status["sensor"]["may_launch"]
                and "in progress" not in status["sensor"]["reason"]
            ):
                say(f"the sensor waits: {status['sensor']['reason']}")
                return 1
            if watch.approve_when_asked(status, "demo", "clean validations in a row"):
                say(
                    "approving as `demo`: the approval asset materialized with config, as from "
                    "the UI (or `migration-pipeline approve`)"
                )
            time.sleep(2)
    print(f"error: the migration did not complete within {timeout:.0f} s", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run the example migration on the sandbox end to end, printing each run's progress."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox_demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=Path(".state"),
        help="where the sandbox, module copy and Dagster instance live (default: .state)",
    )
    parser.add_argument("--rows", type=int, default=DEMO_ROWS, help="rows seeded in the source")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many s")
    args = parser.parse_args(argv)
    prepared = prepare_or_explain(args.state, args.rows, poll_seconds=2)
    if prepared is None:
        return 1
    os.environ.update(prepared.env)
    state = args.state.expanduser().absolute()
    stop = threading.Event()
    thread = _workload(prepared.source_db, stop)
    print(f"\nMigrating {MIGRATION} (workload running; Dagster instance {state / 'dagster'})")
    try:
        code = drive(prepared.config, dict(os.environ), state / "dagster-dev.log", args.timeout)
    except (MigrationError, DeploymentError) as e:
        print(f"error: {e}", file=sys.stderr)
        code = 1
    finally:
        stop.set()
        thread.join(10)
    if code == 0:
        print(
            f"\nDone. The module in {prepared.module} now holds analytics_v2 only. "
            "`make down` stops the sandbox."
        )
    return code


if __name__ == "__main__":
    sys.exit(main())

"""`python -m sandbox_demo --state DIR` (what `make demo` runs): the whole online migration on the
sandbox, end to end.

As `make demo` promises: the sandbox up with a seeded shop source and a running workload, the
example Terraform module applied, then the migration driven exactly as Dagster drives it (the
catch-up sensor evaluated, the job run in a Dagster instance under DIR/dagster) until it is
complete; the approval is recorded on the way, as a person would from the UI. The demo script is
the one place in migration_pipeline that uses artie_sandbox (DESIGN.md: tests and the demo may).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import warnings
from pathlib import Path

from artie_sandbox.source.workload import Workload
from migration_pipeline.errors import MigrationError
from sandbox_demo.driver import Driver
from sandbox_demo.prepare import DEMO_ROWS, MIGRATION, prepare_or_explain


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


def drive(config: Path, timeout: float) -> int:
    """Tick the catch-up sensor and run what it asks for until the migration is complete."""
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


def main(argv: list[str] | None = None) -> int:
    """Run the example migration on the sandbox end to end, printing each run's progress."""
    parser = argparse.ArgumentParser(prog="python -m sandbox_demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", type=Path, default=Path(".state"),
                        help="where the sandbox, module copy and Dagster instance live "
                        "(default: .state)")
    parser.add_argument("--rows", type=int, default=DEMO_ROWS, help="rows seeded in the source")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many s")
    args = parser.parse_args(argv)
    prepared = prepare_or_explain(args.state, args.rows)
    if prepared is None:
        return 1
    os.environ.update(prepared.env)
    state = args.state.expanduser().absolute()
    stop = threading.Event()
    thread = _workload(prepared.source_db, stop)
    print(f"\nMigrating {MIGRATION} (workload running; Dagster instance {state / 'dagster'})")
    try:
        code = drive(prepared.config, args.timeout)
    except MigrationError as e:
        print(f"error: {e}", file=sys.stderr)
        code = 1
    finally:
        stop.set()
        thread.join(10)
    if code == 0:
        print(f"\nDone. The module in {prepared.module} now holds analytics_v2 only. "
              "`make down` stops the sandbox.")
    return code


if __name__ == "__main__":
    sys.exit(main())

"""`python -m sandbox_demo.ui --state DIR` (what `make ui` runs): the Dagster UI on the sandbox.

Brings the sandbox up with the example module applied (as the demo does, nothing migrated), then
replaces itself with `dagster dev -w workspace.yaml` on 127.0.0.1, with DAGSTER_HOME under DIR and
MIGRATIONS_FILE pointing at DIR/migrations.yaml. SIGINT and SIGTERM are reset to their defaults
before the exec, so Ctrl-C or `kill <pid>` stop the web server, daemon and code server even when
started from a non-interactive shell. The sandbox keeps running afterwards (`make down`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from migration_pipeline.spec import load_spec
from migration_pipeline.terraform.hcl import load_module
from sandbox_demo.deployment import dagster_command, default_signals
from sandbox_demo.prepare import DEMO_ROWS, MIGRATION, ROOT, prepare_or_explain


def main(argv: list[str] | None = None) -> int:
    """Start the sandbox and the Dagster UI for the example migration."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox_demo.ui",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--state", required=True, type=Path, help="state directory")
    parser.add_argument("--port", type=int, default=3000, help="web server port (default 3000)")
    parser.add_argument("--rows", type=int, default=DEMO_ROWS, help="rows seeded in the source")
    args = parser.parse_args(argv)
    prepared = prepare_or_explain(args.state, args.rows)
    if prepared is None:
        return 1
    os.environ.update(prepared.env)
    home = Path(os.environ["DAGSTER_HOME"])
    command = dagster_command(args.port)
    spec = load_spec(prepared.config, MIGRATION)
    if spec.old_pipeline in load_module(prepared.module).resources:
        todo = (
            f"launch {MIGRATION}_job to start the migration (docs/operators-guide.md, the runbook)"
        )
    else:
        todo = (
            f"the migration in {args.state} is already cut over ({spec.old_pipeline} is gone, "
            "e.g. by `make demo`): to perform it by hand from the start, Ctrl-C, `make clean`, "
            "then `make ui` again"
        )
    print(
        f"\nDagster UI on http://127.0.0.1:{args.port} (DAGSTER_HOME {home}): {todo}. "
        f"Ctrl-C stops the UI. For the CLI in another shell: source {args.state}/env.sh",
        flush=True,
    )
    default_signals()
    os.chdir(ROOT)
    os.execve(command[0], command, dict(os.environ))
    return 0  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main())

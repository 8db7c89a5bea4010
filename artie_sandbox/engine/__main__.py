"""`python -m artie_sandbox.engine --state-dir DIR`: run the replication engine until SIGTERM/SIGINT.

Reads the control-plane store (`<state-dir>/control-plane.db` unless `--store`), keeps reader
change logs under `<state-dir>/engine/logs`, and writes each pipeline's DuckDB file under its
destination connector's `directory`. Safe to kill -9: a restart resumes from the offsets stored
in the change logs and the destination files.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from artie_sandbox.engine.engine import Engine
from artie_sandbox.paths import default_state_dir, store_path
from artie_sandbox.store import Store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m artie_sandbox.engine", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=default_state_dir(),
        help="sandbox state directory (default: $ARTIE_SANDBOX_HOME or ~/.artie-sandbox)",
    )
    parser.add_argument(
        "--store",
        type=Path,
        help="control-plane SQLite file (default: <state-dir>/control-plane.db)",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=0.1,
        help="first wait after a round that moved nothing (waits double up to 1 s at rest)",
    )
    parser.add_argument(
        "--backfill-batch",
        type=int,
        default=50_000,
        help="most rows per backfill batch (batches adapt to hold the file about 0.4 s)",
    )
    parser.add_argument(
        "--apply-batch",
        type=int,
        default=50_000,
        help="most changes per apply batch (batches adapt like backfill batches)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    store = Store(args.store or store_path(args.state_dir))
    engine = Engine(
        args.state_dir,
        store,
        poll_interval=args.poll_interval,
        backfill_batch=args.backfill_batch,
        apply_batch=args.apply_batch,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    logging.getLogger("artie_sandbox.engine").info("engine started on %s", args.state_dir)
    engine.run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())

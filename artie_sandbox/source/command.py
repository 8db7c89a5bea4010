"""`artie-sandbox source create` and `artie-sandbox workload`: the sandbox's source database.

Register with `register(subparsers)`; each parser sets `func(args) -> int` (0 ok, 2 input error).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from artie_sandbox.paths import default_state_dir
from artie_sandbox.source.seed import DEFAULT_ROWS, create_source
from artie_sandbox.source.workload import Workload

DEFAULT_SOURCE = "source.db"


def _source_path(args: argparse.Namespace) -> Path:
    return args.path or (args.state_dir or default_state_dir()) / DEFAULT_SOURCE


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--path", type=Path, help=f"the SQLite source file (default: <state-dir>/{DEFAULT_SOURCE})"
    )
    parser.add_argument(
        "--state-dir", type=Path, help="sandbox state directory (default: $ARTIE_SANDBOX_HOME)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed: the same seed gives the same data"
    )


def register(subparsers) -> None:
    source = subparsers.add_parser(
        "source",
        help="Create the sandbox's SQLite source database (with change capture).",
        description="Manage the sandbox's source: an SQLite database with change capture.",
    )
    actions = source.add_subparsers(dest="source_command", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        help="create and seed the source database",
        description="Create the source file from the declared schema (customers, products, orders, "
        "order_items), seed it with --rows rows spread over the four tables, then start "
        "change capture. Refuses to overwrite an existing file.",
    )
    _common(create)
    create.add_argument(
        "--rows",
        type=int,
        default=DEFAULT_ROWS,
        help=f"rows to seed in total (default {DEFAULT_ROWS})",
    )
    create.set_defaults(func=_create)

    workload = subparsers.add_parser(
        "workload",
        help="Apply inserts, updates and deletes to the source at a set rate.",
        description="Apply random inserts, updates and deletes to the source at --rate changes per "
        "second until --seconds or --changes is reached (Ctrl-C stops early). The same "
        "--seed on the same source state gives the same changes.",
    )
    _common(workload)
    workload.add_argument(
        "--rate", type=float, default=100.0, help="changes per second (default 100)"
    )
    workload.add_argument("--seconds", type=float, help="stop after this many seconds")
    workload.add_argument("--changes", type=int, help="stop after this many changes")
    workload.set_defaults(func=_workload)


def _create(args: argparse.Namespace) -> int:
    path = _source_path(args)
    try:
        counts = create_source(path, rows=args.rows, seed=args.seed)
    except FileExistsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"path": str(path), "rows": counts}))
    return 0


def _workload(args: argparse.Namespace) -> int:
    path = _source_path(args)
    if not path.exists():
        print(
            f"error: {path} does not exist; run `artie-sandbox source create` first",
            file=sys.stderr,
        )
        return 2
    if args.seconds is None and args.changes is None:
        print("error: give --seconds or --changes", file=sys.stderr)
        return 2
    workload = Workload(path, seed=args.seed)
    try:
        done = workload.run(args.rate, seconds=args.seconds, max_changes=args.changes)
    except KeyboardInterrupt:
        done = workload.applied
    finally:
        workload.close()
    print(json.dumps({"path": str(path), "changes": done}))
    return 0

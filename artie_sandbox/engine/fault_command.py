"""`artie-sandbox fault ...`: inject faults into the running sandbox (engine and API see them at once).

Register with `register(subparsers)`; each parser sets `func(args) -> int` (0 ok, 2 input error).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from artie_sandbox.engine.faults import Faults
from artie_sandbox.models import Pipeline
from artie_sandbox.paths import default_state_dir, store_path
from artie_sandbox.store import Store

# action -> (fault kind, help, whether --pipeline is required)
_ACTIONS = {
    "drop": ("drop_changes", "the pipeline silently skips its next --count changes", True),
    "corrupt": ("corrupt_rows", "--count destination rows of the pipeline get a wrong value", True),
    "stall": ("stall", "the pipeline stops moving (for --seconds, or until cleared)", True),
    "api-errors": (
        "api_errors",
        "the API answers every call with --status for --seconds, or its next --count calls",
        False,
    ),
    "slow-backfill": ("slow_backfill", "backfills run at most --rows-per-second", False),
}


def register(subparsers) -> None:
    fault = subparsers.add_parser(
        "fault",
        help="Inject faults: drop or corrupt rows, stall a pipeline, API errors, slow backfill.",
        description="Inject faults into the sandbox to rehearse how the migration reacts. Faults live "
        "in the control-plane file, so the running engine and API pick them up at once.",
    )
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-dir", type=Path, help="sandbox state directory (default: $ARTIE_SANDBOX_HOME)"
    )
    actions = fault.add_subparsers(dest="fault_command", required=True, metavar="ACTION")
    for name, (kind, help_text, needs_pipeline) in _ACTIONS.items():
        parser = actions.add_parser(
            name, parents=[state], help=help_text, description=f"Inject a fault: {help_text}."
        )
        parser.add_argument(
            "--pipeline",
            required=needs_pipeline,
            help="pipeline uuid or name" + ("" if needs_pipeline else " (default: all)"),
        )
        if kind in ("drop_changes", "corrupt_rows"):
            parser.add_argument("--count", type=int, required=True, help="how many changes / rows")
        if kind == "api_errors":
            parser.add_argument(
                "--count", type=int, help="answer only the next N calls (instead of --seconds)"
            )
        if kind == "corrupt_rows":
            parser.add_argument(
                "--table", default="", help="table key or destination name (default: first table)"
            )
        if kind in ("stall", "api_errors", "slow_backfill"):
            parser.add_argument(
                "--seconds",
                type=float,
                help="how long the fault lasts"
                + (" (or --count)" if kind == "api_errors" else " (default: until cleared)"),
            )
        if kind == "api_errors":
            parser.add_argument(
                "--status", type=int, default=503, help="HTTP status to answer with (default 503)"
            )
            parser.add_argument(
                "--retry-after", type=int, help="seconds sent as Retry-After (default: no header)"
            )
        if kind == "slow_backfill":
            parser.add_argument(
                "--rows-per-second", type=float, required=True, help="backfill rate cap"
            )
        parser.set_defaults(func=_add, kind=kind)
    listing = actions.add_parser(
        "list",
        parents=[state],
        help="show the faults in force",
        description="Show the faults in force as JSON.",
    )
    listing.set_defaults(func=_list)
    clear = actions.add_parser(
        "clear",
        parents=[state],
        help="remove faults",
        description="Remove faults (all by default).",
    )
    clear.add_argument("--pipeline", help="only this pipeline's (uuid or name)")
    clear.add_argument(
        "--kind", choices=sorted(k for k, _, _ in _ACTIONS.values()), help="only this kind"
    )
    clear.set_defaults(func=_clear)


def _open(args: argparse.Namespace) -> tuple[Store, Faults]:
    store = Store(store_path(args.state_dir or default_state_dir()))
    return store, Faults(store)


def resolve_pipeline(store: Store, ref: str | None) -> str:
    """A pipeline uuid from a uuid or a name; '' for None. Raises LookupError naming the choices."""
    if not ref:
        return ""
    pipelines = store.read().list(Pipeline)
    for p in pipelines:
        if ref in (p.uuid, p.name):
            return p.uuid
    known = ", ".join(f"{p.name} ({p.uuid})" for p in pipelines) or "none"
    raise LookupError(f"no pipeline {ref!r}; known pipelines: {known}")


def _add(args: argparse.Namespace) -> int:
    store, faults = _open(args)
    params = {
        k: getattr(args, k)
        for k in ("table", "status", "retry_after", "rows_per_second")
        if getattr(args, k, None) not in (None, "")
    }
    try:
        fault = faults.add(
            args.kind,
            resolve_pipeline(store, args.pipeline),
            count=getattr(args, "count", None),
            seconds=getattr(args, "seconds", None),
            **params,
        )
    except (LookupError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(fault.to_json()))
    return 0


def _list(args: argparse.Namespace) -> int:
    _, faults = _open(args)
    print(json.dumps([f.to_json() for f in faults.active()], indent=2))
    return 0


def _clear(args: argparse.Namespace) -> int:
    store, faults = _open(args)
    try:
        removed = faults.clear(resolve_pipeline(store, args.pipeline) or None, args.kind)
    except LookupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"removed": removed}))
    return 0

"""`migration-pipeline validate`: compare the new destination with the old one, table by table."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from migration_pipeline.errors import ValidationInputError
from migration_pipeline.validation.schedule import DEFAULT_FULL_EVERY, DEFAULT_FULL_EVERY_HOURS
from migration_pipeline.validation.verdict import (
    CLEAN,
    DEFAULT_MAX_IN_FLIGHT_AGE_SECONDS,
    DEFAULT_MAX_IN_FLIGHT_KEYS,
    DEFAULT_MAX_LAG_SECONDS,
    Limits,
)

# The validation package loads DuckDB (~0.3 s): imported where a comparison runs, so that
# `validate --help` and a usage error answer at once.
if TYPE_CHECKING:
    from migration_pipeline.validation.db import duckdb
    from migration_pipeline.validation.mapping import TableMapping
    from migration_pipeline.validation.report import TableReport, ValidationReport

SHOWN = 10  # keys per list in the human-readable output (--json lists them all, or --max-keys)

DESCRIPTION = """Compare the new destination with the old one inside DuckDB, both opened read-only.

Per table: row counts, content fingerprints per key bucket, then every missing, extra, changed
and duplicated key, schema differences, and freshness (Artie's write times on each side).
Artie metadata columns (__artie_*) are not compared; rows with __artie_delete = true count as
absent. With --state-dir every run is appended to a history there, and a mismatch seen in the
previous run too is reported as confirmed.

Incremental (with --state-dir, the default once a full validation of a table was clean): row
counts on both sides, then only the keys whose rows changed on either side since the change
time the last clean validation reached (__artie_updated_at, or --change-time-column). A table is
compared in full when there is no such validation or change-time column, when the counts differ
beyond the changed keys, and at least every --full-every validations or --full-every-hours
hours; --full forces it. An incremental run cannot see a row changed in place without a newer
change time, nor a lost delete balanced by a lost insert: the next full run finds them.

Verdict: clean (nothing mismatched, nothing pending, lag and keys in flight within the limits),
inconclusive (a mismatch not confirmed yet, a pending delete, or too far behind), or mismatch
(a confirmed mismatch, or a schema difference that stops values from comparing).

Exit status: 0 clean, 1 mismatch or inconclusive (not clean: do not cut over), 2 bad input
(nothing compared)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--old",
        required=True,
        metavar="PATH",
        help="old destination: DuckDB file or md: name",
    )
    parser.add_argument(
        "--new",
        required=True,
        metavar="PATH",
        help="new destination: DuckDB file or md: name",
    )
    parser.add_argument(
        "--table",
        action="append",
        metavar="OLD[:NEW]",
        help="table to compare, and its name in the new destination if it differs (repeatable; "
        "default: every table of the old destination)",
    )
    parser.add_argument(
        "--key", action="append", metavar="COL", help="key column (repeat for a composite key, in order; "
        "default: the declared primary key)",
    )  # fmt: skip
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON, nothing else"
    )
    parser.add_argument(
        "--max-keys",
        type=_count,
        metavar="N",
        help="list at most N keys of each kind per table",
    )
    parser.add_argument(
        "--tolerance", type=_tolerance, default=0.0, metavar="X",
        help="floating-point columns match when they differ by at most X (default: exact)",
    )  # fmt: skip
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="append the run to the validation history in DIR",
    )
    parser.add_argument(
        "--full", action="store_true",
        help="compare every row even where an incremental validation could run",
    )  # fmt: skip
    parser.add_argument(
        "--full-every", type=_positive, default=DEFAULT_FULL_EVERY, metavar="N",
        help=f"at least one validation in N is full (default: {DEFAULT_FULL_EVERY})",
    )  # fmt: skip
    parser.add_argument(
        "--full-every-hours", type=_tolerance, default=DEFAULT_FULL_EVERY_HOURS, metavar="H",
        help=f"a full validation at least every H hours (default: {DEFAULT_FULL_EVERY_HOURS:g})",
    )  # fmt: skip
    parser.add_argument(
        "--change-time-column", metavar="COL",
        help="column whose value moves on every change of a row, on both sides "
        "(default: __artie_updated_at / __artie_db_updated_at)",
    )  # fmt: skip
    parser.add_argument(
        "--memory-limit",
        default="2GB",
        metavar="SIZE",
        help="DuckDB memory limit (default: 2GB)",
    )
    parser.add_argument(
        "--lock-timeout", type=float, default=10.0, metavar="SECONDS",
        help="how long to wait for a destination another process holds locked (default: 10)",
    )  # fmt: skip
    parser.add_argument(
        "--max-lag", type=_tolerance, default=DEFAULT_MAX_LAG_SECONDS, metavar="SECONDS",
        help="clean only if neither side is further behind than this "
        f"(default: {DEFAULT_MAX_LAG_SECONDS:g})",
    )  # fmt: skip
    parser.add_argument(
        "--max-in-flight", type=_count, default=DEFAULT_MAX_IN_FLIGHT_KEYS, metavar="N",
        help=f"clean only with at most N keys in flight (default: {DEFAULT_MAX_IN_FLIGHT_KEYS})",
    )  # fmt: skip
    parser.add_argument(
        "--max-in-flight-age", type=_tolerance, default=DEFAULT_MAX_IN_FLIGHT_AGE_SECONDS,
        metavar="SECONDS", help="clean only if the oldest change in flight is at most this old "
        f"(default: {DEFAULT_MAX_IN_FLIGHT_AGE_SECONDS:g})",
    )  # fmt: skip
    parser.set_defaults(func=run)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def _tolerance(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def parse_table(text: str) -> TableMapping:
    """`OLD` or `OLD:NEW` from the command line."""
    from migration_pipeline.validation.mapping import plain_mapping

    old, _, new = text.partition(":")
    if not old or (":" in text and not new):
        raise ValidationInputError(f"--table takes OLD or OLD:NEW, got {text!r}")
    return plain_mapping(old, new or old)


def _load_engine() -> None:
    """Import the engine's modules (tens of milliseconds, run while DuckDB starts)."""
    import migration_pipeline.validation.engine
    import migration_pipeline.validation.history
    import migration_pipeline.validation.wire  # noqa: F401


def run(args: argparse.Namespace) -> int:
    """Validate, print the report, and return the exit code (0 clean, 1 not clean)."""
    from migration_pipeline.validation.catalog import ConnectionSettings, workspace

    mappings = [parse_table(t) for t in args.table] if args.table else None
    if args.key and not all(args.key):
        raise ValidationInputError("--key takes a column name, got an empty one")
    # One DuckDB database for the run: the history is attached to the comparison's workspace.
    settings = ConnectionSettings(args.memory_limit, lock_timeout_s=args.lock_timeout)
    with workspace(settings, meanwhile=_load_engine) as con:
        from migration_pipeline.validation.engine import ValidationOptions, validate
        from migration_pipeline.validation.history import record

        options = ValidationOptions(
            keys=tuple(args.key or ()),
            max_keys=args.max_keys,
            float_tolerance=args.tolerance,
            memory_limit=args.memory_limit,
            lock_timeout_s=args.lock_timeout,
            limits=Limits(args.max_lag, args.max_in_flight, args.max_in_flight_age),
            incremental=_policy(args, con),
        )
        report = validate(_location(args.old), _location(args.new), mappings, options, con)
        if args.state_dir:
            report = record(args.state_dir, report, con)
    if args.json:
        from migration_pipeline.validation.wire import report_json

        print(json.dumps(report_json(report), indent=2))
    else:
        print(render(report))
    return 0 if report.verdict == CLEAN else 1


def _location(text: str) -> str:
    """A file path made absolute: the history knows a pair by its locations, so a later run
    from another folder continues from the same validations."""
    from migration_pipeline.locations import is_motherduck

    return text if is_motherduck(text) else os.path.abspath(os.path.expanduser(text))


def _policy(args: argparse.Namespace, con: duckdb.DuckDBPyConnection):
    """Incremental where the history allows it (None without --state-dir: every table in full);
    the history read in the workspace `con`."""
    from migration_pipeline.validation.history import baselines
    from migration_pipeline.validation.schedule import IncrementalPolicy

    if not args.state_dir:
        return None
    if args.change_time_column is not None and not args.change_time_column:
        raise ValidationInputError("--change-time-column takes a column name, got an empty one")
    old, new = _location(args.old), _location(args.new)
    known = baselines(args.state_dir, old, new, con) if not args.full else {}
    return IncrementalPolicy(
        baselines=known,
        change_time_column=args.change_time_column,
        full_every=args.full_every,
        full_every_hours=args.full_every_hours,
        force_full=args.full,
    )


def _keys(label: str, keys: tuple, total: int) -> list[str]:
    from migration_pipeline.validation.wire import json_key

    if not total:
        return []
    shown = ", ".join(json.dumps(json_key(k)) for k in keys[:SHOWN])
    more = f" (+{total - min(len(keys), SHOWN)} more)" if total > min(len(keys), SHOWN) else ""
    return [f"  {label} ({total}): {shown}{more}"]


def _lag(seconds: float | None) -> str:
    if seconds is None:
        return "unknown (no write-time column)"
    if seconds == 0:
        return "0 s (caught up)"
    side = "new behind old" if seconds > 0 else "old behind new"
    return f"{seconds:+.1f} s ({side})"


def _table_lines(report: ValidationReport, table: TableReport) -> list[str]:
    from migration_pipeline.validation.wire import json_key, json_value

    s = table.summary
    lines = [
        f"{table.table} -> {table.new_table or '(none)'}: "
        f"{report.table_verdict(table).kind.upper()}  old {table.old_rows} rows, new "
        f"{table.new_rows} rows; confirmed {s.confirmed}, unconfirmed {s.unconfirmed}, "
        f"pending deletes {s.pending_deletes}, in flight {s.in_flight}"
    ]
    lines += [f"  schema: {d.description}" for d in table.schema_differences]
    lines += _keys("missing in new", table.missing_in_new.keys, table.missing_in_new.total)
    lines += _keys("extra in new", table.extra_in_new.keys, table.extra_in_new.total)
    lines += _keys(
        "duplicate keys",
        tuple(d.key for d in table.duplicate_keys),
        table.duplicate_total,
    )
    if table.changed_total:
        lines.append(f"  changed ({table.changed_total}):")
        for row in table.changed[:SHOWN]:
            diffs = "; ".join(
                f"{c.column}: {json.dumps(json_value(c.old))} -> {json.dumps(json_value(c.new))}"
                for c in row.columns
            )
            lines.append(f"    {json.dumps(json_key(row.key))}: {diffs}")
    lines += _keys(
        "pending deletes (on the lagging side only)",
        table.pending_deletes.keys,
        table.pending_deletes.total,
    )
    lines += _keys("in flight, set aside", table.in_flight.keys, table.in_flight.total)
    for c in table.confirmations[:SHOWN]:
        lines.append(f"  confirmed {json.dumps(json_key(c.key))}: {c.rule.replace('_', ' ')}")
    if len(table.confirmations) > SHOWN:
        lines.append(f"  confirmed: +{len(table.confirmations) - SHOWN} more")
    if table.previous_mismatched_rows is not None:
        lines.append(
            f"  previous run: {table.previous_mismatched_rows} mismatched rows, now {table.mismatched_rows}"
        )
    lines.append(f"  coverage: {table.coverage.description}")
    if table.freshness.column:
        lines.append(f"  lag: {_lag(table.new_behind_old_seconds)} ({table.freshness.column})")
    return lines


def summary_lines(report: ValidationReport) -> list[str]:
    """The summary printed first: verdict, why, the four counts and the lag."""
    s, verdict = report.summary, report.judgement
    tables = "1 table" if len(report.tables) == 1 else f"{len(report.tables)} tables"
    lines = [f"{verdict.kind.upper()}: {tables} compared ({report.mode})"]
    lines += [f"  because {reason}" for reason in verdict.reasons]
    lines.append(
        f"  confirmed {s.confirmed}, unconfirmed {s.unconfirmed}, pending deletes "
        f"{s.pending_deletes}, in flight {s.in_flight}; new_behind_old_seconds: "
        f"{_lag(s.new_behind_old_seconds)}"
    )
    return lines


def render(report: ValidationReport) -> str:
    lines = summary_lines(report)
    lines += [line for table in report.tables for line in _table_lines(report, table)]
    lines += [f"{s.table}: skipped ({s.reason})" for s in report.skipped]
    return "\n".join(lines)

"""`migration-pipeline validate`: compare the new destination with the old one, table by table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from migration_pipeline.errors import ValidationInputError

# The validation package loads DuckDB (~0.3 s): imported where a comparison runs, so that
# `validate --help` and a usage error answer at once.
if TYPE_CHECKING:
    from migration_pipeline.validation.mapping import TableMapping
    from migration_pipeline.validation.report import TableReport, ValidationReport

SHOWN = 10  # keys per list in the human-readable output (--json lists them all, or --max-keys)
VERDICTS = {
    "match": "MATCH",
    "mismatch": "MISMATCH (confirmed)",
    "unconfirmed": "MISMATCH (not confirmed yet: seen in this run only)",
}

DESCRIPTION = """Compare the new destination with the old one inside DuckDB, both opened read-only.

Per table: row counts, content fingerprints per key bucket, then every missing, extra, changed
and duplicated key, schema differences, and freshness (Artie's write times on each side).
Artie metadata columns (__artie_*) are not compared; rows with __artie_delete = true count as
absent. With --state-dir every run is appended to a history there, and a mismatch seen in the
previous run too is reported as confirmed.

Exit status: 0 every table matches, 1 a mismatch was found, 2 bad input (nothing compared)."""


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
        "--memory-limit",
        default="2GB",
        metavar="SIZE",
        help="DuckDB memory limit (default: 2GB)",
    )
    parser.add_argument(
        "--lock-timeout", type=float, default=10.0, metavar="SECONDS",
        help="how long to wait for a destination another process holds locked (default: 10)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
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


def run(args: argparse.Namespace) -> int:
    """Validate, print the report, and return the exit code (0 match, 1 mismatch)."""
    from migration_pipeline.validation.engine import ValidationOptions, validate
    from migration_pipeline.validation.history import record
    from migration_pipeline.validation.wire import report_json

    mappings = [parse_table(t) for t in args.table] if args.table else None
    if args.key and not all(args.key):
        raise ValidationInputError("--key takes a column name, got an empty one")
    options = ValidationOptions(
        keys=tuple(args.key or ()),
        max_keys=args.max_keys,
        float_tolerance=args.tolerance,
        memory_limit=args.memory_limit,
        lock_timeout_s=args.lock_timeout,
    )
    report = validate(args.old, args.new, mappings, options)
    if args.state_dir:
        report = record(args.state_dir, report)
    if args.json:
        print(json.dumps(report_json(report), indent=2))
    else:
        print(render(report))
    return 0 if report.matches else 1


def _keys(label: str, keys: tuple, total: int) -> list[str]:
    from migration_pipeline.validation.wire import json_key

    if not total:
        return []
    shown = ", ".join(json.dumps(json_key(k)) for k in keys[:SHOWN])
    more = f" (+{total - min(len(keys), SHOWN)} more)" if total > min(len(keys), SHOWN) else ""
    return [f"  {label} ({total}): {shown}{more}"]


def _table_lines(table: TableReport) -> list[str]:
    from migration_pipeline.validation.wire import json_key, json_value

    lines = [
        f"{table.table} -> {table.new_table or '(none)'}: {VERDICTS[table.verdict]}  "
        f"old {table.old_rows} rows, new {table.new_rows} rows"
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
    lines += _keys("in flight, set aside", table.in_flight.keys, table.in_flight.total)
    lines += _keys(
        "of which not yet deleted on the lagging side",
        table.pending_deletes.keys,
        table.pending_deletes.total,
    )
    if table.previous_mismatched_rows is not None:
        lines.append(
            f"  previous run: {table.previous_mismatched_rows} mismatched rows, now {table.mismatched_rows}"
        )
    if table.confirmed is not None and table.confirmed.total:
        lines += _keys("confirmed by the previous run", table.confirmed.keys, table.confirmed.total)
    if table.freshness.column and table.freshness.lag_seconds is not None:
        lines.append(
            f"  freshness: new trails old by {table.freshness.lag_seconds:.1f} s ({table.freshness.column})"
        )
    return lines


def render(report: ValidationReport) -> str:
    lines = [line for table in report.tables for line in _table_lines(table)]
    lines += [f"{s.table}: skipped ({s.reason})" for s in report.skipped]
    mismatched = sum(not t.matches for t in report.tables)
    lines.append(
        f"{VERDICTS[report.verdict]}: "
        f"{len(report.tables) - mismatched} of {len(report.tables)} tables match"
    )
    return "\n".join(lines)

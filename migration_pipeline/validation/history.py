"""The validation history: every run appended to a DuckDB file in the migration's state dir.

"N consecutive clean runs, the latest younger than T", trends and the confirmation of a
mismatch by the next run are queries over it.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import duckdb

from migration_pipeline.errors import ValidationInputError
from migration_pipeline.validation.report import TableReport, ValidationReport
from migration_pipeline.validation.wire import json_key

HISTORY_FILE = "validation_history.duckdb"
KEPT_KEYS = 10_000  # mismatched keys kept per table and run, for confirmation by the next run

_SCHEMA = """
CREATE TABLE IF NOT EXISTS validation_runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
    old_destination VARCHAR, new_destination VARCHAR, verdict VARCHAR, matches BOOLEAN,
    tables INTEGER, mismatched_tables INTEGER);
CREATE TABLE IF NOT EXISTS validation_tables (
    run_id VARCHAR, table_name VARCHAR, new_table VARCHAR, verdict VARCHAR, matches BOOLEAN,
    old_rows BIGINT, new_rows BIGINT, missing_in_new BIGINT, extra_in_new BIGINT,
    changed BIGINT, duplicate_keys BIGINT, in_flight BIGINT, schema_differences INTEGER,
    confirmed BIGINT, lag_seconds DOUBLE, seconds DOUBLE, mismatched_keys VARCHAR);
"""


@dataclass(frozen=True)
class CleanStreak:
    """How many of the latest runs in a row matched, and when the latest of them finished."""

    runs: int
    latest_finished_at: datetime | None


def history_path(state_dir: Path) -> Path:
    return Path(state_dir) / HISTORY_FILE


def _connect(path: Path, timeout_s: float = 10.0) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as e:
            if "lock" not in str(e).lower() or time.monotonic() >= deadline:
                raise ValidationInputError(f"cannot open the validation history {path}: {e}") from e
            time.sleep(0.1)


def _previous(
    con: duckdb.DuckDBPyConnection, report: ValidationReport, table: str
) -> tuple[set[str], int] | None:
    """The previous run's listed keys (as JSON text) and mismatched row count for this table."""
    row = con.execute(
        "SELECT t.mismatched_keys, t.missing_in_new + t.extra_in_new + t.changed + t.duplicate_keys "
        "FROM validation_tables t JOIN validation_runs r USING (run_id) "
        "WHERE r.old_destination = ? AND r.new_destination = ? AND t.table_name = ? "
        "ORDER BY r.finished_at DESC LIMIT 1",
        [report.old, report.new, table],
    ).fetchone()
    if row is None:
        return None
    return {json.dumps(key) for key in json.loads(row[0])}, int(row[1])


def _confirm(con: duckdb.DuckDBPyConnection, report: ValidationReport) -> ValidationReport:
    tables = []
    for table in report.tables:
        previous = _previous(con, report, table.table)
        if previous is None:
            tables.append(table)
            continue
        keys, mismatched_rows = previous
        current = {json.dumps(json_key(k)): k for k in table.listed_keys()}
        persisting = {current[k] for k in keys if k in current}
        tables.append(table.with_confirmation(persisting, mismatched_rows))
    return replace(report, tables=tuple(tables))


def _table_row(run_id: str, table: TableReport) -> list[object]:
    keys = [json_key(k) for k in table.listed_keys()[:KEPT_KEYS]]
    return [
        run_id, table.table, table.new_table, table.verdict, table.matches, table.old_rows,
        table.new_rows, table.missing_in_new.total, table.extra_in_new.total, table.changed_total,
        table.duplicate_total, table.in_flight.total, len(table.schema_differences),
        table.confirmed.total if table.confirmed else 0, table.freshness.lag_seconds,
        table.seconds, json.dumps(keys),
    ]  # fmt: skip


def record(state_dir: Path, report: ValidationReport) -> ValidationReport:
    """Confirm mismatches against the previous run of the same pair, then append this run."""
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    con = _connect(history_path(state_dir))
    try:
        con.execute(_SCHEMA)
        report = _confirm(con, report)
        run_id = uuid.uuid4().hex
        con.execute("BEGIN")
        con.execute(
            "INSERT INTO validation_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id, report.started_at, report.finished_at, report.old, report.new,
                report.verdict, report.matches, len(report.tables),
                sum(not t.matches for t in report.tables),
            ],
        )  # fmt: skip
        con.executemany(
            "INSERT INTO validation_tables VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_table_row(run_id, t) for t in report.tables],
        )
        con.execute("COMMIT")
    finally:
        con.close()
    return report


def clean_streak(state_dir: Path, old: str, new: str) -> CleanStreak:
    """Consecutive matching runs of this pair, newest first."""
    path = history_path(state_dir)
    if not path.exists():
        return CleanStreak(0, None)
    con = _connect(path)
    try:
        rows = con.execute(
            "SELECT matches, finished_at FROM validation_runs "
            "WHERE old_destination = ? AND new_destination = ? ORDER BY finished_at DESC",
            [old, new],
        ).fetchall()
    finally:
        con.close()
    streak = 0
    for matches, _ in rows:
        if not matches:
            break
        streak += 1
    return CleanStreak(streak, rows[0][1] if streak else None)

"""The validation history: every run appended to a DuckDB file in the migration's state dir.

"N consecutive clean runs, the latest younger than T", trends and the confirmation of a
mismatch by the next run are queries over it. Per table it keeps the mode (full or
incremental) and the change time it reached, where the next incremental validation starts; the
keys listed as mismatched,
the keys set aside as pending deletes (re-checked every run: one still on one side only once
the lagging side has passed the point the leading side had reached is confirmed) and the
confirmed keys with the rule that confirmed each: a confirmed key stays confirmed for as long
as it differs in any way (listed, pending or in flight), until it matches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from migration_pipeline.errors import ValidationInputError
from migration_pipeline.validation.db import duckdb
from migration_pipeline.validation.report import (
    DELETE_NOT_APPLIED,
    SEEN_TWICE,
    Key,
    TableReport,
    ValidationReport,
)
from migration_pipeline.validation.schedule import Baseline
from migration_pipeline.validation.sql import compose, ident
from migration_pipeline.validation.wire import json_key

T = TypeVar("T")

HISTORY_FILE = "validation_history.duckdb"
_CATALOG = "validation_history"  # the history's name where it is attached to a workspace
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
ALTER TABLE validation_tables ADD COLUMN IF NOT EXISTS pending_deletes VARCHAR;
ALTER TABLE validation_tables ADD COLUMN IF NOT EXISTS confirmed_keys VARCHAR;
ALTER TABLE validation_tables ADD COLUMN IF NOT EXISTS mode VARCHAR;
ALTER TABLE validation_tables ADD COLUMN IF NOT EXISTS since TIMESTAMPTZ;
ALTER TABLE validation_tables ADD COLUMN IF NOT EXISTS watermark TIMESTAMPTZ;
ALTER TABLE validation_tables ADD COLUMN IF NOT EXISTS changed_keys BIGINT;
"""
# The column _SCHEMA added last: a history that has it is up to date.
_NEWEST_COLUMN = ("validation_tables", _SCHEMA.rsplit("ADD COLUMN IF NOT EXISTS ", 1)[1].split()[0])
_INSERT_TABLE = (
    "INSERT INTO validation_tables (run_id, table_name, new_table, verdict, matches, old_rows, "
    "new_rows, missing_in_new, extra_in_new, changed, duplicate_keys, in_flight, "
    "schema_differences, confirmed, lag_seconds, seconds, mismatched_keys, pending_deletes, "
    "confirmed_keys, mode, since, watermark, changed_keys) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the history's tables, or add the columns a file from an earlier version lacks;
    one catalog lookup when the file is up to date (the DDL costs a write transaction)."""
    (current,) = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = current_schema() AND table_name = ? AND column_name = ?",
        list(_NEWEST_COLUMN),
    ).fetchone()
    if not current:
        con.execute(_SCHEMA)


def history_path(state_dir: Path) -> Path:
    return Path(state_dir) / HISTORY_FILE


def _retrying(path: Path, open_: Callable[[], T], timeout_s: float = 10.0) -> T:
    """`open_()`, retried while another process holds the history file's lock."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return open_()
        except duckdb.IOException as e:
            if "lock" not in str(e).lower() or time.monotonic() >= deadline:
                raise ValidationInputError(f"cannot open the validation history {path}: {e}") from e
            time.sleep(0.1)


@contextmanager
def opened(
    state_dir: Path, con: duckdb.DuckDBPyConnection | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection whose default catalog is the history of `state_dir` for the block: `con` (a
    validation workspace) with the file attached, else a connection of its own. Attaching costs
    a few milliseconds where a second DuckDB database in the process costs tens; the file is
    detached after the block, so other writers wait only for the block."""
    path = history_path(state_dir)
    if con is None:
        own = _retrying(path, lambda: duckdb.connect(str(path)))
        try:
            yield own
        finally:
            own.close()
        return
    (previous,) = con.execute("SELECT current_database()").fetchone()
    _retrying(path, lambda: con.execute(compose("ATTACH ? AS {a}", a=ident(_CATALOG)), [str(path)]))
    try:
        con.execute(compose("USE {a}", a=ident(_CATALOG)))
        yield con
    finally:
        con.execute(compose("USE {a}", a=ident(previous)))
        con.execute(compose("DETACH {a}", a=ident(_CATALOG)))


# Pending deletes: the key as JSON -> the side lacking it and the leading side's latest write
# time when it was first set aside; once the lagging side has passed that time, the delete
# should have reached it.
Pending = dict[str, tuple[str, datetime]]


@dataclass(frozen=True)
class _Previous:
    """What the previous run of this table pair left for the next run to confirm against."""

    keys: set[str]  # listed mismatched keys, as JSON text
    mismatched_rows: int
    pending: Pending
    confirmed: dict[str, str]  # confirmed key as JSON text -> the rule that confirmed it


def _previous(
    con: duckdb.DuckDBPyConnection, report: ValidationReport, table: str
) -> _Previous | None:
    row = con.execute(
        "SELECT t.mismatched_keys, t.missing_in_new + t.extra_in_new + t.changed + t.duplicate_keys, "
        "t.pending_deletes, t.confirmed_keys FROM validation_tables t JOIN validation_runs r USING (run_id) "
        "WHERE r.old_destination = ? AND r.new_destination = ? AND t.table_name = ? "
        "ORDER BY r.finished_at DESC LIMIT 1",
        [report.old, report.new, table],
    ).fetchone()
    if row is None:
        return None
    pending = {
        json.dumps(key): (side, datetime.fromisoformat(since))
        for key, side, since in json.loads(row[2] or "[]")
    }
    confirmed = {json.dumps(key): rule for key, rule in json.loads(row[3] or "[]")}
    return _Previous(
        {json.dumps(key) for key in json.loads(row[0])}, int(row[1]), pending, confirmed
    )


def _pending(table: TableReport, previous: Pending) -> Pending:
    """This run's pending deletes, each keeping the earliest time it was set aside at."""
    side = table.freshness.leading
    since = table.freshness.latest(side) if side else None
    if side is None or since is None:
        return {}
    pending = {}
    for key in table.pending_deletes.keys[:KEPT_KEYS]:
        text = json.dumps(json_key(key))
        earlier = previous.get(text)
        pending[text] = (side, earlier[1] if earlier and earlier[0] == side else since)
    return pending


def _unapplied(table: TableReport, previous: Pending) -> frozenset:
    """Earlier pending deletes still on one side only, the lagging side now past their time."""
    unapplied = set()
    for key, lacking in table.one_sided_keys().items():
        earlier = previous.get(json.dumps(json_key(key)))
        having = table.freshness.latest("old" if lacking == "new" else "new")
        if earlier and earlier[0] == lacking and having is not None and having > earlier[1]:
            unapplied.add(key)
    return frozenset(unapplied)


def _confirmations(table: TableReport, previous: _Previous) -> dict[Key, str]:
    """Key -> rule for every key of `table` that is a confirmed mismatch now."""
    text = {key: json.dumps(json_key(key)) for key in table.suspect_keys()}
    found = {c.key: c.rule for c in table.confirmations}
    for key in table.suspect_keys():  # confirmed before and still differing: still confirmed
        if text[key] in previous.confirmed:
            found.setdefault(key, previous.confirmed[text[key]])
    for key in _unapplied(table, previous.pending):
        found.setdefault(key, DELETE_NOT_APPLIED)
    # Listed now and suspected before, or pending now after being listed: seen twice (a pending
    # delete that stays pending waits for the lagging side instead, above).
    suspected_before = previous.keys | set(previous.pending)
    listed = set(table.listed_keys())
    for key in table.listed_keys() + table.pending_deletes.keys:
        if text[key] in suspected_before and (text[key] in previous.keys or key in listed):
            found.setdefault(key, SEEN_TWICE)
    return found


def _confirm(
    con: duckdb.DuckDBPyConnection, report: ValidationReport
) -> tuple[ValidationReport, dict[str, Pending]]:
    tables, pending = [], {}
    for table in report.tables:
        previous = _previous(con, report, table.table)
        if previous is None:
            tables.append(table)
            pending[table.table] = _pending(table, {})
            continue
        confirmed = table.with_confirmation(
            _confirmations(table, previous), previous.mismatched_rows
        )
        tables.append(confirmed)
        pending[table.table] = _pending(confirmed, previous.pending)
    return replace(report, tables=tuple(tables)), pending


def _table_row(run_id: str, table: TableReport, verdict: str, pending: Pending) -> list[object]:
    keys = [json_key(k) for k in table.listed_keys()[:KEPT_KEYS]]
    return [
        run_id, table.table, table.new_table, verdict, verdict == "clean", table.old_rows,
        table.new_rows, table.missing_in_new.total, table.extra_in_new.total, table.changed_total,
        table.duplicate_total, table.in_flight.total, len(table.schema_differences),
        len(table.confirmations), table.new_behind_old_seconds,
        table.seconds, json.dumps(keys),
        json.dumps([[json.loads(k), side, since.isoformat()] for k, (side, since) in pending.items()]),
        json.dumps([[json_key(c.key), c.rule] for c in table.confirmations[:KEPT_KEYS]]),
        table.coverage.mode, table.coverage.since, table.coverage.reached,
        table.coverage.changed_keys,
    ]  # fmt: skip


# Per table: the latest full validation; if it was clean, the change time reached by the latest
# clean validation since (full or incremental), and how many validations ran after it.
_BASELINES = """
WITH runs AS (
    SELECT t.table_name, r.finished_at, coalesce(t.mode, 'full') AS mode, t.verdict, t.watermark,
        max(r.finished_at) FILTER (WHERE coalesce(t.mode, 'full') = 'full')
            OVER (PARTITION BY t.table_name) AS full_at
    FROM validation_tables t JOIN validation_runs r USING (run_id)
    WHERE r.old_destination = ? AND r.new_destination = ?)
SELECT table_name, arg_max(verdict, finished_at) FILTER (WHERE mode = 'full'), full_at,
    count(*) FILTER (WHERE finished_at > full_at),
    arg_max(watermark, finished_at) FILTER (WHERE verdict = 'clean' AND watermark IS NOT NULL)
FROM runs WHERE finished_at >= full_at GROUP BY table_name, full_at
"""


def baselines(
    state_dir: Path, old: str, new: str, con: duckdb.DuckDBPyConnection | None = None
) -> dict[str, Baseline]:
    """Where each table of this pair may start an incremental validation (empty: no history).
    A table whose latest full validation was not clean has no starting point: full again.
    `con`: a validation workspace to read the history in (see `opened`)."""
    if not history_path(state_dir).exists():
        return {}
    with opened(state_dir, con) as history:
        _ensure_schema(history)
        rows = history.execute(_BASELINES, [old, new]).fetchall()
    return {
        table: Baseline(since if verdict == "clean" else None, at, int(after))
        for table, verdict, at, after, since in rows
    }


def record(
    state_dir: Path, report: ValidationReport, con: duckdb.DuckDBPyConnection | None = None
) -> ValidationReport:
    """Confirm mismatches against the previous run of the same pair, then append this run (the
    CLI's way in; Dagster opens the history through its DuckDB resource and calls `append`).
    `con`: a validation workspace to write the history from (see `opened`)."""
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    with opened(state_dir, con) as history:
        return append(history, report)


def append(con: duckdb.DuckDBPyConnection, report: ValidationReport) -> ValidationReport:
    """`record` on an open connection to the history database."""
    _ensure_schema(con)
    report, pending = _confirm(con, report)
    run_id = report.id
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO validation_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id, report.started_at, report.finished_at, report.old, report.new,
            report.verdict, report.clean, len(report.tables),
            sum(report.table_verdict(t).kind != "clean" for t in report.tables),
        ],
    )  # fmt: skip
    con.executemany(
        _INSERT_TABLE,
        [
            _table_row(run_id, t, report.table_verdict(t).kind, pending.get(t.table, {}))
            for t in report.tables
        ],
    )
    con.execute("COMMIT")
    return report

"""Every mismatched key of one validation as flat rows (one per key, one per changed column),
with when the history first listed it without a break: what a person reviews before approving."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from migration_pipeline.validation.db import duckdb
from migration_pipeline.validation.report import Key, TableReport, ValidationReport
from migration_pipeline.validation.wire import json_key, json_value

LOOKBACK = 50  # earlier runs of a table searched for the start of a key's unbroken listing


@dataclass(frozen=True)
class MismatchRow:
    """One mismatched key (and, for a changed row, one of its differing columns)."""

    validation_id: str
    table: str
    kind: str  # missing_in_new | extra_in_new | changed | duplicate
    key: str  # the key as JSON text (a list of the key columns' values)
    column: str | None
    old_value: str | None  # JSON text
    new_value: str | None
    first_seen: datetime
    confirmed: bool


def mismatch_rows(con: duckdb.DuckDBPyConnection, report: ValidationReport) -> list[MismatchRow]:
    """The rows of `report` (already appended to the history `con` holds)."""
    rows: list[MismatchRow] = []
    for table in report.tables:
        seen = _first_seen(con, report, table)
        confirmed = set(table.confirmed.keys) if table.confirmed else set()

        def row(
            kind: str,
            key: Key,
            column=None,
            old=None,
            new=None,
            table=table,
            seen=seen,
            confirmed=confirmed,
        ) -> MismatchRow:
            text = _key_text(key)
            return MismatchRow(
                report.id,
                table.table,
                kind,
                text,
                column,
                old,
                new,
                seen.get(text, report.finished_at),
                key in confirmed,
            )

        rows += [row("missing_in_new", key) for key in table.missing_in_new.keys]
        rows += [row("extra_in_new", key) for key in table.extra_in_new.keys]
        rows += [
            row("changed", r.key, c.column, _value(c.old), _value(c.new))
            for r in table.changed
            for c in r.columns
        ]
        rows += [
            row("duplicate", d.key, None, str(d.old_rows), str(d.new_rows))
            for d in table.duplicate_keys
        ]
    return rows


def _first_seen(
    con: duckdb.DuckDBPyConnection, report: ValidationReport, table: TableReport
) -> dict[str, datetime]:
    """Key (JSON text) -> the finish time of the oldest run in the unbroken series of runs,
    newest first, that listed it."""
    runs = con.execute(
        "SELECT r.finished_at, t.mismatched_keys FROM validation_tables t "
        "JOIN validation_runs r USING (run_id) WHERE r.old_destination = ? AND "
        "r.new_destination = ? AND t.table_name = ? ORDER BY r.finished_at DESC LIMIT ?",
        [report.old, report.new, table.table, LOOKBACK],
    ).fetchall()
    seen: dict[str, datetime] = {}
    listing = {_key_text(k) for k in table.listed_keys()}
    for finished_at, keys in runs:
        listed = {json.dumps(k) for k in json.loads(keys or "[]")}
        listing &= listed
        if not listing:
            break
        seen.update((k, finished_at) for k in listing)
    return seen


def _key_text(key: Key) -> str:
    return json.dumps(json_key(key))


def _value(value) -> str:
    return json.dumps(json_value(value))

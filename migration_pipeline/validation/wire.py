"""The one place a validation report becomes JSON (the CLI's `--json`, the history's key lists)."""

from __future__ import annotations

import base64
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from migration_pipeline.validation.report import (
    INCREMENTAL,
    Coverage,
    Key,
    KeyList,
    Summary,
    TableReport,
    ValidationReport,
)
from migration_pipeline.validation.verdict import Verdict


def json_value(value: Any) -> Any:
    """A value as JSON can carry it exactly: integers stay integers, decimals become text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "base64:" + base64.b64encode(bytes(value)).decode()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)


def json_key(key: Key) -> Any:
    """A scalar for a one-column key, a list for a composite key."""
    values = [json_value(v) for v in key]
    return values[0] if len(values) == 1 else values


def _keys(keys: KeyList) -> list[Any]:
    return [json_key(k) for k in keys.keys]


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def summary_json(summary: Summary, verdict: Verdict) -> dict[str, Any]:
    """The verdict and the counts it rests on (a key is in exactly one count)."""
    return {
        "verdict": verdict.kind,
        "reasons": list(verdict.reasons),
        "counts": {
            "confirmed": summary.confirmed,
            "unconfirmed": summary.unconfirmed,
            "pending_deletes": summary.pending_deletes,
            "in_flight": summary.in_flight,
        },
        "new_behind_old_seconds": _seconds(summary.new_behind_old_seconds),
        "in_flight_age_seconds": _seconds(summary.in_flight_age_seconds),
    }


def table_json(table: TableReport, verdict: Verdict) -> dict[str, Any]:
    freshness = table.freshness
    return {
        "table": table.table,
        "summary": summary_json(table.summary, verdict),
        "new_table": table.new_table,
        "old_rows": table.old_rows,
        "new_rows": table.new_rows,
        "missing_in_new": _keys(table.missing_in_new),
        "extra_in_new": _keys(table.extra_in_new),
        "changed": [
            {
                "key": json_key(row.key),
                "columns": [
                    {
                        "column": c.column,
                        "old": json_value(c.old),
                        "new": json_value(c.new),
                    }
                    for c in row.columns
                ],
            }
            for row in table.changed
        ],
        "schema_differences": [
            {
                "kind": d.kind,
                "column": d.column,
                "old_type": d.old_type,
                "new_type": d.new_type,
                "values_compare": d.values_compare,
                "message": d.description,
            }
            for d in table.schema_differences
        ],
        "counts": {
            "missing_in_new": table.missing_in_new.total,
            "extra_in_new": table.extra_in_new.total,
            "changed": table.changed_total,
            "duplicate_keys": table.duplicate_total,
            "in_flight": table.in_flight.total,
            "pending_deletes": table.pending_deletes.total,
        },
        "duplicate_keys": [
            {"key": json_key(d.key), "old_rows": d.old_rows, "new_rows": d.new_rows}
            for d in table.duplicate_keys
        ],
        "in_flight": _keys(table.in_flight),
        "pending_deletes": _keys(table.pending_deletes),
        "confirmed": [{"key": json_key(c.key), "rule": c.rule} for c in table.confirmations],
        "previous_mismatched_rows": table.previous_mismatched_rows,
        "key_columns": list(table.key_columns),
        "compared_columns": list(table.compared_columns),
        "freshness": {
            "column": freshness.column,
            "old_max": json_value(freshness.old_max),
            "new_max": json_value(freshness.new_max),
            "watermark": json_value(freshness.watermark),
        },
        "coverage": coverage_json(table.coverage),
        "seconds": round(table.seconds, 3),
    }


def coverage_json(coverage: Coverage) -> dict[str, Any]:
    """Which mode ran on a table and what it covered."""
    return {
        "mode": coverage.mode,
        "description": coverage.description,
        "reason": coverage.reason or None,
        "column": coverage.column,
        "since": json_value(coverage.since),
        "changed_keys": coverage.changed_keys if coverage.mode == INCREMENTAL else None,
        "count_difference": coverage.count_difference,
        "reached": json_value(coverage.reached),
    }


def report_json(report: ValidationReport) -> dict[str, Any]:
    """The CLI's `--json` (the JSON contract in docs/operators-guide.md)."""
    limits = report.limits
    summary = summary_json(report.summary, report.judgement)
    summary["confirmed"] = [
        {"table": t.table, "key": json_key(c.key), "rule": c.rule}
        for t in report.tables
        for c in t.confirmations
    ]
    summary["limits"] = {
        "max_lag_seconds": limits.max_lag_seconds,
        "max_in_flight_keys": limits.max_in_flight_keys,
        "max_in_flight_age_seconds": limits.max_in_flight_age_seconds,
    }
    summary["mode"] = report.mode
    return {
        "summary": summary,
        "old": report.old,
        "new": report.new,
        "started_at": report.started_at.isoformat(),
        "finished_at": report.finished_at.isoformat(),
        "tables": [table_json(t, report.table_verdict(t)) for t in report.tables],
        "skipped": [{"table": s.table, "reason": s.reason} for s in report.skipped],
    }

"""Verdicts, confirmation and the JSON wire format operators and the Dagster layer rely on."""

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from migration_pipeline.validation.report import (
    ChangedRow,
    ColumnDiff,
    Freshness,
    KeyList,
    SchemaDifference,
    TableReport,
    ValidationReport,
)
from migration_pipeline.validation.wire import json_key, json_value, report_json

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_json_values_are_exact():
    assert json_value(2**63 + 1) == 9223372036854775809
    assert json_value(Decimal("12345678901234567890.1234")) == "12345678901234567890.1234"
    assert json_value(float("nan")) == "nan" and json_value(-math.inf) == "-inf"
    assert json_value(0.1) == 0.1
    assert json_value(date(2024, 2, 29)) == "2024-02-29"
    assert json_value(NOW) == "2026-01-02T03:04:05+00:00"
    assert json_value(b"\x00\xff") == "base64:AP8="
    assert json_value(UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert json_value({"a": [1, Decimal("1.5")]}) == {"a": [1, "1.5"]}


def test_a_one_column_key_is_a_scalar_and_a_composite_key_a_list():
    assert json_key((7,)) == 7
    assert json_key((7, "x")) == [7, "x"]


def _table(**fields):
    return TableReport(table="t", new_table="t", **fields)


def test_verdicts():
    assert _table().verdict == "match"
    assert _table(in_flight=KeyList(((1,),), 1)).verdict == "match"
    mismatch = _table(missing_in_new=KeyList(((1,), (2,)), 2))
    assert mismatch.verdict == "unconfirmed" and not mismatch.matches
    assert mismatch.with_confirmation({(2,), (3,)}).confirmed == KeyList(((2,),), 1)
    assert mismatch.with_confirmation({(2,)}).verdict == "mismatch"
    assert mismatch.with_confirmation({(3,)}).verdict == "unconfirmed"
    assert (
        _table(schema_differences=(SchemaDifference("missing_in_new", "a"),)).verdict == "mismatch"
    )


def test_the_overall_verdict_is_the_worst_table_verdict():
    tables = (_table(), _table(changed_total=1, changed=(ChangedRow((1,), ()),)))
    report = ValidationReport("a", "b", NOW, NOW, tables)
    assert report.verdict == "unconfirmed" and not report.matches
    assert ValidationReport("a", "b", NOW, NOW, tables[:1]).matches


def test_freshness_lag_is_old_minus_new():
    assert Freshness("c", NOW, NOW - timedelta(seconds=90)).lag_seconds == 90.0
    assert Freshness("c", NOW, None).lag_seconds is None


def test_report_json_has_the_contract_fields():
    table = _table(
        old_rows=3,
        new_rows=2,
        missing_in_new=KeyList(((1, "a"),), 1),
        changed=(ChangedRow((2, "b"), (ColumnDiff("v", None, ""),)),),
        changed_total=1,
    )
    document = report_json(ValidationReport("old.duckdb", "new.duckdb", NOW, NOW, (table,)))
    assert document["matches"] is False
    (entry,) = document["tables"]
    assert {k: entry[k] for k in ("table", "new_table", "old_rows", "new_rows", "matches")} == {
        "table": "t", "new_table": "t", "old_rows": 3, "new_rows": 2, "matches": False,
    }  # fmt: skip
    assert entry["missing_in_new"] == [[1, "a"]]
    assert entry["extra_in_new"] == []
    assert entry["changed"] == [
        {"key": [2, "b"], "columns": [{"column": "v", "old": None, "new": ""}]}
    ]
    assert entry["schema_differences"] == []
    assert entry["counts"] == {
        "missing_in_new": 1,
        "extra_in_new": 0,
        "changed": 1,
        "duplicate_keys": 0,
        "in_flight": 0,
        "pending_deletes": 0,
    }


def test_an_unapplied_delete_moves_from_in_flight_to_the_side_lacking_it():
    ahead = Freshness("c", NOW, NOW - timedelta(seconds=5), NOW - timedelta(seconds=5))
    table = _table(
        freshness=ahead,
        extra_in_new=KeyList(((1,),), 1),
        in_flight=KeyList(((None,), (3,), (4,)), 3),
        pending_deletes=KeyList(((None,), (3,)), 2),
    )
    assert ahead.leading == "old" and table.one_sided_keys() == {
        (1,): "old",
        (None,): "old",
        (3,): "old",
    }
    settled = table.with_confirmation(set(), 0, frozenset({(None,), (7,)}))
    assert settled.extra_in_new == KeyList(((1,), (None,)), 2)
    assert (settled.in_flight, settled.pending_deletes) == (
        KeyList(((3,), (4,)), 2), KeyList(((3,),), 1),
    )  # fmt: skip
    assert settled.confirmed == KeyList(((None,),), 1) and settled.verdict == "mismatch"
    assert Freshness("c", NOW, NOW, NOW).leading is None
    assert Freshness("c", NOW, NOW - timedelta(seconds=5)).leading is None  # not live

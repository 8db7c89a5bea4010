"""Verdicts, confirmation and the JSON wire format operators and the Dagster layer rely on."""

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from migration_pipeline.validation.report import (
    DELETE_NOT_APPLIED,
    SEEN_TWICE,
    ChangedRow,
    ColumnDiff,
    Confirmation,
    Freshness,
    KeyList,
    SchemaDifference,
    Summary,
    TableReport,
    ValidationReport,
)
from migration_pipeline.validation.verdict import Limits
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
    assert _table().verdict == "clean"
    assert _table(in_flight=KeyList(((1,),), 1)).verdict == "clean"
    assert _table(in_flight=KeyList(((1,),), 1), limits=Limits(max_in_flight_keys=0)).verdict == (
        "inconclusive"
    )
    mismatch = _table(missing_in_new=KeyList(((1,), (2,)), 2))
    assert mismatch.verdict == "inconclusive" and not mismatch.clean
    assert mismatch.with_confirmation({(2,): SEEN_TWICE, (3,): SEEN_TWICE}).confirmations == (
        Confirmation((2,), SEEN_TWICE),
    )
    assert mismatch.with_confirmation({(2,): SEEN_TWICE}).verdict == "mismatch"
    assert mismatch.with_confirmation({(3,): SEEN_TWICE}).verdict == "inconclusive"
    assert _table(schema_differences=(SchemaDifference("missing_in_new", "a"),)).verdict == (
        "mismatch"
    )
    widened = SchemaDifference("type_changed", "a", "INTEGER", "BIGINT", values_compare=True)
    assert _table(schema_differences=(widened,)).verdict == "clean"


def test_the_overall_verdict_is_the_worst_table_verdict():
    tables = (_table(), _table(changed_total=1, changed=(ChangedRow((1,), ()),)))
    report = ValidationReport("a", "b", NOW, NOW, tables)
    assert report.verdict == "inconclusive" and not report.clean
    assert ValidationReport("a", "b", NOW, NOW, tables[:1]).clean


def test_each_key_is_in_exactly_one_count_and_a_confirmed_key_in_flight_stays_confirmed():
    table = _table(
        changed=(ChangedRow((1,), ()), ChangedRow((2,), ())), changed_total=2,
        in_flight=KeyList(((5,), (6,)), 2), pending_deletes=KeyList(((7,),), 1),
    ).with_confirmation({(1,): SEEN_TWICE, (5,): SEEN_TWICE})  # fmt: skip
    assert table.summary == Summary(confirmed=2, unconfirmed=1, pending_deletes=1, in_flight=1)


def test_lag_is_zero_when_nothing_is_in_flight_and_signed_otherwise():
    backfilled = Freshness("c", NOW - timedelta(hours=3), NOW, NOW - timedelta(hours=3))
    assert _table(freshness=backfilled).new_behind_old_seconds == 0.0
    behind = Freshness("c", NOW, NOW - timedelta(seconds=22), NOW - timedelta(seconds=22))
    stalled = _table(
        freshness=behind,
        in_flight=KeyList(((1,),), 3051),
        oldest_in_flight=NOW - timedelta(seconds=21),
    )
    assert (stalled.new_behind_old_seconds, stalled.in_flight_age_seconds) == (22.0, 21.0)
    report = ValidationReport(
        "/w/analytics_v1.duckdb", "/w/analytics_v2.duckdb", NOW, NOW, (stalled,)
    )
    assert report.judgement.reasons == (
        "analytics_v2 is 22.0 s behind (limit 10 s); 3,051 keys in flight",
        "3,051 keys in flight (limit 1,000)",
    )
    old_behind = _table(
        freshness=Freshness("c", NOW - timedelta(seconds=4), NOW, NOW),
        in_flight=KeyList(((1,),), 1),
    )
    assert old_behind.new_behind_old_seconds == -4.0


def test_report_json_has_the_contract_fields():
    table = _table(
        old_rows=3,
        new_rows=2,
        missing_in_new=KeyList(((1, "a"),), 1),
        changed=(ChangedRow((2, "b"), (ColumnDiff("v", None, ""),)),),
        changed_total=1,
    )
    document = report_json(ValidationReport("old.duckdb", "new.duckdb", NOW, NOW, (table,)))
    assert document["summary"]["verdict"] == "inconclusive"
    assert document["summary"]["counts"]["unconfirmed"] == 2
    (entry,) = document["tables"]
    assert {k: entry[k] for k in ("table", "new_table", "old_rows", "new_rows")} == {
        "table": "t", "new_table": "t", "old_rows": 3, "new_rows": 2,
    }  # fmt: skip
    assert entry["summary"]["verdict"] == "inconclusive"
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


def test_a_confirmed_pending_delete_moves_to_the_side_lacking_it():
    ahead = Freshness("c", NOW, NOW - timedelta(seconds=5), NOW - timedelta(seconds=5))
    table = _table(
        freshness=ahead,
        extra_in_new=KeyList(((1,),), 1),
        in_flight=KeyList(((4,),), 1),
        pending_deletes=KeyList(((None,), (3,)), 2),
    )
    assert ahead.leading == "old" and table.one_sided_keys() == {
        (1,): "old",
        (None,): "old",
        (3,): "old",
    }
    settled = table.with_confirmation({(None,): DELETE_NOT_APPLIED, (7,): DELETE_NOT_APPLIED}, 0)
    assert settled.extra_in_new == KeyList(((1,), (None,)), 2)
    assert (settled.in_flight, settled.pending_deletes) == (
        KeyList(((4,),), 1), KeyList(((3,),), 1),
    )  # fmt: skip
    assert settled.confirmations == (Confirmation((None,), DELETE_NOT_APPLIED),)
    assert settled.verdict == "mismatch"
    assert Freshness("c", NOW, NOW, NOW).leading is None
    assert Freshness("c", NOW, NOW - timedelta(seconds=5)).leading is None  # not live

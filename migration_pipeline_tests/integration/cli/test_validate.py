"""`migration-pipeline validate`: the JSON contract, exit codes and messages operators rely on."""

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from migration_pipeline.cli import main

BIG = 2**62 + 1  # exact only if it never passes through a float


def _db(path, *statements):
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)
    return str(path)


@pytest.fixture
def pair(tmp_path):
    create = "CREATE TABLE orders (id BIGINT PRIMARY KEY, v VARCHAR, n INTEGER)"
    items = "CREATE TABLE items (o BIGINT, line INTEGER, q INTEGER, PRIMARY KEY (o, line))"
    old = _db(
        tmp_path / "old.duckdb", create, items,
        "INSERT INTO orders VALUES (1, 'a', 1), (2, 'b', NULL), (4611686018427387905, 'big', 3), (4, 'd', 4)",
        "INSERT INTO items VALUES (1, 1, 5), (1, 2, 6)",
    )  # fmt: skip
    new = _db(
        tmp_path / "new.duckdb", create, items,
        "INSERT INTO orders VALUES (1, 'a', 1), (2, 'b', 0), (4, 'd', 4), (5, 'e', 5)",
        "INSERT INTO items VALUES (1, 1, 5), (1, 3, 6)",
    )  # fmt: skip
    return old, new


def _run(capsys, *args):
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_lists_every_mismatch_and_exits_1(pair, capsys):
    old, new = pair
    code, out, err = _run(capsys, "--old", old, "--new", new, "--json")
    assert (code, err) == (1, "")
    document = json.loads(out)
    assert list(document)[0] == "summary"
    assert document["summary"] == {
        "verdict": "inconclusive",
        "reasons": ["5 mismatched keys seen in this validation only (confirmed if the next one "
                    "sees them too)"],
        "counts": {"confirmed": 0, "unconfirmed": 5, "pending_deletes": 0, "in_flight": 0},
        "new_behind_old_seconds": None,
        "in_flight_age_seconds": None,
        "confirmed": [],
        "limits": {"max_lag_seconds": 10.0, "max_in_flight_keys": 1000,
                   "max_in_flight_age_seconds": 30.0},
        "mode": "full",
    }  # fmt: skip
    orders, items = sorted(document["tables"], key=lambda t: t["table"], reverse=True)
    assert {k: orders[k] for k in ("table", "new_table", "old_rows", "new_rows", "missing_in_new", "extra_in_new")} == {
        "table": "orders", "new_table": "orders", "old_rows": 4, "new_rows": 4,
        "missing_in_new": [BIG], "extra_in_new": [5],
    }  # fmt: skip
    assert orders["summary"]["verdict"] == "inconclusive"
    assert orders["summary"]["counts"]["unconfirmed"] == 3
    assert f"[\n        {BIG}\n      ]" in out
    assert orders["changed"] == [{"key": 2, "columns": [{"column": "n", "old": None, "new": 0}]}]
    assert orders["schema_differences"] == []
    assert (items["missing_in_new"], items["extra_in_new"]) == ([[1, 2]], [[1, 3]])


def test_matching_tables_exit_0(pair, capsys):
    old, _ = pair
    code, out, err = _run(
        capsys, "--old", old, "--new", old, "--json", "--table", "orders", "--table", "items:items"
    )
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["summary"]["verdict"] == "clean"
    assert [(t["table"], t["summary"]["verdict"]) for t in document["tables"]] == [
        ("orders", "clean"),
        ("items", "clean"),
    ]


def test_max_keys_caps_each_list(pair, capsys):
    old, new = pair
    code, out, _ = _run(
        capsys, "--old", old, "--new", new, "--json", "--table", "orders", "--max-keys", "0"
    )
    (orders,) = json.loads(out)["tables"]
    assert code == 1 and orders["missing_in_new"] == [] and orders["changed"] == []
    assert orders["counts"]["missing_in_new"] == 1 and orders["counts"]["changed"] == 1


def test_a_table_missing_from_new_is_a_mismatch_not_skipped(pair, capsys, tmp_path):
    old, _ = pair
    new = _db(
        tmp_path / "other.duckdb",
        "CREATE TABLE items (o BIGINT, line INTEGER, q INTEGER, PRIMARY KEY (o, line))",
    )
    code, out, _ = _run(capsys, "--old", old, "--new", new, "--json", "--table", "orders")
    (orders,) = json.loads(out)["tables"]
    assert (
        code == 1 and orders["new_rows"] == 0 and sorted(orders["missing_in_new"]) == [1, 2, 4, BIG]
    )
    assert orders["schema_differences"][0]["kind"] == "table_missing_in_new"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--new", "NEW", "--old", "/nonexistent/old.duckdb"],
         "old destination not found: /nonexistent/old.duckdb (give the path of a DuckDB file or an md: name)"),
        (["--old", "OLD", "--new", "NEW", "--table", "nope"],
         "table 'nope' not found in the old destination (tables there: items, orders)"),
        (["--old", "OLD", "--new", "NEW", "--key", "nope"],
         "key column 'nope' not found in table 'items' of the old destination"),
        (["--old", "OLD", "--new", "NEW", "--table", "orders:"], "--table takes OLD or OLD:NEW, got 'orders:'"),
        (["--old", "OLD", "--new", "NEW", "--memory-limit", "lots"],
         "memory limit 'lots' is not a size DuckDB accepts (Parser Error: Memory must have a number "
         "(e.g. 1GB)): give a number and a unit, such as 2GB or 512MB"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_a_clear_message_and_no_json(pair, capsys, args, message):
    old, new = pair
    args = [{"OLD": old, "NEW": new}.get(a, a) for a in args]
    code, out, err = _run(capsys, *args, "--json")
    assert (code, out, err) == (2, "", f"migration-pipeline validate: error: {message}\n")


def test_usage_errors_exit_2(pair, capsys):
    old, new = pair
    code, out, err = _run(capsys, "--old", old, "--new", new, "--max-keys", "-1")
    assert code == 2 and out == ""
    assert err.endswith("validate: error: argument --max-keys: must be 0 or more, got -1\n")


def test_human_output_and_history_only_in_the_state_dir(pair, capsys, tmp_path):
    old, new = pair
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, _ = _run(capsys, "--old", old, "--new", new, "--state-dir", str(tmp_path / "state"))
    assert code == 1
    assert out.startswith(
        "INCONCLUSIVE: 2 tables compared (full)\n"
        "  because 5 mismatched keys seen in this validation only (confirmed if the next one "
        "sees them too)\n"
        "  confirmed 0, unconfirmed 5, pending deletes 0, in flight 0; new_behind_old_seconds: "
        "unknown (no write-time column)\n"
    )
    assert (
        "orders -> orders: INCONCLUSIVE  old 4 rows, new 4 rows; confirmed 0, unconfirmed 3, "
        "pending deletes 0, in flight 0" in out
    )
    assert "    2: n: null -> 0" in out
    assert f"  missing in new (1): {BIG}" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "state"])
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["validation_history.duckdb"]
    code, out, _ = _run(capsys, "--old", old, "--new", new, "--state-dir", str(tmp_path / "state"))
    assert code == 1
    assert out.startswith(
        "MISMATCH: 2 tables compared (full)\n  because 5 mismatched keys confirmed\n"
    )
    assert "orders -> orders: MISMATCH" in out
    assert "  confirmed 2: seen in consecutive validations" in out
    assert "  previous run: 3 mismatched rows, now 3" in out
    code, out, _ = _run(
        capsys, "--old", old, "--new", new, "--state-dir", str(tmp_path / "state"), "--json"
    )
    assert {"table": "items", "key": [1, 2], "rule": "seen_in_consecutive_validations"} in (
        json.loads(out)["summary"]["confirmed"]
    )


def test_the_installed_command_prints_only_json(pair):
    old, new = pair
    command = Path(sys.executable).parent / "migration-pipeline"
    result = subprocess.run(
        [str(command), "validate", "--old", old, "--new", new, "--json", "--table", "items"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (1, "")
    assert json.loads(result.stdout)["tables"][0]["extra_in_new"] == [[1, 3]]


STREAMED = "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR, __artie_db_updated_at TIMESTAMP)"


def test_lag_beyond_the_limit_is_inconclusive_and_exits_1(tmp_path, capsys):
    old = _db(
        tmp_path / "analytics_v1.duckdb", STREAMED,
        "INSERT INTO t VALUES (1, 'a', '2024-01-01 00:00:00'), (2, 'b', '2024-01-01 00:00:22')",
    )  # fmt: skip
    new = _db(
        tmp_path / "analytics_v2.duckdb", STREAMED,
        "INSERT INTO t VALUES (1, 'a', '2024-01-01 00:00:00')",
    )  # fmt: skip
    code, out, _ = _run(capsys, "--old", old, "--new", new, "--json", "--max-lag", "5")
    summary = json.loads(out)["summary"]
    assert (code, summary["verdict"], summary["new_behind_old_seconds"]) == (
        1,
        "inconclusive",
        22.0,
    )
    assert summary["reasons"] == ["analytics_v2 is 22.0 s behind (limit 5 s); 1 key in flight"]
    assert summary["counts"] == {
        "confirmed": 0,
        "unconfirmed": 0,
        "pending_deletes": 0,
        "in_flight": 1,
    }
    code, out, _ = _run(capsys, "--old", old, "--new", new, "--json", "--max-lag", "30")
    assert (code, json.loads(out)["summary"]["verdict"]) == (0, "clean")


def test_backfill_snapshot_times_are_not_lag(tmp_path, capsys):
    old = _db(
        tmp_path / "old.duckdb", STREAMED, "INSERT INTO t VALUES (1, 'a', '2024-01-01 00:00')"
    )
    new = _db(
        tmp_path / "new.duckdb", STREAMED, "INSERT INTO t VALUES (1, 'a', '2024-01-01 03:00')"
    )
    code, out, _ = _run(capsys, "--old", old, "--new", new, "--json")
    summary = json.loads(out)["summary"]
    assert (code, summary["verdict"], summary["new_behind_old_seconds"]) == (0, "clean", 0.0)


@pytest.mark.parametrize(
    ("old_types", "new_types", "verdict", "differences"),
    [
        (("INTEGER", "INTEGER"), ("INTEGER", "BIGINT"), "clean",
         [{"kind": "type_changed", "column": "v", "old_type": "INTEGER", "new_type": "BIGINT",
           "values_compare": True, "message": "column 'v': INTEGER in old, BIGINT in new (values still compare)"}]),
        (("INTEGER", "INTEGER"), ("BIGINT", "INTEGER"), "clean",
         [{"kind": "type_changed", "column": "id", "old_type": "INTEGER", "new_type": "BIGINT",
           "values_compare": True, "message": "column 'id': INTEGER in old, BIGINT in new (values still compare)"}]),
        (("INTEGER", "INTEGER"), ("INTEGER", "DATE"), "mismatch",
         [{"kind": "incompatible_type", "column": "v", "old_type": "INTEGER", "new_type": "DATE",
           "values_compare": False, "message": "column 'v': INTEGER in old, DATE in new (values do not compare)"}]),
    ],
    ids=["widened-value", "widened-key", "incompatible"],
)  # fmt: skip
def test_type_changes_are_listed_and_only_an_incompatible_one_makes_the_table_differ(
    tmp_path, capsys, old_types, new_types, verdict, differences
):
    def table(path, types):
        return _db(path, f"CREATE TABLE t (id {types[0]} PRIMARY KEY, v {types[1]})",
                   "INSERT INTO t VALUES (1, 1), (2, 2)" if types[1] != "DATE"
                   else "INSERT INTO t VALUES (1, '2024-01-01'), (2, '2024-01-02')")  # fmt: skip

    old, new = table(tmp_path / "old.duckdb", old_types), table(tmp_path / "new.duckdb", new_types)
    code, out, _ = _run(capsys, "--old", old, "--new", new, "--json")
    document = json.loads(out)
    (t,) = document["tables"]
    assert (document["summary"]["verdict"], t["schema_differences"]) == (verdict, differences)
    assert code == (0 if verdict == "clean" else 1)

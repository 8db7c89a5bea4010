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
    assert document["matches"] is False
    orders, items = sorted(document["tables"], key=lambda t: t["table"], reverse=True)
    assert {k: orders[k] for k in ("table", "new_table", "old_rows", "new_rows", "missing_in_new", "extra_in_new", "matches")} == {
        "table": "orders", "new_table": "orders", "old_rows": 4, "new_rows": 4,
        "missing_in_new": [BIG], "extra_in_new": [5], "matches": False,
    }  # fmt: skip
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
    assert document["matches"] is True
    assert [(t["table"], t["matches"]) for t in document["tables"]] == [
        ("orders", True),
        ("items", True),
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
    assert (
        "orders -> orders: MISMATCH (not confirmed yet: seen in this run only)  old 4 rows, new 4 rows"
        in out
    )
    assert "    2: n: null -> 0" in out
    assert f"  missing in new (1): {BIG}" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "state"])
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["validation_history.duckdb"]
    code, out, _ = _run(capsys, "--old", old, "--new", new, "--state-dir", str(tmp_path / "state"))
    assert "orders -> orders: MISMATCH (confirmed)" in out
    assert "  previous run: 2 mismatched rows, now 2" in out
    assert out.endswith("MISMATCH (confirmed): 0 of 2 tables match\n")


def test_the_installed_command_prints_only_json(pair):
    old, new = pair
    command = Path(sys.executable).parent / "migration-pipeline"
    result = subprocess.run(
        [str(command), "validate", "--old", old, "--new", new, "--json", "--table", "items"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (1, "")
    assert json.loads(result.stdout)["tables"][0]["extra_in_new"] == [[1, 3]]

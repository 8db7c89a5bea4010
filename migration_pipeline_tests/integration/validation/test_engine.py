"""The engine on real DuckDB files: exact value semantics, deletes, duplicates, keys, schema."""

import hashlib
from decimal import Decimal

import duckdb
import pytest

from migration_pipeline.errors import ValidationInputError
from migration_pipeline.validation import ValidationOptions, plain_mapping, validate
from migration_pipeline.validation.report import ColumnDiff, DuplicateKey, KeyList, SchemaDifference


def _db(path, *statements):
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)
    return str(path)


def _pair(tmp_path, old_statements, new_statements):
    return _db(tmp_path / "old.duckdb", *old_statements), _db(
        tmp_path / "new.duckdb", *new_statements
    )


def _one(old, new, **options):
    (table,) = validate(old, new, None, ValidationOptions(**options)).tables
    return table


def _changed(table):
    return {row.key: row.columns for row in table.changed}


def test_identical_tables_match(tmp_path):
    create = "CREATE TABLE t AS SELECT range AS id, range % 7 AS v FROM range(1000)"
    old, new = _pair(tmp_path, [create], [create])
    table = _one(old, new, keys=("id",))
    assert (table.clean, table.old_rows, table.new_rows, table.mismatched_rows) == (
        True,
        1000,
        1000,
        0,
    )
    assert table.differing_buckets == 0


def test_null_equals_null_and_differs_from_empty_zero_and_false(tmp_path):
    create = "CREATE TABLE t (id INTEGER PRIMARY KEY, s VARCHAR, n INTEGER, b BOOLEAN)"
    old, new = _pair(
        tmp_path,
        [
            create,
            "INSERT INTO t VALUES (1, NULL, NULL, NULL), (2, NULL, NULL, NULL), (3, '', 0, false)",
        ],
        [
            create,
            "INSERT INTO t VALUES (1, NULL, NULL, NULL), (2, '', 0, false), (3, NULL, NULL, NULL)",
        ],
    )
    table = _one(old, new)
    assert _changed(table) == {
        (2,): (ColumnDiff("s", None, ""), ColumnDiff("n", None, 0), ColumnDiff("b", None, False)),
        (3,): (ColumnDiff("s", "", None), ColumnDiff("n", 0, None), ColumnDiff("b", False, None)),
    }
    assert table.changed_total == 2 and table.missing_in_new.total == table.extra_in_new.total == 0


def test_floats_compare_exactly_unless_a_tolerance_is_given(tmp_path):
    create = "CREATE TABLE t (id INTEGER PRIMARY KEY, x DOUBLE)"
    old, new = _pair(
        tmp_path,
        [
            create,
            "INSERT INTO t VALUES (1, 0.1::DOUBLE + 0.2::DOUBLE), (2, 'nan'), (3, 1.0), (4, NULL)",
        ],
        [create, "INSERT INTO t VALUES (1, 0.3), (2, 'nan'), (3, 1.5), (4, 0.0)"],
    )
    exact = _one(old, new)
    assert sorted(_changed(exact)) == [(1,), (3,), (4,)]
    assert _changed(exact)[(1,)] == (ColumnDiff("x", 0.30000000000000004, 0.3),)
    loose = _one(old, new, float_tolerance=1e-9)
    assert sorted(_changed(loose)) == [(3,), (4,)]


def test_timestamp_precision_decimal_scale_and_json_spacing_compare_by_value(tmp_path):
    old, new = _pair(
        tmp_path,
        [
            "CREATE TABLE t (id INTEGER PRIMARY KEY, ts TIMESTAMP_MS, ns TIMESTAMP_NS, d DECIMAL(10,2), j JSON)",
            "INSERT INTO t VALUES (1, '2024-01-01 00:00:00.123', '2024-01-01 00:00:00.000000001', 1.50, '{\"a\": 1}'),"
            " (2, '2024-01-01', '2024-01-01', 2.00, '[1, 2]')",
        ],
        [
            "CREATE TABLE t (id BIGINT PRIMARY KEY, ts TIMESTAMP, ns TIMESTAMP_NS, d DECIMAL(18,4), j VARCHAR)",
            "INSERT INTO t VALUES (1, '2024-01-01 00:00:00.123', '2024-01-01 00:00:00.000000001', 1.5, '{\"a\":1}'),"
            " (2, '2024-01-01', '2024-01-01 00:00:00.000000002', 2.0001, '[1,3]')",
        ],
    )
    table = _one(old, new)
    assert table.schema_differences == (
        SchemaDifference("type_changed", "id", "INTEGER", "BIGINT", values_compare=True),
        SchemaDifference("type_changed", "ts", "TIMESTAMP_MS", "TIMESTAMP", values_compare=True),
        SchemaDifference(
            "type_changed", "d", "DECIMAL(10,2)", "DECIMAL(18,4)", values_compare=True
        ),
        SchemaDifference("type_changed", "j", "JSON", "VARCHAR", values_compare=True),
    )
    assert not table.schema_blocks
    assert _changed(table) == {
        (2,): (
            ColumnDiff("ns", "2024-01-01 00:00:00", "2024-01-01 00:00:00.000000002"),
            ColumnDiff("d", Decimal("2.0000"), Decimal("2.0001")),
            ColumnDiff("j", "[1,2]", "[1,3]"),
        )
    }


def test_soft_deleted_rows_count_as_absent_and_metadata_is_not_compared(tmp_path):
    old, new = _pair(
        tmp_path,
        [
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR, __artie_delete BOOLEAN, __artie_updated_at TIMESTAMP)",
            "INSERT INTO t VALUES (1, 'a', false, '2024-01-01'), (2, 'b', true, '2024-01-01'), (3, 'c', NULL, '2024-01-01')",
        ],
        [
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR, __artie_updated_at TIMESTAMP, __artie_operation VARCHAR)",
            "INSERT INTO t VALUES (1, 'a', '2024-01-02', 'u'), (3, 'c', '2024-01-03', 'c')",
        ],
    )
    table = _one(old, new)
    assert (table.clean, table.old_rows, table.new_rows) == (True, 2, 2)
    assert table.compared_columns == ("v",)


def test_a_row_soft_deleted_only_in_new_is_missing_in_new(tmp_path):
    create = "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR, __artie_delete BOOLEAN)"
    old, new = _pair(
        tmp_path,
        [create, "INSERT INTO t VALUES (1, 'a', false), (2, 'b', false)"],
        [create, "INSERT INTO t VALUES (1, 'a', false), (2, 'b', true)"],
    )
    table = _one(old, new)
    assert table.missing_in_new == KeyList(((2,),), 1) and table.new_rows == 1


def test_duplicate_keys_are_reported_never_merged(tmp_path):
    create = "CREATE TABLE t (id INTEGER, v VARCHAR)"
    old, new = _pair(
        tmp_path,
        [create, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'), (3, 'c')"],
        [create, "INSERT INTO t VALUES (1, 'a'), (1, 'a'), (2, 'b'), (3, 'c')"],
    )
    table = _one(old, new, keys=("id",))
    assert table.duplicate_keys == (DuplicateKey((1,), 1, 2), DuplicateKey((3,), 2, 1))
    assert table.duplicate_total == 2 and not table.clean


def test_composite_keys_in_the_given_order(tmp_path):
    create = "CREATE TABLE t (tenant VARCHAR, id INTEGER, v INTEGER, PRIMARY KEY (tenant, id))"
    old, new = _pair(
        tmp_path,
        [create, "INSERT INTO t VALUES ('a', 1, 1), ('a', 2, 2), ('b', 1, 3)"],
        [create, "INSERT INTO t VALUES ('a', 1, 1), ('b', 1, 4), ('b', 2, 5)"],
    )
    table = _one(old, new, keys=("id", "tenant"))
    assert table.key_columns == ("id", "tenant")
    assert table.missing_in_new.keys == ((2, "a"),)
    assert table.extra_in_new.keys == ((2, "b"),)
    assert _changed(table) == {(1, "b"): (ColumnDiff("v", 3, 4),)}


def test_every_key_is_listed_and_max_keys_caps_each_list(tmp_path):
    old, new = _pair(
        tmp_path,
        ["CREATE TABLE t AS SELECT range AS id, range AS v FROM range(5000)"],
        [
            "CREATE TABLE t AS SELECT range AS id, range + (range % 10 = 0)::INT AS v FROM range(5, 5000)"
        ],
    )
    full = _one(old, new, keys=("id",), rows_per_bucket=16)
    assert full.missing_in_new.keys == tuple((k,) for k in range(5))
    assert sorted(r.key[0] for r in full.changed) == list(range(10, 5000, 10))
    capped = _one(old, new, keys=("id",), max_keys=3)
    assert capped.missing_in_new == KeyList(((0,), (1,), (2,)), 5)
    assert (len(capped.changed), capped.changed_total) == (3, 499)


def test_a_missing_column_names_it_and_the_rest_is_still_compared(tmp_path):
    old, new = _pair(
        tmp_path,
        [
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b VARCHAR)",
            "INSERT INTO t VALUES (1, 1, 'x')",
        ],
        ["CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER)", "INSERT INTO t VALUES (1, 2)"],
    )
    table = _one(old, new)
    assert table.schema_differences == (
        SchemaDifference("missing_in_new", "b", old_type="VARCHAR"),
    )
    assert table.verdict == "mismatch"
    assert _changed(table) == {(1,): (ColumnDiff("a", 1, 2),)}


def test_a_table_missing_in_new_is_a_mismatch_listing_every_key(tmp_path):
    old, new = _pair(
        tmp_path,
        [
            "CREATE TABLE t (id INTEGER PRIMARY KEY)",
            "INSERT INTO t VALUES (2), (1)",
            "CREATE TABLE u (id INTEGER PRIMARY KEY)",
        ],
        ["CREATE TABLE u (id INTEGER PRIMARY KEY)"],
    )
    report = validate(old, new)
    t, u = report.tables
    assert t.schema_differences == (SchemaDifference("table_missing_in_new"),)
    assert t.missing_in_new == KeyList(((1,), (2,)), 2) and t.new_table == "t"
    assert u.clean and not report.clean


def test_unknown_tables_and_files_are_input_errors(tmp_path):
    old, new = _pair(
        tmp_path,
        ["CREATE TABLE t (id INTEGER PRIMARY KEY)"],
        ["CREATE TABLE t (id INTEGER PRIMARY KEY)"],
    )
    with pytest.raises(ValidationInputError) as error:
        validate(old, new, [plain_mapping("nope")])
    assert str(error.value) == "table 'nope' not found in the old destination (tables there: t)"
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    with pytest.raises(ValidationInputError) as error:
        validate(old, str(text))
    assert str(error.value).startswith(f"cannot open the new destination {text} read-only: ")


def test_inputs_are_left_untouched_and_nothing_is_written_beside_them(tmp_path, monkeypatch):
    old, new = _pair(
        tmp_path,
        ["CREATE TABLE t AS SELECT range AS id, range AS v FROM range(100)"],
        ["CREATE TABLE t AS SELECT range AS id, range * 2 AS v FROM range(100)"],
    )
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    monkeypatch.chdir(tmp_path)
    assert not validate(old, new, None, ValidationOptions(keys=("id",))).clean
    assert {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()
    } == before

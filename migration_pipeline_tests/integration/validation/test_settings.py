"""Pipeline settings that legitimately differ (alias, excluded columns, soft delete, history) on real files."""

import duckdb

from migration_pipeline.validation import PipelineSettings, TableSettings, map_pipelines, validate
from migration_pipeline.validation.report import KeyList, SchemaDifference

INSERT_ORDERS = (
    "INSERT INTO orders VALUES (1, 'a', 'x@y', 10), (2, 'b', 'z@y', 20), (3, 'c', NULL, 30)"
)


def _db(path, *statements):
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)
    return str(path)


def _validate(tmp_path, old_statements, new_statements, old_settings, new_settings):
    old = _db(tmp_path / "old.duckdb", *old_statements)
    new = _db(tmp_path / "new.duckdb", *new_statements)
    return validate(old, new, map_pipelines(old_settings, new_settings))


def test_an_aliased_table_with_an_excluded_column_matches(tmp_path):
    report = _validate(
        tmp_path,
        [
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, s VARCHAR, email VARCHAR, n INTEGER)",
            INSERT_ORDERS,
        ],
        [
            "CREATE TABLE orders_v2 (id INTEGER PRIMARY KEY, s VARCHAR, n INTEGER)",
            "INSERT INTO orders_v2 VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', 30)",
        ],
        PipelineSettings((TableSettings("orders", schema="public"),)),
        PipelineSettings(
            (
                TableSettings(
                    "orders", "public", alias="orders_v2", exclude_columns=frozenset({"email"})
                ),
            )
        ),
    )
    (table,) = report.tables
    assert (table.table, table.new_table, table.compared_columns) == (
        "orders",
        "orders_v2",
        ("s", "n"),
    )
    assert report.clean


def test_without_the_exclusion_the_missing_column_is_a_schema_difference(tmp_path):
    report = _validate(
        tmp_path,
        ["CREATE TABLE orders (id INTEGER PRIMARY KEY, email VARCHAR)"],
        ["CREATE TABLE orders (id INTEGER PRIMARY KEY)"],
        PipelineSettings((TableSettings("orders"),)),
        PipelineSettings((TableSettings("orders"),)),
    )
    assert report.tables[0].schema_differences == (
        SchemaDifference("missing_in_new", "email", old_type="VARCHAR"),
    )


def test_soft_delete_on_the_old_pipeline_and_hard_delete_on_the_new_one_match(tmp_path):
    report = _validate(
        tmp_path,
        [
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR, __artie_delete BOOLEAN)",
            "INSERT INTO t VALUES (1, 'a', false), (2, 'deleted', true), (3, 'c', false)",
        ],
        [
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR)",
            "INSERT INTO t VALUES (1, 'a'), (3, 'c')",
        ],
        PipelineSettings((TableSettings("t"),), soft_delete=True),
        PipelineSettings((TableSettings("t"),)),
    )
    assert report.clean and report.tables[0].old_rows == 2


def test_history_tables_are_not_compared_but_must_exist_where_history_mode_is_on(tmp_path):
    history = "CREATE TABLE t__history (id INTEGER, v VARCHAR, __artie_operation VARCHAR)"
    old_statements = [
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR)",
        history,
        "INSERT INTO t__history VALUES (1, 'a', 'c')",
    ]
    new_statements = ["CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR)"]
    on = PipelineSettings((TableSettings("t", history_mode=True),))
    report = _validate(tmp_path, old_statements, new_statements, on, on)
    (table,) = report.tables
    assert table.schema_differences == (
        SchemaDifference("history_table_missing_in_new", "t__history"),
    )
    off = PipelineSettings((TableSettings("t"),))
    assert validate(
        str(tmp_path / "old.duckdb"), str(tmp_path / "new.duckdb"), map_pipelines(on, off)
    ).clean
    everything = validate(str(tmp_path / "old.duckdb"), str(tmp_path / "new.duckdb"))
    assert [t.table for t in everything.tables] == ["t"]
    assert [s.table for s in everything.skipped] == ["t__history"]


def test_a_table_the_new_pipeline_does_not_replicate_is_a_mismatch(tmp_path):
    report = _validate(
        tmp_path,
        [
            "CREATE TABLE a (id INTEGER PRIMARY KEY)",
            "CREATE TABLE b (id INTEGER PRIMARY KEY)",
            "INSERT INTO b VALUES (7)",
        ],
        [
            "CREATE TABLE a (id INTEGER PRIMARY KEY)",
            "CREATE TABLE b (id INTEGER PRIMARY KEY)",
            "INSERT INTO b VALUES (7)",
        ],
        PipelineSettings((TableSettings("a"), TableSettings("b"))),
        PipelineSettings((TableSettings("a"),)),
    )
    a, b = report.tables
    assert a.clean
    assert (b.new_table, b.missing_in_new, b.verdict) == ("", KeyList(((7,),), 1), "mismatch")


def test_destination_schema_and_primary_key_override(tmp_path):
    report = _validate(
        tmp_path,
        [
            "CREATE TABLE t (tenant INTEGER, id INTEGER, v INTEGER)",
            "INSERT INTO t VALUES (1, 1, 1), (2, 1, 2)",
        ],
        [
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.t (tenant INTEGER, id INTEGER, v INTEGER)",
            "INSERT INTO analytics.t VALUES (1, 1, 1), (2, 1, 3)",
        ],
        PipelineSettings((TableSettings("t", primary_keys_override=("tenant", "id")),)),
        PipelineSettings((TableSettings("t"),), destination_schema="analytics"),
    )
    (table,) = report.tables
    assert table.new_table == "analytics.t"
    assert [row.key for row in table.changed] == [(2, 1)]


def test_artie_bookkeeping_schemas_are_skipped_when_every_table_is_compared(tmp_path):
    bookkeeping = [
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR)",
        "INSERT INTO t VALUES (1, 'a')",
        "CREATE SCHEMA _artie",
        "CREATE TABLE _artie.pipeline (pipeline_uuid VARCHAR, log_offset BIGINT)",
    ]
    old = _db(tmp_path / "old.duckdb", *bookkeeping, "INSERT INTO _artie.pipeline VALUES ('a', 1)")
    new = _db(tmp_path / "new.duckdb", *bookkeeping, "INSERT INTO _artie.pipeline VALUES ('b', 9)")
    report = validate(old, new)
    assert report.clean
    assert [t.table for t in report.tables] == ["t"]
    assert [(s.table, s.reason) for s in report.skipped] == [
        ("_artie.pipeline", "Artie's bookkeeping, not replicated data")
    ]

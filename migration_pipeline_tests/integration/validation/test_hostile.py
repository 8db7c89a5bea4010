"""Hostile table, schema and column names (quotes, semicolons, spaces) are compared, never executed."""

import duckdb
import pytest

from migration_pipeline.cli import main
from migration_pipeline.validation import (
    TableMapping,
    TableRef,
    TableSide,
    ValidationOptions,
    validate,
)
from migration_pipeline.validation.report import ColumnDiff, KeyList
from migration_pipeline.validation.sql import Sql, compose, ident, join, qualified

NAMES = ['we"ird', "drop; table", "with space", "'quote'", 'x"); DROP TABLE t; --', "b", "h"]


def _make(path, schema, table, columns, rows):
    name = qualified(schema, table)
    with duckdb.connect(str(path)) as con:
        con.execute(compose("CREATE SCHEMA {s}", s=ident(schema)))
        con.execute(
            compose(
                "CREATE TABLE {t} ({c})",
                t=name,
                c=join(compose("{c} VARCHAR", c=ident(c)) for c in columns),
            )
        )
        con.executemany(
            compose("INSERT INTO {t} VALUES ({p})", t=name, p=join([Sql("?")] * len(columns))), rows
        )
    return str(path)


@pytest.mark.parametrize("table", ['or"ders', "or; ders", "my orders"])
def test_hostile_identifiers_are_compared_safely(tmp_path, table):
    schema = 'sch"; DROP SCHEMA main; --'
    columns = NAMES
    old_rows = [[f"{k}{c}" for c in range(len(columns))] for k in range(5)]
    new_rows = [row[:] for row in old_rows[1:]] + [["9"] * len(columns)]
    new_rows[0][2] = "changed"
    old = _make(tmp_path / "old.duckdb", schema, table, columns, old_rows)
    new = _make(tmp_path / "new.duckdb", schema, table, columns, new_rows)
    ref = TableRef(table, schema)
    mapping = TableMapping(TableSide(ref), TableSide(ref), (columns[0],))
    (report,) = validate(old, new, [mapping], ValidationOptions(rows_per_bucket=1)).tables
    assert report.missing_in_new == KeyList((("00",),), 1)
    assert report.extra_in_new == KeyList((("9",),), 1)
    assert [(r.key, r.columns) for r in report.changed] == [
        (("10",), (ColumnDiff(columns[2], "12", "changed"),))
    ]
    with duckdb.connect(old, read_only=True) as con:
        assert con.execute(
            compose("SELECT count(*) FROM {t}", t=qualified(schema, table))
        ).fetchone() == (5,)


def test_hostile_names_through_the_cli(tmp_path, capsys):
    table = 'x"; DROP TABLE y; --'
    for name in ("old", "new"):
        with duckdb.connect(str(tmp_path / f"{name}.duckdb")) as con:
            con.execute(
                compose(
                    "CREATE TABLE {t} ({k} INTEGER PRIMARY KEY, {v} VARCHAR)",
                    t=ident(table),
                    k=ident("id; --"),
                    v=ident('v"'),
                )
            )
            con.execute(compose("INSERT INTO {t} VALUES (1, 'a')", t=ident(table)))
    code = main(
        [
            "validate",
            "--old",
            str(tmp_path / "old.duckdb"),
            "--new",
            str(tmp_path / "new.duckdb"),
            "--table",
            table,
        ]
    )
    assert code == 0, capsys.readouterr()

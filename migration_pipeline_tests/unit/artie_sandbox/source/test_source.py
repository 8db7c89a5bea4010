"""The sandbox source: declared schema, change capture triggers, seeding and a reproducible workload."""

from __future__ import annotations

import json
import sqlite3

import pytest

from artie_sandbox.source.capture import head_position, read_schema
from artie_sandbox.source.schema import DEMO_TABLES, SourceColumn
from artie_sandbox.source.seed import create_source, split_rows
from artie_sandbox.source.workload import Workload
from artie_sandbox.sql import Sql, compose, ident


def _changes(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT position, table_name, op, row FROM _artie_changes ORDER BY position"
        ).fetchall()


def test_seeding_is_not_captured_and_schema_is_self_described(tmp_path):
    counts = create_source(tmp_path / "s.db", rows=1000, seed=1)
    assert counts == {"customers": 100, "products": 50, "orders": 350, "order_items": 500}
    assert _changes(tmp_path / "s.db") == []
    with sqlite3.connect(tmp_path / "s.db") as conn:
        schema = read_schema(conn)
        assert head_position(conn) == 0
    assert schema["order_items"].primary_key == ("order_id", "line_no")
    assert schema == {t.name: t for t in DEMO_TABLES}


def test_every_committed_change_is_captured_in_order_with_its_row_image(tmp_path):
    path = tmp_path / "s.db"
    create_source(path, rows=200, seed=1)
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("UPDATE customers SET name = 'x' WHERE id = 1")
        conn.execute("DELETE FROM products WHERE id = 2")
        conn.execute("UPDATE order_items SET line_no = 99 WHERE order_id = 1 AND line_no = 1")
        conn.execute("BEGIN")
        conn.execute("UPDATE customers SET name = 'rolled back' WHERE id = 3")
        conn.execute("ROLLBACK")
    changes = _changes(path)
    assert [(p, t, op) for p, t, op, _ in changes] == [
        (1, "customers", "u"),
        (2, "products", "d"),
        (3, "order_items", "d"),
        (4, "order_items", "c"),
    ]
    assert json.loads(changes[0][3])["name"] == "x"
    assert json.loads(changes[1][3])["id"] == 2
    assert (json.loads(changes[2][3])["line_no"], json.loads(changes[3][3])["line_no"]) == (1, 99)


def test_workload_is_reproducible_from_its_seed(tmp_path):
    images = []
    for name in ("a.db", "b.db"):
        create_source(tmp_path / name, rows=300, seed=5)
        workload = Workload(tmp_path / name, seed=9)
        workload.apply(200)
        workload.close()
        images.append([(t, op, row) for _, t, op, row in _changes(tmp_path / name)])
    assert images[0] == images[1]
    assert {op for _, op, _ in images[0]} == {"c", "u", "d"}
    assert len(images[0]) >= 200  # a key change would add two entries; the workload keeps keys


def test_workload_runs_at_its_rate_until_max_changes(tmp_path):
    create_source(tmp_path / "s.db", rows=100)
    workload = Workload(tmp_path / "s.db", seed=1)
    assert workload.run(rate=2000, max_changes=150) == 150
    assert len(_changes(tmp_path / "s.db")) == 150


def test_create_refuses_to_overwrite(tmp_path):
    create_source(tmp_path / "s.db", rows=10)
    with pytest.raises(FileExistsError, match="already exists"):
        create_source(tmp_path / "s.db", rows=10)


def test_split_and_quote_and_kinds():
    assert sum(split_rows(200_000).values()) == 200_000
    assert ident('we"ird') == '"we""ird"'
    with pytest.raises(TypeError, match="table must be built with ident"):
        compose("SELECT * FROM {table}", table='x"; DROP TABLE y; --')
    assert compose("SELECT * FROM {table}", table=ident("a b")) == Sql('SELECT * FROM "a b"')
    with pytest.raises(ValueError, match="unknown kind 'money'"):
        SourceColumn("x", "money")

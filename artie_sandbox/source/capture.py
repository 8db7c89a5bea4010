"""Change capture on the SQLite source: tables from a declared schema, triggers, `_artie_changes`.

Every committed insert, update and delete lands in `_artie_changes` with a monotonically
increasing `position` (SQLite serialises writers, so positions commit in order) and the
statement's timestamp as `committed_at`. Inserts and updates carry the new row image, deletes
the old one, all as JSON. An update that changes the primary key is captured as delete + insert.
"""

from __future__ import annotations

import json
import sqlite3

from artie_sandbox.source.schema import SourceColumn, SourceTable
from artie_sandbox.sql import Sql, compose, ident, join, literal

CHANGES = "_artie_changes"
COLUMNS = "_artie_columns"
_NOW = Sql("strftime('%Y-%m-%d %H:%M:%f', 'now')")

_META = compose(
    """
CREATE TABLE IF NOT EXISTS {changes} (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('c', 'u', 'd')),
    row TEXT NOT NULL,
    committed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {columns} (
    table_name TEXT NOT NULL, ordinal INTEGER NOT NULL, column_name TEXT NOT NULL,
    kind TEXT NOT NULL, nullable INTEGER NOT NULL, key_ordinal INTEGER,
    PRIMARY KEY (table_name, ordinal)
);
""",
    changes=ident(CHANGES),
    columns=ident(COLUMNS),
)


def create_tables(conn: sqlite3.Connection, tables: tuple[SourceTable, ...]) -> None:
    """Create the declared tables and record their schema (no capture yet: seeding is not a change)."""
    conn.executescript(_META)
    for table in tables:
        cols = join(
            compose(
                "{name} {type}",
                name=ident(c.name),
                type=Sql(c.sqlite_type if c.nullable else c.sqlite_type + " NOT NULL"),
            )
            for c in table.columns
        )
        pk = join(ident(k) for k in table.primary_key)
        conn.execute(
            compose(
                "CREATE TABLE {table} ({cols}, PRIMARY KEY ({pk}))",
                table=ident(table.name),
                cols=cols,
                pk=pk,
            )
        )
        conn.executemany(
            compose("INSERT INTO {columns} VALUES (?, ?, ?, ?, ?, ?)", columns=ident(COLUMNS)),
            [
                (
                    table.name,
                    i,
                    c.name,
                    c.kind,
                    int(c.nullable),
                    table.primary_key.index(c.name) if c.name in table.primary_key else None,
                )
                for i, c in enumerate(table.columns)
            ],
        )


def install_triggers(conn: sqlite3.Connection, tables: tuple[SourceTable, ...]) -> None:
    """Start capturing every committed change of `tables` into `_artie_changes`."""
    for table in tables:
        conn.executescript(_triggers(table))


def row_image(table: SourceTable, alias: Sql) -> Sql:
    """SQLite expression: the row as a JSON object (the form changes and snapshots travel in)."""
    pairs = join(
        compose("{key}, {alias}.{column}", key=literal(c.name), alias=alias, column=ident(c.name))
        for c in table.columns
    )
    return compose("json_object({pairs})", pairs=pairs)


def row_array(table: SourceTable, alias: Sql) -> Sql:
    """SQLite expression: the row as a JSON array in column order (cheaper to build and parse
    than `row_image`; used for backfill reads, where the schema gives the positions)."""
    return compose(
        "json_array({columns})",
        columns=join(
            compose("{alias}.{column}", alias=alias, column=ident(c.name)) for c in table.columns
        ),
    )


def _insert(table: SourceTable, op: str, alias: Sql) -> Sql:
    return compose(
        "INSERT INTO {changes} (table_name, op, row, committed_at) VALUES ({table}, {op}, {row}, {now});",
        changes=ident(CHANGES),
        table=literal(table.name),
        op=literal(op),
        row=row_image(table, alias),
        now=_NOW,
    )


def _triggers(table: SourceTable) -> Sql:
    same_key = join(
        (compose("OLD.{key} IS NEW.{key}", key=ident(k)) for k in table.primary_key), " AND "
    )
    return compose(
        """
CREATE TRIGGER {c} AFTER INSERT ON {t} BEGIN {insert_new} END;
CREATE TRIGGER {d} AFTER DELETE ON {t} BEGIN {delete_old} END;
CREATE TRIGGER {u} AFTER UPDATE ON {t} WHEN {same_key}
    BEGIN {update_new} END;
CREATE TRIGGER {k} AFTER UPDATE ON {t} WHEN NOT ({same_key})
    BEGIN {delete_old} {insert_new} END;
""",
        t=ident(table.name),
        same_key=same_key,
        **{suffix: ident(f"{table.name}__artie_{suffix}") for suffix in "cduk"},
        insert_new=_insert(table, "c", Sql("NEW")),
        delete_old=_insert(table, "d", Sql("OLD")),
        update_new=_insert(table, "u", Sql("NEW")),
    )


def read_schema(conn: sqlite3.Connection) -> dict[str, SourceTable]:
    """The tables a captured source declares, by name."""
    rows = conn.execute(
        compose(
            "SELECT table_name, column_name, kind, nullable, key_ordinal FROM {columns} "
            "ORDER BY table_name, ordinal",
            columns=ident(COLUMNS),
        )
    ).fetchall()
    columns: dict[str, list[tuple]] = {}
    for row in rows:
        columns.setdefault(row[0], []).append(row[1:])
    tables = {}
    for name, cols in columns.items():
        keys = sorted((c for c in cols if c[3] is not None), key=lambda c: c[3])
        tables[name] = SourceTable(
            name,
            tuple(SourceColumn(c, kind, bool(nullable)) for c, kind, nullable, _ in cols),
            tuple(c[0] for c in keys),
        )
    return tables


def head_position(conn: sqlite3.Connection) -> int:
    """The newest captured change's position (0 when nothing has changed yet)."""
    return conn.execute(
        compose("SELECT COALESCE(MAX(position), 0) FROM {changes}", changes=ident(CHANGES))
    ).fetchone()[0]


def commit_time(conn: sqlite3.Connection, position: int) -> str | None:
    """When the change at `position` committed (UTC text), None if there is no such change."""
    row = conn.execute(
        compose("SELECT committed_at FROM {changes} WHERE position = ?", changes=ident(CHANGES)),
        (position,),
    ).fetchone()
    return row[0] if row else None


def dumps(value) -> str:
    """Compact JSON, the way the demo's JSON columns are stored."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)

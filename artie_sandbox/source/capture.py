"""Change capture on the SQLite source: tables from a declared schema, triggers, `_artie_changes`.

Every committed insert, update and delete lands in `_artie_changes` with a monotonically
increasing `position` (SQLite serialises writers, so positions commit in order) and the
statement's timestamp as `committed_at`. Inserts and updates carry the new row image, deletes
the old one, all as JSON. An update that changes the primary key is captured as delete + insert.
"""

from __future__ import annotations

import json
import sqlite3

from artie_sandbox.source.schema import Column, Table, quote

CHANGES = "_artie_changes"
COLUMNS = "_artie_columns"
_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"

_META = f"""
CREATE TABLE IF NOT EXISTS {CHANGES} (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('c', 'u', 'd')),
    row TEXT NOT NULL,
    committed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {COLUMNS} (
    table_name TEXT NOT NULL, ordinal INTEGER NOT NULL, column_name TEXT NOT NULL,
    kind TEXT NOT NULL, nullable INTEGER NOT NULL, key_ordinal INTEGER,
    PRIMARY KEY (table_name, ordinal)
);
"""


def create_tables(conn: sqlite3.Connection, tables: tuple[Table, ...]) -> None:
    """Create the declared tables and record their schema (no capture yet: seeding is not a change)."""
    conn.executescript(_META)
    for table in tables:
        cols = ", ".join(
            f"{quote(c.name)} {c.sqlite_type}{'' if c.nullable else ' NOT NULL'}" for c in table.columns
        )
        pk = ", ".join(quote(k) for k in table.primary_key)
        conn.execute(f"CREATE TABLE {quote(table.name)} ({cols}, PRIMARY KEY ({pk}))")
        conn.executemany(
            f"INSERT INTO {COLUMNS} VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608 - fixed table name
            [
                (table.name, i, c.name, c.kind, int(c.nullable),
                 table.primary_key.index(c.name) if c.name in table.primary_key else None)
                for i, c in enumerate(table.columns)
            ],
        )


def install_triggers(conn: sqlite3.Connection, tables: tuple[Table, ...]) -> None:
    """Start capturing every committed change of `tables` into `_artie_changes`."""
    for table in tables:
        conn.executescript(_triggers(table))


def row_image(table: Table, alias: str) -> str:
    """SQLite expression: the row as a JSON object (the form changes and snapshots travel in)."""
    pairs = ", ".join(f"'{c.name}', {alias}.{quote(c.name)}" for c in table.columns)
    return f"json_object({pairs})"


def row_array(table: Table, alias: str) -> str:
    """SQLite expression: the row as a JSON array in column order (cheaper to build and parse
    than `row_image`; used for backfill reads, where the schema gives the positions)."""
    return "json_array(" + ", ".join(f"{alias}.{quote(c.name)}" for c in table.columns) + ")"


def _insert(table: Table, op: str, alias: str) -> str:
    return (
        f"INSERT INTO {CHANGES} (table_name, op, row, committed_at) "  # noqa: S608 - fixed table name
        f"VALUES ('{table.name}', '{op}', {row_image(table, alias)}, {_NOW});"
    )


def _triggers(table: Table) -> str:
    name, t = table.name, quote(table.name)
    same_key = " AND ".join(f"OLD.{quote(k)} IS NEW.{quote(k)}" for k in table.primary_key)
    return f"""
CREATE TRIGGER {quote(name + '__artie_c')} AFTER INSERT ON {t} BEGIN {_insert(table, 'c', 'NEW')} END;
CREATE TRIGGER {quote(name + '__artie_d')} AFTER DELETE ON {t} BEGIN {_insert(table, 'd', 'OLD')} END;
CREATE TRIGGER {quote(name + '__artie_u')} AFTER UPDATE ON {t} WHEN {same_key}
    BEGIN {_insert(table, 'u', 'NEW')} END;
CREATE TRIGGER {quote(name + '__artie_k')} AFTER UPDATE ON {t} WHEN NOT ({same_key})
    BEGIN {_insert(table, 'd', 'OLD')} {_insert(table, 'c', 'NEW')} END;
"""


def read_schema(conn: sqlite3.Connection) -> dict[str, Table]:
    """The tables a captured source declares, by name."""
    rows = conn.execute(
        f"SELECT table_name, column_name, kind, nullable, key_ordinal FROM {COLUMNS} "  # noqa: S608 - fixed table name
        "ORDER BY table_name, ordinal"
    ).fetchall()
    columns: dict[str, list[tuple]] = {}
    for row in rows:
        columns.setdefault(row[0], []).append(row[1:])
    tables = {}
    for name, cols in columns.items():
        keys = sorted((c for c in cols if c[3] is not None), key=lambda c: c[3])
        tables[name] = Table(
            name,
            tuple(Column(c, kind, bool(nullable)) for c, kind, nullable, _ in cols),
            tuple(c[0] for c in keys),
        )
    return tables


def head_position(conn: sqlite3.Connection) -> int:
    """The newest captured change's position (0 when nothing has changed yet)."""
    return conn.execute(f"SELECT COALESCE(MAX(position), 0) FROM {CHANGES}").fetchone()[0]  # noqa: S608 - fixed table name


def commit_time(conn: sqlite3.Connection, position: int) -> str | None:
    """When the change at `position` committed (UTC text), None if there is no such change."""
    row = conn.execute(f"SELECT committed_at FROM {CHANGES} WHERE position = ?", (position,)).fetchone()  # noqa: S608 - fixed table name
    return row[0] if row else None


def dumps(value) -> str:
    """Compact JSON, the way the demo's JSON columns are stored."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)

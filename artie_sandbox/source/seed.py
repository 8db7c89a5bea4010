"""Create a captured SQLite source from the declared schema and seed it with N rows, fast."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from artie_sandbox.source.capture import create_tables, install_triggers
from artie_sandbox.source.data import Values
from artie_sandbox.source.schema import DEMO_SHARES, DEMO_TABLES, SourceTable
from artie_sandbox.sql import Sql, compose, ident, join

DEFAULT_ROWS = 200_000


def connect(path: str | Path) -> sqlite3.Connection:
    """An autocommit connection in WAL mode, so readers never block the workload."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def split_rows(rows: int) -> dict[str, int]:
    """How many of `rows` each demo table gets (every table gets at least one)."""
    return {name: max(1, int(rows * share)) for name, share in DEMO_SHARES.items()}


def _keys(table: SourceTable, count: int, parents: int):
    if len(table.primary_key) == 1:
        return ({table.primary_key[0]: i} for i in range(1, count + 1))
    # Composite key (parent, line): spread the lines over `parents` parents, numbered from 1.
    parent, line = table.primary_key
    return ({parent: i % parents + 1, line: i // parents + 1} for i in range(count))


def create_source(
    path: str | Path,
    rows: int = DEFAULT_ROWS,
    seed: int = 0,
    tables: tuple[SourceTable, ...] = DEMO_TABLES,
) -> dict[str, int]:
    """Create the source file (it must not exist), seed it, then start change capture.

    Returns rows per table. Seeding happens before the triggers exist: the seeded rows are the
    initial snapshot every pipeline backfills, not changes.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists; delete it or choose another --path")
    path.parent.mkdir(parents=True, exist_ok=True)
    counts = split_rows(rows)
    conn = connect(path)
    try:
        create_tables(conn, tables)
        conn.execute("BEGIN")
        values = Values(random.Random(seed))
        parents = counts.get("orders", 1)
        for table in tables:
            marks = join(Sql("?") for _ in table.columns)
            conn.executemany(
                compose(
                    "INSERT INTO {table} VALUES ({marks})", table=ident(table.name), marks=marks
                ),
                (
                    values.row(table, key)
                    for key in _keys(table, counts.get(table.name, 1), parents)
                ),
            )
        conn.execute("COMMIT")
        install_triggers(conn, tables)
    finally:
        conn.close()
    return {t.name: counts.get(t.name, 1) for t in tables}

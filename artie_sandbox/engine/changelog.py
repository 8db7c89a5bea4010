"""A reader's durable change log (the Kafka stand-in): one SQLite file, dense offsets from 1.

Appends and the reader's source position commit in one transaction, so after a crash the
reader neither re-reads nor skips a source change. Counters prove how often the source was read.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    "offset" INTEGER PRIMARY KEY,
    position INTEGER NOT NULL UNIQUE,
    table_name TEXT NOT NULL,
    op TEXT NOT NULL,
    row TEXT NOT NULL,
    committed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
COUNTERS = ("source_position", "source_queries", "changes_read", "changes_captured")


class ChangeLog:
    """Append-only, offset-addressed change log of one source reader."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=30, check_same_thread=False
        )
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(_SCHEMA)
        self.conn.executemany(
            "INSERT OR IGNORE INTO counters VALUES (?, 0)", [(c,) for c in COUNTERS]
        )

    def counters(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT name, value FROM counters").fetchall())

    def end(self) -> int:
        """The newest offset (0 when empty)."""
        return self.conn.execute('SELECT COALESCE(MAX("offset"), 0) FROM log').fetchone()[0]

    def append(self, rows: list[tuple], captured: list[tuple], source_position: int) -> None:
        """Record one read of the source: `rows` read, `captured` of them appended (position,
        table_name, op, row, committed_at), all up to `source_position`, atomically."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(
                "INSERT INTO log (position, table_name, op, row, committed_at) VALUES (?, ?, ?, ?, ?)",
                captured,
            )
            self.conn.executemany(
                "UPDATE counters SET value = value + ? WHERE name = ?",
                [
                    (1, "source_queries"),
                    (len(rows), "changes_read"),
                    (len(captured), "changes_captured"),
                ],
            )
            self.conn.execute(
                "UPDATE counters SET value = ? WHERE name = 'source_position'", (source_position,)
            )
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def read(self, after: int, limit: int) -> list[tuple]:
        """Up to `limit` changes after offset `after`, oldest first, as
        (offset, position, table_name, op, row, committed_at)."""
        return self.conn.execute(
            'SELECT "offset", position, table_name, op, row, committed_at FROM log '
            'WHERE "offset" > ? ORDER BY "offset" LIMIT ?',
            (after, limit),
        ).fetchall()

    def position_at(self, offset: int) -> int:
        """The source position of the change at `offset` (0 for offset 0)."""
        row = self.conn.execute('SELECT position FROM log WHERE "offset" = ?', (offset,)).fetchone()
        return row[0] if row else 0

    def committed_at(self, offset: int) -> str | None:
        row = self.conn.execute(
            'SELECT committed_at FROM log WHERE "offset" = ?', (offset,)
        ).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self.conn.close()

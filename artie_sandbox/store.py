"""The control-plane store: connectors, readers, pipelines and engine progress in one SQLite file.

Safe across threads and processes (the API server and the replication engine share the file):
every read-check-write runs inside `transaction()`, a `BEGIN IMMEDIATE` that serialises writers,
so rules such as "a second pipeline needs a shared reader" cannot race.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from artie_sandbox.models import (
    Connector,
    Pipeline,
    PipelineProgress,
    PipelineTable,
    ReaderTable,
    SourceReader,
    TableProgress,
)
from artie_sandbox.sql import compose, ident

T = TypeVar("T")

_KINDS: dict[type, str] = {
    Connector: "connectors",
    SourceReader: "source_readers",
    Pipeline: "pipelines",
    PipelineProgress: "pipeline_progress",
}

_SCHEMA = "\n".join(
    compose(
        "CREATE TABLE IF NOT EXISTS {table} (uuid TEXT PRIMARY KEY, body TEXT NOT NULL, seq INTEGER);",
        table=ident(table),
    )
    for table in _KINDS.values()
)


def now() -> str:
    """An RFC 3339 UTC timestamp, the format Artie's API returns."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _to_json(obj) -> str:
    return json.dumps(asdict(obj), sort_keys=True)


def _from_json(cls: type[T], body: str) -> T:
    data = json.loads(body)
    if cls is SourceReader and data.get("tables") is not None:
        data["tables"] = {k: _tupled(ReaderTable, v) for k, v in data["tables"].items()}
    if cls is Pipeline:
        data["tables"] = tuple(_tupled(PipelineTable, t) for t in data["tables"])
    if cls is PipelineProgress:
        data["tables"] = tuple(_tupled(TableProgress, t) for t in data["tables"])
    return _tupled(cls, data)


def _tupled(cls: type[T], data: dict) -> T:
    names = {f.name for f in fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names})


class Transaction:
    """Typed reads and writes inside one SQLite transaction."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def get(self, cls: type[T], uuid: str) -> T | None:
        row = self._conn.execute(
            compose("SELECT body FROM {table} WHERE uuid = ?", table=ident(_KINDS[cls])), (uuid,)
        ).fetchone()
        return _from_json(cls, row[0]) if row else None

    def list(self, cls: type[T]) -> list[T]:
        rows = self._conn.execute(
            compose("SELECT body FROM {table} ORDER BY seq", table=ident(_KINDS[cls]))
        ).fetchall()
        return [_from_json(cls, body) for (body,) in rows]

    def put(self, obj) -> None:
        key = obj.pipeline_uuid if isinstance(obj, PipelineProgress) else obj.uuid
        self._conn.execute(
            compose(
                "INSERT INTO {table} (uuid, body, seq) VALUES (?, ?, "
                "(SELECT COALESCE(MAX(seq), 0) + 1 FROM {table})) "
                "ON CONFLICT(uuid) DO UPDATE SET body = excluded.body",
                table=ident(_KINDS[type(obj)]),
            ),
            (key, _to_json(obj)),
        )

    def delete(self, cls: type, uuid: str) -> None:
        self._conn.execute(
            compose("DELETE FROM {table} WHERE uuid = ?", table=ident(_KINDS[cls])), (uuid,)
        )

    def pipelines_on_reader(self, reader_uuid: str) -> list[Pipeline]:
        return [p for p in self.list(Pipeline) if p.source_reader_uuid == reader_uuid]


class Store:
    """One control-plane file. Open one per process; it is safe to share between threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connection().executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Serialised read-check-write: commits on success, rolls back on any exception."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield Transaction(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def execute(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        """One statement in autocommit on this thread's connection (for the sandbox's own tables)."""
        return self._connection().execute(sql, args)

    def data_version(self) -> int:
        """Changes whenever another connection (another thread or process) commits to the file."""
        return self._connection().execute("PRAGMA data_version").fetchone()[0]

    def read(self) -> Transaction:
        """Reads outside a write transaction (each statement sees a consistent snapshot)."""
        return Transaction(self._connection())

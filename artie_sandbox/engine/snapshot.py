"""Backfill reads: batches of a source table in primary-key order, with one batch read ahead.

The read-ahead runs on its own SQLite connection in one background thread, so reading the next
batch overlaps writing the current one into DuckDB (DuckDB releases the GIL while it works). It
is only used while no change is applied between batches (a pipeline's initial backfill): a batch
read early can then never overwrite a newer change.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from artie_sandbox.engine.destination import TablePlan
from artie_sandbox.source.capture import row_array
from artie_sandbox.sql import Sql, compose, ident, join


class SnapshotReader:
    """Primary-key-ordered batch reads of one source file."""

    def __init__(self, path: Path):
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot")
        self._local = threading.local()
        self._ahead: tuple[tuple, Future] | None = None

    def _conn(self) -> sqlite3.Connection:
        if getattr(self._local, "conn", None) is None:
            self._local.conn = sqlite3.connect(self.path, timeout=30)
        return self._local.conn

    def _query(self, plan: TablePlan, cursor: str | None, limit: int) -> list[str]:
        """The rows after `cursor` in key order, each a JSON array in source column order."""
        pk = plan.source.primary_key
        keys = join(ident(k) for k in pk)
        where, args = Sql(""), []
        if cursor is not None:
            where = compose(
                "WHERE ({keys}) > ({marks})", keys=keys, marks=join(Sql("?") for _ in pk)
            )
            args = json.loads(cursor)
        table = ident(plan.source.name)
        rows = (
            self._conn()
            .execute(
                compose(
                    "SELECT {row} FROM {table} {where} ORDER BY {keys} LIMIT ?",
                    row=row_array(plan.source, table),
                    table=table,
                    where=where,
                    keys=keys,
                ),
                [*args, limit],
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    def count(self, plan: TablePlan) -> int:
        return self._pool.submit(
            lambda: (
                self._conn()
                .execute(compose("SELECT count(*) FROM {table}", table=ident(plan.source.name)))
                .fetchone()[0]
            )
        ).result()

    def read(
        self, plan: TablePlan, cursor: str | None, limit: int, exact: bool = False
    ) -> tuple[list[str], int]:
        """The batch after `cursor` and the limit it was read with: the read-ahead batch if it
        starts there (whatever its size, unless `exact`), else `limit` rows read now."""
        ahead, self._ahead = self._ahead, None
        if (
            ahead is not None
            and ahead[0] == (plan.source.name, plan.names, cursor)
            and (not exact or ahead[1] == limit)
        ):
            return ahead[2].result(), ahead[1]
        return self._pool.submit(self._query, plan, cursor, limit).result(), limit

    def read_ahead(self, plan: TablePlan, cursor: str | None, limit: int) -> None:
        """Start reading the batch after `cursor` in the background."""
        self._ahead = (
            (plan.source.name, plan.names, cursor),
            limit,
            self._pool.submit(self._query, plan, cursor, limit),
        )

    @staticmethod
    def cursor(plan: TablePlan, images: list[str]) -> str:
        """The cursor after the last of `images` (its primary key as JSON)."""
        last = json.loads(images[-1])
        names = plan.source.column_names
        return json.dumps([last[names.index(k)] for k in plan.source.primary_key])

    def close(self) -> None:
        self._ahead = None
        self._pool.shutdown(wait=False, cancel_futures=True)

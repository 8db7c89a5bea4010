"""The workload generator: inserts, updates and deletes at a set rate, reproducible from a seed.

Given the same source state and seed, the same sequence of changes is produced whatever the
rate: pacing only decides how many changes go into each transaction.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from artie_sandbox.source.capture import read_schema
from artie_sandbox.source.data import Values
from artie_sandbox.source.schema import SourceTable
from artie_sandbox.source.seed import connect
from artie_sandbox.sql import Sql, compose, ident, join

_TICK = 0.05
_EVERY_ROW = Sql("")


class Workload:
    """Random changes on a captured source; `ops` weights inserts, updates and deletes."""

    def __init__(
        self, path: str | Path, seed: int = 0, ops: tuple[float, float, float] = (0.4, 0.45, 0.15)
    ):
        self.conn = connect(path)
        self.rng = random.Random(seed)
        self.values = Values(self.rng)
        self.tables = [read_schema(self.conn)[name] for name in sorted(read_schema(self.conn))]
        self.ops = ops
        self.next_key = {t.name: self._max(t, t.primary_key[0]) + 1 for t in self.tables}
        self.applied = 0

    def _max(
        self, table: SourceTable, column: str, where: Sql = _EVERY_ROW, args: tuple = ()
    ) -> int:
        sql = compose(
            "SELECT COALESCE(MAX({column}), 0) FROM {table} {where}",
            column=ident(column),
            table=ident(table.name),
            where=where,
        )
        return self.conn.execute(sql, args).fetchone()[0]

    def _pick(self, table: SourceTable) -> tuple | None:
        """An existing row's key, chosen uniformly over the key range (None if the table is empty)."""
        keys = join(ident(k) for k in table.primary_key)
        parts = {"keys": keys, "table": ident(table.name), "first": ident(table.primary_key[0])}
        start = self.rng.randint(1, max(1, self.next_key[table.name] - 1))
        sql = compose(
            "SELECT {keys} FROM {table} WHERE {first} >= ? ORDER BY {keys} LIMIT 1", **parts
        )
        row = self.conn.execute(sql, (start,)).fetchone()
        return (
            row
            or self.conn.execute(
                compose("SELECT {keys} FROM {table} ORDER BY {keys} LIMIT 1", **parts)
            ).fetchone()
        )

    def _insert(self, table: SourceTable) -> None:
        pk = table.primary_key
        if len(pk) == 1:
            key = {pk[0]: self.next_key[table.name]}
            self.next_key[table.name] += 1
        else:
            parent = self._pick(table)
            prefix = dict(
                zip(pk[:-1], parent[:-1] if parent else (1,) * (len(pk) - 1), strict=True)
            )
            where = compose(
                "WHERE {keys}", keys=join((compose("{k} = ?", k=ident(k)) for k in prefix), " AND ")
            )
            key = {**prefix, pk[-1]: self._max(table, pk[-1], where, tuple(prefix.values())) + 1}
        marks = join(Sql("?") for _ in table.columns)
        self.conn.execute(
            compose("INSERT INTO {table} VALUES ({marks})", table=ident(table.name), marks=marks),
            self.values.row(table, key),
        )

    def _update(self, table: SourceTable, key: tuple) -> None:
        others = [c for c in table.columns if c.name not in table.primary_key]
        chosen = self.rng.sample(others, k=min(len(others), self.rng.randint(1, 3)))
        sets = join(compose("{c} = ?", c=ident(c.name)) for c in chosen)
        self.conn.execute(
            compose(
                "UPDATE {table} SET {sets} WHERE {where}",
                table=ident(table.name),
                sets=sets,
                where=self._where(table),
            ),
            (*[self.values.value(c) for c in chosen], *key),
        )

    def _delete(self, table: SourceTable, key: tuple) -> None:
        self.conn.execute(
            compose(
                "DELETE FROM {table} WHERE {where}",
                table=ident(table.name),
                where=self._where(table),
            ),
            key,
        )

    @staticmethod
    def _where(table: SourceTable) -> Sql:
        return join((compose("{k} = ?", k=ident(k)) for k in table.primary_key), " AND ")

    def step(self) -> None:
        """One change on a random table."""
        table = self.rng.choice(self.tables)
        op = self.rng.choices(("insert", "update", "delete"), weights=self.ops)[0]
        key = None if op == "insert" else self._pick(table)
        if key is None:
            self._insert(table)
        elif op == "update":
            self._update(table, key)
        else:
            self._delete(table, key)

    def apply(self, changes: int) -> None:
        """`changes` changes in one committed transaction."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for _ in range(changes):
                self.step()
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        self.applied += changes

    def run(
        self,
        rate: float,
        seconds: float | None = None,
        max_changes: int | None = None,
        stop: threading.Event | None = None,
    ) -> int:
        """Apply `rate` changes per second until `seconds`, `max_changes` or `stop`; returns how many."""
        started, done = time.monotonic(), 0
        while not (stop and stop.is_set()):
            elapsed = time.monotonic() - started
            if seconds is not None and elapsed >= seconds:
                break
            due = int(rate * elapsed) - done
            if max_changes is not None:
                due = min(due, max_changes - done)
            if due > 0:
                self.apply(due)
                done += due
            if max_changes is not None and done >= max_changes:
                break
            time.sleep(_TICK)
        return done

    def close(self) -> None:
        self.conn.close()

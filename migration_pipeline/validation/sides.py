"""The SQL that reads one side of a table pair, and the names of the engine's temporary tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from migration_pipeline.validation.catalog import Table, table_sql
from migration_pipeline.validation.plan import ComparisonPlan
from migration_pipeline.validation.sql import Sql, compose, ident, join, literal

if TYPE_CHECKING:
    from migration_pipeline.validation.db import duckdb


@dataclass(frozen=True)
class Side:
    """The SQL fragments that read one side of the pair."""

    name: str  # "old" | "new"
    table: Sql
    keys: tuple[Sql, ...]
    columns: tuple[Sql, ...]
    delete: Sql | None
    write_time: Sql | None

    @property
    def live(self) -> Sql:
        return compose("{d} IS NOT TRUE", d=self.delete) if self.delete else Sql("true")

    @property
    def row_hash(self) -> Sql:
        return compose("hash({v})", v=join(self.keys + self.columns))

    def bucket(self, buckets: int) -> Sql:
        """The key's bucket among `buckets` (see `bucket_of`)."""
        return bucket_of(join(self.keys), buckets)


def bucket_of(keys: Sql, buckets: int) -> Sql:
    """The bucket of the key `keys`: the top bits of its hash, as a small integer type so that
    DuckDB can aggregate on it cheaply (`buckets` is a power of two). Buckets nest: the bucket
    among 2^a is the bucket among 2^b (b > a) shifted right by b - a."""
    bits = buckets.bit_length() - 1
    if bits == 0:
        return Sql("0::USMALLINT")
    return compose(
        "(hash({k}) >> {s})::{t}",
        k=keys,
        s=literal(64 - bits),
        t=Sql("USMALLINT" if bits <= 16 else "UINTEGER"),
    )


def side_of(name: str, table: Table, plan: ComparisonPlan) -> Side:
    pick = (lambda c: c.old_sql) if name == "old" else (lambda c: c.new_sql)
    delete = plan.old_delete if name == "old" else plan.new_delete
    write_time = None
    if plan.freshness:
        column = plan.freshness[1] if name == "old" else plan.freshness[2]
        write_time = ident(column) if column else None
    return Side(
        name,
        table_sql(table),
        tuple(pick(c) for c in plan.keys),
        tuple(pick(c) for c in plan.columns),
        ident(delete) if delete else None,
        write_time,
    )


def temp(name: str, side: str) -> Sql:
    return ident(f"_validation_{name}_{side}")


def positional(prefix: str, values: tuple[Sql, ...]) -> list[Sql]:
    return [compose("{v} AS {a}", v=v, a=ident(f"{prefix}{i}")) for i, v in enumerate(values)]


def names(prefix: str, count: int, alias: str | None = None) -> list[Sql]:
    qualifier = f"{alias}." if alias else ""
    return [Sql(qualifier + ident(f"{prefix}{i}")) for i in range(count)]


def key_join(count: int, left: str, right: str) -> Sql:
    return join(
        (
            compose("{a} IS NOT DISTINCT FROM {b}", a=a, b=b)
            for a, b in zip(names("k", count, left), names("k", count, right), strict=True)
        ),
        " AND ",
    )


def latest_write_time(con: duckdb.DuckDBPyConnection, side: Side) -> datetime | None:
    """The newest write time one side holds (None without a write-time column)."""
    if side.write_time is None:
        return None
    return con.execute(
        compose("SELECT max({w})::TIMESTAMPTZ FROM {t}", w=side.write_time, t=side.table)
    ).fetchone()[0]

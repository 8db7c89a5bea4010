"""Compare one table pair inside DuckDB: bucket fingerprints first, rows only where they differ.

Pass 1 scans each side once: per key bucket, the live row count and the sum of row hashes
(a sum, not XOR, so duplicated rows do not cancel). Pass 2 reads only the rows of buckets
whose fingerprints differ into small temporary tables and classifies every differing key.
Temporary tables hold positional column names (k0.., c0..), never a user's identifier.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime

import duckdb

from migration_pipeline.validation.catalog import Table, table_sql
from migration_pipeline.validation.plan import ComparedColumn, TablePlan
from migration_pipeline.validation.report import (
    ChangedRow,
    ColumnDiff,
    DuplicateKey,
    Freshness,
    KeyList,
    TableReport,
)
from migration_pipeline.validation.sql import Sql, compose, ident, join, literal

ROWS_PER_BUCKET = 256
MAX_BUCKETS = 1 << 20


@dataclass(frozen=True)
class CompareOptions:
    max_keys: int | None = None
    float_tolerance: float = 0.0
    watermark: datetime | None = None  # None: the older of the two sides' latest write time
    rows_per_bucket: int = ROWS_PER_BUCKET


@dataclass(frozen=True)
class _Side:
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
        return compose("(hash({k}) % {n})", k=join(self.keys), n=literal(buckets))


def _side(name: str, table: Table, plan: TablePlan) -> _Side:
    pick = (lambda c: c.old_sql) if name == "old" else (lambda c: c.new_sql)
    delete = plan.old_delete if name == "old" else plan.new_delete
    write_time = None
    if plan.freshness:
        column = plan.freshness[1] if name == "old" else plan.freshness[2]
        write_time = ident(column) if column else None
    return _Side(
        name,
        table_sql(table),
        tuple(pick(c) for c in plan.keys),
        tuple(pick(c) for c in plan.columns),
        ident(delete) if delete else None,
        write_time,
    )


def bucket_count(estimated_rows: int, rows_per_bucket: int = ROWS_PER_BUCKET) -> int:
    """A power of two giving about `rows_per_bucket` rows per bucket."""
    buckets = 1
    while buckets * rows_per_bucket < estimated_rows and buckets < MAX_BUCKETS:
        buckets *= 2
    return buckets


def _temp(name: str, side: str) -> Sql:
    return ident(f"_validation_{name}_{side}")


def _fingerprint(con: duckdb.DuckDBPyConnection, side: _Side, buckets: int) -> int:
    only_live = compose(" FILTER (WHERE {l})", l=side.live) if side.delete else Sql("")
    con.execute(
        compose(
            "CREATE OR REPLACE TEMP TABLE {t} AS SELECT {b} AS b, count(*){f} AS c, "
            "sum({h}){f} AS h FROM {table} GROUP BY 1",  # by position: the table may have a column b
            t=_temp("fp", side.name),
            b=side.bucket(buckets),
            f=only_live,
            h=side.row_hash,
            table=side.table,
        )
    )
    return int(
        con.execute(
            compose("SELECT coalesce(sum(c), 0) FROM {t}", t=_temp("fp", side.name))
        ).fetchone()[0]
    )


def _differing_buckets(con: duckdb.DuckDBPyConnection) -> int:
    con.execute(
        compose(
            "CREATE OR REPLACE TEMP TABLE {d} AS SELECT coalesce(o.b, n.b) AS b FROM {o} o "
            "FULL JOIN {n} n ON o.b = n.b "
            "WHERE coalesce(o.c, 0) <> coalesce(n.c, 0) OR coalesce(o.h, 0) <> coalesce(n.h, 0)",
            d=_temp("diff", "buckets"),
            o=_temp("fp", "old"),
            n=_temp("fp", "new"),
        )
    )
    return int(
        con.execute(compose("SELECT count(*) FROM {d}", d=_temp("diff", "buckets"))).fetchone()[0]
    )


def _positional(prefix: str, values: tuple[Sql, ...]) -> list[Sql]:
    return [compose("{v} AS {a}", v=v, a=ident(f"{prefix}{i}")) for i, v in enumerate(values)]


def _names(prefix: str, count: int, alias: str | None = None) -> list[Sql]:
    qualifier = f"{alias}." if alias else ""
    return [Sql(qualifier + ident(f"{prefix}{i}")) for i in range(count)]


def _read_rows(con: duckdb.DuckDBPyConnection, side: _Side, buckets: int) -> None:
    """The rows of differing buckets, deleted ones too (their write time marks keys in flight)."""
    write_time = (
        compose("{w}::TIMESTAMPTZ", w=side.write_time)
        if side.write_time
        else Sql("NULL::TIMESTAMPTZ")
    )
    con.execute(
        compose(
            "CREATE OR REPLACE TEMP TABLE {t} AS SELECT {v}, {h} AS h, {l} AS live, {w} AS wt "
            "FROM {table} WHERE {b} IN (SELECT b FROM {d})",
            t=_temp("rows", side.name),
            v=join(_positional("k", side.keys) + _positional("c", side.columns)),
            h=side.row_hash,
            l=side.live,
            w=write_time,
            table=side.table,
            b=side.bucket(buckets),
            d=_temp("diff", "buckets"),
        )
    )
    keys = join(_names("k", len(side.keys)))
    con.execute(
        compose(
            "CREATE OR REPLACE TEMP TABLE {t} AS SELECT {k}, true AS p, count(*) FILTER (WHERE live) AS c, "
            "sum(h) FILTER (WHERE live) AS s, max(wt) AS wt FROM {rows} GROUP BY {k}",
            t=_temp("keys", side.name),
            k=keys,
            rows=_temp("rows", side.name),
        )
    )


def _key_join(count: int, left: str, right: str) -> Sql:
    return join(
        (
            compose("{a} IS NOT DISTINCT FROM {b}", a=a, b=b)
            for a, b in zip(_names("k", count, left), _names("k", count, right), strict=True)
        ),
        " AND ",
    )


def _classify(con: duckdb.DuckDBPyConnection, key_count: int, watermark: datetime | None) -> None:
    keys = join(
        compose("CASE WHEN o.p THEN {a} ELSE {b} END AS {k}", a=a, b=b, k=k)
        for a, b, k in zip(
            _names("k", key_count, "o"),
            _names("k", key_count, "n"),
            _names("k", key_count),
            strict=True,
        )
    )
    con.execute(
        compose(
            "CREATE OR REPLACE TEMP TABLE {t} AS SELECT {keys}, coalesce(o.c, 0) AS oc, "
            "coalesce(n.c, 0) AS nc, CASE "
            "WHEN greatest(o.wt, n.wt) > $watermark THEN 'in_flight' "
            "WHEN coalesce(o.c, 0) > 1 OR coalesce(n.c, 0) > 1 THEN 'duplicate' "
            "WHEN coalesce(o.c, 0) = 0 THEN 'extra_in_new' "
            "WHEN coalesce(n.c, 0) = 0 THEN 'missing_in_new' ELSE 'changed' END AS kind "
            "FROM {o} o FULL JOIN {n} n ON {on} "
            "WHERE coalesce(o.c, 0) <> coalesce(n.c, 0) OR coalesce(o.s, 0) <> coalesce(n.s, 0)",
            t=_temp("keydiff", "all"),
            keys=keys,
            o=_temp("keys", "old"),
            n=_temp("keys", "new"),
            on=_key_join(key_count, "o", "n"),
        ),
        {"watermark": watermark},
    )


def _differs(column: ComparedColumn, index: int, tolerance: float) -> Sql:
    old, new = (compose("{s}.{c}", s=Sql(s), c=ident(f"c{index}")) for s in ("o", "n"))
    exact = compose("{a} IS DISTINCT FROM {b}", a=old, b=new)
    if column.is_float and tolerance > 0:
        return compose(
            "({e} AND NOT coalesce(abs({a} - {b}) <= $tolerance, false))", e=exact, a=old, b=new
        )
    return exact


def _sample(column: ComparedColumn, alias: str, index: int) -> Sql:
    value = compose("{s}.{c}", s=Sql(alias), c=ident(f"c{index}"))
    # Python's datetime has microseconds: nanosecond timestamps travel as text.
    return compose("{v}::VARCHAR", v=value) if column.type == "TIMESTAMP_NS" else value


def _changed(con: duckdb.DuckDBPyConnection, plan: TablePlan, tolerance: float) -> None:
    count = len(plan.keys)
    flags = [_differs(column, i, tolerance) for i, column in enumerate(plan.columns)]
    samples = [
        compose(
            "{o} AS {a}, {n} AS {b}",
            o=_sample(c, "o", i),
            n=_sample(c, "n", i),
            a=ident(f"o{i}"),
            b=ident(f"n{i}"),
        )
        for i, c in enumerate(plan.columns)
    ]
    con.execute(
        compose(
            "CREATE OR REPLACE TEMP TABLE {t} AS SELECT * FROM (SELECT {k}, [{f}] AS d, {v} "
            "FROM {d} d JOIN {o} o ON {od} AND o.live JOIN {n} n ON {nd} AND n.live "
            "WHERE d.kind = 'changed') WHERE list_bool_or(d)",
            t=_temp("changed", "all"),
            k=join(_names("k", count, "d")),
            f=join(flags) if flags else Sql("false"),
            v=join(samples) if samples else Sql("NULL AS none"),
            d=_temp("keydiff", "all"),
            o=_temp("rows", "old"),
            n=_temp("rows", "new"),
            od=_key_join(count, "d", "o"),
            nd=_key_join(count, "d", "n"),
        ),
        {"tolerance": tolerance}
        if tolerance > 0 and any(c.is_float for c in plan.columns)
        else None,
    )


def _limit(max_keys: int | None) -> Sql:
    return compose(" LIMIT {n}", n=literal(int(max_keys))) if max_keys is not None else Sql("")


def _key_list(
    con: duckdb.DuckDBPyConnection, kind: str, key_count: int, max_keys: int | None
) -> KeyList:
    keys = join(_names("k", key_count))
    table = _temp("keydiff", "all")
    total = con.execute(
        compose("SELECT count(*) FROM {t} WHERE kind = ?", t=table), [kind]
    ).fetchone()[0]
    rows = con.execute(
        compose(
            "SELECT {k} FROM {t} WHERE kind = ? ORDER BY {k}{l}",
            k=keys,
            t=table,
            l=_limit(max_keys),
        ),
        [kind],
    ).fetchall()
    return KeyList(tuple(tuple(row) for row in rows), int(total))


def _duplicates(
    con: duckdb.DuckDBPyConnection, key_count: int, max_keys: int | None
) -> tuple[tuple[DuplicateKey, ...], int]:
    listed = _key_list(con, "duplicate", key_count, max_keys)
    keys = join(_names("k", key_count))
    rows = con.execute(
        compose(
            "SELECT {k}, oc, nc FROM {t} WHERE kind = 'duplicate' ORDER BY {k}{l}",
            k=keys,
            t=_temp("keydiff", "all"),
            l=_limit(max_keys),
        )
    ).fetchall()
    return tuple(
        DuplicateKey(tuple(r[:key_count]), int(r[-2]), int(r[-1])) for r in rows
    ), listed.total


def _changed_rows(
    con: duckdb.DuckDBPyConnection, plan: TablePlan, max_keys: int | None
) -> tuple[tuple[ChangedRow, ...], int]:
    count = len(plan.keys)
    table = _temp("changed", "all")
    total = con.execute(compose("SELECT count(*) FROM {t}", t=table)).fetchone()[0]
    keys = join(_names("k", count))
    rows = con.execute(
        compose("SELECT * FROM {t} ORDER BY {k}{l}", t=table, k=keys, l=_limit(max_keys))
    ).fetchall()
    changed = []
    for row in rows:
        flags, values = row[count], row[count + 1 :]
        columns = tuple(
            ColumnDiff(column.name, values[2 * i], values[2 * i + 1])
            for i, column in enumerate(plan.columns)
            if flags[i]
        )
        changed.append(ChangedRow(tuple(row[:count]), columns))
    return tuple(changed), int(total)


def _latest(con: duckdb.DuckDBPyConnection, side: _Side) -> datetime | None:
    if side.write_time is None:
        return None
    return con.execute(
        compose("SELECT max({w})::TIMESTAMPTZ FROM {t}", w=side.write_time, t=side.table)
    ).fetchone()[0]


def _freshness(
    con: duckdb.DuckDBPyConnection,
    plan: TablePlan,
    old: _Side,
    new: _Side,
    watermark: datetime | None,
) -> Freshness:
    if plan.freshness is None:
        return Freshness()
    old_max, new_max = _latest(con, old), _latest(con, new)
    if watermark is None and plan.live and old_max is not None and new_max is not None:
        watermark = min(old_max, new_max)
    return Freshness(plan.freshness[0], old_max, new_max, watermark if plan.live else None)


def compare_table(
    con: duckdb.DuckDBPyConnection,
    plan: TablePlan,
    old: Table,
    new: Table,
    report: TableReport,
    options: CompareOptions,
) -> TableReport:
    """Fill `report` (names, schema differences) with counts and every differing key."""
    started = time.perf_counter()
    old_side, new_side = _side("old", old, plan), _side("new", new, plan)
    freshness = _freshness(con, plan, old_side, new_side, options.watermark)
    if not plan.keys:  # a key column is missing or incompatible: counts only
        return replace(
            report,
            old_rows=_count(con, old_side),
            new_rows=_count(con, new_side),
            freshness=freshness,
        )
    buckets = bucket_count(max(old.estimated_rows, new.estimated_rows), options.rows_per_bucket)
    old_rows, new_rows = _fingerprint(con, old_side, buckets), _fingerprint(con, new_side, buckets)
    differing = _differing_buckets(con)
    report = replace(
        report,
        old_rows=old_rows,
        new_rows=new_rows,
        freshness=freshness,
        buckets=buckets,
        differing_buckets=differing,
    )
    if differing:
        report = _row_level(con, plan, old_side, new_side, buckets, report, options)
    return replace(report, seconds=time.perf_counter() - started)


def _row_level(
    con: duckdb.DuckDBPyConnection,
    plan: TablePlan,
    old: _Side,
    new: _Side,
    buckets: int,
    report: TableReport,
    options: CompareOptions,
) -> TableReport:
    for side in (old, new):
        _read_rows(con, side, buckets)
    count = len(plan.keys)
    _classify(con, count, report.freshness.watermark)
    _changed(con, plan, options.float_tolerance)
    changed, changed_total = _changed_rows(con, plan, options.max_keys)
    duplicates, duplicate_total = _duplicates(con, count, options.max_keys)
    return replace(
        report,
        missing_in_new=_key_list(con, "missing_in_new", count, options.max_keys),
        extra_in_new=_key_list(con, "extra_in_new", count, options.max_keys),
        in_flight=_key_list(con, "in_flight", count, options.max_keys),
        changed=changed,
        changed_total=changed_total,
        duplicate_keys=duplicates,
        duplicate_total=duplicate_total,
    )


def _count(con: duckdb.DuckDBPyConnection, side: _Side) -> int:
    return int(
        con.execute(
            compose("SELECT count(*) FROM {t} WHERE {l}", t=side.table, l=side.live)
        ).fetchone()[0]
    )


def missing_table_keys(
    con: duckdb.DuckDBPyConnection,
    plan_keys: tuple[str, ...],
    old: Table,
    delete: str | None,
    max_keys: int | None,
) -> tuple[int, KeyList]:
    """The old table has no counterpart: every live row is missing in new."""
    live = compose("{d} IS NOT TRUE", d=ident(delete)) if delete else Sql("true")
    keys = join(ident(k) for k in plan_keys)
    table = table_sql(old)
    total = int(
        con.execute(compose("SELECT count(*) FROM {t} WHERE {l}", t=table, l=live)).fetchone()[0]
    )
    rows = con.execute(
        compose(
            "SELECT {k} FROM {t} WHERE {l} ORDER BY {k}{m}",
            k=keys,
            t=table,
            l=live,
            m=_limit(max_keys),
        )
    ).fetchall()
    return total, KeyList(tuple(tuple(r) for r in rows), total)

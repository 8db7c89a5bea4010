"""Compare one table pair inside DuckDB: bucket fingerprints first, rows only where they differ.

Pass 1 scans each side once: per key bucket, the live row count and the sum of row hashes
(a sum, not XOR, so duplicated rows do not cancel). Pass 2 reads only the rows of buckets
whose fingerprints differ into small temporary tables and classifies every differing key
(`rowdiff`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime

import duckdb

from migration_pipeline.validation.catalog import Table, table_sql
from migration_pipeline.validation.plan import ComparisonPlan
from migration_pipeline.validation.report import Freshness, KeyList, TableReport
from migration_pipeline.validation.rowdiff import diff_rows, limit
from migration_pipeline.validation.sides import Side, latest_write_time, side_of, temp
from migration_pipeline.validation.sql import Sql, compose, ident, join

ROWS_PER_BUCKET = 256  # 2^16 buckets for 10M rows: measured best of 2^15..2^20 (pass 1 + pass 2)
MAX_BUCKETS = 1 << 20


@dataclass(frozen=True)
class CompareOptions:
    max_keys: int | None = None
    float_tolerance: float = 0.0
    watermark: datetime | None = None  # None: the older of the two sides' latest write time
    rows_per_bucket: int = ROWS_PER_BUCKET


def bucket_count(estimated_rows: int, rows_per_bucket: int = ROWS_PER_BUCKET) -> int:
    """A power of two giving about `rows_per_bucket` rows per bucket."""
    buckets = 1
    while buckets * rows_per_bucket < estimated_rows and buckets < MAX_BUCKETS:
        buckets *= 2
    return buckets


def _fingerprint(
    con: duckdb.DuckDBPyConnection, side: Side, buckets: int
) -> tuple[int, datetime | None]:
    """Live rows and the latest write time (deleted rows too), in the same scan."""
    only_live = compose(" FILTER (WHERE {l})", l=side.live) if side.delete else Sql("")
    latest = (
        compose("max({w})::TIMESTAMPTZ", w=side.write_time)
        if side.write_time
        else Sql("NULL::TIMESTAMPTZ")
    )
    con.execute(
        compose(
            "CREATE OR REPLACE TEMP TABLE {t} AS SELECT {b} AS b, count(*){f} AS c, "
            "sum({h}){f} AS h, {w} AS w FROM {table} GROUP BY 1",  # by position: the table may have a column b
            t=temp("fp", side.name),
            b=side.bucket(buckets),
            f=only_live,
            h=side.row_hash,
            w=latest,
            table=side.table,
        )
    )
    rows, latest_time = con.execute(
        compose("SELECT coalesce(sum(c), 0), max(w) FROM {t}", t=temp("fp", side.name))
    ).fetchone()
    return int(rows), latest_time


def _differing_buckets(con: duckdb.DuckDBPyConnection) -> int:
    con.execute(
        compose(
            "CREATE OR REPLACE TEMP TABLE {d} AS SELECT coalesce(o.b, n.b) AS b FROM {o} o "
            "FULL JOIN {n} n ON o.b = n.b "
            "WHERE coalesce(o.c, 0) <> coalesce(n.c, 0) OR coalesce(o.h, 0) <> coalesce(n.h, 0)",
            d=temp("diff", "buckets"),
            o=temp("fp", "old"),
            n=temp("fp", "new"),
        )
    )
    return int(
        con.execute(compose("SELECT count(*) FROM {d}", d=temp("diff", "buckets"))).fetchone()[0]
    )


def freshness_of(
    con: duckdb.DuckDBPyConnection,
    plan: ComparisonPlan,
    old: Side,
    new: Side,
    watermark: datetime | None,
    latest: tuple[datetime | None, datetime | None] | None = None,
) -> Freshness:
    """Each side's latest write time (`latest` when the caller has read them already)."""
    if plan.freshness is None:
        return Freshness()
    old_max, new_max = latest or (latest_write_time(con, old), latest_write_time(con, new))
    if watermark is None and plan.live and old_max is not None and new_max is not None:
        watermark = min(old_max, new_max)
    return Freshness(plan.freshness[0], old_max, new_max, watermark if plan.live else None)


def compare_table(
    con: duckdb.DuckDBPyConnection,
    plan: ComparisonPlan,
    old: Table,
    new: Table,
    report: TableReport,
    options: CompareOptions,
) -> TableReport:
    """Fill `report` (names, schema differences) with counts and every differing key."""
    started = time.perf_counter()
    old_side, new_side = side_of("old", old, plan), side_of("new", new, plan)
    if not plan.keys:  # a key column is missing or incompatible: counts only
        return replace(
            report,
            old_rows=_count(con, old_side),
            new_rows=_count(con, new_side),
            freshness=freshness_of(con, plan, old_side, new_side, options.watermark),
        )
    buckets = bucket_count(max(old.estimated_rows, new.estimated_rows), options.rows_per_bucket)
    (old_rows, old_latest), (new_rows, new_latest) = (
        _fingerprint(con, old_side, buckets),
        _fingerprint(con, new_side, buckets),
    )
    freshness = freshness_of(
        con, plan, old_side, new_side, options.watermark, (old_latest, new_latest)
    )
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
        report = diff_rows(
            con,
            plan,
            old_side,
            new_side,
            buckets,
            report,
            options.max_keys,
            options.float_tolerance,
        )
    return replace(report, seconds=time.perf_counter() - started)


def _count(con: duckdb.DuckDBPyConnection, side: Side) -> int:
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
            m=limit(max_keys),
        )
    ).fetchall()
    return total, KeyList(tuple(tuple(r) for r in rows), total)

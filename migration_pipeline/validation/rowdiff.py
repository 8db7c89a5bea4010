"""Pass 2: classify every differing key among the rows read (differing buckets, or changed keys).

Temporary tables hold positional column names (k0.., c0..), never a user's identifier.
"""

from __future__ import annotations

from dataclasses import replace

from migration_pipeline.validation.db import duckdb
from migration_pipeline.validation.plan import ComparedColumn, ComparisonPlan
from migration_pipeline.validation.report import (
    ChangedRow,
    ColumnDiff,
    DuplicateKey,
    Freshness,
    KeyList,
    TableReport,
)
from migration_pipeline.validation.sides import Side, key_join, names, positional, temp
from migration_pipeline.validation.sql import Sql, compose, ident, join, literal


def read_rows(con: duckdb.DuckDBPyConnection, side: Side, where: Sql) -> None:
    """The rows of `side` matching `where`, deleted ones too (their write time marks keys in flight)."""
    con.execute(
        compose(
            "CREATE OR REPLACE TEMP TABLE {t} AS {rows}",
            t=temp("rows", side.name),
            rows=side_rows(side, where),
        )
    )


def side_rows(side: Side, where: Sql, content: bool = True) -> Sql:
    """SELECT the positional rows (k0.., c0.., h, live, wt) of `side` matching `where`; `wt` in
    the column's own type (cast once per key in `_key_counts`: a cast per row costs ~15% here).
    Without `content` the compared columns and the hash are NULL: only the key, whether the row
    is live and when it was written are read (a fraction of the columns to decompress)."""
    write_time = side.write_time or Sql("NULL::TIMESTAMPTZ")
    columns = positional("c", side.columns)
    row_hash = side.row_hash
    if not content:
        columns = [compose("NULL AS {c}", c=ident(f"c{i}")) for i in range(len(side.columns))]
        row_hash = Sql("NULL::UBIGINT")
    return compose(
        "SELECT {v}, {h} AS h, {l} AS live, {w} AS wt FROM {table} WHERE {where}",
        v=join(positional("k", side.keys) + columns),
        h=row_hash,
        l=side.live,
        w=write_time,
        table=side.table,
        where=where,
    )


def _key_counts(con: duckdb.DuckDBPyConnection, side: Side) -> None:
    keys = join(names("k", len(side.keys)))
    con.execute(
        compose(
            "CREATE OR REPLACE TEMP TABLE {t} AS SELECT {k}, true AS p, count(*) FILTER (WHERE live) AS c, "
            "sum(h) FILTER (WHERE live) AS s, max(wt)::TIMESTAMPTZ AS wt FROM {rows} GROUP BY {k}",
            t=temp("keys", side.name),
            k=keys,
            rows=temp("rows", side.name),
        )
    )


def _classify(con: duckdb.DuckDBPyConnection, key_count: int, freshness: Freshness) -> None:
    """Label every differing key. A key with no row at all on the leading side while the
    lagging side still has it may be a hard delete the lagging side has not applied yet. The
    hash sum `s` is NULL where a key has no live row, and where its rows were read without
    their content (in flight, see `side_rows`): such a key differs from one whose content was
    read, whatever that content hashes to."""
    keys = join(
        compose("CASE WHEN o.p THEN {a} ELSE {b} END AS {k}", a=a, b=b, k=k)
        for a, b, k in zip(
            names("k", key_count, "o"),
            names("k", key_count, "n"),
            names("k", key_count),
            strict=True,
        )
    )
    con.execute(
        compose(
            "CREATE OR REPLACE TEMP TABLE {t} AS SELECT {keys}, coalesce(o.c, 0) AS oc, "
            "coalesce(n.c, 0) AS nc, greatest(o.wt, n.wt) AS wt, CASE "
            "WHEN greatest(o.wt, n.wt) > $watermark THEN 'in_flight' "
            "WHEN coalesce(o.c, 0) > 1 OR coalesce(n.c, 0) > 1 THEN 'duplicate' "
            "WHEN (o.p IS NULL AND $leading = 'old') OR (n.p IS NULL AND $leading = 'new') "
            "THEN 'pending_delete' "
            "WHEN coalesce(o.c, 0) = 0 THEN 'extra_in_new' "
            "WHEN coalesce(n.c, 0) = 0 THEN 'missing_in_new' ELSE 'changed' END AS kind "
            "FROM {o} o FULL JOIN {n} n ON {on} "
            "WHERE coalesce(o.c, 0) <> coalesce(n.c, 0) OR o.s IS DISTINCT FROM n.s",
            t=temp("keydiff", "all"),
            keys=keys,
            o=temp("keys", "old"),
            n=temp("keys", "new"),
            on=key_join(key_count, "o", "n"),
        ),
        {"watermark": freshness.watermark, "leading": freshness.leading},
    )


def _differs(column: ComparedColumn, index: int, tolerance: float) -> Sql:
    old, new = (compose("{s}.{c}", s=Sql(s), c=ident(f"c{index}")) for s in ("o", "n"))
    exact = compose("{a} IS DISTINCT FROM {b}", a=old, b=new)
    if column.is_float and tolerance > 0:
        return compose(
            "({e} AND NOT coalesce(abs({a} - {b}) <= $tolerance, false))",
            e=exact,
            a=old,
            b=new,
        )
    return exact


def _sample(column: ComparedColumn, alias: str, index: int) -> Sql:
    value = compose("{s}.{c}", s=Sql(alias), c=ident(f"c{index}"))
    # Python's datetime has microseconds: nanosecond timestamps travel as text.
    return compose("{v}::VARCHAR", v=value) if column.type == "TIMESTAMP_NS" else value


def _changed(con: duckdb.DuckDBPyConnection, plan: ComparisonPlan, tolerance: float) -> None:
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
            t=temp("changed", "all"),
            k=join(names("k", count, "d")),
            f=join(flags) if flags else Sql("false"),
            v=join(samples) if samples else Sql("NULL AS none"),
            d=temp("keydiff", "all"),
            o=temp("rows", "old"),
            n=temp("rows", "new"),
            od=key_join(count, "d", "o"),
            nd=key_join(count, "d", "n"),
        ),
        {"tolerance": tolerance}
        if tolerance > 0 and any(c.is_float for c in plan.columns)
        else None,
    )


def limit(max_keys: int | None) -> Sql:
    return compose(" LIMIT {n}", n=literal(int(max_keys))) if max_keys is not None else Sql("")


def _totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many differing keys of each kind, in one query (most kinds have none)."""
    table = temp("keydiff", "all")
    rows = con.execute(compose("SELECT kind, count(*) FROM {t} GROUP BY kind", t=table)).fetchall()
    return {kind: int(count) for kind, count in rows}


def _kind(
    con: duckdb.DuckDBPyConnection,
    kinds: tuple[str, ...],
    totals: dict[str, int],
    key_count: int,
    max_keys: int | None,
    extra: Sql | None = None,
) -> tuple[list[tuple], int]:
    """The first `max_keys` differing keys of these kinds, in key order (plus `extra` columns), and how many."""
    total = sum(totals.get(kind, 0) for kind in kinds)
    if not total:
        return [], 0
    keys = join(names("k", key_count))
    rows = con.execute(
        compose(
            "SELECT {k}{e} FROM {t} WHERE list_contains(?, kind) ORDER BY {k}{l}",
            k=keys,
            e=extra or Sql(""),
            t=temp("keydiff", "all"),
            l=limit(max_keys),
        ),
        [list(kinds)],
    ).fetchall()
    return rows, total


def _key_list(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    totals: dict[str, int],
    key_count: int,
    max_keys: int | None,
) -> KeyList:
    rows, total = _kind(con, (kind,), totals, key_count, max_keys)
    return KeyList(tuple(tuple(row) for row in rows), total)


def _duplicates(
    con: duckdb.DuckDBPyConnection, totals: dict[str, int], key_count: int, max_keys: int | None
) -> tuple[tuple[DuplicateKey, ...], int]:
    rows, total = _kind(con, ("duplicate",), totals, key_count, max_keys, Sql(", oc, nc"))
    return tuple(DuplicateKey(tuple(r[:key_count]), int(r[-2]), int(r[-1])) for r in rows), total


def _changed_rows(
    con: duckdb.DuckDBPyConnection, plan: ComparisonPlan, max_keys: int | None
) -> tuple[tuple[ChangedRow, ...], int]:
    count = len(plan.keys)
    table = temp("changed", "all")
    keys = join(names("k", count))
    rows = con.execute(
        compose("SELECT * FROM {t} ORDER BY {k}{l}", t=table, k=keys, l=limit(max_keys))
    ).fetchall()
    total = len(rows)
    if max_keys is not None and total >= max_keys:  # the list is cut: count them all
        total = con.execute(compose("SELECT count(*) FROM {t}", t=table)).fetchone()[0]
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


def classify_rows(
    con: duckdb.DuckDBPyConnection,
    plan: ComparisonPlan,
    sides: tuple[Side, Side],
    report: TableReport,
    max_keys: int | None,
    tolerance: float,
) -> TableReport:
    """Fill `report` with every differing key among the rows read into the `rows` tables."""
    for side in sides:
        _key_counts(con, side)
    count = len(plan.keys)
    _classify(con, count, report.freshness)
    _changed(con, plan, tolerance)
    changed, changed_total = _changed_rows(con, plan, max_keys)
    totals = _totals(con)
    duplicates, duplicate_total = _duplicates(con, totals, count, max_keys)
    oldest_in_flight = None
    if totals.get("in_flight"):
        oldest_in_flight = con.execute(
            compose("SELECT min(wt) FROM {t} WHERE kind = 'in_flight'", t=temp("keydiff", "all"))
        ).fetchone()[0]
    return replace(
        report,
        missing_in_new=_key_list(con, "missing_in_new", totals, count, max_keys),
        extra_in_new=_key_list(con, "extra_in_new", totals, count, max_keys),
        in_flight=_key_list(con, "in_flight", totals, count, max_keys),
        pending_deletes=_key_list(con, "pending_delete", totals, count, max_keys),
        changed=changed,
        changed_total=changed_total,
        duplicate_keys=duplicates,
        duplicate_total=duplicate_total,
        oldest_in_flight=oldest_in_flight,
    )

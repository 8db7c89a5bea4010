"""Incremental re-validation: counts on both sides, then only the keys changed since a clean one.

A table validated clean up to change time W (the older of the two sides' latest change time)
needs, next time, only the keys whose rows changed after W on either side: every other row was
equal then and carries no newer change time on either side now. Those keys are read from both
sides and classified by the same rules as a full comparison (in flight, pending deletes,
settings mapping). Row counts are taken in full: a count difference that the changed keys do not
account for (a lost delete, a row removed without a trace) sends the table to a full comparison.
A key one side wrote after the other side's latest write is in flight whatever the lagging side
holds, so for such a key only its key, delete flag and write time are read there: a change that
wrote the same values is in flight here until the lagging side catches up (a full run finds the
rows equal), and a validation while both pipelines stream stays cheap.

What an incremental run cannot see, by construction (the next full run finds each):
- a row changed in place on one side without a newer change time (corruption, a manual UPDATE
  that does not touch `__artie_updated_at`);
- a lost delete balanced by a lost insert on the same side (the counts stay equal);
- a row whose change time went backwards below W (a clock reset, a hand-written timestamp).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from migration_pipeline.errors import ValidationInputError
from migration_pipeline.validation.catalog import Table, table_sql
from migration_pipeline.validation.compare import CompareOptions, freshness_of
from migration_pipeline.validation.db import duckdb
from migration_pipeline.validation.plan import ComparisonPlan
from migration_pipeline.validation.report import INCREMENTAL, Coverage, TableReport
from migration_pipeline.validation.rowdiff import classify_rows, read_rows, side_rows
from migration_pipeline.validation.schedule import IncrementalPolicy
from migration_pipeline.validation.sides import (
    Side,
    key_join,
    latest_write_time,
    names,
    side_of,
    temp,
)
from migration_pipeline.validation.sql import Sql, compose, ident, join, literal


@dataclass(frozen=True)
class Start:
    """An incremental comparison may run: from `since`, by `old_column` / `new_column`."""

    since: datetime
    old_column: str
    new_column: str


def _column(table: Table, name: str) -> str | None:
    return next((c.name for c in table.columns if c.name.lower() == name.lower()), None)


def change_columns(
    policy: IncrementalPolicy, plan: ComparisonPlan, old: Table, new: Table
) -> tuple[str, str] | None:
    """The change-time column on each side: the one the spec names, else Artie's write time."""
    named = policy.change_time_columns.get(old.display) or policy.change_time_column
    if named:
        pair = (_column(old, named), _column(new, named))
        if None in pair:
            raise ValidationInputError(
                f"change-time column {named!r} of table {old.display!r} is not in both "
                "destinations: name a column both tables have, or remove it from the spec"
            )
        return pair  # type: ignore[return-value]
    if plan.live:
        return plan.freshness[1], plan.freshness[2]  # type: ignore[index,return-value]
    return None


def start(
    policy: IncrementalPolicy | None,
    plan: ComparisonPlan,
    old: Table,
    new: Table,
    now: datetime,
) -> Start | str:
    """Where this table's incremental comparison starts, or why it must be full."""
    if policy is None:
        return "no validation history to continue from (give --state-dir)"
    if policy.force_full:
        return "full validation requested"
    if not plan.keys:
        return "no key to compare by"
    columns = change_columns(policy, plan, old, new)
    if columns is None:
        return "no change-time column on both sides (__artie_updated_at, or one named in the spec)"
    baseline = policy.baselines.get(old.display)
    if baseline is None or baseline.since is None or baseline.last_full_at is None:
        return "no clean full validation to continue from"
    if baseline.runs_since_full + 1 >= policy.full_every:
        return f"one validation in {policy.full_every} is full"
    hours = (now - baseline.last_full_at).total_seconds() / 3600
    if hours >= policy.full_every_hours:
        return f"last full validation {hours:.1f} h ago (one at least every {policy.full_every_hours:g} h)"
    return Start(baseline.since, *columns)


_NAIVE_TIMES = {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"}
_ZONED_TIME = "TIMESTAMP WITH TIME ZONE"


def _changed(table: Table, column: str, since: datetime) -> Sql:
    """`column` later than `since`, compared in the column's own type so that DuckDB filters
    in the scan (a cast of the column would read every column of every row first)."""
    type_ = next((c.type for c in table.columns if c.name == column), None)
    if type_ in _NAIVE_TIMES:  # Artie writes naive timestamps in UTC
        naive = since.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return compose("{c} > CAST({s} AS {t})", c=ident(column), s=literal(naive), t=Sql(type_))
    if type_ == _ZONED_TIME:
        return compose(
            "{c} > CAST({s} AS TIMESTAMPTZ)", c=ident(column), s=literal(since.isoformat())
        )
    return compose(
        "{c}::TIMESTAMPTZ > {s}::TIMESTAMPTZ", c=ident(column), s=literal(since.isoformat())
    )


def _counts_and_latest(
    con: duckdb.DuckDBPyConnection,
    sides: tuple[Side, Side],
    columns: tuple[str, str],
    from_rows: bool,
) -> tuple[int, datetime | None, int, datetime | None]:
    """Each side's live rows and latest change time, both sides in one query (one round trip,
    the two scans scheduled together). With `from_rows` (the change-time column is the write
    time the rows just read carry) the latest is the newest among the rows read as changed, so
    the column is not scanned; a side where no row changed is scanned for it."""

    def one(side: Side, column: str) -> Sql:
        count = (
            compose("count(*) FILTER (WHERE {l})", l=side.live) if side.delete else Sql("count(*)")
        )
        latest = (
            compose("(SELECT max(wt) FROM {r})", r=temp("rows", side.name))
            if from_rows
            else compose("max({c})", c=ident(column))
        )
        return compose("(SELECT {n}, {m}::TIMESTAMPTZ FROM {t})", n=count, m=latest, t=side.table)

    row = con.execute(
        compose("SELECT * FROM {o}, {n}", o=one(sides[0], columns[0]), n=one(sides[1], columns[1]))
    ).fetchone()
    old_latest, new_latest = row[1], row[3]
    if from_rows:
        old_latest = old_latest or latest_write_time(con, sides[0])
        new_latest = new_latest or latest_write_time(con, sides[1])
    return int(row[0]), old_latest, int(row[2]), new_latest


def _add_counterparts(
    con: duckdb.DuckDBPyConnection, side: Side, other: Side, watermark: datetime | None
) -> None:
    """Rows of `side` for keys that changed on `other` only (unchanged here since `since`: a key
    with a row changed here is among the rows read already, so no filter on the change time).
    DuckDB turns the semi join on few keys into a filter on the key columns that skips every row
    group whose key range holds none of them.

    A key `other` wrote after the watermark is in flight whatever `side` holds for it, so only
    its key, liveness and write time are read here (the counts still add up); its content is
    compared once the lagging side has caught up. While both pipelines stream, these are most
    of the keys, and reading every column of their rows would cost a large part of a full scan."""
    count = len(side.keys)
    lonely = temp("lonely", side.name)
    con.execute(
        compose(
            "CREATE OR REPLACE TEMP TABLE {l} AS SELECT {k}, coalesce(max(o.wt)::TIMESTAMPTZ > "
            "$watermark, false) AS f FROM {o} o ANTI JOIN {s} s ON {on} GROUP BY ALL",
            l=lonely,
            k=join(names("k", count, "o")),
            o=temp("rows", other.name),
            s=temp("rows", side.name),
            on=key_join(count, "o", "s"),
        ),
        {"watermark": watermark},
    )
    counts = con.execute(
        compose(
            "SELECT count(*) FILTER (WHERE NOT f), count(*) FILTER (WHERE f) FROM {l}", l=lonely
        )
    ).fetchone()
    for in_flight, count_of_kind in zip((False, True), counts, strict=True):
        if not count_of_kind:
            continue
        where = Sql("f") if in_flight else Sql("NOT f")
        con.execute(
            compose(
                "INSERT INTO {t} SELECT r.* FROM ({rows}) r "
                "SEMI JOIN (SELECT * FROM {l} WHERE {w}) l ON {on}",
                t=temp("rows", side.name),
                rows=side_rows(side, Sql("true"), content=not in_flight),
                l=lonely,
                w=where,
                on=key_join(count, "r", "l"),
            )
        )


def _sum(con: duckdb.DuckDBPyConnection, side: str) -> int:
    return int(
        con.execute(
            compose("SELECT coalesce(sum(c), 0) FROM {t}", t=temp("keys", side))
        ).fetchone()[0]
    )


def _distinct_keys(con: duckdb.DuckDBPyConnection, count: int) -> int:
    keys = join(names("k", count))
    return int(
        con.execute(
            compose(
                "SELECT count(*) FROM (SELECT {k} FROM {o} UNION SELECT {k} FROM {n})",
                k=keys,
                o=temp("keys", "old"),
                n=temp("keys", "new"),
            )
        ).fetchone()[0]
    )


def compare_changed(
    con: duckdb.DuckDBPyConnection,
    plan: ComparisonPlan,
    old: Table,
    new: Table,
    report: TableReport,
    options: CompareOptions,
    begin: Start,
) -> TableReport | int:
    """Compare only the keys changed after `begin.since` on either side; the count difference
    the changed keys do not account for (an int) when the table needs a full comparison."""
    old_side, new_side = side_of("old", old, plan), side_of("new", new, plan)
    old_changed = _changed(old, begin.old_column, begin.since)
    new_changed = _changed(new, begin.new_column, begin.since)
    read_rows(con, old_side, old_changed)
    read_rows(con, new_side, new_changed)
    same = plan.freshness is not None and (begin.old_column, begin.new_column) == plan.freshness[1:]
    old_rows, old_latest, new_rows, new_latest = _counts_and_latest(
        con, (old_side, new_side), (begin.old_column, begin.new_column), from_rows=same
    )
    freshness = freshness_of(con, plan, old_side, new_side, options.watermark,
                             (old_latest, new_latest) if same else None)  # fmt: skip
    _add_counterparts(con, old_side, new_side, freshness.watermark)
    _add_counterparts(con, new_side, old_side, freshness.watermark)
    report = replace(report, old_rows=old_rows, new_rows=new_rows, freshness=freshness)
    report = classify_rows(
        con, plan, (old_side, new_side), report, options.max_keys, options.float_tolerance
    )
    unexplained = (old_rows - new_rows) - (_sum(con, "old") - _sum(con, "new"))
    if unexplained:
        return unexplained
    reached = min(old_latest, new_latest) if old_latest and new_latest else None
    coverage = Coverage(
        INCREMENTAL,
        column=begin.old_column,
        since=begin.since,
        changed_keys=_distinct_keys(con, len(plan.keys)),
        count_difference=old_rows - new_rows,
        reached=reached or begin.since,
    )
    return replace(report, coverage=coverage)


def latest_change(
    con: duckdb.DuckDBPyConnection, old: Table, new: Table, columns: tuple[str, str]
) -> datetime | None:
    """The older of the two sides' latest change time (where a next incremental run starts)."""
    values = [
        con.execute(
            compose("SELECT max({c})::TIMESTAMPTZ FROM {t}", c=ident(column), t=table_sql(table))
        ).fetchone()[0]
        for table, column in ((old, columns[0]), (new, columns[1]))
    ]
    return min(values) if None not in values else None

"""Pending deletes re-checked within the validation: released files, a short wait, keys re-read.

A key on the lagging side only, absent from the side that is ahead, may be a hard delete the
lagging side has not applied yet (a delete leaves no write time). The comparison releases both
files, waits a little, and reads those keys again: gone from the lagging side means the delete
arrived; still there once the lagging side has written past the point the leading side had
reached means the delete was lost (confirmed, rule `pending_delete_not_applied`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace

from migration_pipeline.validation.db import duckdb
from migration_pipeline.validation.report import (
    DELETE_NOT_APPLIED,
    Confirmation,
    Key,
    TableReport,
)
from migration_pipeline.validation.rowdiff import limit
from migration_pipeline.validation.sides import (
    Side,
    key_join,
    latest_write_time,
    names,
    positional,
    temp,
)
from migration_pipeline.validation.sql import compose, join

POLL_SECONDS = 0.25


def _presence(
    con: duckdb.DuckDBPyConnection, old: Side, new: Side, count: int
) -> list[tuple[Key, bool, bool]]:
    def live_keys(side: Side):
        return compose(
            "(SELECT DISTINCT {k}, true AS x FROM {t} WHERE {l})",
            k=join(positional("k", side.keys)),
            t=side.table,
            l=side.live,
        )

    rows = con.execute(
        compose(
            "SELECT {k}, o.x IS NOT NULL, n.x IS NOT NULL FROM {p} p "
            "LEFT JOIN {o} o ON {po} LEFT JOIN {n} n ON {pn}",
            k=join(names("k", count, "p")),
            p=temp("pending", "all"),
            o=live_keys(old),
            n=live_keys(new),
            po=key_join(count, "p", "o"),
            pn=key_join(count, "p", "n"),
        )
    ).fetchall()
    return [(tuple(r[:count]), bool(r[count]), bool(r[count + 1])) for r in rows]


def recheck_pending(
    con: duckdb.DuckDBPyConnection,
    old: Side,
    new: Side,
    report: TableReport,
    hold: Callable[[], AbstractContextManager],
    wait_seconds: float,
    max_keys: int | None,
) -> TableReport:
    """Re-read `report`'s pending deletes until each is resolved or confirmed, or until
    `wait_seconds` have passed (those left stay pending). Call with both files released."""
    leading = report.freshness.leading
    since = report.freshness.latest(leading) if leading else None
    if not report.pending_deletes.keys or since is None:
        return report
    count = len(old.keys)
    keys = join(names("k", count))
    con.execute(
        compose(
            "CREATE OR REPLACE TEMP TABLE {p} AS SELECT {k} FROM {d} "
            "WHERE kind = 'pending_delete' ORDER BY {k}{l}",
            p=temp("pending", "all"),
            k=keys,
            d=temp("keydiff", "all"),
            l=limit(max_keys),
        )
    )
    lagging = new if leading == "old" else old
    deadline = time.monotonic() + wait_seconds
    confirmed: set[Key] = set()
    resolved: set[Key] = set()
    while True:
        time.sleep(POLL_SECONDS)
        with hold():
            rows = _presence(con, old, new, count)
            passed = latest_write_time(con, lagging)
        for key, on_old, on_new in rows:
            one_sided = on_new and not on_old if leading == "old" else on_old and not on_new
            if not one_sided:
                resolved.add(key)
            elif passed is not None and passed > since:
                confirmed.add(key)
        if len(confirmed | resolved) >= len(rows) or time.monotonic() >= deadline:
            break
    settled = report.settle(frozenset(confirmed), frozenset(resolved - confirmed))
    found = tuple(Confirmation(k, DELETE_NOT_APPLIED) for k in sorted(confirmed, key=repr))
    return replace(settled, confirmations=settled.confirmations + found)

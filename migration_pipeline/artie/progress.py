"""How far a pipeline's tables have got, in one line for an operator: per table its backfill
percentage, rows and ETA, or once streaming its lag, from what Artie's API reports.

`orders 62% (1.2M of 1.9M rows, ETA 4 min); customers streaming, 1,240 changes / 3 s behind`.
Figures the API does not give are left out (Artie's spec defines only `status` and
`backfillStage` per table; row counts and lag come from services that add them, like the sandbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from migration_pipeline.artie.models import PipelineDetail, TableStatus


@dataclass(frozen=True)
class TableProgress:
    """One table's progress, as numbers (None: not reported)."""

    table: str
    status: str
    backfill_stage: str | None = None
    percent: float | None = None
    rows_backfilled: int | None = None
    rows_estimated: int | None = None
    eta_seconds: float | None = None
    changes_behind: int | None = None
    seconds_behind: float | None = None


def table_progress(table: TableStatus, now: datetime) -> TableProgress:
    """Percent from rows backfilled of the estimate; ETA from the rate since the backfill began."""
    done, total = table.rows_backfilled, table.rows_estimated
    percent = eta = None
    if done is not None and total:
        percent = min(100.0, 100.0 * done / total)
        started = table.backfill_started_at
        elapsed = (now - started).total_seconds() if started else 0.0
        if done and elapsed > 0 and done < total:
            eta = (total - done) / (done / elapsed)
    return TableProgress(
        table.name,
        table.status or "unknown",
        table.backfill_stage,
        percent,
        done,
        total,
        eta,
        table.changes_behind,
        table.seconds_behind,
    )


def pipeline_progress(status: PipelineDetail, now: datetime) -> tuple[TableProgress, ...]:
    return tuple(table_progress(t, now) for t in status.tables)


def describe(progress: TableProgress) -> str:
    """`orders 62% (1.2M of 1.9M rows, ETA 4 min)` / `customers streaming, 1,240 changes / 3 s
    behind` / `items queued`."""
    p = progress
    if p.status == "streaming":
        lag = [
            f"{p.changes_behind:,} changes" if p.changes_behind is not None else "",
            f"{_duration(p.seconds_behind)} behind" if p.seconds_behind is not None else "",
        ]
        shown = " / ".join(x for x in lag if x)
        return f"{p.table} streaming" + (f", {shown}" if shown else "")
    if p.backfill_stage == "complete" and p.status == "backfilling":
        rows = f" ({_rows(p.rows_backfilled)} rows)" if p.rows_backfilled is not None else ""
        return f"{p.table} backfilled{rows}, waiting to stream"
    if p.percent is None or p.status not in ("backfilling", "queued") or not p.rows_backfilled:
        return f"{p.table} {p.status}"
    eta = f", ETA {_duration(p.eta_seconds)}" if p.eta_seconds is not None else ""
    return (
        f"{p.table} {p.percent:.0f}% ({_rows(p.rows_backfilled)} of "
        f"{_rows(p.rows_estimated)} rows{eta})"
    )


def summary(status: PipelineDetail, now: datetime) -> str:
    """Every table of the pipeline, `; `-separated."""
    return "; ".join(describe(p) for p in pipeline_progress(status, now)) or "no tables reported"


def _rows(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 1:
        return "< 1 s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"

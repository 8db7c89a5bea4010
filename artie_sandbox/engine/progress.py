"""Turn a pipeline's destination state into the `PipelineProgress` the API renders as status."""

from __future__ import annotations

from datetime import UTC, datetime

from artie_sandbox.engine.pipeline import State
from artie_sandbox.models import Pipeline, PipelineProgress, SourceReader, TableProgress
from artie_sandbox.store import now

NOT_CAPTURED_DETAIL = (
    "the shared source reader's `tables` omit this table, so its changes are no "
    "longer captured; add it back to the reader's tables"
)


def table_progress(
    pipeline: Pipeline, reader: SourceReader, state: State | None, captured: set[str], running: bool
) -> tuple[TableProgress, ...]:
    out = []
    for table in pipeline.tables:
        got = state.tables.get(table.key) if state else None
        stage = "not_started"
        if got is not None:
            stage = (
                "complete"
                if got.done
                else ("in_progress" if got.rows_backfilled or got.cursor else "not_started")
            )
        status, detail = "queued", ""
        if table.key not in captured:
            status, detail = "not_captured", NOT_CAPTURED_DETAIL
        elif not running:
            status = "paused"
        elif stage == "complete":
            status = "streaming" if state and state.streaming else "backfilling"
            if status == "backfilling":
                detail = "backfilled; waiting for the pipeline's other tables before streaming"
        elif stage == "in_progress":
            status = "backfilling"
        out.append(
            TableProgress(
                table_key=table.key,
                status=status,
                backfill_stage=stage,
                rows_backfilled=got.rows_backfilled if got else 0,
                rows_estimated=got.rows_estimated if got else 0,
                detail=detail,
            )
        )
    return tuple(out)


def seconds_between(committed_at: str | None) -> float:
    """Seconds from a source commit time (UTC text) to now; 0 when there is none."""
    if not committed_at:
        return 0.0
    then = datetime.fromisoformat(committed_at).replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - then).total_seconds())


def pipeline_progress(
    pipeline: Pipeline,
    tables: tuple[TableProgress, ...],
    state: State | None,
    log_end: int,
    seconds_behind: float,
    extra: dict,
) -> PipelineProgress:
    return PipelineProgress(
        pipeline_uuid=pipeline.uuid,
        tables=tables,
        offset=state.log_offset if state else 0,
        log_end=log_end,
        seconds_behind=round(seconds_behind, 3),
        updated_at=now(),
        extra=extra,
    )

"""A waiting migration says how far each table has got: percent, rows, ETA, and lag once
streaming, from what Artie's API reports (and nothing it does not report)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from migration_pipeline.artie.models import PipelineDetail
from migration_pipeline.artie.progress import summary, table_progress

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def test_backfill_progress_eta_and_streaming_lag_read_as_the_operator_expects():
    detail = PipelineDetail.from_wire(
        {
            "uuid": "p",
            "tables": [
                {
                    "name": "orders",
                    "status": "backfilling",
                    "backfillStage": "in_progress",
                    "rowsBackfilled": 1_200_000,
                    "rowsEstimated": 1_900_000,
                    "backfillStartedAt": (NOW - timedelta(minutes=7)).strftime(
                        "%Y-%m-%dT%H:%M:%S.%fZ"
                    ),
                },
                {
                    "name": "customers",
                    "status": "streaming",
                    "backfillStage": "complete",
                    "rowsBackfilled": 50,
                    "rowsEstimated": 50,
                    "changesBehind": 1240,
                    "secondsBehind": 3.2,
                },
                {"name": "items", "status": "queued", "backfillStage": "not_started"},
                {
                    "name": "products",
                    "status": "backfilling",
                    "backfillStage": "complete",
                    "rowsBackfilled": 562,
                    "rowsEstimated": 562,
                },
            ],
        }
    )
    assert summary(detail, NOW) == (
        "orders 63% (1.2M of 1.9M rows, ETA 4 min); customers streaming, 1,240 changes / 3 s "
        "behind; items queued; products backfilled (562 rows), waiting to stream"
    )
    orders = table_progress(detail.tables[0], NOW)
    assert round(orders.eta_seconds) == 245 and round(orders.percent) == 63


def test_only_what_artie_reports_is_shown():
    detail = PipelineDetail.from_wire(
        {
            "uuid": "p",
            "tables": [
                {"name": "orders", "status": "backfilling", "backfillStage": "in_progress"},
                {"name": "customers", "status": "streaming", "backfillStage": "complete"},
            ],
        }
    )
    assert summary(detail, NOW) == "orders backfilling; customers streaming"
    assert summary(PipelineDetail("p", "", None, None, None), NOW) == "no tables reported"

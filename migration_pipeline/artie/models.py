"""What Artie's API reports, as frozen dataclasses; `from_wire` is the one place that reads its
camelCase JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class TableStatus:
    """A table of a pipeline and how far its replication has got."""

    name: str
    schema: str
    status: str | None = None
    backfill_stage: str | None = None
    enable_history_mode: bool = False
    # Row figures and lag, when the API gives them (the sandbox does; None otherwise).
    rows_backfilled: int | None = None
    rows_estimated: int | None = None
    backfill_started_at: datetime | None = None
    changes_behind: int | None = None
    seconds_behind: float | None = None

    @classmethod
    def from_wire(cls, data: dict) -> TableStatus:
        started = data.get("backfillStartedAt")
        return cls(
            name=data.get("name", ""),
            schema=data.get("schema") or "",
            status=data.get("status"),
            backfill_stage=data.get("backfillStage"),
            enable_history_mode=bool(data.get("enableHistoryMode", False)),
            rows_backfilled=data.get("rowsBackfilled"),
            rows_estimated=data.get("rowsEstimated"),
            backfill_started_at=_utc(started) if started else None,
            changes_behind=data.get("changesBehind"),
            seconds_behind=data.get("secondsBehind"),
        )


def _utc(text: str) -> datetime:
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PipelineSummary:
    """A pipeline as `GET /pipelines` lists it."""

    uuid: str
    name: str
    source_reader_uuid: str | None
    destination_uuid: str | None
    status: str | None

    @classmethod
    def from_wire(cls, data: dict) -> PipelineSummary:
        return cls(
            uuid=data["uuid"],
            name=data.get("name", ""),
            source_reader_uuid=data.get("sourceReaderUUID"),
            destination_uuid=data.get("destinationUUID"),
            status=data.get("status"),
        )


@dataclass(frozen=True)
class PipelineDetail(PipelineSummary):
    """A pipeline as `GET /pipelines/{uuid}` reports it, with its tables."""

    tables: tuple[TableStatus, ...] = ()
    has_backfilling_tables: bool = False

    @classmethod
    def from_wire(cls, data: dict) -> PipelineDetail:
        data = data.get("pipeline", data)  # includeRelatedObjects wraps it
        base = PipelineSummary.from_wire(data)
        return cls(
            **vars(base),
            tables=tuple(TableStatus.from_wire(t) for t in data.get("tables") or ()),
            has_backfilling_tables=bool(data.get("hasBackfillingTables", False)),
        )


@dataclass(frozen=True)
class ReaderTableDetail:
    name: str
    schema: str


@dataclass(frozen=True)
class SourceReaderDetail:
    """A source reader as `GET /source-readers/{uuid}` reports it."""

    uuid: str
    name: str
    connector_uuid: str
    is_shared: bool
    status: str | None
    tables: tuple[ReaderTableDetail, ...]
    updated_at: datetime | None = None  # the last change Artie recorded

    @classmethod
    def from_wire(cls, data: dict) -> SourceReaderDetail:
        tables = data.get("tablesConfig") or {}
        stamp = data.get("updatedAt")
        return cls(
            uuid=data["uuid"],
            name=data.get("name", ""),
            connector_uuid=data.get("connectorUUID", ""),
            is_shared=bool(data.get("isShared")),
            status=data.get("status"),
            tables=tuple(
                ReaderTableDetail(
                    t.get("name") or key.rpartition(".")[2],
                    t.get("schema") or key.rpartition(".")[0],
                )
                for key, t in sorted(tables.items())
            ),
            updated_at=datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None,
        )

"""The control plane's objects: connectors, source readers, pipelines, and engine-reported status.

Plain frozen dataclasses in snake_case. Only `artie_sandbox.api.wire` turns them into Artie's
camelCase JSON; only `artie_sandbox.store` turns them into rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Sandbox-only connector types, documented in docs/operators-guide.md: an SQLite file stands in
# for the MySQL source, a folder of DuckDB files for a DuckDB / MotherDuck destination.
SOURCE_TYPES = frozenset({"sqlite"})
DESTINATION_TYPES = frozenset({"duckdb"})

READER_STATUSES = ("draft", "paused", "running")
PIPELINE_STATUSES = ("draft", "paused", "transfer paused", "running")


@dataclass(frozen=True)
class Connector:
    uuid: str
    type: str
    label: str
    # sqlite: {"path": "<source .db>"}; duckdb: {"directory": "<folder holding <database>.duckdb>"}
    shared_config: dict
    default_database: str = ""
    created_at: str = ""
    updated_at: str = ""

    @property
    def is_source(self) -> bool:
        return self.type in SOURCE_TYPES


@dataclass(frozen=True)
class ReaderTable:
    name: str
    schema: str = ""
    columns_to_exclude: tuple[str, ...] = ()
    columns_to_include: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The `tables` map key Artie uses: `schema.name`, or bare `name` without a schema."""
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass(frozen=True)
class SourceReader:
    uuid: str
    name: str
    connector_uuid: str
    database: str
    is_shared: bool = False
    # None when not shared; a map key -> table when shared (required and non-empty then).
    tables: dict[str, ReaderTable] | None = None
    status: str = "running"
    created_at: str = ""
    updated_at: str = ""
    # settings.backfillBatchSize: rows per backfill read (Artie's default 5,000, at most 50,000).
    backfill_batch_size: int = 5_000

    def captures(self, table: PipelineTable) -> bool:
        """Whether a pipeline table is captured: a dedicated reader captures its pipeline's
        tables, a shared one only those in its `tables` map (a table left out goes stale)."""
        return not self.is_shared or table.key in (self.tables or {})


@dataclass(frozen=True)
class PipelineTable:
    name: str
    schema: str = ""
    alias: str = ""
    columns_to_exclude: tuple[str, ...] = ()
    enable_history_mode: bool = False
    skip_deletes: bool = False

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    @property
    def destination_name(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class Pipeline:
    uuid: str
    name: str
    source_reader_uuid: str
    destination_uuid: str
    database: str
    schema: str = ""
    tables: tuple[PipelineTable, ...] = ()
    soft_delete_rows: bool = False
    include_artie_updated_at_column: bool = False
    include_database_updated_at_column: bool = False
    status: str = "running"
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class TableProgress:
    """What the replication engine reports for one table of one pipeline."""

    table_key: str
    status: str = "queued"  # queued | backfilling | streaming | not_captured | paused
    backfill_stage: str = "not_started"  # not_started | in_progress | complete
    rows_backfilled: int = 0
    rows_estimated: int = 0
    detail: str = ""
    backfill_started_at: str = ""  # when the engine first saw its backfill under way (UTC)


@dataclass(frozen=True)
class PipelineProgress:
    """What the replication engine reports for one pipeline (absent until the engine runs it)."""

    pipeline_uuid: str
    tables: tuple[TableProgress, ...] = ()
    offset: int = 0  # change-log offset applied up to
    log_end: int = 0  # newest offset in the reader's change log
    seconds_behind: float = 0.0
    updated_at: str = ""
    extra: dict = field(default_factory=dict)

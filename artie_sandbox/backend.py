"""The sandbox's stand-in for Artie's control plane: every rule the real service enforces.

Moto-style: the HTTP layer only parses and renders; each operation here is one store
transaction that reads, checks every rule explicitly and writes, so two Terraform resources
applied in parallel cannot both slip past a rule. Messages name the object and say what to
change in the Terraform configuration.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, replace

from artie_sandbox.errors import BadRequest, NotFound, SandboxError
from artie_sandbox.models import (
    DESTINATION_TYPES,
    PIPELINE_STATUSES,
    READER_STATUSES,
    SOURCE_TYPES,
    Connector,
    Pipeline,
    PipelineProgress,
    PipelineTable,
    SourceReader,
    TableProgress,
)
from artie_sandbox.store import Store, Transaction, now

NOT_CAPTURED = "not_captured"
_REQUIRED_CONFIG = {
    "sqlite": ("path", "the SQLite source file"),
    "duckdb": ("directory", "the folder that holds <database>.duckdb"),
}


@dataclass(frozen=True)
class TableView:
    """One pipeline table as the API reports it: its settings plus engine-reported progress."""

    table: PipelineTable
    status: str
    backfill_stage: str
    progress: TableProgress | None = None


@dataclass(frozen=True)
class Lag:
    """How far a pipeline trails its reader's change log: changes not applied yet, and the age of
    the oldest of them."""

    changes: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class PipelineView:
    pipeline: Pipeline
    source_type: str
    tables: tuple[TableView, ...]
    lag: Lag = Lag()

    @property
    def has_backfilling_tables(self) -> bool:
        return any(t.backfill_stage != "complete" for t in self.tables if t.status != NOT_CAPTURED)


@dataclass(frozen=True)
class UncapturedTable:
    """A table a pipeline replicates that its shared reader no longer captures (a stale pipeline)."""

    table_key: str
    pipeline_uuid: str
    pipeline_name: str


@dataclass(frozen=True)
class ReaderView:
    reader: SourceReader
    uncaptured: tuple[UncapturedTable, ...] = ()


def _reader_label(reader: SourceReader) -> str:
    return (
        f'source reader "{reader.name}" ({reader.uuid})'
        if reader.uuid
        else (f'source reader "{reader.name}"')
    )


def _pipeline_list(pipelines: list[Pipeline]) -> str:
    return ", ".join(f'pipeline "{p.name}" ({p.uuid})' for p in pipelines)


def uncaptured_keys(reader: SourceReader, tables: tuple[PipelineTable, ...]) -> list[str]:
    """Keys of `tables` a reader does not capture (a non-shared reader captures its pipeline's)."""
    return [t.key for t in tables if not reader.captures(t)]


class Backend:
    """Connectors, source readers and pipelines over one control-plane store."""

    def __init__(self, store: Store):
        self.store = store

    # Connectors

    def list_connectors(self, include_sources: bool) -> list[Connector]:
        return [c for c in self.store.read().list(Connector) if include_sources or not c.is_source]

    def get_connector(self, uuid: str) -> Connector:
        return _get(self.store.read(), Connector, uuid)

    def create_connector(self, connector: Connector) -> Connector:
        _check_connector(connector)
        stamp = now()
        created = replace(connector, uuid=str(uuidlib.uuid4()), created_at=stamp, updated_at=stamp)
        with self.store.transaction() as tx:
            tx.put(created)
        return created

    def update_connector(self, uuid: str, connector: Connector) -> Connector:
        with self.store.transaction() as tx:
            old = _get(tx, Connector, uuid)
            if old.type != connector.type:
                raise BadRequest(
                    f'connector "{connector.label}" ({uuid}): type cannot change from '
                    f'"{old.type}" to "{connector.type}"; create a new connector instead'
                )
            _check_connector(connector)
            updated = replace(connector, uuid=uuid, created_at=old.created_at, updated_at=now())
            tx.put(updated)
        return updated

    def delete_connector(self, uuid: str) -> None:
        with self.store.transaction() as tx:
            connector = _get(tx, Connector, uuid)
            users = [
                f'source reader "{r.name}" ({r.uuid})'
                for r in tx.list(SourceReader)
                if r.connector_uuid == uuid
            ]
            users += [
                f'pipeline "{p.name}" ({p.uuid})'
                for p in tx.list(Pipeline)
                if p.destination_uuid == uuid
            ]
            if users:
                raise BadRequest(
                    f'connector "{connector.label}" ({uuid}) cannot be deleted while '
                    f"{', '.join(users)} use it; delete those first"
                )
            tx.delete(Connector, uuid)

    # Source readers

    def list_readers(self) -> list[ReaderView]:
        tx = self.store.read()
        return [_reader_view(tx, r) for r in tx.list(SourceReader)]

    def get_reader(self, uuid: str) -> ReaderView:
        tx = self.store.read()
        return _reader_view(tx, _get(tx, SourceReader, uuid))

    def validate_reader(self, reader: SourceReader) -> str | None:
        """The refusal a create or update of `reader` would get, or None (nothing is saved)."""
        tx = self.store.read()
        try:
            _check_reader(tx, reader)
            if reader.uuid and tx.get(SourceReader, reader.uuid) is not None:
                _check_unshare(tx, reader)
        except SandboxError as e:
            return e.message
        return None

    def create_reader(self, reader: SourceReader) -> ReaderView:
        stamp = now()
        created = replace(
            reader, uuid=str(uuidlib.uuid4()), status="running", created_at=stamp, updated_at=stamp
        )
        with self.store.transaction() as tx:
            _check_reader(tx, replace(reader, uuid=""))
            tx.put(created)
            return _reader_view(tx, created)

    def update_reader(self, uuid: str, reader: SourceReader) -> ReaderView:
        """Dropping a table a pipeline still uses is accepted, as Artie does: it shows as
        uncaptured on the reader and `not_captured` on the pipeline's table."""
        with self.store.transaction() as tx:
            old = _get(tx, SourceReader, uuid)
            updated = replace(
                reader, uuid=uuid, status=old.status, created_at=old.created_at, updated_at=now()
            )
            _check_reader(tx, updated)
            _check_unshare(tx, updated)
            attached = tx.pipelines_on_reader(uuid)
            if attached and updated.connector_uuid != old.connector_uuid:
                raise BadRequest(
                    f"{_reader_label(old)}: connector_uuid cannot change while pipelines use it "
                    f"({_pipeline_list(attached)}); create a new source reader instead"
                )
            tx.put(updated)
            return _reader_view(tx, updated)

    def delete_reader(self, uuid: str) -> None:
        with self.store.transaction() as tx:
            reader = _get(tx, SourceReader, uuid)
            attached = tx.pipelines_on_reader(uuid)
            if attached:
                raise BadRequest(
                    f"{_reader_label(reader)} cannot be deleted while pipelines use it: "
                    f"{_pipeline_list(attached)}; delete those pipelines first"
                )
            tx.delete(SourceReader, uuid)

    def deploy_reader(self, uuid: str) -> None:
        with self.store.transaction() as tx:
            reader = _require_shared(_get(tx, SourceReader, uuid), "deployed on their own")
            tx.put(replace(reader, status="running", updated_at=now()))

    def set_reader_status(self, uuid: str, status: str) -> ReaderView:
        _check_status(status, READER_STATUSES, "source reader")
        with self.store.transaction() as tx:
            reader = _require_shared(_get(tx, SourceReader, uuid), "paused or resumed on their own")
            updated = replace(reader, status=status, updated_at=now())
            tx.put(updated)
            return _reader_view(tx, updated)

    # Pipelines

    def list_pipelines(self) -> list[PipelineView]:
        tx = self.store.read()
        return [_pipeline_view(tx, p) for p in tx.list(Pipeline)]

    def get_pipeline(self, uuid: str) -> PipelineView:
        tx = self.store.read()
        return _pipeline_view(tx, _get(tx, Pipeline, uuid))

    def validate_source(self, reader_uuid: str, tables: tuple[PipelineTable, ...]) -> str | None:
        """What `validate-unsaved-source` reports: the reader exists and captures the tables."""
        draft = Pipeline(
            uuid="",
            name="",
            source_reader_uuid=reader_uuid,
            destination_uuid="",
            database="",
            tables=tables,
        )
        try:
            _check_pipeline_source(self.store.read(), draft, "this pipeline")
        except SandboxError as e:
            return e.message
        return None

    def validate_destination(self, destination_uuid: str, database: str) -> str | None:
        """What `validate-unsaved-destination` reports: a DuckDB connector and a database."""
        draft = Pipeline(
            uuid="",
            name="",
            source_reader_uuid="",
            destination_uuid=destination_uuid,
            database=database,
        )
        try:
            _check_pipeline_destination(self.store.read(), draft, "this pipeline")
        except SandboxError as e:
            return e.message
        return None

    def create_pipeline(self, pipeline: Pipeline) -> PipelineView:
        stamp = now()
        created = replace(
            pipeline, uuid=str(uuidlib.uuid4()), status="draft", created_at=stamp, updated_at=stamp
        )
        with self.store.transaction() as tx:
            _check_pipeline(tx, created)
            tx.put(created)
            return _pipeline_view(tx, created)

    def update_pipeline(self, uuid: str, pipeline: Pipeline) -> PipelineView:
        with self.store.transaction() as tx:
            old = _get(tx, Pipeline, uuid)
            updated = replace(
                pipeline, uuid=uuid, status=old.status, created_at=old.created_at, updated_at=now()
            )
            _check_pipeline(tx, updated)
            tx.put(updated)
            return _pipeline_view(tx, updated)

    def delete_pipeline(self, uuid: str) -> None:
        with self.store.transaction() as tx:
            _get(tx, Pipeline, uuid)
            tx.delete(Pipeline, uuid)
            tx.delete(PipelineProgress, uuid)

    def start_pipeline(self, uuid: str, keep_paused: bool = False) -> None:
        self.set_pipeline_status(uuid, "paused" if keep_paused else "running")

    def set_pipeline_status(self, uuid: str, status: str) -> PipelineView:
        _check_status(status, PIPELINE_STATUSES, "pipeline")
        with self.store.transaction() as tx:
            updated = replace(_get(tx, Pipeline, uuid), status=status, updated_at=now())
            tx.put(updated)
            return _pipeline_view(tx, updated)


_KIND_NAMES = {Connector: "connector", SourceReader: "source reader", Pipeline: "pipeline"}


def _get(tx: Transaction, cls: type, uuid: str):
    obj = tx.get(cls, uuid)
    if obj is None:
        raise NotFound(
            f'{_KIND_NAMES[cls]} "{uuid}" does not exist (deleted outside Terraform, or a '
            "different sandbox state directory); remove it from the Terraform state or re-create it"
        )
    return obj


def _check_status(status: str, allowed: tuple[str, ...], kind: str) -> None:
    if status not in allowed:
        choices = ", ".join(f'"{s}"' for s in allowed)
        raise BadRequest(f'{kind} status "{status}" is not one of {choices}')


def _require_shared(reader: SourceReader, what: str) -> SourceReader:
    if not reader.is_shared:
        raise BadRequest(
            f"{_reader_label(reader)} is not shared; only shared source readers are {what} "
            "(a non-shared reader follows its pipeline)"
        )
    return reader


def _check_connector(connector: Connector) -> None:
    label = f'connector "{connector.label}"'
    if connector.type not in SOURCE_TYPES | DESTINATION_TYPES:
        raise BadRequest(
            f'{label}: type "{connector.type}" is not available in the sandbox; use "sqlite" for '
            'a source or "duckdb" for a destination'
        )
    key, meaning = _REQUIRED_CONFIG[connector.type]
    if not str((connector.shared_config or {}).get(key) or ""):
        raise BadRequest(f'{label}: type "{connector.type}" needs sharedConfig.{key} ({meaning})')


def _check_reader(tx: Transaction, reader: SourceReader) -> None:
    label = _reader_label(reader)
    connector = tx.get(Connector, reader.connector_uuid)
    if connector is None:
        raise BadRequest(
            f'{label}: connector_uuid "{reader.connector_uuid}" does not exist; create the '
            "artie_connector first or fix connector_uuid"
        )
    if not connector.is_source:
        raise BadRequest(
            f'{label}: connector "{connector.label}" ({connector.uuid}) is a "{connector.type}" '
            'destination; connector_uuid must name a source connector (type "sqlite")'
        )
    if not reader.database:
        raise BadRequest(f"{label}: database_name is required")
    if reader.is_shared and not reader.tables:
        raise BadRequest(
            f"{label}: is_shared = true needs tables listing every table its pipelines replicate "
            '(keys "schema.name", or "name" without a schema); add tables or set is_shared = false'
        )
    if not reader.is_shared and reader.tables:
        raise BadRequest(
            f"{label}: tables is only allowed when is_shared = true; set is_shared = true and "
            "list every table in tables, or remove tables"
        )
    for key, table in (reader.tables or {}).items():
        if not table.name:
            raise BadRequest(f'{label}: tables["{key}"] needs a name')
        if key != table.key:
            raise BadRequest(
                f'{label}: tables key "{key}" does not match its table (schema "{table.schema}", '
                f'name "{table.name}"); use the key "{table.key}"'
            )


def _check_unshare(tx: Transaction, reader: SourceReader) -> None:
    attached = tx.pipelines_on_reader(reader.uuid)
    if not reader.is_shared and len(attached) > 1:
        raise BadRequest(
            f"{_reader_label(reader)} feeds {len(attached)} pipelines ({_pipeline_list(attached)}); "
            "it can only be unshared (is_shared = false) with at most one pipeline attached: "
            "delete the other pipelines first"
        )


def _check_pipeline(tx: Transaction, pipeline: Pipeline) -> None:
    label = f'pipeline "{pipeline.name}"'
    if not pipeline.name:
        raise BadRequest("pipeline: name is required")
    if not pipeline.tables:
        raise BadRequest(f"{label}: tables is empty; list at least one table")
    seen: set[str] = set()
    for table in pipeline.tables:
        if not table.name:
            raise BadRequest(f"{label}: every table needs a name")
        if table.key in seen:
            raise BadRequest(f'{label}: table "{table.key}" is listed twice')
        seen.add(table.key)
    _check_pipeline_destination(tx, pipeline, label)
    reader = _check_pipeline_source(tx, pipeline, label)
    others = [p for p in tx.pipelines_on_reader(reader.uuid) if p.uuid != pipeline.uuid]
    if others and not reader.is_shared:
        first = others[0]
        raise BadRequest(
            f"{label}: {_reader_label(reader)} is not shared and already feeds pipeline "
            f'"{first.name}" ({first.uuid}); set is_shared = true on the source reader and list '
            "every table in tables, then apply this pipeline again"
        )


def _check_pipeline_source(tx: Transaction, pipeline: Pipeline, label: str) -> SourceReader:
    reader = tx.get(SourceReader, pipeline.source_reader_uuid)
    if reader is None:
        raise BadRequest(
            f'{label}: source_reader_uuid "{pipeline.source_reader_uuid}" does not exist; create '
            "the artie_source_reader first or fix source_reader_uuid"
        )
    missing = uncaptured_keys(reader, pipeline.tables)
    if missing:
        names = ", ".join(f'"{k}"' for k in missing)
        raise BadRequest(
            f"{label}: shared {_reader_label(reader)} does not capture {names}; add "
            f"{'it' if len(missing) == 1 else 'them'} to the source reader's tables first"
        )
    return reader


def _check_pipeline_destination(tx: Transaction, pipeline: Pipeline, label: str) -> None:
    destination = tx.get(Connector, pipeline.destination_uuid)
    if destination is None:
        raise BadRequest(
            f'{label}: destination_connector_uuid "{pipeline.destination_uuid}" does not exist; '
            "create the artie_connector first or fix destination_connector_uuid"
        )
    if destination.type not in DESTINATION_TYPES:
        raise BadRequest(
            f'{label}: connector "{destination.label}" ({destination.uuid}) is a '
            f'"{destination.type}" source; destination_connector_uuid must name a destination '
            'connector (type "duckdb")'
        )
    if not pipeline.database:
        raise BadRequest(f"{label}: destination_config.database is required")


def _reader_view(tx: Transaction, reader: SourceReader) -> ReaderView:
    uncaptured = tuple(
        UncapturedTable(key, p.uuid, p.name)
        for p in tx.pipelines_on_reader(reader.uuid)
        for key in uncaptured_keys(reader, p.tables)
    )
    return ReaderView(reader, uncaptured)


def _pipeline_view(tx: Transaction, pipeline: Pipeline) -> PipelineView:
    reader = tx.get(SourceReader, pipeline.source_reader_uuid)
    connector = tx.get(Connector, reader.connector_uuid) if reader else None
    progress = tx.get(PipelineProgress, pipeline.uuid)
    reported = {t.table_key: t for t in (progress.tables if progress else ())}
    missing = set(uncaptured_keys(reader, pipeline.tables)) if reader else set()
    states = []
    for table in pipeline.tables:
        got = reported.get(table.key, TableProgress(table.key))
        status = NOT_CAPTURED if table.key in missing else got.status
        states.append(TableView(table, status, got.backfill_stage, got))
    lag = (
        Lag(max(0, progress.log_end - progress.offset), progress.seconds_behind)
        if progress
        else Lag()
    )
    return PipelineView(pipeline, connector.type if connector else "", tuple(states), lag)

"""The only place that turns control-plane models into Artie's camelCase JSON and back.

Request parsing accepts what Artie's Terraform provider sends (current and older releases: a
pipeline table's `alias` / `excludeColumns` / `skipDelete` nested in `advancedSettings` or at
the top level). Responses follow the schemas of Artie's OpenAPI spec; the only deviations are
the sandbox-only connector types (`sqlite`, `duckdb`), one additive field on source readers,
`uncapturedTables`, listing tables that attached pipelines replicate but the shared reader no
longer captures, and additive fields on a pipeline's tables: `rowsBackfilled`, `rowsEstimated`,
`backfillStartedAt` and, once a table streams, `changesBehind` / `secondsBehind`.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from artie_sandbox.backend import Lag, PipelineView, ReaderView, TableView
from artie_sandbox.errors import BadRequest
from artie_sandbox.models import Connector, Pipeline, PipelineTable, ReaderTable, SourceReader

# The sandbox has one company, one environment and one data plane.
COMPANY_UUID = "00000000-0000-4000-8000-00000000a271"
ENVIRONMENT_UUID = "00000000-0000-4000-8000-0000000e0001"
DATA_PLANE_NAME = "sandbox"
_TABLE_NAMESPACE = uuidlib.UUID("6f0c3c1e-2b1d-4c55-9a53-7d1e0a5b7a11")


def _field(body: dict, key: str, kind: type, default: Any, where: str) -> Any:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(f'{where}: field "{key}" must be a {_KIND_NAMES[kind]}')
    return value


_KIND_NAMES = {str: "string", bool: "boolean", dict: "JSON object", list: "list", int: "integer"}


def _strings(body: dict, key: str, where: str) -> tuple[str, ...]:
    values = _field(body, key, list, [], where)
    if not all(isinstance(v, str) for v in values):
        raise BadRequest(f'{where}: field "{key}" must be a list of strings')
    return tuple(values)


def parse_connector(body: dict) -> Connector:
    where = "connector"
    return Connector(
        uuid="",
        type=_field(body, "type", str, "", where),
        label=_field(body, "label", str, "", where),
        shared_config=_field(body, "sharedConfig", dict, {}, where),
        default_database=_field(body, "defaultDatabase", str, "", where),
    )


def parse_reader(body: dict) -> SourceReader:
    where = "source reader"
    tables_config = _field(body, "tablesConfig", dict, {}, where)
    tables = {}
    for key, value in tables_config.items():
        if not isinstance(value, dict):
            raise BadRequest(f'{where}: tablesConfig["{key}"] must be a JSON object')
        at = f'{where} tablesConfig["{key}"]'
        tables[key] = ReaderTable(
            name=_field(value, "name", str, "", at),
            schema=_field(value, "schema", str, "", at),
            columns_to_exclude=_strings(value, "excludeColumns", at),
            columns_to_include=_strings(value, "includeColumns", at),
        )
    return SourceReader(
        uuid=_field(body, "uuid", str, "", where),
        name=_field(body, "name", str, "", where),
        connector_uuid=_field(body, "connectorUUID", str, "", where),
        database=_field(body, "database", str, "", where),
        is_shared=_field(body, "isShared", bool, False, where),
        tables=tables or None,
        backfill_batch_size=_backfill_batch_size(_field(body, "settings", dict, {}, where), where),
    )


DEFAULT_BACKFILL_BATCH_SIZE, MAX_BACKFILL_BATCH_SIZE = 5_000, 50_000


def _backfill_batch_size(settings: dict, where: str) -> int:
    """`settings.backfillBatchSize`: unset or 0 means Artie's default (5,000); at most 50,000."""
    size = settings.get("backfillBatchSize") or DEFAULT_BACKFILL_BATCH_SIZE
    if (
        not isinstance(size, int)
        or isinstance(size, bool)
        or not 0 < size <= MAX_BACKFILL_BATCH_SIZE
    ):
        raise BadRequest(
            f"{where}: settings.backfillBatchSize must be an integer from 1 to "
            f"{MAX_BACKFILL_BATCH_SIZE:,}, not {size!r}"
        )
    return size


def parse_reader_validation(body: dict) -> SourceReader:
    reader = _field(body, "sourceReader", dict, None, "validate-unsaved")
    if reader is None:
        raise BadRequest('validate-unsaved: the request body needs a "sourceReader" object')
    return parse_reader(reader)


def parse_tables(items: list, where: str) -> tuple[PipelineTable, ...]:
    tables = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadRequest(f"{where}: tables[{index}] must be a JSON object")
        at = f"{where} tables[{index}]"
        # Older provider releases send the advanced table settings at the top level.
        advanced = {**item, **_field(item, "advancedSettings", dict, {}, at)}
        tables.append(
            PipelineTable(
                name=_field(item, "name", str, "", at),
                schema=_field(item, "schema", str, "", at),
                alias=_field(advanced, "alias", str, "", at),
                columns_to_exclude=_strings(advanced, "excludeColumns", at),
                enable_history_mode=_field(item, "enableHistoryMode", bool, False, at),
                skip_deletes=_field(advanced, "skipDelete", bool, False, at),
            )
        )
    return tuple(tables)


def parse_pipeline(body: dict) -> Pipeline:
    payload = body.get("pipeline")
    if not isinstance(payload, dict):
        raise BadRequest('pipeline: the request body needs a "pipeline" object')
    where = f'pipeline "{payload.get("name") or ""}"'
    destination = _field(payload, "specificDestCfg", dict, {}, where)
    advanced = _field(payload, "advancedSettings", dict, {}, where)
    return Pipeline(
        uuid="",
        name=_field(payload, "name", str, "", where),
        source_reader_uuid=_field(payload, "sourceReaderUUID", str, "", where),
        destination_uuid=_field(payload, "destinationUUID", str, "", where),
        database=_field(destination, "database", str, "", where),
        schema=_field(destination, "schema", str, "", where),
        tables=parse_tables(_field(payload, "tables", list, [], where), where),
        soft_delete_rows=_field(advanced, "enableSoftDelete", bool, False, where),
        include_artie_updated_at_column=_field(
            advanced, "includeArtieUpdatedAtColumn", bool, False, where
        ),
        include_database_updated_at_column=_field(
            advanced, "includeDatabaseUpdatedAtColumn", bool, False, where
        ),
    )


def _identity() -> dict:
    return {"companyUUID": COMPANY_UUID, "environmentUUID": ENVIRONMENT_UUID}


def light_connector(connector: Connector) -> dict:
    return {
        **_identity(),
        "uuid": connector.uuid,
        "type": connector.type,
        "label": connector.label,
        "dataPlaneName": DATA_PLANE_NAME,
        "isValid": True,
        "sshTunnelUUID": None,
        "createdAt": connector.created_at,
        "updatedAt": connector.updated_at,
    }


def full_connector(connector: Connector) -> dict:
    return {
        **light_connector(connector),
        "sharedConfig": connector.shared_config,
        "defaultDatabase": connector.default_database,
    }


def reader_json(view: ReaderView) -> dict:
    reader = view.reader
    tables = None
    if reader.tables is not None:
        tables = {
            key: {
                "name": t.name,
                "schema": t.schema,
                "excludeColumns": list(t.columns_to_exclude),
                "includeColumns": list(t.columns_to_include),
            }
            for key, t in reader.tables.items()
        }
    return {
        **_identity(),
        "uuid": reader.uuid,
        "name": reader.name,
        "dataPlaneName": DATA_PLANE_NAME,
        "connectorUUID": reader.connector_uuid,
        "status": reader.status,
        "isValid": not view.uncaptured,
        "database": reader.database,
        "containerName": "",
        "settings": {"backfillBatchSize": reader.backfill_batch_size},
        "isShared": reader.is_shared,
        "tablesConfig": tables,
        "createdAt": reader.created_at,
        "updatedAt": reader.updated_at,
        "uncapturedTables": [
            {"table": u.table_key, "pipelineUUID": u.pipeline_uuid, "pipelineName": u.pipeline_name}
            for u in view.uncaptured
        ],
    }


def _table_json(pipeline: Pipeline, state: TableView, lag: Lag) -> dict:
    table = state.table
    return {
        **_table_progress(state, lag),
        "uuid": str(uuidlib.uuid5(_TABLE_NAMESPACE, f"{pipeline.uuid}/{table.key}")),
        "name": table.name,
        "schema": table.schema,
        "enableHistoryMode": table.enable_history_mode,
        "disableReplication": False,
        "individualDeployment": False,
        "destinationTableName": table.destination_name,
        "status": state.status,
        "backfillStage": state.backfill_stage,
        "advancedSettings": {
            "alias": table.alias,
            "excludeColumns": list(table.columns_to_exclude),
            "skipDelete": table.skip_deletes,
        },
        "createdAt": pipeline.created_at,
        "updatedAt": pipeline.updated_at,
    }


def _table_progress(state: TableView, lag: Lag) -> dict:
    """Sandbox additions to a pipeline table (Artie's spec gives only `status` and
    `backfillStage`): rows backfilled of the estimate, when the backfill started, and once the
    table streams, the pipeline's lag behind its reader (one change-log offset per pipeline, so
    every streaming table of a pipeline reports the same lag)."""
    got = state.progress
    extra = {
        "rowsBackfilled": got.rows_backfilled if got else 0,
        "rowsEstimated": got.rows_estimated if got else 0,
        "backfillStartedAt": (got.backfill_started_at if got else "") or None,
    }
    if state.status == "streaming":
        extra.update(changesBehind=lag.changes, secondsBehind=lag.seconds)
    return extra


def light_pipeline(view: PipelineView) -> dict:
    pipeline = view.pipeline
    return {
        **_identity(),
        "uuid": pipeline.uuid,
        "name": pipeline.name,
        "dataPlaneName": DATA_PLANE_NAME,
        "sourceReaderUUID": pipeline.source_reader_uuid,
        "destinationUUID": pipeline.destination_uuid,
        "sourceType": view.source_type,
        "status": pipeline.status,
        "hasBackfillingTables": view.has_backfilling_tables,
        "isDeploying": False,
        "hasUndeployedChanges": False,
        "createdAt": pipeline.created_at,
        "lastUpdatedAt": pipeline.updated_at,
        "lastDeployedAt": None if pipeline.status == "draft" else pipeline.updated_at,
    }


def full_pipeline(view: PipelineView) -> dict:
    pipeline = view.pipeline
    return {
        **light_pipeline(view),
        "specificDestCfg": {"database": pipeline.database, "schema": pipeline.schema},
        "advancedSettings": {
            "enableSoftDelete": pipeline.soft_delete_rows,
            "includeArtieUpdatedAtColumn": pipeline.include_artie_updated_at_column,
            "includeDatabaseUpdatedAtColumn": pipeline.include_database_updated_at_column,
        },
        "tables": [_table_json(pipeline, t, view.lag) for t in view.tables],
    }


def pipeline_detail(
    view: PipelineView, reader: ReaderView, source: Connector, destination: Connector | None
) -> dict:
    detail = {
        "pipeline": full_pipeline(view),
        "sourceReader": reader_json(reader),
        "sourceConnector": full_connector(source),
    }
    if destination is not None:
        detail["destinationConnector"] = full_connector(destination)
    return detail


def parse_source_validation(body: dict) -> tuple[str, tuple[PipelineTable, ...]]:
    where = "validate-unsaved-source"
    tables = parse_tables(_field(body, "tables", list, [], where), where)
    return _field(body, "sourceReaderUUID", str, "", where), tables


def parse_destination_validation(body: dict) -> tuple[str, str]:
    where = "validate-unsaved-destination"
    config = _field(body, "specificCfg", dict, {}, where)
    database = _field(config, "database", str, "", where)
    return _field(body, "destinationUUID", str, "", where), database


def parse_status(body: dict, kind: str) -> str:
    return _field(body, "status", str, "", f"{kind} status")


def parse_keep_paused(body: dict) -> bool:
    return _field(body, "keepPaused", bool, False, "pipeline start")

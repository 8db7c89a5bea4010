"""What Artie's OpenAPI spec says about the operations the sandbox serves: codes and body types.

Written from `../shared/reference/artie-openapi.yaml` (the conformance tests compare it with the
spec wherever that folder exists): the response codes each served operation lists, the spec's
operations the sandbox does not serve, and the JSON types and formats of each request body, so
a wrong type is refused the way Artie's typed decoder refuses it. Deviations are listed in the
operator's guide's sandbox section (docs/operators-guide.md).
"""

from __future__ import annotations

import re
import uuid as uuidlib
from dataclasses import dataclass

from artie_sandbox.errors import BadRequest

# Response codes the spec lists, per served operation.
SERVED: dict[tuple[str, str], frozenset[int]] = {
    ("GET", "/connectors"): frozenset({200, 500}),
    ("POST", "/connectors"): frozenset({200, 400, 500}),
    ("DELETE", "/connectors/{uuid}"): frozenset({204, 400, 500}),
    ("GET", "/connectors/{uuid}"): frozenset({200, 404, 500}),
    ("POST", "/connectors/{uuid}"): frozenset({200, 400, 500}),
    ("GET", "/pipelines"): frozenset({200, 500}),
    ("POST", "/pipelines"): frozenset({200, 400, 500}),
    ("DELETE", "/pipelines/{uuid}"): frozenset({204, 500}),
    ("GET", "/pipelines/{uuid}"): frozenset({200, 404, 500}),
    ("POST", "/pipelines/{uuid}"): frozenset({200, 400, 500}),
    ("POST", "/pipelines/{uuid}/start"): frozenset({204, 400, 403, 500}),
    ("POST", "/pipelines/{uuid}/status"): frozenset({200, 400, 403, 409, 500}),
    ("POST", "/pipelines/validate-unsaved-destination"): frozenset({200, 204, 400, 500}),
    ("POST", "/pipelines/validate-unsaved-source"): frozenset({200, 204, 400, 500}),
    ("GET", "/source-readers"): frozenset({200, 500}),
    ("POST", "/source-readers"): frozenset({200, 400, 500}),
    ("DELETE", "/source-readers/{uuid}"): frozenset({204, 400, 500}),
    ("GET", "/source-readers/{uuid}"): frozenset({200, 404, 500}),
    ("POST", "/source-readers/{uuid}"): frozenset({200, 400, 500}),
    ("POST", "/source-readers/{uuid}/deploy"): frozenset({204, 400, 500}),
    ("POST", "/source-readers/{uuid}/status"): frozenset({200, 400, 500}),
    ("POST", "/source-readers/validate-unsaved"): frozenset({200, 204, 500}),
}
# Older provider releases call these; they answer as the current paths do.
ALIASES = {
    "/pipelines/validate-source": "/pipelines/validate-unsaved-source",
    "/pipelines/validate-destination": "/pipelines/validate-unsaved-destination",
}
# Validate operations answer 200 with {"error": ...} for a request they refuse.
VALIDATIONS = frozenset(p for _, p in SERVED if "/validate-unsaved" in p)

# Operations of the spec the sandbox does not implement (they answer 501, saying so).
NOT_SERVED = (
    "GET /column-hashing-salts",
    "POST /column-hashing-salts",
    "DELETE /column-hashing-salts/{uuid}",
    "GET /column-hashing-salts/{uuid}",
    "POST /column-hashing-salts/{uuid}",
    "POST /column-hashing-salts/{uuid}/preview",
    "POST /company/automatic-schema-changes",
    "GET /connectors/{uuid}/databases",
    "GET /connectors/{uuid}/detail",
    "POST /connectors/{uuid}/generate-shadow-script",
    "POST /connectors/{uuid}/postgres-drop-replication-slot",
    "GET /connectors/{uuid}/schemas",
    "POST /connectors/{uuid}/start-dynamodb-export",
    "GET /connectors/{uuid}/tables",
    "POST /connectors/databases",
    "POST /connectors/new-database",
    "POST /connectors/new-schema",
    "POST /connectors/new-snowflake-warehouse",
    "POST /connectors/ping",
    "POST /connectors/postgres-publications",
    "POST /connectors/schemas",
    "POST /connectors/tables",
    "POST /data-catalog/search",
    "GET /encryption-keys",
    "POST /encryption-keys",
    "DELETE /encryption-keys/{uuid}",
    "GET /encryption-keys/{uuid}",
    "POST /encryption-keys/{uuid}",
    "POST /ingestion-api-keys",
    "DELETE /ingestion-api-keys/{uuid}",
    "POST /ingestion-api-keys/{uuid}",
    "POST /pipelines/{uuid}/automatic-schema-changes",
    "POST /pipelines/{uuid}/backfill",
    "POST /pipelines/{uuid}/backfill/cancel",
    "POST /pipelines/{uuid}/detect-schema-changes",
    "POST /pipelines/{uuid}/update-with-source-reader",
    "POST /pipelines/create-from-source",
    "POST /privatelink-connections",
    "DELETE /privatelink-connections/{uuid}",
    "GET /privatelink-connections/{uuid}",
    "POST /privatelink-connections/{uuid}",
    "POST /ssh-tunnels",
    "DELETE /ssh-tunnels/{uuid}",
    "GET /ssh-tunnels/{uuid}",
    "POST /ssh-tunnels/{uuid}",
)


def _pattern(template: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(template)) + "$")


_NOT_SERVED = [
    (op.split(" ", 1)[0], op.split(" ", 1)[1], _pattern(op.split(" ", 1)[1])) for op in NOT_SERVED
]


def not_served(method: str, path: str) -> str | None:
    """The spec operation `method path` names when the sandbox does not implement it."""
    for op_method, template, pattern in _NOT_SERVED:
        if op_method == method and pattern.match(path):
            return f"{op_method} {template}"
    return None


def status_for(method: str, template: str, wanted: int) -> int:
    """The code to answer: `wanted` when the operation lists it, else the closest it lists
    (400 for a request refused, else 500; 200 with the reason for a validate operation)."""
    listed = SERVED.get((method, ALIASES.get(template, template)))
    if listed is None or wanted in listed:
        return wanted
    if 400 <= wanted < 500 and 400 in listed:
        return 400
    if ALIASES.get(template, template) in VALIDATIONS:
        return 200
    return 500


# Request body types. A shape is a kind ("string", "uuid", "bool", "int", "object", "array",
# "date-time"; a trailing "?" where the spec says nullable, for the reader), a nested Shape, or
# Map/List/Enum.
@dataclass(frozen=True)
class Shape:
    fields: dict
    required: tuple[str, ...] = ()
    nullable: bool = False


@dataclass(frozen=True)
class Map:
    of: object
    nullable: bool = False


@dataclass(frozen=True)
class List:
    of: object
    nullable: bool = False


@dataclass(frozen=True)
class Enum:
    values: tuple[str, ...]


_KINDS = {
    "string": (str,),
    "uuid": (str,),
    "date-time": (str,),
    "bool": (bool,),
    "int": (int,),
    "object": (dict,),
    "array": (list,),
}
_KIND_NAMES = {
    "string": "a string",
    "uuid": "a UUID string",
    "date-time": "an RFC 3339 date-time",
    "bool": "true or false",
    "int": "an integer",
    "object": "a JSON object",
    "array": "a JSON array",
}
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

_STRINGS = List("string")
CONNECTOR = Shape(
    {
        "uuid": "string",
        "type": "string",
        "label": "string",
        "dataPlaneName": "string",
        "defaultDatabase": "string?",
        "environmentUUID": "uuid?",
        "privateLinkUUID": "uuid?",
        "snapshotPrivateLinkUUID": "uuid?",
        "sshTunnelUUID": "uuid?",
        "sharedConfig": "object?",
    }
)
_READER_TABLES = Map(
    Shape(
        {
            "name": "string",
            "schema": "string",
            "excludeColumns": _STRINGS,
            "includeColumns": _STRINGS,
            "unifyAcrossDatabases": "bool",
            "unifyAcrossSchemas": "bool",
        }
    ),
    nullable=True,
)
_READER_SETTINGS = Shape(
    {
        "backfillBatchSize": "int?",
        "disableAutoFetchTables": "bool?",
        "enableHeartbeats": "bool?",
        "oneTopicPerSchema": "bool?",
        "databasesToSync": "array?",
        "messageCompression": "string?",
    }
)
_READER_STATUS = Enum(("draft", "paused", "running"))
SOURCE_READER = Shape(
    {
        "uuid": "uuid",
        "name": "string",
        "companyUUID": "uuid",
        "environmentUUID": "uuid",
        "dataPlaneName": "string",
        "connectorUUID": "uuid",
        "status": _READER_STATUS,
        "isValid": "bool",
        "database": "string",
        "containerName": "string",
        "settings": _READER_SETTINGS,
        "isShared": "bool?",
        "tablesConfig": _READER_TABLES,
        "apiBaseURL": "string",
        "createdAt": "date-time",
        "updatedAt": "date-time",
    }
)
READER_CREATE = Shape(
    {
        "connectorUUID": "uuid",
        "containerName": "string",
        "dataPlaneName": "string",
        "database": "string",
        "isShared": "bool",
        "name": "string",
        "settings": _READER_SETTINGS,
        "tablesConfig": _READER_TABLES,
    },
    required=("connectorUUID",),
)
READER_VALIDATE = Shape({"sourceReader": SOURCE_READER}, required=("sourceReader",))
READER_STATUS = Shape({"status": _READER_STATUS}, required=("status",))
_TABLE_SETTINGS = Shape(
    {
        "alias": "string",
        "excludeColumns": _STRINGS,
        "includeColumns": _STRINGS,
        "skipDelete": "bool",
        "skipBackfill": "bool",
        "bufferRows": "int",
        "primaryKeysOverride": List("string", nullable=True),
    }
)
_TABLE = Shape(
    {
        "uuid": "uuid",
        "name": "string",
        "schema": "string",
        "enableHistoryMode": "bool",
        "disableReplication": "bool",
        "individualDeployment": "bool",
        "destinationTableName": "string",
        "advancedSettings": _TABLE_SETTINGS,
        "createdAt": "date-time",
        "updatedAt": "date-time",
    }
)
_DESTINATION = Shape(
    {
        "database": "string",
        "schema": "string",
        "bucketName": "string",
        "checkpointInterval": "int",
        "useSameSchemaAsSource": "bool",
        "schemaNamePrefix": "string",
        "tableNameSeparator": "string",
    }
)
_PIPELINE_SETTINGS = Shape(
    {
        name: "bool?"
        for name in (
            "enableSoftDelete",
            "includeArtieUpdatedAtColumn",
            "includeDatabaseUpdatedAtColumn",
            "includeArtieOperationColumn",
            "appendOnly",
            "dropDeletedColumns",
            "disableAlerts",
            "forceUTCTimezone",
            "splitEventsByType",
        )
    }
    | {
        "bufferRows": "int?",
        "flushIntervalSeconds": "int?",
        "flushSizeKb": "int?",
        "defaultSourceSchema": "string?",
        "stagingSchema": "string?",
    }
)
PIPELINE = Shape(
    {
        "name": "string",
        "dataPlaneName": "string",
        "sourceReaderUUID": "uuid",
        "destinationUUID": "uuid?",
        "columnHashingSaltUUID": "uuid?",
        "encryptionKeyUUID": "uuid?",
        "snowflakeEcoScheduleUUID": "uuid?",
        "specificDestCfg": _DESTINATION,
        "tables": List(_TABLE, nullable=True),
        "advancedSettings": _PIPELINE_SETTINGS,
    }
)
PIPELINE_SAVE = Shape({"pipeline": PIPELINE, "deployPipeline": "bool"}, required=("pipeline",))
PIPELINE_START = Shape({"disableBackFill": "bool", "keepPaused": "bool"})
PIPELINE_STATUS = Shape(
    {"status": Enum(("draft", "paused", "transfer paused", "running"))}, required=("status",)
)
VALIDATE_SOURCE = Shape(
    {
        "dataPlaneName": "string",
        "sourceReaderUUID": "uuid?",
        "validateTables": "bool",
        "tables": List(_TABLE),
        "sourceReader": SOURCE_READER,
        "sourceConnector": CONNECTOR,
    },
    required=("validateTables", "tables"),
)
VALIDATE_DESTINATION = Shape(
    {
        "destinationUUID": "uuid?",
        "sourceReaderUUID": "uuid?",
        "sourceType": "string?",
        "specificCfg": _DESTINATION,
        "tables": List(_TABLE, nullable=True),
        "advancedSettings": _PIPELINE_SETTINGS,
        "destination": CONNECTOR,
    },
    required=("specificCfg",),
)


def check(shape, value, where: str) -> None:
    """Raise BadRequest naming the first field whose JSON type or format the spec does not allow.

    A null is accepted for every field, as Artie's Go decoder accepts it (it leaves the zero
    value), and so Artie's provider and ours may send null for an unset optional value."""
    if value is None:
        return
    if isinstance(shape, str):
        kind = shape.rstrip("?")
        if (
            not isinstance(value, _KINDS[kind])
            or (kind == "int" and isinstance(value, bool))
            or (kind == "uuid" and not _is_uuid(value))
            or (kind == "date-time" and not _DATE_TIME.match(value))
        ):
            raise BadRequest(f"{where} must be {_KIND_NAMES[kind]}, not {_show(value)}")
    elif isinstance(shape, Enum):
        if value not in shape.values:
            raise BadRequest(
                f"{where} must be one of {', '.join(repr(v) for v in shape.values)}, not {_show(value)}"
            )
    elif isinstance(shape, Shape):
        if not isinstance(value, dict):
            raise BadRequest(f"{where} must be a JSON object, not {_show(value)}")
        for name in shape.required:
            if name not in value:
                raise BadRequest(f'{where} needs the field "{name}"')
        for name, field_shape in shape.fields.items():
            if name in value:
                check(
                    field_shape,
                    value[name],
                    f'{where}: field "{name}"'
                    if where == "the request body"
                    else f"{where}.{name}",
                )
    elif isinstance(shape, Map | List):
        container = dict if isinstance(shape, Map) else list
        if not isinstance(value, container):
            raise BadRequest(
                f"{where} must be {'a JSON object' if container is dict else 'a JSON array'}, "
                f"not {_show(value)}"
            )
        items = value.items() if container is dict else enumerate(value)
        for key, item in items:
            check(shape.of, item, f"{where}[{key!r}]" if container is dict else f"{where}[{key}]")


def _is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except ValueError:
        return False
    return True


def _show(value) -> str:
    text = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."

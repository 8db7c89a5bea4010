"""Terraform state <-> Artie's camelCase JSON, the only place the provider spells wire names.

Request bodies mirror what Artie's own provider sends (`internal/artieclient` and
`internal/provider/tfmodels`), so a module that works here works against api.artie.com.
Reading back, `settle` keeps the state's spelling of "nothing" (null vs "" vs [] vs false) when
the API's value means the same, so a second plan shows no changes.
"""

from __future__ import annotations

from typing import Any

from tf.types import Unknown

_EMPTY = (None, "", False)


def _is_empty(value: Any) -> bool:
    return value in _EMPTY or value == [] or value == {}


def settle(api_value: Any, prior: Any) -> Any:
    """The API's value, unless it and `prior` are both some form of empty: then `prior`."""
    if _is_empty(api_value) and _is_empty(prior):
        return prior
    return api_value


def known(value: Any) -> Any:
    """A planned value, None while it is "known after apply"."""
    return None if value is Unknown else value


def table_key(name: str, schema: str | None) -> str:
    """Artie's `tables` map key: `schema.name`, or bare `name` when the source has no schemas."""
    return f"{schema}.{name}" if schema else name


def _list(value: Any) -> list[str] | None:
    return list(value) if value else None


def _settle_map(api: dict | None, prior: dict | None, fields: dict[str, str]) -> dict | None:
    """Settle a `tables` map: each object's fields against the same key's prior object."""
    if not api:
        return prior if _is_empty(prior) else None
    prior = prior or {}
    return {
        key: {field: settle(obj.get(field), (prior.get(key) or {}).get(field)) for field in fields}
        for key, obj in api.items()
    }


CONNECTOR_CONFIG_ATTRS = {"sqlite": "sqlite_config", "duckdb": "duckdb_config"}
CONNECTOR_CONFIG_FIELDS = {"sqlite": ("path",), "duckdb": ("directory",)}


def connector_body(state: dict) -> dict:
    """`POST /connectors` body (Artie's ConnectorClient.Create)."""
    config_attr = CONNECTOR_CONFIG_ATTRS.get(state["type"])
    return {
        "type": state["type"],
        "label": state.get("name") or "",
        "sharedConfig": dict(state.get(config_attr) or {}) if config_attr else {},
        "dataPlaneName": "",
        "sshTunnelUUID": None,
    }


def connector_state(api: dict, prior: dict) -> dict:
    state = {
        "uuid": api["uuid"],
        "type": api["type"],
        "name": settle(api.get("label"), prior.get("name")),
    }
    shared = api.get("sharedConfig") or {}
    for ctype, attr in CONNECTOR_CONFIG_ATTRS.items():
        if ctype == api["type"]:
            state[attr] = {f: shared.get(f) for f in CONNECTOR_CONFIG_FIELDS[ctype]}
        else:
            state[attr] = None
    return state


READER_TABLE_FIELDS = {
    "name": "name",
    "schema": "schema",
    "columns_to_exclude": "excludeColumns",
    "columns_to_include": "includeColumns",
}


def reader_payload(state: dict) -> dict:
    """A PayloadsSourceReader body (create, update and `validate-unsaved` all send this shape)."""
    tables = known(state.get("tables"))
    batch = known(state.get("backfill_batch_size"))
    body = {
        "connectorUUID": state["connector_uuid"],
        "name": state.get("name") or "",
        "dataPlaneName": "",
        "database": state.get("database_name") or "",
        "containerName": "",
        "isShared": state.get("is_shared") is True,
        # As Artie's provider: an unset size is sent as 0, which the API takes as its default.
        "settings": {"backfillBatchSize": int(batch or 0)},
        "tablesConfig": None
        if tables is None
        else {
            key: {
                "name": t["name"],
                "schema": t.get("schema") or "",
                "excludeColumns": _list(t.get("columns_to_exclude")),
                "includeColumns": _list(t.get("columns_to_include")),
            }
            for key, t in tables.items()
        },
    }
    if isinstance(state.get("uuid"), str):
        body["uuid"] = state["uuid"]
    return body


def reader_state(api: dict, prior: dict) -> dict:
    tables = {
        key: {field: t.get(wire) for field, wire in READER_TABLE_FIELDS.items()}
        for key, t in (api.get("tablesConfig") or {}).items()
    }
    return {
        "uuid": api["uuid"],
        "connector_uuid": api["connectorUUID"],
        "name": settle(api.get("name"), prior.get("name")),
        "database_name": settle(api.get("database"), prior.get("database_name")),
        "is_shared": bool(api.get("isShared")),
        "backfill_batch_size": (api.get("settings") or {}).get("backfillBatchSize"),
        "tables": _settle_map(tables, known(prior.get("tables")), READER_TABLE_FIELDS),
    }


PIPELINE_TABLE_FIELDS = (
    "name",
    "schema",
    "alias",
    "columns_to_exclude",
    "enable_history_mode",
    "skip_deletes",
)
PIPELINE_SETTINGS = {
    "soft_delete_rows": "enableSoftDelete",
    "include_artie_updated_at_column": "includeArtieUpdatedAtColumn",
    "include_database_updated_at_column": "includeDatabaseUpdatedAtColumn",
}


def _pipeline_table(t: dict) -> dict:
    return {
        "name": t["name"],
        "schema": t.get("schema") or "",
        "enableHistoryMode": bool(t.get("enable_history_mode")),
        "disableReplication": False,
        "advancedSettings": {
            "alias": t.get("alias") or None,
            "excludeColumns": _list(t.get("columns_to_exclude")),
            "skipDelete": t.get("skip_deletes"),
        },
    }


def pipeline_payload(state: dict) -> dict:
    """A pipeline body (Artie's BasePipeline; `uuid` added for updates)."""
    dest = state.get("destination_config") or {}
    body = {
        "name": state["name"],
        "dataPlaneName": "",
        "sourceReaderUUID": state["source_reader_uuid"],
        "tables": [_pipeline_table(t) for t in (state.get("tables") or {}).values()],
        "destinationUUID": state["destination_connector_uuid"],
        "specificDestCfg": {
            "database": dest.get("database") or "",
            "schema": dest.get("schema") or "",
        },
        "snowflakeEcoScheduleUUID": None,
        "advancedSettings": {
            wire: known(state.get(attr)) for attr, wire in PIPELINE_SETTINGS.items()
        },
    }
    if isinstance(state.get("uuid"), str):
        body["uuid"] = state["uuid"]
    return body


def validate_source_body(payload: dict) -> dict:
    return {
        "sourceReaderUUID": payload["sourceReaderUUID"],
        "validateTables": True,
        "tables": payload["tables"],
        "dataPlaneName": payload["dataPlaneName"],
    }


def validate_destination_body(payload: dict) -> dict:
    return {
        "destinationUUID": payload["destinationUUID"],
        "sourceReaderUUID": payload["sourceReaderUUID"],
        "specificCfg": payload["specificDestCfg"],
        "tables": payload["tables"],
        "advancedSettings": payload["advancedSettings"],
    }


def pipeline_state(api: dict, prior: dict) -> dict:
    tables = {}
    for t in api.get("tables") or []:
        adv = t.get("advancedSettings") or {}
        tables[table_key(t["name"], t.get("schema"))] = {
            "name": t["name"],
            "schema": t.get("schema"),
            "alias": adv.get("alias"),
            "columns_to_exclude": adv.get("excludeColumns"),
            "enable_history_mode": t.get("enableHistoryMode"),
            "skip_deletes": adv.get("skipDelete"),
        }
    dest = api.get("specificDestCfg") or {}
    prior_dest = prior.get("destination_config") or {}
    settings = api.get("advancedSettings") or {}
    state = {
        "uuid": api["uuid"],
        "name": api["name"],
        "source_reader_uuid": api["sourceReaderUUID"],
        "destination_connector_uuid": api.get("destinationUUID"),
        "destination_config": {
            "database": settle(dest.get("database"), prior_dest.get("database")),
            "schema": settle(dest.get("schema"), prior_dest.get("schema")),
        },
        "tables": _settle_map(tables, prior.get("tables"), dict.fromkeys(PIPELINE_TABLE_FIELDS)),
        "status_override": prior.get("status_override"),
    }
    for attr, wire in PIPELINE_SETTINGS.items():
        state[attr] = settle(settings.get(wire), prior.get(attr))
    return state

"""`artie_connector`: a source or destination connection, one `<type>_config` per connector type.

Sandbox-only types (not in Artie's real provider): `sqlite` (an SQLite file standing in for a
MySQL source) with `sqlite_config = { path = ... }`, and `duckdb` (a folder of DuckDB files
standing in for a DuckDB / MotherDuck destination) with `duckdb_config = { directory = ... }`.
"""

from __future__ import annotations

from tf import schema, types
from tf.iface import CreateContext, UpdateContext
from tf.utils import Diagnostics

from artie_sandbox.provider import wire
from artie_sandbox.provider.base import FAILED, ArtieResource, optional, required, uuid_attribute
from artie_sandbox.provider.nested import NestedAttribute


class ConnectorResource(ArtieResource):
    """Artie Connector resource: a database you sync data from or to."""

    name = "connector"
    description = (
        "Artie Connector resource. This represents a database that you want to sync "
        "data from or to. The sandbox supports `sqlite` (source) and `duckdb` (destination)."
    )
    label = "Connector"
    path = "connectors"
    error_paths = (
        (("is not available", "type cannot change"), "type"),
        (("sharedconfig.path",), "sqlite_config"),
        (("sharedconfig.directory",), "duckdb_config"),
    )

    @classmethod
    def attributes(cls) -> list[schema.Attribute]:
        return [
            uuid_attribute(),
            required(
                "type",
                types.String(),
                "The type of connector: `sqlite` (sandbox source) or `duckdb` (sandbox destination).",
            ),
            optional(
                "name", types.String(), "An optional human-readable label for this connector."
            ),
            NestedAttribute(
                "sqlite_config",
                [
                    required(
                        "path", types.String(), "Path of the SQLite database file to read from."
                    )
                ],
                "single",
                optional=True,
                description="This should be filled out if the connector type is `sqlite` "
                "(sandbox only: stands in for a MySQL source).",
            ),
            NestedAttribute(
                "duckdb_config",
                [
                    required(
                        "directory",
                        types.String(),
                        "Folder holding one `<database>.duckdb` file per `destination_config.database`.",
                    )
                ],
                "single",
                optional=True,
                description="This should be filled out if the connector type is `duckdb` "
                "(sandbox only: stands in for a DuckDB / MotherDuck destination).",
            ),
        ]

    def validate(self, diags: Diagnostics, type_name: str, config: dict):
        super().validate(diags, type_name, config)
        ctype = config.get("type")
        if not isinstance(ctype, str):
            return
        attr = wire.CONNECTOR_CONFIG_ATTRS.get(ctype)
        if attr is None:
            diags.add_error(
                "Unsupported connector type",
                f"The sandbox supports connector types `sqlite` and `duckdb`, not `{ctype}`.",
                path=["type"],
            )
        elif config.get(attr) is None:
            diags.add_error(
                f"{attr} is required",
                f"Please provide `{attr}` inside `connector`.",
                path=[attr],
            )

    def to_state(self, api: dict, prior: dict) -> dict:
        return wire.connector_state(api, prior)

    def create(self, ctx: CreateContext, planned: dict) -> dict | None:
        api = self.call(
            ctx, "create", lambda: self.client.post(self.path, wire.connector_body(planned))
        )
        return None if api is FAILED else self.to_state(api, planned)

    def update(self, ctx: UpdateContext, current: dict, planned: dict) -> dict | None:
        body = {**wire.connector_body(planned), "uuid": current["uuid"]}
        api = self.call(
            ctx, "update", lambda: self.client.post(f"{self.path}/{current['uuid']}", body)
        )
        return current if api is FAILED else self.to_state(api, planned)

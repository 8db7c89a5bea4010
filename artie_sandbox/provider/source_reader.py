"""`artie_source_reader`: the process reading one source database, dedicated or shared.

Validate-then-create, deploy-after-update-when-shared, the `tables` rules and their messages
follow Artie's provider (`source_reader_resource.go`). No attribute forces replacement there,
so none does here: a change is always an in-place update that the API accepts or refuses.
"""

from __future__ import annotations

from tf import schema, types
from tf.iface import CreateContext, UpdateContext
from tf.types import Unknown
from tf.utils import Diagnostics

from artie_sandbox.provider import wire
from artie_sandbox.provider.base import FAILED, ArtieResource, optional, required, uuid_attribute
from artie_sandbox.provider.nested import NestedAttribute

MAX_BACKFILL_BATCH_SIZE = 50_000


def check_table_keys(diags: Diagnostics, tables: object) -> None:
    """Artie's rule for every `tables` map: the key is `schema.name`, or `name` without schema."""
    if not isinstance(tables, dict):
        return
    for key, table in tables.items():
        if not isinstance(table, dict) or table.get("name") in (None, Unknown):
            continue
        schema_name = table.get("schema")
        if schema_name is Unknown:
            continue
        expected = wire.table_key(table["name"], schema_name)
        if key != expected:
            diags.add_error(
                "Table key mismatch",
                f'Table key "{key}" should be "{expected}" instead.',
                path=["tables", (key,)],
            )


class SourceReaderResource(ArtieResource):
    """Artie Source Reader resource: reads a source connector; shared readers feed many pipelines."""

    name = "source_reader"
    description = (
        "Artie Source Reader resource. A Source Reader can be shared by multiple "
        "Pipelines to read the source once and copy the data to multiple destinations."
    )
    label = "Source Reader"
    path = "source-readers"
    error_paths = (
        (("connector_uuid", "connector"), "connector_uuid"),
        (("database_name",), "database_name"),
        (("unshared", "is_shared = false"), "is_shared"),
        (("table",), "tables"),
        (("shared",), "is_shared"),
        (("backfillbatchsize",), "backfill_batch_size"),
    )
    # As in Artie's provider: `tables` is Optional + Computed with no plan modifier, `is_shared`
    # and `backfill_batch_size` keep the state's value when left out, `database_name` defaults "".
    unknown_when_unset = ("tables",)
    defaults = {"database_name": ""}

    @classmethod
    def attributes(cls) -> list[schema.Attribute]:
        table = [
            required("name", types.String(), "The name of the table in the source database."),
            optional(
                "schema",
                types.String(),
                "The schema of the table, if the source database uses schemas.",
            ),
            optional(
                "columns_to_exclude",
                types.List(types.String()),
                "Columns to exclude from CDC events.",
            ),
            optional(
                "columns_to_include",
                types.List(types.String()),
                "Columns to include in CDC events (default: all).",
            ),
        ]
        return [
            uuid_attribute(),
            required(
                "connector_uuid",
                types.String(),
                "The source connector that we should read data from.",
            ),
            optional(
                "name",
                types.String(),
                "An optional human-readable label for this source reader.",
            ),
            optional(
                "database_name",
                types.String(),
                "The name of the database we should read data from.",
                computed=True,
                default="",
            ),
            optional(
                "is_shared",
                types.Bool(),
                "If set to true, this source reader can be used by multiple pipelines.",
                computed=True,
            ),
            optional(
                "backfill_batch_size",
                types.Number(),
                "The number of rows to read from the source database in each batch while "
                "backfilling. Maximum allowed value is 50,000. Default is 5,000.",
                computed=True,
            ),
            NestedAttribute(
                "tables",
                table,
                "map",
                optional=True,
                computed=True,
                description="The tables this source reader captures. Required if (and only if) "
                "`is_shared` is true; it must include every table of every pipeline using this "
                "reader. Keys are `schema_name.table_name`, or `table_name` without schemas.",
            ),
        ]

    def validate(self, diags: Diagnostics, type_name: str, config: dict):
        super().validate(diags, type_name, config)
        batch = config.get("backfill_batch_size")
        if isinstance(batch, int | float) and batch > MAX_BACKFILL_BATCH_SIZE:
            diags.add_error(
                "Invalid backfill batch size",
                "The maximum allowed value for `backfill_batch_size` is 50,000.",
                path=["backfill_batch_size"],
            )
        is_shared, tables = config.get("is_shared"), config.get("tables")
        if is_shared is True:
            if tables is None:
                diags.add_error(
                    "Invalid table configuration",
                    "You must specify a `tables` block if `is_shared` is set to true.",
                    path=["tables"],
                )
            elif tables is not Unknown and len(tables) == 0:
                diags.add_error(
                    "Invalid table configuration",
                    "You must specify at least one table in the `tables` block if `is_shared` is set to true.",
                    path=["tables"],
                )
        elif is_shared is not Unknown and tables not in (None, Unknown):
            diags.add_error(
                "Invalid table configuration",
                "You should not specify a `tables` block if `is_shared` is set to false.",
                path=["tables"],
            )
        check_table_keys(diags, tables)

    def to_state(self, api: dict, prior: dict) -> dict:
        return wire.reader_state(api, prior)

    def create(self, ctx: CreateContext, planned: dict) -> dict | None:
        return self._save(ctx, "create", self.path, wire.reader_payload(planned), planned, None)

    def update(self, ctx: UpdateContext, current: dict, planned: dict) -> dict | None:
        payload = wire.reader_payload({**planned, "uuid": current["uuid"]})
        return self._save(
            ctx, "update", f"{self.path}/{current['uuid']}", payload, planned, current
        )

    def _save(self, ctx, action: str, path: str, payload: dict, planned: dict, current):
        """Validate, save, then deploy a shared reader, as Artie's provider does."""

        def save():
            self.client.validate(
                f"{self.path}/validate-unsaved", {"sourceReader": payload}, "source reader"
            )
            return self.client.post(path, payload)

        api = self.call(ctx, action, save)
        if api is FAILED:
            return current
        if api.get("isShared"):
            self.call(ctx, "deploy", lambda: self.client.post(f"{self.path}/{api['uuid']}/deploy"))
        return self.to_state(api, planned)

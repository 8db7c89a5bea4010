"""`artie_pipeline`: replicates a source reader's tables into one destination.

Create and update validate the source and the destination first (`validate-unsaved-source`,
`validate-unsaved-destination`), then save with `deployPipeline`, then start or pause the
pipeline per `status_override`, in the order Artie's provider (`pipeline_resource.go`) does.
"""

from __future__ import annotations

from tf import schema, types
from tf.iface import CreateContext, UpdateContext
from tf.types import Unknown
from tf.utils import Diagnostics

from artie_sandbox.provider import wire
from artie_sandbox.provider.base import FAILED, ArtieResource, optional, required, uuid_attribute
from artie_sandbox.provider.nested import NestedAttribute
from artie_sandbox.provider.source_reader import check_table_keys


def _flag(name: str, description: str) -> schema.Attribute:
    """Optional + Computed with no default, as in Artie's provider: "known after apply" on create."""
    return optional(name, types.Bool(), description, computed=True)


_TABLE = [
    required("name", types.String(), "The name of the table in the source database."),
    optional("schema", types.String(), "The schema of the table, if the source uses schemas."),
    optional("alias", types.String(), "If set, the name of the destination table."),
    optional(
        "columns_to_exclude", types.List(types.String()), "Columns not synced to the destination."
    ),
    optional(
        "enable_history_mode",
        types.Bool(),
        "If true, also keep every change in a `<table>__history` table.",
    ),
    optional("skip_deletes", types.Bool(), "If true, delete events are skipped for this table."),
]

_DESTINATION = [
    optional(
        "database",
        types.String(),
        "The database to sync to (DuckDB: the `<database>.duckdb` file).",
    ),
    optional("schema", types.String(), "The schema to sync to in the destination."),
]


class PipelineResource(ArtieResource):
    """Artie Pipeline resource: syncs data from a source reader to a single destination."""

    name = "pipeline"
    description = (
        "Artie Pipeline resource. This represents a pipeline that syncs data from a "
        "single source reader to a single destination."
    )
    label = "Pipeline"
    path = "pipelines"
    error_paths = (
        (("is not shared and already feeds", "source_reader_uuid"), "source_reader_uuid"),
        (("does not capture",), "tables"),
        (("destination_connector_uuid",), "destination_connector_uuid"),
        (("destination_config",), "destination_config"),
        (("table",), "tables"),
        (("source reader",), "source_reader_uuid"),
    )

    @classmethod
    def attributes(cls) -> list[schema.Attribute]:
        return [
            uuid_attribute(),
            required("name", types.String(), "The human-readable name of the pipeline."),
            required(
                "source_reader_uuid",
                types.String(),
                "This must point to an `artie_source_reader` resource.",
            ),
            required(
                "destination_connector_uuid",
                types.String(),
                "This must point to an `artie_connector` resource for the destination.",
            ),
            NestedAttribute(
                "destination_config",
                _DESTINATION,
                "single",
                required=True,
                description="Destination settings specific to this pipeline.",
            ),
            NestedAttribute(
                "tables",
                _TABLE,
                "map",
                required=True,
                description="The tables to replicate. Keys are `schema_name.table_name`, or "
                "`table_name` without schemas.",
            ),
            _flag(
                "soft_delete_rows",
                "If true, deleted rows are kept and flagged `__artie_delete`.",
            ),
            _flag(
                "include_artie_updated_at_column",
                "If true, add `__artie_updated_at` (when Artie wrote the row).",
            ),
            _flag(
                "include_database_updated_at_column",
                "If true, add `__artie_db_updated_at` (when the source changed the row).",
            ),
            optional(
                "status_override",
                types.String(),
                "Only `paused` is supported: after an update the pipeline is paused instead "
                "of started. This cannot be set on creation.",
            ),
        ]

    def validate(self, diags: Diagnostics, type_name: str, config: dict):
        super().validate(diags, type_name, config)
        check_table_keys(diags, config.get("tables"))
        status = config.get("status_override")
        if status not in (None, Unknown, "paused"):
            diags.add_error(
                "Invalid status_override",
                f'status_override must be "paused" (or unset), not "{status}".',
                path=["status_override"],
            )

    def to_state(self, api: dict, prior: dict) -> dict:
        return wire.pipeline_state(api, prior)

    def _validate_unsaved(self, payload: dict) -> None:
        self.client.validate(
            f"{self.path}/validate-unsaved-source", wire.validate_source_body(payload), "source"
        )
        self.client.validate(
            f"{self.path}/validate-unsaved-destination",
            wire.validate_destination_body(payload),
            "destination",
        )

    def create(self, ctx: CreateContext, planned: dict) -> dict | None:
        if planned.get("status_override"):
            ctx.diagnostics.add_error(
                "Invalid configuration",
                "You cannot create a pipeline in a paused state. Please remove the status_override "
                "from your config, you can update the status of a running pipeline.",
                path=["status_override"],
            )
            return None
        return self._save(ctx, "create", self.path, wire.pipeline_payload(planned), planned, None)

    def update(self, ctx: UpdateContext, current: dict, planned: dict) -> dict | None:
        payload = wire.pipeline_payload({**planned, "uuid": current["uuid"]})
        return self._save(
            ctx, "update", f"{self.path}/{current['uuid']}", payload, planned, current
        )

    def _save(self, ctx, action: str, path: str, payload: dict, planned: dict, current):
        """Validate source and destination, save with deployPipeline, then start or pause."""

        def save():
            self._validate_unsaved(payload)
            return self.client.post(path, {"pipeline": payload, "deployPipeline": True})

        api = self.call(ctx, action, save)
        if api is FAILED:
            return current
        self._start_or_pause(ctx, api["uuid"], planned.get("status_override"))
        return self.to_state(api, planned)

    def _start_or_pause(self, ctx, uuid: str, status_override: str | None) -> None:
        if status_override == "paused":
            self.call(
                ctx,
                "pause",
                lambda: self.client.post(f"{self.path}/{uuid}/status", {"status": "paused"}),
            )
        else:
            self.call(ctx, "start", lambda: self.client.post(f"{self.path}/{uuid}/start", {}))

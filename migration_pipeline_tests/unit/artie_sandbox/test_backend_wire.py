"""The sandbox must read every body shape Artie's Terraform provider releases send (nulls, old table layout)."""

import pytest

from artie_sandbox.api import wire
from artie_sandbox.backend import BadRequest, Lag, PipelineView, TableView
from artie_sandbox.models import Pipeline, PipelineTable, ReaderTable, TableProgress
from migration_pipeline.artie.models import PipelineDetail


def test_pipeline_body_of_the_current_provider_with_nulls():
    body = {
        "pipeline": {
            "name": "analytics_v2",
            "dataPlaneName": "",
            "sourceReaderUUID": "r-1",
            "destinationUUID": "d-1",
            "snowflakeEcoScheduleUUID": None,
            "encryptionKeyUUID": None,
            "specificDestCfg": {"database": "analytics_v2", "schema": "main", "dataset": ""},
            "tables": [
                {
                    "uuid": "00000000-0000-0000-0000-000000000000",
                    "name": "orders",
                    "schema": "public",
                    "enableHistoryMode": True,
                    "disableReplication": False,
                    "advancedSettings": {
                        "alias": "orders_v2",
                        "excludeColumns": ["ssn"],
                        "skipDelete": None,
                        "mergePredicates": None,
                    },
                }
            ],
            "advancedSettings": {
                "enableSoftDelete": None,
                "includeArtieUpdatedAtColumn": True,
                "includeDatabaseUpdatedAtColumn": None,
                "bufferRows": None,
            },
        },
        "deployPipeline": True,
    }
    pipeline = wire.parse_pipeline(body)
    assert (pipeline.name, pipeline.source_reader_uuid, pipeline.destination_uuid) == (
        "analytics_v2",
        "r-1",
        "d-1",
    )
    assert (pipeline.database, pipeline.schema) == ("analytics_v2", "main")
    assert pipeline.tables == (PipelineTable("orders", "public", "orders_v2", ("ssn",), True),)
    assert (
        pipeline.soft_delete_rows,
        pipeline.include_artie_updated_at_column,
        pipeline.include_database_updated_at_column,
    ) == (False, True, False)


def test_older_provider_table_settings_at_the_top_level():
    tables = wire.parse_tables(
        [
            {
                "name": "orders",
                "schema": "",
                "alias": "o",
                "excludeColumns": ["a"],
                "skipDelete": True,
            }
        ],
        "pipeline",
    )
    assert tables == (PipelineTable("orders", "", "o", ("a",), False, True),)


def test_reader_body_with_tables_config():
    reader = wire.parse_reader(
        {
            "name": "prod",
            "connectorUUID": "c-1",
            "database": "shop",
            "isShared": True,
            "settings": {"backfillBatchSize": None},
            "containerName": "",
            "tablesConfig": {
                "public.orders": {
                    "name": "orders",
                    "schema": "public",
                    "isPartitioned": False,
                    "excludeColumns": None,
                    "includeColumns": ["id"],
                }
            },
        }
    )
    assert reader.is_shared is True
    assert reader.tables == {"public.orders": ReaderTable("orders", "public", (), ("id",))}
    assert wire.parse_reader({"connectorUUID": "c-1", "tablesConfig": {}}).tables is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, 'pipeline: the request body needs a "pipeline" object'),
        (
            {"pipeline": {"name": "p", "tables": {"orders": {}}}},
            'pipeline "p": field "tables" must be a list',
        ),
        (
            {"pipeline": {"name": "p", "tables": [{"name": 3}]}},
            'pipeline "p" tables[0]: field "name" must be a string',
        ),
    ],
)
def test_malformed_pipeline_bodies_say_which_field(body, message):
    with pytest.raises(BadRequest) as info:
        wire.parse_pipeline(body)
    assert info.value.message == message


def test_a_pipeline_table_reports_the_sandbox_progress_artie_reads_as_rows_eta_and_lag():
    orders, items = PipelineTable("orders"), PipelineTable("items")
    view = PipelineView(
        Pipeline("p-1", "v2", "r-1", "d-1", "v2", tables=(orders, items)),
        "sqlite",
        (
            TableView(
                orders,
                "backfilling",
                "in_progress",
                TableProgress(
                    "orders",
                    "backfilling",
                    "in_progress",
                    120,
                    190,
                    backfill_started_at="2026-11-29T08:00:00.000000Z",
                ),
            ),
            TableView(
                items,
                "streaming",
                "complete",
                TableProgress("items", "streaming", "complete", 5, 5),
            ),
        ),
        Lag(1240, 3.2),
    )
    tables = PipelineDetail.from_wire(wire.full_pipeline(view)).tables
    assert [
        (t.rows_backfilled, t.rows_estimated, t.changes_behind, t.seconds_behind) for t in tables
    ] == [(120, 190, None, None), (5, 5, 1240, 3.2)]
    assert tables[0].backfill_started_at.isoformat() == "2026-11-29T08:00:00+00:00"

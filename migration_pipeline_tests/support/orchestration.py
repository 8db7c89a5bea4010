"""A migrations.yaml the orchestration tests load, and a validation recorded the way the job
records one, for the tests of approvals, status and gates."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from migration_pipeline.orchestration.event_metadata import validation_key, validation_metadata
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.validation import TableReport, ValidationReport
from migration_pipeline.validation.report import SEEN_TWICE, ChangedRow, Confirmation

SPEC_YAML = """
migrations:
  shop_move:
    terraform: {dir: tf}
    reader: artie_source_reader.shop
    old_pipeline: artie_pipeline.v1
    new_pipeline: {address: artie_pipeline.v2, destination_config: {database: v2}}
    artie: {api_url: "http://127.0.0.1:9", api_key_env: TEST_ARTIE_KEY}
"""


def shop_spec(directory, **settings) -> MigrationSpec:
    """The SPEC_YAML migration as a spec, its module in `directory`, with `settings` added."""
    return MigrationSpec.model_validate(
        {
            "name": "shop_move",
            "terraform": {"dir": str(directory)},
            "reader": "artie_source_reader.shop",
            "old_pipeline": "artie_pipeline.v1",
            "new_pipeline": {
                "address": "artie_pipeline.v2",
                "destination_config": {"database": "v2"},
            },
            **settings,
        }
    )


def report_validation(instance, spec, validation_id: str, matches: bool, at: float) -> None:
    """A validation recorded the way the job records one (through the metadata codec)."""
    confirmed = TableReport(
        "orders",
        "orders",
        changed=(ChangedRow((1,), ()),),
        changed_total=1,
        confirmations=(Confirmation((1,), SEEN_TWICE),),
    )
    tables = () if matches else (confirmed,)
    finished = datetime.fromtimestamp(at, UTC)
    report = ValidationReport("old", "new", finished, finished, tables, id=validation_id)
    instance.report_runless_asset_event(
        dg.AssetMaterialization(validation_key(spec), metadata=validation_metadata(report))
    )

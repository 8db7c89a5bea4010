"""Which tables promote makes the shared reader capture and who each is named as needed by (the
refusal names them): found by mutation testing, the tables given only by the spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_pipeline.errors import StepRefused
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform import edits, hcl
from migration_pipeline.terraform.tables import AttachedPipeline, TableId

ORDERS, ITEMS = TableId("shop", "orders"), TableId("shop", "items")
V1 = AttachedPipeline("artie_pipeline.v1", frozenset({ORDERS, ITEMS}))


def spec(**extra) -> MigrationSpec:
    return MigrationSpec.model_validate(
        {
            "name": "m",
            "terraform": {"dir": "."},
            "reader": "artie_source_reader.mysql",
            "old_pipeline": "artie_pipeline.v1",
            "new_pipeline": {"address": "artie_pipeline.v2", **extra.pop("new", {})},
            **extra,
        }
    )


def test_a_table_the_new_pipeline_adds_is_needed_by_it_under_the_name_its_settings_give():
    needed = edits.needed_tables(
        spec(new={"tables": {"pay": {"name": "payments", "schema": "shop"}}}), [V1]
    )
    assert needed == {
        ORDERS: "artie_pipeline.v1",
        ITEMS: "artie_pipeline.v1",
        TableId("shop", "payments"): "artie_pipeline.v2",
    }


def test_reader_tables_are_needed_by_reader_tables():
    needed = edits.needed_tables(
        spec(reader_tables=["shop.orders", "shop.items", "shop.extra"]), [V1]
    )
    assert needed == {
        ORDERS: "reader_tables",
        ITEMS: "reader_tables",
        TableId("shop", "extra"): "reader_tables",
    }


def test_reader_tables_leaving_out_several_tables_names_each():
    with pytest.raises(StepRefused) as refused:
        edits.needed_tables(spec(reader_tables=["shop.extra"]), [V1])
    assert str(refused.value).startswith(
        "reader_tables leaves out shop.items (used by artie_pipeline.v1); "
        "shop.orders (used by artie_pipeline.v1): "
    )


def test_promote_again_after_create_is_not_refused(tmp_path: Path):
    reader = 'resource "artie_source_reader" "mysql" {\n  is_shared = true\n}\n'
    pipelines = 'resource "artie_pipeline" "v1" {}\n\nresource "artie_pipeline" "v2" {}\n'
    (tmp_path / "main.tf").write_text(f"{reader}\n{pipelines}")
    edit = edits.promote(hcl.load_module(tmp_path), spec(), [V1])
    assert edit.notes == (
        "reader tables: added shop.items (used by artie_pipeline.v1)",
        "reader tables: added shop.orders (used by artie_pipeline.v1)",
    )

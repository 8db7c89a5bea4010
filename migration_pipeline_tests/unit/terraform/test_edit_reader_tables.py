"""Which tables promote makes the shared reader capture and who each is named as needed by (the
refusal names them), which pipelines are attached with which tables, and the words of a refusal
to edit a resource: found by mutation testing of edits.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_pipeline.errors import ModuleEditError, StepRefused
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


def test_promote_is_the_promote_edit_and_keeps_an_aligned_reader_aligned(tmp_path: Path):
    reader = 'resource "artie_source_reader" "mysql" {\n  name           = "r"\n  connector_uuid = "c"\n}\n'
    (tmp_path / "main.tf").write_text(f'{reader}\nresource "artie_pipeline" "v1" {{}}\n')
    edit = edits.promote(hcl.load_module(tmp_path), spec(), [])
    assert edit.step == "promote"
    assert edit.files[tmp_path / "main.tf"].startswith(
        'resource "artie_source_reader" "mysql" {\n  name           = "r"\n'
        '  connector_uuid = "c"\n  is_shared      = true\n}\n'
    )


def test_a_pipeline_without_a_source_reader_is_not_attached(tmp_path: Path):
    (tmp_path / "main.tf").write_text(
        'resource "artie_pipeline" "v1" {\n  name = "v1"\n}\n'
        'resource "artie_pipeline" "v2" {\n  source_reader_uuid = artie_source_reader.mysql.uuid\n}\n'
    )
    module = hcl.load_module(tmp_path)
    assert edits.module_pipelines(module, "artie_source_reader.mysql") == [
        AttachedPipeline("artie_pipeline.v2", frozenset())
    ]


def test_an_attached_pipelines_tables_are_named_by_their_settings_else_their_key(tmp_path: Path):
    (tmp_path / "main.tf").write_text(
        'resource "artie_pipeline" "v1" {\n  source_reader_uuid = artie_source_reader.mysql.uuid\n'
        '  tables = { o = { name = "orders", schema = "shop" }, "shop.items" = {} }\n}\n'
    )
    (found,) = edits.module_pipelines(hcl.load_module(tmp_path), "artie_source_reader.mysql")
    assert found.tables == {ORDERS, ITEMS}


def test_a_resource_not_in_the_module_is_named_with_the_module_calls_it_may_be_in(tmp_path: Path):
    (tmp_path / "main.tf").write_text('resource "artie_pipeline" "v2" {}\n')
    with pytest.raises(ModuleEditError) as refused:
        edits.resource(hcl.load_module(tmp_path), "artie_pipeline.v1")
    assert str(refused.value) == f"artie_pipeline.v1 is not declared in {tmp_path}/*.tf."
    (tmp_path / "mods.tf").write_text(
        'module "eu" {\n  source = "./eu"\n}\nmodule "us" {\n  source = "./us"\n}\n'
    )
    with pytest.raises(ModuleEditError) as refused:
        edits.resource(hcl.load_module(tmp_path), "artie_pipeline.v1")
    assert str(refused.value) == (
        f"artie_pipeline.v1 is not declared in {tmp_path}/*.tf. It may be declared inside a "
        "module (eu, us): steps edit resources of the root module only."
    )


def test_a_refusal_of_count_lists_one_moved_block_per_instance(tmp_path: Path):
    (tmp_path / "main.tf").write_text('resource "artie_pipeline" "v1" {\n  count = 2\n}\n')
    with pytest.raises(ModuleEditError) as refused:
        edits.resource(hcl.load_module(tmp_path), "artie_pipeline.v1")
    assert str(refused.value).endswith(
        "the new address in the spec:\n"
        "moved {\n  from = artie_pipeline.v1[0]\n  to   = artie_pipeline.v1_0\n}\n"
        "moved {\n  from = artie_pipeline.v1[1]\n  to   = artie_pipeline.v1_1\n}"
    )

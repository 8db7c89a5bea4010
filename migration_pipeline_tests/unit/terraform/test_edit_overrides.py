"""The new pipeline's block, byte for byte, for each kind of override the spec can give (found by
mutation testing: tables matched by name rather than key, attributes the old block lacks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_pipeline.errors import ModuleEditError, StepRefused
from migration_pipeline.terraform import edits, hcl
from migration_pipeline.terraform.tables import AttachedPipeline, TableId
from migration_pipeline_tests.support.tf_modules import mysql_spec

READER = (
    'resource "artie_source_reader" "mysql" {\n  is_shared = true\n  tables = {\n'
    '    "shop.orders" = { name = "orders", schema = "shop" }\n  }\n}\n'
)


def new_text(directory: Path, old: str, **new) -> str:
    (directory / "main.tf").write_text(f"{READER}\n{old}")
    return edits.new_pipeline_text(hcl.load_module(directory), mysql_spec(directory, **new))


def test_a_table_override_finds_the_old_entry_by_its_name_when_the_keys_differ(tmp_path):
    old = (
        'resource "artie_pipeline" "v1" {\n  tables = {\n'
        '    orders = {\n      name = "orders"\n      schema = "shop"\n    }\n  }\n}'
    )
    text = new_text(tmp_path, old, tables={"shop.orders": {"alias": "o"}})
    assert text == old.replace("v1", "v2").replace(
        '      schema = "shop"\n', '      schema = "shop"\n      alias = "o"\n'
    )


def test_a_table_override_named_by_its_settings_finds_an_entry_named_by_its_key(tmp_path):
    old = 'resource "artie_pipeline" "v1" {\n  tables = {\n    "shop.orders" = {}\n  }\n}'
    text = new_text(
        tmp_path, old, tables={"orders_again": {"name": "orders", "schema": "shop", "alias": "o"}}
    )
    assert text == (
        'resource "artie_pipeline" "v2" {\n  tables = {\n    "shop.orders" = {'
        ' name = "orders", schema = "shop", alias = "o" }\n  }\n}'
    )


def test_a_table_override_for_a_new_table_adds_its_entry_indented_under_the_map(tmp_path):
    old = (
        'resource "artie_pipeline" "v1" {\n  soft_delete_rows = true\n  x = 1\n  tables = {\n'
        '    "shop.orders" = { name = "orders", schema = "shop" }\n  }\n}'
    )
    text = new_text(tmp_path, old, tables={"shop.payments": {"alias": "p"}})
    assert text == old.replace("v1", "v2").replace(
        "  }\n}",
        '    "shop.payments" = {\n      name = "payments"\n      schema = "shop"\n'
        '      alias = "p"\n    }\n  }\n}',
    )


def test_an_object_setting_of_a_table_is_indented_under_its_entry(tmp_path):
    old = (
        'resource "artie_pipeline" "v1" {\n  tables = {\n    "shop.orders" = {\n'
        '      name = "orders"\n    }\n  }\n}'
    )
    text = new_text(tmp_path, old, tables={"shop.orders": {"columns": {"email": "drop"}}})
    assert text == old.replace("v1", "v2").replace(
        '      name = "orders"\n',
        '      name = "orders"\n      columns = {\n        email = "drop"\n      }\n',
    )


@pytest.mark.parametrize("tables", ["", "  tables = var.tables\n"])
def test_table_overrides_refuse_an_old_pipeline_without_a_literal_tables_map(tmp_path, tables):
    old = f'resource "artie_pipeline" "v1" {{\n  name = "v1"\n{tables}}}'
    with pytest.raises(ModuleEditError) as refused:
        new_text(tmp_path, old, tables={"shop.orders": {"alias": "o"}})
    assert str(refused.value) == (
        "the old pipeline's tables must be a literal map to override them"
    )


def test_a_table_override_refuses_an_entry_that_is_not_a_literal_object(tmp_path):
    old = 'resource "artie_pipeline" "v1" {\n  tables = {\n    "shop.orders" = var.o\n  }\n}'
    with pytest.raises(ModuleEditError) as refused:
        new_text(tmp_path, old, tables={"shop.orders": {"alias": "o"}})
    assert str(refused.value) == (
        "tables['shop.orders'] of the old pipeline must be a literal object"
    )


def test_a_table_override_names_an_old_entry_it_cannot_read(tmp_path):
    old = 'resource "artie_pipeline" "v1" {\n  tables = {\n    "shop.x" = var.x\n  }\n}'
    with pytest.raises(ModuleEditError) as refused:
        new_text(tmp_path, old, tables={"shop.orders": {"alias": "o"}})
    assert str(refused.value) == (
        "the old pipeline's tables['shop.x'] is the expression `var.x`; the step needs it "
        "written as a literal value to copy it safely."
    )


def test_overrides_the_old_block_lacks_are_added_as_new_lines(tmp_path):
    old = 'resource "artie_pipeline" "v1" {\n  soft_delete_rows = true\n  flush = 1\n}'
    text = new_text(
        tmp_path,
        old,
        name="v2",
        destination_connector_uuid="c-2",
        destination_config={"database": "d"},
        settings={"flush_rows": 10},
    )
    assert text == (
        'resource "artie_pipeline" "v2" {\n  soft_delete_rows = true\n  flush = 1\n  name = "v2"\n'
        '  destination_connector_uuid = "c-2"\n  destination_config = {\n'
        '    database = "d"\n  }\n  flush_rows = 10\n}'
    )


def test_an_aligned_old_block_gives_an_aligned_new_block(tmp_path):
    old = 'resource "artie_pipeline" "v1" {\n  name   = "v1"\n  tables = {}\n}'
    text = new_text(tmp_path, old, settings={"soft_delete_rows": True})
    assert text == (
        'resource "artie_pipeline" "v2" {\n  name             = "v1"\n'
        "  tables           = {}\n  soft_delete_rows = true\n}"
    )


def test_a_status_override_in_the_settings_is_kept_in_the_copy(tmp_path):
    old = 'resource "artie_pipeline" "v1" {\n  status_override = "paused"\n}'
    text = new_text(tmp_path, old, settings={"status_override": "active"})
    assert text == 'resource "artie_pipeline" "v2" {\n  status_override = "active"\n}'


def test_create_lists_every_table_the_reader_does_not_capture(tmp_path):
    old = (
        'resource "artie_pipeline" "v1" {\n  destination_connector_uuid = "c-1"\n  tables = {}\n}\n'
    )
    (tmp_path / "main.tf").write_text(f"{READER}\n{old}")
    new = mysql_spec(
        tmp_path,
        destination_connector_uuid="c-2",
        tables={"shop.a": {}, "shop.b": {}},
    )
    with pytest.raises(StepRefused) as refused:
        edits.create(hcl.load_module(tmp_path), new)
    assert str(refused.value) == (
        "artie_source_reader.mysql.tables does not cover shop.a, shop.b of the new pipeline: "
        "run promote again so the reader captures them."
    )


def test_several_entries_added_to_an_empty_one_line_map_are_comma_separated(tmp_path):
    # Terraform rejects `{ a = 1  b = 2 }` ("Missing attribute separator"): a real bug, once.
    reader = 'resource "artie_source_reader" "mysql" {\n  is_shared = true\n  tables = {}\n}\n'
    old = 'resource "artie_pipeline" "v1" {\n  tables = {\n    "shop.orders" = {}\n  }\n}\n'
    (tmp_path / "main.tf").write_text(f"{reader}\n{old}")
    module = hcl.load_module(tmp_path)
    pipelines = [AttachedPipeline("artie_pipeline.v1", frozenset({TableId("shop", "orders")}))]
    promoted = edits.promote(module, mysql_spec(tmp_path, tables={"shop.a": {}}), pipelines)
    assert promoted.files[tmp_path / "main.tf"] == (
        'resource "artie_source_reader" "mysql" {\n  is_shared = true\n  tables = {'
        ' "shop.a" = {\n      name = "a"\n      schema = "shop"\n    }, "shop.orders" = {\n'
        '      name = "orders"\n      schema = "shop"\n    } }\n}\n\n' + old
    )
    text = edits.new_pipeline_text(
        module, mysql_spec(tmp_path, tables={"shop.orders": {"alias": "o", "soft_delete": True}})
    )
    assert '"shop.orders" = { alias = "o", soft_delete = true }' in text


def test_an_object_setting_is_indented_under_the_block(tmp_path):
    old = 'resource "artie_pipeline" "v1" {\n  name = "v1"\n  x = 1\n}'
    text = new_text(tmp_path, old, settings={"advanced": {"flush_rows": 10}})
    assert text == old.replace("v1", "v2", 1).replace(
        "  x = 1\n", "  x = 1\n  advanced = {\n    flush_rows = 10\n  }\n"
    )

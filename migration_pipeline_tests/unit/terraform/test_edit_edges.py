"""Edges of the step edits found by mutation testing: which references stop a cutover (and which
mentions do not), what counts as the same destination, and the moved blocks a refusal offers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_pipeline.errors import ModuleEditError, StepRefused
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform import edits, hcl
from migration_pipeline_tests.support.tf_modules import mysql_spec, spec_for, write_module

READER = (
    'resource "artie_source_reader" "mysql" {\n  is_shared = true\n  tables = {\n'
    '    "shop.orders" = { name = "orders", schema = "shop" }\n  }\n}\n'
)
OLD = 'resource "artie_pipeline" "v1" {\n  name = "v1"\n}\n'
NEW = 'resource "artie_pipeline" "v2" {\n  name = "v2"\n}\n'


def cutover(directory: Path, files: dict[str, str]) -> edits.StepEdit:
    for name, text in files.items():
        (directory / name).write_text(text)
    return edits.cutover(hcl.load_module(directory), mysql_spec(directory))


def test_a_reference_in_another_file_at_an_offset_inside_the_old_block_refuses(tmp_path):
    other = "locals {\n  x = artie_pipeline.v1.name\n}\n"
    with pytest.raises(StepRefused) as refused:
        cutover(tmp_path, {"a.tf": f"{OLD}\n{READER}\n{NEW}", "b.tf": other})
    assert str(refused.value) == (
        "artie_pipeline.v1 is still referenced at b.tf:2: remove those references, then run "
        "cutover again."
    )


def test_references_are_listed_file_and_line(tmp_path):
    uses = "locals {\n  a = artie_pipeline.v1.uuid\n\n  b = artie_pipeline.v1.name\n}\n"
    with pytest.raises(StepRefused) as refused:
        cutover(tmp_path, {"main.tf": f"{READER}\n{OLD}\n{NEW}", "locals.tf": uses})
    assert str(refused.value) == (
        "artie_pipeline.v1 is still referenced at locals.tf:2, locals.tf:4: remove those "
        "references, then run cutover again."
    )


def test_mentions_in_comments_of_any_style_and_indent_are_not_references(tmp_path):
    mentions = (
        "locals {\n  # artie_pipeline.v1 was the first\n    // artie_pipeline.v1 too\n  a = 1\n}\n"
    )
    edit = cutover(tmp_path, {"main.tf": f"{READER}\n{OLD}\n{NEW}", "locals.tf": mentions})
    assert edit.step == "cutover"
    assert edit.files == {tmp_path / "main.tf": f"{READER}\n{NEW}"}


def test_a_cutover_already_done_is_a_cutover_edit_with_nothing_to_write(tmp_path):
    edit = cutover(tmp_path, {"main.tf": f"{READER}\n{NEW}"})
    assert (edit.step, edit.files) == ("cutover", {})


def test_the_old_block_after_a_leading_blank_line_leaves_its_file_empty(tmp_path):
    edit = cutover(tmp_path, {"main.tf": f"{READER}\n{NEW}", "old.tf": f"\n{OLD}"})
    assert edit.files == {tmp_path / "old.tf": ""}


def test_the_same_connector_with_another_destination_config_is_a_new_destination(tmp_path):
    directory = write_module(tmp_path / "m")
    base = spec_for(directory)
    module = hcl.load_module(directory)
    edit = edits.promote(module, base, edits.module_pipelines(module, base.reader))
    for path, text in edit.files.items():
        path.write_text(text)
    same_connector = base.new_pipeline.model_copy(
        update={
            "destination_connector": "artie_connector.snowflake",
            "destination_config": {"database": "analytics_v2", "schema": "main"},
        }
    )
    created = edits.create(
        hcl.load_module(directory), base.model_copy(update={"new_pipeline": same_connector})
    )
    assert created.files  # written, not refused


def test_a_pipeline_without_destination_config_is_compared_by_connector(tmp_path):
    old = (
        'resource "artie_pipeline" "v1" {\n  name = "v1"\n'
        "  source_reader_uuid = artie_source_reader.mysql.uuid\n"
        '  destination_connector_uuid = "c-1"\n  tables = {\n'
        '    "shop.orders" = { name = "orders", schema = "shop" }\n  }\n}\n'
    )
    (tmp_path / "main.tf").write_text(f"{READER}\n{old}")
    same = MigrationSpec.model_validate(
        {
            "name": "m",
            "terraform": {"dir": str(tmp_path)},
            "reader": "artie_source_reader.mysql",
            "old_pipeline": "artie_pipeline.v1",
            "new_pipeline": {"address": "artie_pipeline.v2"},
        }
    )
    with pytest.raises(StepRefused, match="same destination as the old one"):
        edits.create(hcl.load_module(tmp_path), same)
    other = same.model_copy(
        update={
            "new_pipeline": same.new_pipeline.model_copy(
                update={"destination_connector_uuid": "c-2"}
            )
        }
    )
    assert edits.create(hcl.load_module(tmp_path), other).files


def test_tables_written_as_an_expression_cannot_be_copied(tmp_path):
    old = (
        'resource "artie_pipeline" "v1" {\n  name = "v1"\n  tables = var.tables\n'
        '  destination_connector_uuid = "c-1"\n}\n'
    )
    (tmp_path / "main.tf").write_text(f"{READER}\n{old}")
    spec_ = mysql_spec(tmp_path).model_copy(
        update={
            "new_pipeline": mysql_spec(tmp_path).new_pipeline.model_copy(
                update={"destination_connector_uuid": "c-2"}
            )
        }
    )
    with pytest.raises(ModuleEditError) as refused:
        edits.create(hcl.load_module(tmp_path), spec_)
    assert str(refused.value) == (
        "the old pipeline's tables is the expression `var.tables`; the step needs it written "
        "as a literal value to copy it safely."
    )


@pytest.mark.parametrize(
    "meta, value, instances",
    (
        ("count", "var.n", ["[0]"]),
        ("count", "0", ["[0]"]),
        ("count", "2", ["[0]", "[1]"]),
        ("for_each", "var.m", ['["KEY"]']),
        ("for_each", "{}", ['["KEY"]']),
        ("for_each", "{ a = 1, b = 2 }", ['["a"]', '["b"]']),
        ("for_each", 'toset(["x"])', ['["KEY"]']),
        ("for_each", '["x", "y"]', ['["x"]', '["y"]']),
    ),
)
def test_a_refusal_offers_a_moved_block_per_instance(tmp_path, meta, value, instances):
    old = f'resource "artie_pipeline" "v1" {{\n  {meta} = {value}\n  name = "v1"\n}}\n'
    with pytest.raises(ModuleEditError) as refused:
        cutover(tmp_path, {"main.tf": f"{READER}\n{old}\n{NEW}"})
    moves = [
        line.split("= ", 1)[1]
        for line in str(refused.value).splitlines()
        if line.strip().startswith("from")
    ]
    assert moves == [f"artie_pipeline.v1{i}" for i in instances]


def test_unshare_of_a_reader_without_is_shared_only_removes_its_tables(tmp_path):
    reader = (
        'resource "artie_source_reader" "mysql" {\n  name = "r"\n  tables = {\n'
        '    "shop.orders" = { name = "orders", schema = "shop" }\n  }\n}\n'
    )
    (tmp_path / "main.tf").write_text(f"{reader}\n{NEW}")
    edit = edits.unshare(hcl.load_module(tmp_path), mysql_spec(tmp_path), [])
    assert (edit.step, edit.files) == (
        "unshare",
        {
            tmp_path / "main.tf": (
                f'resource "artie_source_reader" "mysql" {{\n  name = "r"\n}}\n\n{NEW}'
            )
        },
    )


def test_create_refuses_a_new_table_the_reader_does_not_capture(tmp_path):
    old = (
        'resource "artie_pipeline" "v1" {\n  name = "v1"\n  destination_connector_uuid = "c-1"\n}\n'
    )
    (tmp_path / "main.tf").write_text(f"{READER}\n{old}")
    base = mysql_spec(tmp_path)
    new = base.new_pipeline.model_copy(update={"destination_connector_uuid": "c-2"})
    assert (
        edits.create(hcl.load_module(tmp_path), base.model_copy(update={"new_pipeline": new})).step
        == "create"
    )
    with_table = new.model_copy(update={"tables": {"shop.payments": {}}})
    old_with_tables = old.replace('  name = "v1"\n', '  name = "v1"\n  tables = {}\n')
    (tmp_path / "main.tf").write_text(f"{READER}\n{old_with_tables}")
    with pytest.raises(StepRefused) as refused:
        edits.create(
            hcl.load_module(tmp_path), base.model_copy(update={"new_pipeline": with_table})
        )
    assert str(refused.value) == (
        "artie_source_reader.mysql.tables does not cover shop.payments of the new pipeline: run "
        "promote again so the reader captures them."
    )


def test_create_with_nothing_to_write_is_still_the_create_edit(tmp_path):
    old = (
        'resource "artie_pipeline" "v1" {\n  name = "v1"\n  destination_connector_uuid = "c-1"\n}\n'
    )
    (tmp_path / "main.tf").write_text(f"{READER}\n{old}")
    base = mysql_spec(tmp_path)
    moved = base.model_copy(
        update={
            "new_pipeline": base.new_pipeline.model_copy(
                update={"destination_connector_uuid": "c-2"}
            )
        }
    )
    first = edits.create(hcl.load_module(tmp_path), moved)
    for path, text in first.files.items():
        path.write_text(text)
    assert (first.step, edits.create(hcl.load_module(tmp_path), moved).files) == ("create", {})
    again = edits.create(hcl.load_module(tmp_path), moved)
    assert (again.step, again.files) == ("create", {})
    (tmp_path / "main.tf").write_text(f"{READER}\n{NEW}")
    done = edits.create(hcl.load_module(tmp_path), moved)
    assert (done.step, done.files) == ("create", {})


def test_a_reference_line_counts_a_leading_newline(tmp_path):
    with pytest.raises(StepRefused) as refused:
        cutover(
            tmp_path,
            {
                "main.tf": f"{READER}\n{OLD}\n{NEW}",
                "locals.tf": "\nlocals {\n  a = artie_pipeline.v1.uuid\n}\n",
            },
        )
    assert "referenced at locals.tf:3:" in str(refused.value)


def test_a_destination_config_expression_is_compared_as_written(tmp_path):
    old = (
        'resource "artie_pipeline" "v1" {\n  name = "v1"\n'
        '  destination_connector_uuid = "c-1"\n  destination_config = var.cfg\n}\n'
    )
    (tmp_path / "main.tf").write_text(f"{READER}\n{old}")
    with pytest.raises(StepRefused, match="same destination as the old one"):
        edits.create(hcl.load_module(tmp_path), mysql_spec(tmp_path))


def test_a_literal_destination_config_is_compared_by_value_not_layout(tmp_path):
    old = (
        'resource "artie_pipeline" "v1" {\n  name = "v1"\n'
        '  destination_connector_uuid = "c-1"\n'
        '  destination_config = { database = "a", schema = "main" }\n}\n'
    )
    (tmp_path / "main.tf").write_text(f"{READER}\n{old}")
    base = mysql_spec(tmp_path)
    same = base.model_copy(
        update={
            "new_pipeline": base.new_pipeline.model_copy(
                update={"destination_config": {"schema": "main", "database": "a"}}
            )
        }
    )
    with pytest.raises(StepRefused, match="same destination as the old one"):
        edits.create(hcl.load_module(tmp_path), same)


def test_the_specs_settings_are_written_into_the_new_block(tmp_path):
    old = (
        'resource "artie_pipeline" "v1" {\n  name = "v1"\n'
        '  destination_connector_uuid = "c-1"\n  soft_delete_rows = false\n}\n'
    )
    (tmp_path / "main.tf").write_text(f"{READER}\n{old}")
    base = mysql_spec(tmp_path)
    new = base.new_pipeline.model_copy(
        update={
            "destination_connector_uuid": "c-2",
            "settings": {"soft_delete_rows": True, "drop_deleted_columns": True},
        }
    )
    text = edits.new_pipeline_text(
        hcl.load_module(tmp_path), base.model_copy(update={"new_pipeline": new})
    )
    assert text == (
        'resource "artie_pipeline" "v2" {\n  name = "v1"\n'
        '  destination_connector_uuid = "c-2"\n  soft_delete_rows = true\n'
        "  drop_deleted_columns = true\n}"
    )

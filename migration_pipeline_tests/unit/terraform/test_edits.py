"""The four step edits change only the intended lines of a user's module and refuse unsafe shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_pipeline.errors import ModuleEditError, StepRefused
from migration_pipeline.terraform import edits, hcl
from migration_pipeline.terraform.tables import AttachedPipeline, TableId
from migration_pipeline_tests.support.tf_modules import (
    CONNECTORS_TF,
    PIPELINES_TF,
    PROVIDERS_TF,
    SINGLE_FILE_TF,
    single_file_spec,
    spec_for,
    write_module,
)

READER_TABLES = """\
  is_shared = true
  tables = {
    "shop.customers" = {
      name = "customers"
      schema = "shop"
    }
    "shop.line_items" = {
      name = "line_items"
      schema = "shop"
    }
    "shop.orders" = {
      name = "orders"
      schema = "shop"
    }
  }
"""

NEW_PIPELINE = """
resource "artie_pipeline" "orders_duckdb" {
  name                       = "orders -> duckdb v2"
  source_reader_uuid         = artie_source_reader.mysql.uuid
  destination_connector_uuid = artie_connector.duckdb_v2.uuid
  destination_config = {
    database = "analytics_v2"
    schema = "main"
  }
  tables = {
    "shop.orders" = { name = "orders", schema = "shop", alias = "orders", enable_history_mode = true }
    "shop.customers" = {
      name               = "customers"
      schema             = "shop"    # PII: emails excluded
      columns_to_exclude = ["email"]
    }
    "shop.line_items"    =    {name="line_items",schema="shop"}
  }
  soft_delete_rows = true
}
"""

OLD_PIPELINE_WITH_COMMENTS = PIPELINES_TF[
    PIPELINES_TF.index("# The pipeline we are moving") : PIPELINES_TF.index('output "reader_uuid"')
]
READER_END = "  # data_plane_name is inherited from the connector\n"


def apply(edit: edits.StepEdit) -> None:
    for path, text in edit.files.items():
        path.write_bytes(text.encode())


def attached(module: hcl.Module, spec) -> list[AttachedPipeline]:
    return edits.module_pipelines(module, spec.reader)


def promote(directory: Path, spec, extra: list[AttachedPipeline] = ()) -> edits.StepEdit:
    module = hcl.load_module(directory)
    edit = edits.promote(module, spec, attached(module, spec) + list(extra))
    apply(edit)
    return edit


def test_promote_inserts_is_shared_and_the_union_of_tables_and_nothing_else(tmp_path):
    directory = write_module(tmp_path / "m")
    edit = promote(directory, spec_for(directory))
    assert set(edit.files) == {directory / "pipelines.tf"}
    expected = PIPELINES_TF.replace(READER_END, READER_END + READER_TABLES, 1)
    assert (directory / "pipelines.tf").read_text() == expected
    assert (directory / "connectors.tf").read_text() == CONNECTORS_TF
    assert (directory / "providers.tf").read_text() == PROVIDERS_TF
    assert edit.notes == (
        "reader tables: added shop.customers (used by artie_pipeline.orders_snowflake)",
        "reader tables: added shop.line_items (used by artie_pipeline.orders_snowflake)",
        "reader tables: added shop.orders (used by artie_pipeline.orders_snowflake)",
    )


def test_promote_a_second_time_edits_nothing(tmp_path):
    directory = write_module(tmp_path / "m")
    spec = spec_for(directory)
    promote(directory, spec)
    assert promote(directory, spec).files == {}


def test_promote_adds_tables_only_artie_reports_for_the_reader(tmp_path):
    directory = write_module(tmp_path / "m")
    outside = AttachedPipeline(
        "Artie pipeline 'audit' (u-1, not in this module)", frozenset({TableId("shop", "refunds")})
    )
    edit = promote(directory, spec_for(directory), [outside])
    assert edit.notes[-1] == (
        "reader tables: added shop.refunds (used by Artie pipeline "
        "'audit' (u-1, not in this module))"
    )
    assert '    "shop.refunds" = {\n      name = "refunds"\n      schema = "shop"\n    }\n' in (
        (directory / "pipelines.tf").read_text()
    )


def test_promote_on_a_shared_reader_missing_a_table_adds_only_that_table(tmp_path):
    reader = PIPELINES_TF.replace(
        READER_END,
        READER_END
        + (
            "  is_shared = true # shared for the audit pipeline\n"
            "  tables = {\n"
            '    "shop.orders" = { name = "orders", schema = "shop" }   # keep\n'
            '    "shop.customers" = { name = "customers", schema = "shop", columns_to_exclude = [] }\n'
            "  }\n"
        ),
    )
    directory = write_module(tmp_path / "m", {"pipelines.tf": reader})
    edit = promote(directory, spec_for(directory))
    added = '    "shop.line_items" = {\n      name = "line_items"\n      schema = "shop"\n    }\n'
    anchor = (
        '    "shop.customers" = { name = "customers", schema = "shop", columns_to_exclude = [] }\n'
    )
    assert (directory / "pipelines.tf").read_text() == reader.replace(anchor, anchor + added)
    assert edit.notes == (
        "reader tables: added shop.line_items (used by artie_pipeline.orders_snowflake)",
    )


def test_promote_refuses_reader_tables_that_drop_a_table_the_old_pipeline_needs(tmp_path):
    directory = write_module(tmp_path / "m")
    spec = spec_for(directory, reader_tables=["shop.orders", "shop.customers"])
    with pytest.raises(StepRefused) as refused:
        promote(directory, spec)
    assert str(refused.value) == (
        "reader_tables leaves out shop.line_items (used by artie_pipeline.orders_snowflake): "
        "the reader would stop capturing them and those pipelines would go stale. Add them to "
        "reader_tables or remove reader_tables to use the union."
    )
    assert (directory / "pipelines.tf").read_text() == PIPELINES_TF


def test_create_inserts_a_copy_of_the_old_pipeline_with_the_overrides(tmp_path):
    directory = write_module(tmp_path / "m")
    spec = spec_for(directory)
    promote(directory, spec)
    before = (directory / "pipelines.tf").read_text()
    edit = edits.create(hcl.load_module(directory), spec)
    apply(edit)
    anchor = "  soft_delete_rows = true\n}\n"
    assert (directory / "pipelines.tf").read_text() == before.replace(anchor, anchor + NEW_PIPELINE)
    assert edits.create(hcl.load_module(directory), spec).files == {}


def test_create_refuses_before_promote(tmp_path):
    directory = write_module(tmp_path / "m")
    with pytest.raises(StepRefused) as refused:
        edits.create(hcl.load_module(directory), spec_for(directory))
    assert (
        str(refused.value)
        == "artie_source_reader.mysql is not shared yet: run promote before create."
    )


def test_create_refuses_an_address_already_taken_by_another_block(tmp_path):
    taken = PIPELINES_TF + '\nresource "artie_pipeline" "orders_duckdb" {\n  name = "other"\n}\n'
    directory = write_module(tmp_path / "m", {"pipelines.tf": taken})
    with pytest.raises(StepRefused) as refused:
        edits.create(hcl.load_module(directory), spec_for(directory))
    assert str(refused.value) == (
        "artie_pipeline.orders_duckdb is already declared in pipelines.tf with different "
        "settings; the new pipeline's address must be free. Choose another "
        "new_pipeline.address or remove that block."
    )


def test_create_refuses_the_same_destination_as_the_old_pipeline(tmp_path):
    directory = write_module(tmp_path / "m")
    spec = spec_for(directory)
    promote(directory, spec)
    same = spec.new_pipeline.model_copy(
        update={
            "destination_connector": "artie_connector.snowflake",
            "destination_config": {"database": "analytics", "schema": "main"},
        }
    )
    with pytest.raises(StepRefused) as refused:
        edits.create(hcl.load_module(directory), spec.model_copy(update={"new_pipeline": same}))
    assert str(refused.value) == (
        "The new pipeline would write to the same destination as the old one (same "
        "destination_connector_uuid and destination_config): set new_pipeline."
        "destination_connector or destination_config to a different destination."
    )


def _through_create(tmp_path) -> tuple[Path, object]:
    directory = write_module(tmp_path / "m")
    spec = spec_for(directory)
    promote(directory, spec)
    apply(edits.create(hcl.load_module(directory), spec))
    return directory, spec


def test_cutover_removes_the_old_block_and_the_comments_directly_above_it(tmp_path):
    directory, spec = _through_create(tmp_path)
    before = (directory / "pipelines.tf").read_text()
    apply(edits.cutover(hcl.load_module(directory), spec))
    assert (directory / "pipelines.tf").read_text() == before.replace(
        OLD_PIPELINE_WITH_COMMENTS, "", 1
    )
    assert edits.cutover(hcl.load_module(directory), spec).files == {}


def test_cutover_refuses_while_the_old_pipeline_is_still_referenced(tmp_path):
    directory, spec = _through_create(tmp_path)
    (directory / "outputs.tf").write_text(
        "# artie_pipeline.orders_snowflake is mentioned in a comment only here\n"
        "locals {\n  old = artie_pipeline.orders_snowflake.uuid\n}\n"
    )
    with pytest.raises(StepRefused) as refused:
        edits.cutover(hcl.load_module(directory), spec)
    assert str(refused.value) == (
        "artie_pipeline.orders_snowflake is still referenced at outputs.tf:3: remove those "
        "references, then run cutover again."
    )


def test_cutover_removes_outputs_that_only_expose_the_old_pipeline(tmp_path):
    directory, spec = _through_create(tmp_path)
    outputs = (
        '# The old pipeline, for dashboards\noutput "old_uuid" {\n'
        "  value = artie_pipeline.orders_snowflake.uuid\n}\n\n"
        'output "reader" {\n  value = artie_source_reader.mysql.uuid\n}\n'
    )
    (directory / "outputs.tf").write_text(outputs)
    edit = edits.cutover(hcl.load_module(directory), spec)
    apply(edit)
    assert (directory / "outputs.tf").read_text() == (
        'output "reader" {\n  value = artie_source_reader.mysql.uuid\n}\n'
    )
    assert edit.notes == (
        "removed output old_uuid (it only exposed artie_pipeline.orders_snowflake)",
    )


def test_cutover_refuses_before_the_new_pipeline_exists(tmp_path):
    directory = write_module(tmp_path / "m")
    with pytest.raises(StepRefused) as refused:
        edits.cutover(hcl.load_module(directory), spec_for(directory))
    assert str(refused.value) == (
        "artie_pipeline.orders_duckdb is not in the module: run create and validate the new "
        "pipeline before cutover."
    )


def test_unshare_restores_the_reader_except_an_explicit_is_shared_false(tmp_path):
    directory, spec = _through_create(tmp_path)
    apply(edits.cutover(hcl.load_module(directory), spec))
    module = hcl.load_module(directory)
    apply(edits.unshare(module, spec, attached(module, spec)))
    text = (directory / "pipelines.tf").read_text()
    expected = PIPELINES_TF.replace(READER_END, READER_END + "  is_shared = false\n", 1)
    expected = expected.replace(OLD_PIPELINE_WITH_COMMENTS, NEW_PIPELINE.lstrip("\n") + "\n")
    assert text == expected
    module = hcl.load_module(directory)
    assert edits.unshare(module, spec, attached(module, spec)).files == {}


def test_unshare_refuses_with_two_pipelines_attached(tmp_path):
    directory, spec = _through_create(tmp_path)
    apply(edits.cutover(hcl.load_module(directory), spec))
    module = hcl.load_module(directory)
    other = AttachedPipeline("Artie pipeline 'audit' (u-1, not in this module)", frozenset())
    with pytest.raises(StepRefused) as refused:
        edits.unshare(module, spec, attached(module, spec) + [other])
    assert str(refused.value) == (
        "artie_source_reader.mysql still has 2 pipelines attached (artie_pipeline.orders_duckdb, "
        "Artie pipeline 'audit' (u-1, not in this module)); Artie only unshares a reader with "
        "at most one pipeline. If the others are meant to stay on this reader, set "
        "`unshare: false` for this migration (the reader stays shared); otherwise cut them over "
        "first."
    )


def test_unshare_refuses_before_cutover(tmp_path):
    directory, spec = _through_create(tmp_path)
    module = hcl.load_module(directory)
    with pytest.raises(StepRefused) as refused:
        edits.unshare(module, spec, attached(module, spec))
    assert str(refused.value) == (
        "artie_pipeline.orders_snowflake is still in the module: run cutover first."
    )


@pytest.mark.parametrize(
    ("meta", "instance", "target"),
    [
        ("count = 1", "[0]", "orders_snowflake_0"),
        ('for_each = { analytics_v1 = "a" }', '["analytics_v1"]', "analytics_v1"),
    ],
)
def test_resources_with_count_or_for_each_are_refused_with_the_moved_block(
    tmp_path, meta, instance, target
):
    text = PIPELINES_TF.replace(
        'resource "artie_pipeline" "orders_snowflake" {\n',
        f'resource "artie_pipeline" "orders_snowflake" {{\n  {meta}\n',
    )
    directory = write_module(tmp_path / "m", {"pipelines.tf": text})
    word = meta.split()[0]
    with pytest.raises(ModuleEditError) as refused:
        promote(directory, spec_for(directory))
    assert str(refused.value) == (
        f"artie_pipeline.orders_snowflake uses {word}, so one block declares several "
        "artie_pipeline resources; a step edits exactly one. Give the instance you migrate "
        f"its own block (declared without {word}, the instance removed from {word}) and move "
        "it with a `moved` block, so Terraform keeps it instead of destroying and recreating "
        "it; check that `terraform plan` shows no change, then name the new address in the "
        f"spec:\nmoved {{\n  from = artie_pipeline.orders_snowflake{instance}\n"
        f"  to   = artie_pipeline.{target}\n}}"
    )


def test_a_resource_inside_a_module_call_is_refused_with_the_reason(tmp_path):
    directory = write_module(
        tmp_path / "m", {"main.tf": 'module "replication" {\n  source = "./replication"\n}\n'}
    )
    with pytest.raises(ModuleEditError) as refused:
        promote(directory, spec_for(directory))
    assert str(refused.value) == (
        f"artie_source_reader.mysql is not declared in {directory}/*.tf. It may be declared "
        "inside a module (replication): steps edit resources of the root module only."
    )


def test_a_reader_whose_tables_are_an_expression_is_refused(tmp_path):
    text = PIPELINES_TF.replace(
        READER_END, READER_END + "  is_shared = true\n  tables = var.reader_tables\n"
    )
    directory = write_module(tmp_path / "m", {"pipelines.tf": text})
    with pytest.raises(ModuleEditError) as refused:
        promote(directory, spec_for(directory))
    assert str(refused.value) == (
        "artie_source_reader.mysql.tables is the expression `var.reader_tables`; the step needs "
        "it written as a literal value to edit it safely."
    )


def test_crlf_files_keep_their_line_ends(tmp_path):
    crlf = PIPELINES_TF.replace("\n", "\r\n")
    directory = write_module(tmp_path / "m", {"pipelines.tf": crlf})
    promote(directory, spec_for(directory))
    expected = PIPELINES_TF.replace(READER_END, READER_END + READER_TABLES, 1)
    assert (directory / "pipelines.tf").read_bytes() == expected.replace("\n", "\r\n").encode()


def test_after_cutover_promote_refuses_and_create_has_nothing_to_do(tmp_path):
    directory, spec = _through_create(tmp_path)
    apply(edits.cutover(hcl.load_module(directory), spec))
    module = hcl.load_module(directory)
    assert edits.create(module, spec).files == {}
    with pytest.raises(StepRefused) as refused:
        edits.promote(module, spec, attached(module, spec))
    assert str(refused.value) == (
        "artie_pipeline.orders_snowflake is already cut over (only artie_pipeline.orders_duckdb "
        "is left): promote no longer applies."
    )


def test_the_copy_leaves_out_status_override_which_artie_rejects_on_creation(tmp_path):
    paused = PIPELINES_TF.replace(
        "  soft_delete_rows = true\n", '  soft_delete_rows = true\n  status_override  = "paused"\n'
    )
    directory = write_module(tmp_path / "m", {"pipelines.tf": paused})
    spec = spec_for(directory)
    promote(directory, spec)
    text = edits.new_pipeline_text(hcl.load_module(directory), spec)
    assert text == NEW_PIPELINE.strip("\n")


def test_a_reader_written_on_one_line_is_refused(tmp_path):
    text = (
        'resource "artie_source_reader" "mysql" { name = "r" }\n'
        + PIPELINES_TF[PIPELINES_TF.index("# The pipeline") :]
    )
    directory = write_module(tmp_path / "m", {"pipelines.tf": text})
    with pytest.raises(ModuleEditError) as refused:
        promote(directory, spec_for(directory))
    assert str(refused.value) == (
        "pipelines.tf:1: a block written on one line cannot take another attribute; write it "
        "over several lines first."
    )


def test_a_single_file_module_with_nested_blocks_through_all_steps(tmp_path):
    directory = write_module(tmp_path / "m", {"main.tf": SINGLE_FILE_TF})
    main = directory / "main.tf"
    spec = single_file_spec(directory)
    promote(directory, spec)
    after_promote = SINGLE_FILE_TF.replace(
        "  is_shared      = false  # flipped by the migration\n",
        "  is_shared      = true  # flipped by the migration\n"
        "  tables = {\n"
        '    customers = {\n      name = "customers"\n    }\n'
        '    orders = {\n      name = "orders"\n    }\n'
        '    products = {\n      name = "products"\n    }\n'
        "  }\n",
    )
    assert main.read_text() == after_promote
    apply(edits.create(hcl.load_module(directory), spec))
    old_block = SINGLE_FILE_TF[SINGLE_FILE_TF.index('resource "artie_pipeline"') :]
    new_block = (
        old_block.replace('"v1" {\n  name = "v1"', '"v2" {\n  name = "v2"')
        .replace("artie_connector.v1.uuid", "artie_connector.v2.uuid")
        .replace('"products" // catalogue', '"products" // catalogue\n      skip_deletes = true')
    )
    assert main.read_text() == after_promote + "\n" + new_block
    apply(edits.cutover(hcl.load_module(directory), spec))
    assert main.read_text() == after_promote[: after_promote.index("# Analytics v1")] + new_block
    module = hcl.load_module(directory)
    apply(edits.unshare(module, spec, attached(module, spec)))
    reader = main.read_text()[: main.read_text().index("moved {")]
    assert reader == SINGLE_FILE_TF[: SINGLE_FILE_TF.index("moved {")]


def test_create_renames_a_bare_label_too(tmp_path):
    bare = PIPELINES_TF.replace(
        'resource "artie_pipeline" "orders_snowflake" {',
        "resource artie_pipeline orders_snowflake {",
    )
    directory = write_module(tmp_path / "m", {"pipelines.tf": bare})
    spec = spec_for(directory)
    promote(directory, spec)
    text = edits.new_pipeline_text(hcl.load_module(directory), spec)
    assert text.startswith('resource artie_pipeline "orders_duckdb" {\n')

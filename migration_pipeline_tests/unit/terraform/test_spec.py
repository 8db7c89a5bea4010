"""migrations.yaml loads into a typed spec, and every mistake names the field to fix."""

from __future__ import annotations

import pytest

from migration_pipeline.errors import SpecError
from migration_pipeline.spec import load_spec
from migration_pipeline.terraform.runner import TerraformRunner

VALID = """\
migrations:
  orders_to_v2:
    terraform:
      dir: terraform
      cli_config_file: sandbox/terraform.rc
      var_files: [prod.tfvars]
    reader: artie_source_reader.mysql
    old_pipeline: artie_pipeline.orders_snowflake
    new_pipeline:
      address: artie_pipeline.orders_duckdb
      destination_connector: artie_connector.duckdb_v2
      destination_config: {database: analytics_v2, schema: main}
      tables:
        shop.orders: {alias: orders_v2, enable_history_mode: true}
"""


def load(tmp_path, text: str, name: str = "orders_to_v2"):
    path = tmp_path / "migrations.yaml"
    path.write_text(text)
    return load_spec(path, name)


def test_paths_expand_environment_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIE_SANDBOX_HOME", str(tmp_path / "sandbox"))
    spec = load(tmp_path, VALID.replace("sandbox/terraform.rc", "$ARTIE_SANDBOX_HOME/terraform.rc"))
    assert spec.terraform.cli_config_file == tmp_path / "sandbox" / "terraform.rc"


def test_the_api_url_expands_variables_and_must_end_up_a_url(tmp_path, monkeypatch):
    with_url = VALID + "    artie: {api_url: $ARTIE_ENDPOINT}\n"
    monkeypatch.setenv("ARTIE_ENDPOINT", "http://127.0.0.1:4000")
    assert load(tmp_path, with_url).artie.api_url == "http://127.0.0.1:4000"
    monkeypatch.delenv("ARTIE_ENDPOINT")
    with pytest.raises(SpecError) as error:
        load(tmp_path, with_url)
    assert str(error.value) == (
        "migrations.orders_to_v2.artie.api_url: '$ARTIE_ENDPOINT' is not an http(s) URL (is a "
        "variable unset?)"
    )


def test_a_valid_spec_resolves_paths_against_the_file(tmp_path):
    spec = load(tmp_path, VALID)
    assert spec.terraform.dir == tmp_path / "terraform"
    assert spec.terraform.cli_config_file == tmp_path / "sandbox" / "terraform.rc"
    assert spec.terraform.var_files == (tmp_path / "prod.tfvars",)
    assert spec.new_pipeline.tables == {
        "shop.orders": {"alias": "orders_v2", "enable_history_mode": True}
    }
    assert spec.unshare is True
    assert spec.artie.api_key_env == "ARTIE_API_KEY"


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (
            ("reader: artie_source_reader.mysql", "reader: module.db.artie_source_reader.mysql"),
            "migrations.orders_to_v2.reader",
            "module.db.artie_source_reader.mysql is declared inside a module; migration steps edit "
            "resources of the root module only. Move it to the root module (with a `moved` block) "
            "first.",
        ),
        (
            ("old_pipeline: artie_pipeline.orders_snowflake", "old_pipeline: artie_connector.x"),
            "migrations.orders_to_v2.old_pipeline",
            "expected a resource address like artie_pipeline.NAME in the root module, got "
            "'artie_connector.x'",
        ),
        (
            (
                "old_pipeline: artie_pipeline.orders_snowflake",
                """old_pipeline: 'artie_pipeline.by_destination["analytics_v1"]'""",
            ),
            "migrations.orders_to_v2.old_pipeline",
            'artie_pipeline.by_destination["analytics_v1"] is one instance of a resource declared '
            "with for_each or count; a migration step edits one resource block. Give it its own "
            "block: declare artie_pipeline.analytics_v1 with that instance's settings (without "
            "for_each / count), remove the instance from the for_each / count, add this block so "
            "Terraform moves it instead of destroying it, check that `terraform plan` shows no "
            "change, then name artie_pipeline.analytics_v1 in the spec:\nmoved {\n"
            '  from = artie_pipeline.by_destination["analytics_v1"]\n'
            "  to   = artie_pipeline.analytics_v1\n}",
        ),
        (
            ("reader: artie_source_reader.mysql", "reader: artie_source_reader.mysql[0]"),
            "migrations.orders_to_v2.reader",
            "artie_source_reader.mysql[0] is one instance of a resource declared with for_each or "
            "count; a migration step edits one resource block. Give it its own block: declare "
            "artie_source_reader.mysql_0 with that instance's settings (without for_each / count), "
            "remove the instance from the for_each / count, add this block so Terraform moves it "
            "instead of destroying it, check that `terraform plan` shows no change, then name "
            "artie_source_reader.mysql_0 in the spec:\nmoved {\n"
            "  from = artie_source_reader.mysql[0]\n  to   = artie_source_reader.mysql_0\n}",
        ),
        (
            ("      destination_connector:", "      destination_conector:"),
            "migrations.orders_to_v2.new_pipeline.destination_conector",
            "unknown field; check its spelling against the spec reference",
        ),
        (
            ("    reader: artie_source_reader.mysql\n", ""),
            "migrations.orders_to_v2.reader",
            "this field is required",
        ),
        (
            ("address: artie_pipeline.orders_duckdb", "address: artie_pipeline.orders_snowflake"),
            "migrations.orders_to_v2",
            "new_pipeline.address must differ from old_pipeline",
        ),
    ],
)
def test_mistakes_name_the_field(tmp_path, edit, field, message):
    with pytest.raises(SpecError) as error:
        load(tmp_path, VALID.replace(*edit))
    assert (error.value.field, str(error.value)) == (field, f"{field}: {message}")


def test_an_unknown_migration_lists_the_known_ones(tmp_path):
    with pytest.raises(SpecError) as error:
        load(tmp_path, VALID, "orders")
    assert str(error.value) == (
        f"--migration: no migration named 'orders' in {tmp_path / 'migrations.yaml'} "
        "(known: orders_to_v2)"
    )


def test_a_file_without_migrations_is_refused(tmp_path):
    with pytest.raises(SpecError) as error:
        load(tmp_path, "- a\n")
    assert str(error.value) == (
        f"migrations: {tmp_path / 'migrations.yaml'} must hold a mapping `migrations: {{NAME: ...}}`"
    )


def test_a_runner_is_configured_from_the_spec(tmp_path):
    spec = load(
        tmp_path,
        VALID.replace("      dir: terraform\n", "      dir: terraform\n      binary: /opt/tf\n"),
    )
    with pytest.raises(SpecError) as error:
        TerraformRunner.for_spec(spec.terraform)
    assert str(error.value) == (
        f"terraform.cli_config_file: {tmp_path / 'sandbox' / 'terraform.rc'} does not exist "
        "(for the sandbox, `artie-sandbox init` writes it)"
    )
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "sandbox" / "terraform.rc").write_text("")
    runner = TerraformRunner.for_spec(spec.terraform)
    assert (runner.working_dir, runner.binary, runner.var_files, runner.timeout) == (
        tmp_path / "terraform",
        "/opt/tf",
        (str(tmp_path / "prod.tfvars"),),
        600,
    )
    assert runner.env["TF_CLI_CONFIG_FILE"] == str(tmp_path / "sandbox" / "terraform.rc")
    assert runner.env["CHECKPOINT_DISABLE"] == "1"
    copy = TerraformRunner.for_spec(spec.terraform, tmp_path / "copy")
    assert copy.working_dir == tmp_path / "copy"

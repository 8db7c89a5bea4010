"""`migration-pipeline preflight` passes on the applied sandbox example and names each kind of broken setup with what to do, on the sandbox and broken copies of the example module."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from migration_pipeline.cli import main
from migration_pipeline.orchestration import build_definitions
from migration_pipeline.orchestration.instance_checks import instance_checks
from migration_pipeline.preflight import preflight
from migration_pipeline.spec import load_spec
from migration_pipeline.terraform import workdir
from migration_pipeline_tests.support.sandbox import example_module
from sandbox_demo.driver import Driver
from sandbox_demo.prepare import MIGRATION, ROOT, migrations_text

NAMES = [
    "terraform",
    "provider",
    "artie api",
    "module",
    "reader coverage",
    "artie reads",
    "destination",
    "lock",
]


@pytest.fixture(scope="module")
def applied(sandbox, tmp_path_factory) -> Path:
    """The example module applied once on the session's sandbox (its source is not seeded, so
    nothing replicates into the session's shared warehouse); tests break copies of it."""
    module = example_module(sandbox, tmp_path_factory.mktemp("preflight") / "module")
    sandbox.terraform(module, "init", "-input=false")
    sandbox.terraform(module, "apply", "-auto-approve", "-input=false")
    return module


@pytest.fixture
def setup(sandbox, applied, tmp_path, monkeypatch):
    """`make(edit_tf=..., **spec_changes)`: a spec on a copy of the applied module."""
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)

    def make(edit_tf=None, copy_state: bool = True, **changes):
        module = tmp_path / "module"
        shutil.copytree(
            applied,
            module,
            symlinks=True,
            ignore=None if copy_state else shutil.ignore_patterns("*.tfstate*"),
        )
        if edit_tf is not None:
            main_tf = module / "main.tf"
            main_tf.write_text(edit_tf(main_tf.read_text()))
        document = yaml.safe_load(migrations_text(module, sandbox.tf_cli_config, sandbox.endpoint))
        spec = document["migrations"][MIGRATION]
        for path, value in changes.items():
            *parents, leaf = path.split("__")
            target = spec
            for part in parents:
                target = target.setdefault(part, {})
            target[leaf] = value
        config = tmp_path / "migrations.yaml"
        config.write_text(yaml.safe_dump(document))
        return load_spec(config, MIGRATION), config

    return make


def failures(results) -> dict[str, str]:
    return {r.name: f"{r.detail} | {r.fix}" for r in results if not r.passed}


def test_the_applied_example_passes_every_check(setup, sandbox, tmp_path, monkeypatch, capsys):
    keyed = tmp_path / "analytics_v1.duckdb"
    with duckdb.connect(str(keyed)) as con:
        con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total DOUBLE)")
        con.execute(
            "CREATE TABLE order_items (order_id INTEGER, line INTEGER, "
            "PRIMARY KEY (order_id, line))"
        )
    _, config = setup(validation__old_destination=str(keyed))
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # pytest's tmp_path is itself under the system temp dir; point that elsewhere so the
    # instance reads as lasting, as it does in a deployment.
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "elsewhere"))
    assert main(["preflight", "--config", str(config), "--migration", MIGRATION]) == 0
    out = capsys.readouterr().out
    names = re.findall(r"^PASS ([a-z ]+):", out, re.MULTILINE)
    assert names == [*NAMES, "dagster instance", "run limits", "run monitoring", "run retries"]
    assert out.endswith("12 passed, 0 failed\n")
    assert (
        "PASS destination: analytics_v1.duckdb opens read-only; the old pipeline's tables "
        "have keys\n"
    ) in out
    assert sandbox.api_key not in out


def test_a_temporary_or_unlimited_instance_fails(setup, tmp_path, monkeypatch, capsys):
    spec, config = setup()
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert main(["preflight", "--config", str(config), "--migration", MIGRATION]) == 1
    out = capsys.readouterr().out
    assert "FAIL dagster instance: SqliteRunStorage in " in out
    assert "(a temporary directory: validations and approvals would be lost)" in out
    assert "FAIL run limits: no run limit of 1 per `migration` tag value" in out
    assert "FAIL run monitoring: off" in out
    assert "FAIL run retries: off: a run whose worker crashed is not launched again" in out
    assert out.endswith("8 passed, 4 failed\n")


def test_a_pool_admitting_two_runs_fails(setup, tmp_path):
    spec, _ = setup()
    shipped = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    shipped["concurrency"]["pools"]["default_limit"] = 2
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster"), overrides=shipped) as instance:
        assert failures(instance_checks(instance, spec))["run limits"].startswith(
            f"pool migration-{MIGRATION} admits 2 at run granularity"
        )


def test_no_key_and_a_refused_key(setup, sandbox):
    spec, _ = setup()
    assert failures(preflight(spec, None))["artie api"] == (
        "ARTIE_API_KEY is not set | export ARTIE_API_KEY with the Artie API key (never put it "
        "in migrations.yaml)"
    )
    refused = failures(preflight(spec, "arsk_not_the_key"))
    assert refused["artie api"].startswith("Artie's API refused the key for GET /pipelines (401)")
    assert "arsk_not_the_key" not in str(refused)


def test_a_missing_terraform_binary(setup, sandbox):
    spec, _ = setup(terraform__binary="/nonexistent/terraform")
    found = failures(preflight(spec, sandbox.api_key))
    assert found["terraform"].endswith(
        "| install terraform >= 1.5 on PATH or set terraform.binary in migrations.yaml"
    )
    assert found["module"] == "not checked: terraform could not run | fix the lines above"


def test_another_provider_source(setup, sandbox):
    spec, _ = setup()
    versions = Path(spec.terraform.dir) / "versions.tf"
    versions.write_text(versions.read_text().replace('"artie-labs/artie"', '"acme/artie"'))
    assert failures(preflight(spec, sandbox.api_key))["provider"].startswith(
        'required_providers has no artie = { source = "artie-labs/artie" } (found acme/artie)'
    )


def test_a_misspelt_reader_address(setup, sandbox):
    spec, _ = setup(reader="artie_source_reader.shopp")
    assert failures(preflight(spec, sandbox.api_key))["module"].startswith(
        "reader: artie_source_reader.shopp is not declared in "
    )


def test_a_module_not_applied_yet(setup, sandbox):
    spec, _ = setup(copy_state=False)
    assert (
        "old_pipeline: artie_pipeline.analytics_v1 is declared but not in the Terraform "
        "state: apply the module (terraform apply) before migrating."
        in failures(preflight(spec, sandbox.api_key))["module"]
    )


def test_an_old_pipeline_under_count(setup, sandbox):
    spec, _ = setup(
        edit_tf=lambda tf: tf.replace(
            'resource "artie_pipeline" "analytics_v1" {\n',
            'resource "artie_pipeline" "analytics_v1" {\n  count = 1\n',
        )
    )
    assert "count" in failures(preflight(spec, sandbox.api_key))["module"]


def test_a_shared_reader_leaving_out_tables(setup, sandbox):
    spec, _ = setup(
        edit_tf=lambda tf: tf.replace(
            "  database_name  = var.source_database_name\n",
            "  database_name  = var.source_database_name\n  is_shared = true\n"
            '  tables = { "customers" = { name = "customers" } }\n',
        )
    )
    found = failures(preflight(spec, sandbox.api_key))["reader coverage"]
    assert found.startswith(
        "the shared reader artie_source_reader.shop does not capture order_items (used by "
    )
    assert "those tables silently stop being captured" in found


def test_a_destination_table_without_a_key(setup, sandbox, tmp_path):
    keyless = tmp_path / "keyless.duckdb"
    with duckdb.connect(str(keyless)) as con:
        con.execute("CREATE TABLE orders (id INTEGER, total DOUBLE)")
    spec, _ = setup(validation__old_destination=str(keyless))
    assert failures(preflight(spec, sandbox.api_key))["destination"] == (
        f"orders in {keyless} have no primary key | declare the key columns under "
        "validation.keys in migrations.yaml"
    )


def test_another_step_holding_the_lock(setup, sandbox):
    spec, _ = setup()
    with workdir.locked(Path(spec.terraform.dir)):
        found = failures(preflight(spec, sandbox.api_key))
    assert found["lock"].startswith("Another migration step is running in ")


def test_the_job_stops_before_its_first_step_when_a_check_fails(
    setup, sandbox, tmp_path, monkeypatch
):
    keyless = tmp_path / "keyless.duckdb"
    with duckdb.connect(str(keyless)) as con:
        con.execute("CREATE TABLE orders (id INTEGER, total DOUBLE)")
    spec, _ = setup(validation__old_destination=str(keyless))
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    before = {p.name: p.read_bytes() for p in Path(spec.terraform.dir).glob("*.tf")}
    driver = Driver(build_definitions({spec.name: spec}), spec)
    with dg.DagsterInstance.get() as instance:
        line = driver.launch(instance)
    assert "promote_reader stopped: promote refused: Preflight failed; nothing was applied." in line
    assert f"FAIL destination: orders in {keyless} have no primary key" in line
    assert {p.name: p.read_bytes() for p in Path(spec.terraform.dir).glob("*.tf")} == before
    listed = sandbox.terraform(spec.terraform.dir, "state", "list").stdout.split()
    assert "artie_pipeline.analytics_v2" not in listed and "artie_pipeline.analytics_v1" in listed

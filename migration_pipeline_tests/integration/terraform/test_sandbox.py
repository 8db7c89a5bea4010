"""Every step converges on the sandbox with real terraform, and every unsafe plan is refused."""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.cli import rehearse as rehearse_command
from migration_pipeline.errors import PlanGuardRefusal, TerraformCommandError
from migration_pipeline.phases import GateSettings, MigrationFacts, assess
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.facts import module_facts
from migration_pipeline.terraform.rehearse import rehearse
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline.terraform.steps import run_step
from migration_pipeline_tests.support.paths import EXAMPLE_MODULE
from migration_pipeline_tests.support.sandbox_module import spec_for as example_spec
from migration_pipeline_tests.support.tf_modules import PIPELINES_TF, spec_for, write_module

EXAMPLE = EXAMPLE_MODULE
STEPS = ("promote", "create", "cutover", "unshare")


@dataclass(frozen=True)
class SandboxEnv:
    """A running sandbox: where its API is and what terraform needs to reach it."""

    state: Path
    endpoint: str
    key: str = field(repr=False)
    cli_config: Path = None

    @property
    def env(self) -> dict[str, str]:
        return {
            "ARTIE_API_KEY": self.key,
            "ARTIE_ENDPOINT": self.endpoint,
            "TF_VAR_artie_api_key": self.key,
        }

    def runner(self, directory: Path, cls=TerraformRunner) -> TerraformRunner:
        return cls(directory, cli_config_file=self.cli_config, extra_env=self.env, timeout=120)

    def api(self) -> ArtieClient:
        return ArtieClient(self.endpoint, self.key)

    def deploy(self, directory: Path) -> TerraformRunner:
        (directory / "terraform.tfvars").write_text(
            f'source_database_path = "{directory.parent / "source.db"}"\n'
            f'source_path = "{directory.parent / "source.db"}"\n'
            f'warehouse_directory = "{directory.parent / "warehouse"}"\n'
            f'destination_dir = "{directory.parent / "warehouse"}"\n'
        )
        runner = self.runner(directory)
        runner.init()
        plan = directory.parent / "deploy.tfplan"
        if runner.plan(plan):
            runner.apply(plan)
        return runner


@pytest.fixture(scope="module")
def tf_sandbox(sandbox) -> SandboxEnv:
    """The session's sandbox (see conftest.py) as the steps need it."""
    return SandboxEnv(sandbox.state_dir, sandbox.endpoint, sandbox.api_key, sandbox.tf_cli_config)


def example_module(tmp_path: Path) -> Path:
    directory = tmp_path / "module"
    directory.mkdir()
    for path in EXAMPLE.glob("*.tf"):
        shutil.copy(path, directory / path.name)
    return directory


def tf_bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.tf"))}


def state_uuid(runner: TerraformRunner, address: str) -> str:
    return runner.state().uuids()[address]


def test_every_step_converges_keeps_other_bytes_and_running_it_again_is_a_no_op(
    tf_sandbox, tmp_path
):
    directory = write_module(tmp_path / "module")
    runner = tf_sandbox.deploy(directory)
    spec = spec_for(directory)
    reader_uuid = state_uuid(runner, spec.reader)
    untouched = {
        "providers.tf": (directory / "providers.tf").read_bytes(),
        "connectors.tf": (directory / "connectors.tf").read_bytes(),
    }
    with tf_sandbox.api() as api:
        for step in STEPS:
            result = run_step(step, spec, runner, api)
            assert result.status == "applied", result.message
            assert [d.file for d in result.diffs] == ["pipelines.tf"]
            again = run_step(step, spec, runner, api)
            assert (again.status, again.diffs, again.plan.changes) == ("already done", (), ())
        reader = api.get_source_reader(reader_uuid)
        (pipeline,) = api.pipelines_on_reader(reader_uuid)
    runner.validate()  # each step's plan validated too
    assert {name: (directory / name).read_bytes() for name in untouched} == untouched
    assert (reader.is_shared, reader.tables) == (False, ())
    assert (pipeline.name, sorted((t.schema, t.name) for t in pipeline.tables)) == (
        "orders -> duckdb v2",
        [("shop", "customers"), ("shop", "line_items"), ("shop", "orders")],
    )


def refused(step: str, spec: MigrationSpec, runner: TerraformRunner) -> PlanGuardRefusal:
    directory = Path(spec.terraform.dir)
    before = tf_bytes(directory)
    with sandbox_api(runner) as api, pytest.raises(PlanGuardRefusal) as refusal:
        run_step(step, spec, runner, api)
    assert tf_bytes(directory) == before  # restored byte for byte
    assert not (directory / ".terraform" / "migration-pipeline" / "journal.json").exists()
    return refusal.value


def sandbox_api(runner: TerraformRunner) -> ArtieClient:
    return ArtieClient(runner.env["ARTIE_ENDPOINT"], runner.env["ARTIE_API_KEY"])


def test_a_hand_edit_to_another_resource_is_refused(tf_sandbox, tmp_path):
    directory = example_module(tmp_path)
    runner = tf_sandbox.deploy(directory)
    main = directory / "main.tf"
    main.write_text(main.read_text().replace('name = "analytics_v1"\n', 'name = "v1 (old)"\n', 1))
    refusal = refused("promote", example_spec(directory), runner)
    assert refusal.unexpected == [
        "artie_connector.analytics_v1 would be updated in place (changes name), but promote "
        "does not touch it."
    ]
    assert str(refusal).startswith(
        "Refused to apply promote: the plan holds changes this step must not make. The "
        "module's files are restored; nothing was applied.\n- artie_connector.analytics_v1"
    )


def test_drift_from_a_change_made_in_artie_is_refused(tf_sandbox, tmp_path):
    directory = example_module(tmp_path)
    runner = tf_sandbox.deploy(directory)
    uuid = state_uuid(runner, "artie_connector.analytics_v1")
    headers = {"Authorization": f"Bearer {tf_sandbox.key}"}
    body = httpx.get(f"{tf_sandbox.endpoint}/connectors/{uuid}", headers=headers).json()
    httpx.post(
        f"{tf_sandbox.endpoint}/connectors/{uuid}",
        headers=headers,
        json={**body, "label": "renamed in the UI"},
    ).raise_for_status()
    refusal = refused("promote", example_spec(directory), runner)
    assert refusal.unexpected == [
        "artie_connector.analytics_v1 was changed outside Terraform (name differ from the "
        "state): someone edited it by hand. Make the module match what you want, then rerun.",
        "artie_connector.analytics_v1 would be updated in place (changes name), but promote "
        "does not touch it.",
    ]


def test_an_update_of_the_old_pipeline_during_create_is_refused(tf_sandbox, tmp_path):
    directory = example_module(tmp_path)
    runner = tf_sandbox.deploy(directory)
    spec = example_spec(directory)
    with tf_sandbox.api() as api:
        run_step("promote", spec, runner, api)
    main = directory / "main.tf"
    main.write_text(
        main.read_text().replace(
            '  name                       = "analytics_v1"',
            '  name                       = "analytics v1"',
        )
    )
    refusal = refused("create", spec, runner)
    assert refusal.unexpected == [
        "artie_pipeline.analytics_v1 would be updated in place (changes name), but create does "
        "not touch it."
    ]


def test_a_replace_is_refused(tf_sandbox, tmp_path):
    directory = example_module(tmp_path)
    (directory / "extra.tf").write_text(
        'resource "terraform_data" "marker" {\n  triggers_replace = ["v1"]\n}\n'
    )
    runner = tf_sandbox.deploy(directory)
    (directory / "extra.tf").write_text(
        'resource "terraform_data" "marker" {\n  triggers_replace = ["v2"]\n}\n'
    )
    refusal = refused("promote", example_spec(directory), runner)
    assert refusal.unexpected == [
        "terraform_data.marker would be replaced (destroyed, then created again) because "
        "triggers_replace cannot change in place; a migration step never replaces a resource."
    ]


def test_rehearsal_of_the_example_shows_all_four_steps_and_changes_nothing(
    tf_sandbox, tmp_path, monkeypatch, capsys
):
    directory = example_module(tmp_path)
    # A module call by relative path: the rehearsal copy must still find it.
    (tmp_path / "modules" / "marker").mkdir(parents=True)
    (tmp_path / "modules" / "marker" / "main.tf").write_text(
        'resource "terraform_data" "marker" {\n  input = "m"\n}\n'
    )
    (directory / "marker.tf").write_text('module "marker" {\n  source = "../modules/marker"\n}\n')
    tf_sandbox.deploy(directory)
    config = tmp_path / "migrations.yaml"
    config.write_text(
        "migrations:\n  analytics_v1_to_v2:\n"
        f"    terraform: {{dir: module, cli_config_file: {tf_sandbox.cli_config}}}\n"
        "    reader: artie_source_reader.shop\n"
        "    old_pipeline: artie_pipeline.analytics_v1\n"
        "    new_pipeline:\n      address: artie_pipeline.analytics_v2\n"
        "      destination_connector: artie_connector.analytics_v2\n"
        "      destination_config: {database: analytics_v2, schema: main}\n"
        f"    artie: {{api_url: '{tf_sandbox.endpoint}'}}\n"
    )
    for name, value in tf_sandbox.env.items():
        monkeypatch.setenv(name, value)
    before = module_hash(directory)
    siblings = sorted(p.name for p in tmp_path.iterdir())
    args = argparse.Namespace(config=config, migration="analytics_v1_to_v2", json=False)
    assert rehearse_command.run(args) == 0
    out = capsys.readouterr().out
    assert module_hash(directory) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == siblings
    headings = [line for line in out.splitlines() if line.startswith("### ")]
    assert headings == [
        "### promote: planned",
        "### create: planned",
        "### cutover: planned",
        "### unshare: planned",
    ]
    assert "- artie_pipeline.analytics_v2 would be created" in out
    assert "- artie_pipeline.analytics_v1 would be destroyed" in out


class CrashBeforeApply(TerraformRunner):
    """terraform whose process dies between the edit and the apply."""

    def apply(self, plan_file):
        raise KeyboardInterrupt


class CrashAfterApply(TerraformRunner):
    """terraform whose process dies right after the apply, before the step cleans up."""

    def apply(self, plan_file):
        super().apply(plan_file)
        raise KeyboardInterrupt


def test_a_crash_between_edit_and_apply_converges_on_the_next_run(tf_sandbox, tmp_path):
    directory = example_module(tmp_path)
    runner = tf_sandbox.deploy(directory)
    spec = example_spec(directory)
    with tf_sandbox.api() as api:
        with pytest.raises(KeyboardInterrupt):
            run_step("promote", spec, tf_sandbox.runner(directory, CrashBeforeApply), api)
        result = run_step("promote", spec, runner, api)
        assert (result.status, result.message) == (
            "applied",
            (
                "The module already held the promote edit (an earlier run stopped before "
                "applying); applied the checked plan."
            ),
        )
        with pytest.raises(KeyboardInterrupt):
            run_step("create", spec, tf_sandbox.runner(directory, CrashAfterApply), api)
        assert run_step("create", spec, runner, api).status == "already done"


def test_a_sensitive_value_never_reaches_output_logs_or_results(
    tf_sandbox, tmp_path, caplog, capfd
):
    caplog.set_level("DEBUG")
    directory = write_module(tmp_path / "module")
    runner = tf_sandbox.deploy(directory)
    spec = spec_for(directory)
    providers = directory / "providers.tf"
    providers.write_text(
        providers.read_text().replace(
            "input = { key = var.artie_api_key }", "input = { key = var.artie_api_key, v = 2 }"
        )
    )
    seen = []
    with tf_sandbox.api() as api:
        with pytest.raises(PlanGuardRefusal) as refusal:
            run_step("promote", spec, runner, api)
        seen += [str(refusal.value), refusal.value.result.to_markdown(), repr(refusal.value.result)]
        assert "(sensitive value)" in refusal.value.result.to_markdown()
        (directory / "broken.tf").write_text('output "k" {\n  value = var.artie_api_key\n}\n')
        with pytest.raises(TerraformCommandError) as failure:
            run_step("promote", spec, runner, api)
        seen += [str(failure.value), repr(failure.value.command)]
    assert (directory / "pipelines.tf").read_text() == PIPELINES_TF  # a failed plan restores
    out, err = capfd.readouterr()
    seen += [out, err, caplog.text]
    assert tf_sandbox.key not in "\n".join(seen)


def module_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def next_step(spec: MigrationSpec, runner: TerraformRunner, api: ArtieClient):
    facts = MigrationFacts(
        module_facts(spec, runner.state(), api),
        spec.reader,
        spec.old_pipeline,
        spec.new_pipeline.address,
    )
    return assess(facts, GateSettings())


def shared_reader_missing_products(tf_sandbox, tmp_path) -> tuple[Path, TerraformRunner]:
    """The example with a shared reader whose `tables` lost products, applied: Artie accepts it
    and the old pipeline silently stops capturing products (the runbook's classic mistake)."""
    directory = example_module(tmp_path)
    main = directory / "main.tf"
    reader_end = "  database_name  = var.source_database_name\n"
    tables = "".join(
        f'    {t} = {{ name = "{t}" }}\n'
        for t in ("customers", "order_items", "orders", "products")
    )
    main.write_text(
        main.read_text().replace(
            reader_end, reader_end + f"  is_shared      = true\n  tables = {{\n{tables}  }}\n"
        )
    )
    runner = tf_sandbox.deploy(directory)
    main.write_text(main.read_text().replace('    products = { name = "products" }\n', ""))
    tf_sandbox.deploy(directory)
    return directory, runner


def test_a_shared_reader_missing_a_table_is_not_promoted_and_job_and_rehearsal_agree(
    tf_sandbox, tmp_path
):
    directory, runner = shared_reader_missing_products(tf_sandbox, tmp_path)
    spec = example_spec(directory)
    with tf_sandbox.api() as api:
        first = next_step(spec, runner, api)
        rehearsal = rehearse(spec, lambda d: tf_sandbox.runner(d), api)
        taken, results = [], []
        while (a := next_step(spec, runner, api)).next_step is not None:
            taken.append(a.next_step)
            results.append(run_step(a.next_step, spec, runner, api))
            assert results[-1].status == "applied"
        reader = api.get_source_reader(state_uuid(runner, spec.reader))
    assert (first.phase, first.next_step) == ("planned", "promote")
    assert first.reason.startswith(
        "The reader is shared but missing products (used by "
        "artie_pipeline.analytics_v1; not captured since 20"
    )
    assert first.reason.endswith(
        ", the reader's last update at Artie; Artie's table status: not_captured): promote "
        "will add it."
    )
    assert [r.status for r in rehearsal.results] == ["planned"] * 4
    assert rehearsal.results[0].notes[0] == (
        "reader tables: added products (used by artie_pipeline.analytics_v1)"
    )
    assert taken == ["promote", "create"]  # then the catch-up gate waits for validations
    assert [r.step for r in rehearsal.results][: len(taken)] == taken
    promote = results[0]  # adds the missing entry and touches no other line
    assert promote.notes == ("reader tables: added products (used by artie_pipeline.analytics_v1)",)
    assert (promote.diffs[0].added, promote.diffs[0].removed) == (3, 0)
    assert sorted(t.name for t in reader.tables) == [
        "customers",
        "order_items",
        "orders",
        "products",
    ]


def test_a_table_dropped_from_the_shared_reader_mid_migration_stops_and_promote_repairs_it(
    tf_sandbox, tmp_path
):
    directory = example_module(tmp_path)
    runner = tf_sandbox.deploy(directory)
    spec = example_spec(directory)
    main = directory / "main.tf"
    with tf_sandbox.api() as api:
        for step in ("promote", "create"):
            run_step(step, spec, runner, api)
        assert next_step(spec, runner, api).phase == "backfilling"
        edited = main.read_text()
        dropped = re.sub(
            r'\n    "?products"? = \{\n      name = "products"\n    \}', "", edited, count=1
        )
        assert dropped != edited
        main.write_text(dropped)  # a hand edit, not applied
        stopped = next_step(spec, runner, api)
        rehearsal = rehearse(spec, lambda d: tf_sandbox.runner(d), api)
        repaired = run_step("promote", spec, runner, api)
        after = next_step(spec, runner, api)
    assert (stopped.phase, stopped.next_step, stopped.reason) == (
        "planned",
        "promote",
        "The reader is shared but missing products (used by "
        "artie_pipeline.analytics_v1): promote will add it.",
    )
    assert [r.status for r in rehearsal.results][:2] == ["planned", "planned"]
    assert rehearsal.results[0].notes[0].startswith("reader tables: added products")
    assert repaired.notes[0].startswith("reader tables: added products")
    assert after.phase == "backfilling" and after.next_step is None

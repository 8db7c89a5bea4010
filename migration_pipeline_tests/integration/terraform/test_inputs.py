"""Inputs are checked before the first apply (the job's promote op and `rehearse`): a misspelt
address, an unreadable destination, an undeclared variable are refused with nothing applied;
a destination given as `var.x` is written as that expression; a connector the module takes as a
variable is located through Artie's API. Real terraform and the sandbox's API."""

from __future__ import annotations

import pytest

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.errors import InputCheckError, SpecError
from migration_pipeline.orchestration.destinations import destinations
from migration_pipeline.terraform.inputs import check_inputs
from migration_pipeline.terraform.rehearse import rehearse
from migration_pipeline.terraform.steps import run_step
from migration_pipeline_tests.support.sandbox_module import (
    deployed_module,
    runner_for,
    spec_for,
    tf_bytes,
)


def refused(sandbox, spec, *expected: str) -> None:
    """Both the job's check and rehearse refuse with exactly `expected`; nothing changes."""
    directory = spec.terraform.dir
    runner = runner_for(sandbox, directory)
    before, state = tf_bytes(directory), runner.state()
    with ArtieClient(sandbox.endpoint, sandbox.api_key) as api:
        with pytest.raises(InputCheckError) as job:
            check_inputs(spec, state, api, runner.evaluate)
        with pytest.raises(InputCheckError) as rehearsal:
            rehearse(spec, lambda copy: runner_for(sandbox, copy), api)
    assert job.value.problems == rehearsal.value.problems == list(expected)
    assert str(job.value).startswith("Nothing was applied; fix these inputs first:\n- ")
    assert tf_bytes(directory) == before and runner.state() == state


@pytest.mark.timeout(300)
def test_misspelt_addresses_and_an_unreadable_destination_are_refused_before_any_apply(
    sandbox, tmp_path
):
    directory = deployed_module(sandbox, tmp_path)
    spec = spec_for(directory)
    missing = tmp_path / "nowhere" / "analytics_v1.duckdb"
    spec = spec.model_copy(
        update={
            "old_pipeline": "artie_pipeline.analytics_v11",
            "new_pipeline": spec.new_pipeline.model_copy(
                update={"destination_connector": "var.analytics_v2_uuid"}
            ),
        }
    )
    refused(
        sandbox,
        spec,
        f"old_pipeline: artie_pipeline.analytics_v11 is not declared in {directory}/*.tf "
        "(did you mean artie_pipeline.analytics_v1?).",
        "new_pipeline.destination_connector: var.analytics_v2_uuid refers to a variable "
        f"analytics_v2_uuid that {directory}/*.tf does not declare.",
    )
    spec = spec_for(directory)
    spec = spec.model_copy(
        update={"validation": spec.validation.model_copy(update={"old_destination": str(missing)})}
    )
    refused(
        sandbox,
        spec,
        f"validation.old_destination: the old destination {missing} cannot be read "
        "(missing, not a DuckDB file, or no permission): fix the path or its permissions, "
        "or set validation.old_destination.",
    )
    garbage = tmp_path / "not-duckdb.duckdb"
    garbage.write_text("a CSV export, not a database\n")
    refused(
        sandbox,
        spec.model_copy(
            update={
                "validation": spec.validation.model_copy(update={"old_destination": str(garbage)})
            }
        ),
        f"validation.old_destination: the old destination {garbage} cannot be read "
        "(missing, not a DuckDB file, or no permission): fix the path or its permissions, "
        "or set validation.old_destination.",
    )


@pytest.mark.timeout(300)
def test_connectors_as_variables_destination_as_var_and_lookup_through_the_api(sandbox, tmp_path):
    directory = deployed_module(sandbox, tmp_path)
    runner = runner_for(sandbox, directory)
    state = runner.state()
    uuids = state.uuids()
    # The module now takes both destination connectors as variables: they live elsewhere.
    main = directory / "main.tf"
    text = main.read_text()
    for name in ("analytics_v1", "analytics_v2"):
        start = text.index(f'resource "artie_connector" "{name}"')
        text = text[:start] + text[text.index("}\n\n", text.index("duckdb_config", start)) + 3 :]
        text = text.replace(f"artie_connector.{name}.uuid", f"var.{name}_uuid")
        text += f'\nvariable "{name}_uuid" {{\n  type = string\n}}\n'
        sandbox.terraform(directory, "state", "rm", f"artie_connector.{name}")
    main.write_text(text)
    with (directory / "terraform.tfvars").open("a") as tfvars:
        for name in ("analytics_v1", "analytics_v2"):
            tfvars.write(f'{name}_uuid = "{uuids[f"artie_connector.{name}"]}"\n')
    spec = spec_for(directory)
    spec = spec.model_copy(
        update={
            "new_pipeline": spec.new_pipeline.model_copy(
                update={"destination_connector": "var.analytics_v2_uuid"}
            )
        }
    )
    warehouse = tmp_path / "warehouse"
    with ArtieClient(sandbox.endpoint, sandbox.api_key) as api:
        check_inputs(spec, runner.state(), api, runner.evaluate)  # var.x: found through Artie
        for step in ("promote", "create"):
            assert run_step(step, spec, runner, api).status == "applied"
        state = runner.state()
        located = destinations(spec, state, api)
        with pytest.raises(SpecError) as without_api:
            destinations(spec, state)
    assert "  destination_connector_uuid = var.analytics_v2_uuid\n" in main.read_text()
    new = state.attributes(spec.new_pipeline.address)
    assert new["destination_connector_uuid"] == uuids["artie_connector.analytics_v2"]
    assert located == (
        str(warehouse / "analytics_v1" / "analytics_v1.duckdb"),
        str(warehouse / "analytics_v2" / "analytics_v2.duckdb"),
    )
    assert str(without_api.value) == (
        "validation.old_destination: the destination of artie_pipeline.analytics_v1 cannot be "
        "located: its connector is neither in the Terraform state nor known to Artie's API; "
        "set validation.old_destination explicitly"
    )


@pytest.mark.timeout(300)
def test_a_destination_written_as_a_variable_is_checked_by_its_value_before_any_apply(
    sandbox, tmp_path
):
    directory = deployed_module(sandbox, tmp_path)
    runner = runner_for(sandbox, directory)
    uuids = runner.state().uuids()
    (directory / "destination.tf").write_text(
        'variable "analytics_v2_uuid" {\n  type = string\n}\n'
    )
    spec = spec_for(directory)
    spec = spec.model_copy(
        update={
            "new_pipeline": spec.new_pipeline.model_copy(
                update={"destination_connector": "var.analytics_v2_uuid"}
            )
        }
    )
    tfvars = directory / "terraform.tfvars"
    deployed_vars = tfvars.read_text()

    def value(uuid: str) -> None:
        tfvars.write_text(deployed_vars + f'analytics_v2_uuid = "{uuid}"\n')

    field = "new_pipeline.destination_connector: var.analytics_v2_uuid"
    refused(
        sandbox,
        spec,
        f"{field} has no value: set it in terraform.tfvars (or a file in terraform.var_files) "
        "or give the variable a default.",
    )
    nowhere = "00000000-0000-4000-8000-00000000dead"
    value(nowhere)
    refused(
        sandbox,
        spec,
        f"{field} is {nowhere} (terraform console), which is no connector in the Terraform "
        "state or at Artie: fix its value.",
    )
    value(uuids["artie_connector.shop"])  # the source's connector: not a destination
    refused(
        sandbox,
        spec,
        "validation.new_destination: the new destination cannot be located: it is not a DuckDB "
        "connector with an absolute directory; set validation.new_destination explicitly",
    )
    value(uuids["artie_connector.analytics_v2"])
    garbage = tmp_path / "warehouse" / "analytics_v2" / "analytics_v2.duckdb"
    garbage.parent.mkdir(parents=True, exist_ok=True)
    garbage.write_text("left over from an earlier export\n")
    refused(
        sandbox,
        spec,
        f"validation.new_destination: the new destination {garbage} cannot be read (not a "
        "DuckDB file, or no permission on it or its folder): fix the connector's directory or "
        "its permissions, or set validation.new_destination.",
    )
    garbage.unlink()
    with ArtieClient(sandbox.endpoint, sandbox.api_key) as api:
        check_inputs(spec, runner.state(), api, runner.evaluate)  # the right value passes

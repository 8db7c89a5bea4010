"""A refused step reaches the person: the run stops cleanly (no stack trace) with the reason in
the op's metadata, the run's log at error level, `status`, the sensor's skip reason and the demo
driver's line; the files stay byte for byte and nothing is applied. Real Dagster and terraform."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from migration_pipeline.cli import main
from migration_pipeline.orchestration import build_definitions
from migration_pipeline.orchestration.runs import automation
from migration_pipeline_tests.support.sandbox_module import (
    deployed_module,
    migrations_file,
    runner_for,
    tf_bytes,
)
from sandbox_demo.driver import Driver

SHARED_AS_VARIABLE = (
    "  database_name  = var.source_database_name\n",
    "  database_name  = var.source_database_name\n  is_shared      = var.shared\n",
)
KINDS = {
    # a guard outside the plan: reader_tables would drop tables the old pipeline uses
    "step": (
        str,
        {"reader_tables": ["customers"]},
        "promote refused: reader_tables leaves out order_items (used by "
        "artie_pipeline.analytics_v1); orders (used by artie_pipeline.analytics_v1); "
        "products (used by artie_pipeline.analytics_v1): the reader would stop capturing "
        "them and those pipelines would go stale. Add them to reader_tables or remove "
        "reader_tables to use the union.",
    ),
    # a module a step cannot edit safely
    "module": (
        lambda text: (
            text.replace(*SHARED_AS_VARIABLE) + 'variable "shared" {\n  default = false\n}\n'
        ),
        {},
        "promote refused: artie_source_reader.shop.is_shared is the expression "
        "`var.shared`; the step needs it written as a literal value to edit it safely.",
    ),
    # an input checked before the first apply: a misspelt address
    "input": (
        str,
        {"old_pipeline": "artie_pipeline.analytics_v11"},
        "promote refused: Nothing was applied; fix these inputs first:\n- old_pipeline: "
        "artie_pipeline.analytics_v11 is not declared in {directory}/*.tf (did you mean "
        "artie_pipeline.analytics_v1?).",
    ),
    # the plan guard: a hand edit to another resource shows in promote's plan
    "plan": (
        lambda text: text.replace('  name = "analytics_v2"\n', '  name = "renamed"\n', 1),
        {},
        "promote refused: Refused to apply promote: the plan holds changes this step "
        "must not make.",
    ),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", KINDS)
def test_a_refusal_stops_cleanly_and_reaches_the_person(
    sandbox, tmp_path, monkeypatch, capsys, kind
):
    edit, spec_extra, reason = KINDS[kind]
    directory = deployed_module(sandbox, tmp_path, edit if kind != "plan" else str)
    if kind == "plan":  # edited after the deploy: the module no longer matches Artie
        (directory / "main.tf").write_text(edit((directory / "main.tf").read_text()))
    spec, config = migrations_file(sandbox, tmp_path, directory, monkeypatch, **spec_extra)
    reason = reason.format(directory=directory)
    before, state_before = tf_bytes(directory), runner_for(sandbox, directory).state()
    driver = Driver(build_definitions({spec.name: spec}), spec)
    with dg.DagsterInstance.get() as instance:
        line = driver.launch(instance)  # a clean stop: the run succeeds
        waiting = driver.step(instance)  # the sensor's tick, as the demo driver shows it
        run = instance.get_runs(limit=1)[0]
        records = instance.all_logs(run.run_id)
        blocker = automation(instance, f"{spec.name}_job").blocker
    assert line.startswith(f"run {run.run_id[:8]}: promote_reader stopped: {reason}")
    output = next(
        r.dagster_event
        for r in records
        if r.dagster_event and r.dagster_event.event_type_value == "STEP_OUTPUT"
    )
    metadata = output.event_specific_data.metadata
    assert (metadata["gate"].value, metadata["reason"].value[: len(reason)]) == ("refused", reason)
    errors = [r for r in records if r.level >= 40 and r.user_message.startswith(reason)]
    assert errors and not any(r.dagster_event and r.dagster_event.is_step_failure for r in records)
    assert blocker.startswith(
        f"the latest run {run.run_id} of {spec.name}_job was refused: {reason}"
    )
    assert waiting.line == f"waiting: {blocker}"
    assert tf_bytes(directory) == before
    assert runner_for(sandbox, directory).state() == state_before
    capsys.readouterr()
    command = ["status", "--config", str(config), "--migration", spec.name]
    assert main([*command, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["refused"].startswith(reason)
    if kind in ("module", "input"):  # the facts cannot be read: the phase is unknown
        assert (shown["phase"], waiting.phase) == ("unknown", "unknown")
        because = {
            "module": reason.removeprefix("promote refused: "),
            "input": "Nothing was applied; fix these inputs first:\n- old_pipeline: "
            "artie_pipeline.analytics_v11 is neither in the module nor in the Terraform state; "
            "check the address (`<type>.<name>`).",
        }[kind]
        assert shown["reason"] == f"The phase cannot be derived: {because}"
    assert main(command) == 0
    assert f"\n  latest run refused: {reason}" in capsys.readouterr().out

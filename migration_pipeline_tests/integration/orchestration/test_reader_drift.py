"""A table dropped from the shared reader through Artie's API mid-migration (not a module change): the sensor launches nothing and says which table stopped being captured since when (and Artie's table status), `status` says the same, and the next run's promote puts it back (the plan shows the drift; the guard lets exactly that repair through) before anything else. Real Dagster, terraform and the sandbox."""

from __future__ import annotations

import json
import time

import dagster as dg
import pytest

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.cli import main
from migration_pipeline.orchestration import build_definitions
from migration_pipeline_tests.support.sandbox_module import (
    deployed_module,
    migrations_file,
    runner_for,
)
from sandbox_demo.driver import Driver

MISSING = (
    "The reader is shared but missing products (used by artie_pipeline.analytics_v1; not "
    "captured since {since}, the reader's last update at Artie; Artie's table status: "
    "not_captured): promote will add it."
)


def step_outputs(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict]:
    """Each op's output metadata in one run, by op."""
    return {
        r.dagster_event.step_key: r.dagster_event.event_specific_data.metadata
        for r in instance.all_logs(run_id)
        if r.dagster_event and r.dagster_event.event_type_value == "STEP_OUTPUT"
    }


@pytest.mark.timeout(300)
def test_a_table_dropped_through_artie_api_stops_the_migration_and_promote_repairs_it(
    sandbox, tmp_path, monkeypatch, capsys
):
    directory = deployed_module(sandbox, tmp_path)
    spec, config = migrations_file(sandbox, tmp_path, directory, monkeypatch)
    driver = Driver(build_definitions({spec.name: spec}), spec)
    with (
        dg.DagsterInstance.get() as instance,
        ArtieClient(sandbox.endpoint, sandbox.api_key) as api,
    ):
        started = driver.launch(instance)  # a person starts it: promote and create applied
        reader_uuid = runner_for(sandbox, directory).state().uuids()[spec.reader]
        status, body = sandbox.api("GET", f"source-readers/{reader_uuid}")
        kept = {k: v for k, v in body["tablesConfig"].items() if k != "products"}
        status, body = sandbox.api(
            "POST", f"source-readers/{reader_uuid}", {**body, "tablesConfig": kept}
        )
        assert status == 200, body
        since = api.get_source_reader(reader_uuid).updated_at.isoformat(timespec="seconds")
        reason = MISSING.format(since=since)
        waiting = driver.step(instance).line  # the sensor launches nothing, and says why
        capsys.readouterr()
        assert main(["status", "--config", str(config), "--migration", spec.name, "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        repair = driver.launch(instance)  # the person who read it
        outputs = step_outputs(instance, instance.get_runs(limit=1)[0].run_id)
        reader = api.get_source_reader(reader_uuid)
        old_uuid = runner_for(sandbox, directory).state().uuids()[spec.old_pipeline]
        deadline = time.monotonic() + 30  # the engine reports the captured table on its next round
        while (old := api.get_pipeline(old_uuid)) and time.monotonic() < deadline:
            if {t.name: t.status for t in old.tables}.get("products") != "not_captured":
                break
            time.sleep(0.5)
    assert "promote_reader ok, create_pipeline ok" in started
    assert waiting == f"waiting: planned: {reason}"
    assert (shown["phase"], shown["next_step"], shown["reason"]) == ("planned", "promote", reason)
    assert repair.startswith(f"run {instance.get_runs(limit=1)[0].run_id[:8]}: promote_reader ok")
    assert outputs["promote_reader"]["reason"].value == reason
    promoted = outputs["promote_reader"]["step_result"].value
    assert "artie_source_reader.shop: put back products, removed outside Terraform" in promoted
    assert "changed outside Terraform" in promoted  # the plan's drift, shown
    assert outputs["create_pipeline"]["note"].value == "create: already done (phase backfilling)."
    assert "products" in {t.name for t in reader.tables}
    assert {t.name: t.status for t in old.tables}["products"] != "not_captured"

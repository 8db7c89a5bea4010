"""Real terraform + the Python provider + the sandbox API over HTTP: Artie's rules, as an operator meets them."""

from __future__ import annotations

import json

from migration_pipeline_tests.support.sandbox import (
    add_pipeline,
    example_module,
    one_line,
    promote,
    remove_resource,
    unshare,
)

TABLES = ["customers", "orders", "order_items", "products"]


def applied_example(sandbox, tmp_path):
    workdir = example_module(sandbox, tmp_path / "tf")
    sandbox.terraform(workdir, "init", "-input=false", "-no-color")
    sandbox.terraform(workdir, "apply", "-auto-approve", "-input=false", "-no-color")
    return workdir


def state_uuid(sandbox, workdir, address: str) -> str:
    shown = json.loads(sandbox.terraform(workdir, "show", "-json").stdout)
    for resource in shown["values"]["root_module"]["resources"]:
        if resource["address"] == address:
            return resource["values"]["uuid"]
    raise AssertionError(f"{address} is not in the state")


def planned_changes(sandbox, workdir) -> list[tuple[str, list[str]]]:
    sandbox.terraform(workdir, "plan", "-input=false", "-no-color", "-out=plan.bin")
    plan = json.loads(sandbox.terraform(workdir, "show", "-json", "plan.bin").stdout)
    return plan


def changed(plan) -> list[tuple[str, list[str]]]:
    return [
        (r["address"], r["change"]["actions"])
        for r in plan["resource_changes"]
        if r["change"]["actions"] != ["no-op"]
    ]


def failed_apply(sandbox, workdir) -> str:
    result = sandbox.terraform(
        workdir, "apply", "-auto-approve", "-input=false", "-no-color", check=False
    )
    assert result.returncode == 1, result.stdout
    return one_line(result.stderr)


def test_example_applies_and_a_second_plan_shows_no_changes(sandbox, tmp_path):
    workdir = applied_example(sandbox, tmp_path)

    reader_uuid = state_uuid(sandbox, workdir, "artie_source_reader.shop")
    pipeline_uuid = state_uuid(sandbox, workdir, "artie_pipeline.analytics_v1")
    _, reader = sandbox.api("GET", f"source-readers/{reader_uuid}")
    _, pipeline = sandbox.api("GET", f"pipelines/{pipeline_uuid}")
    assert (reader["name"], reader["isShared"], reader["tablesConfig"]) == ("shop", False, None)
    assert pipeline["sourceReaderUUID"] == reader_uuid
    assert sorted(t["name"] for t in pipeline["tables"]) == sorted(TABLES)
    assert pipeline["advancedSettings"]["includeArtieUpdatedAtColumn"] is True
    assert pipeline["advancedSettings"]["includeDatabaseUpdatedAtColumn"] is True
    assert pipeline["specificDestCfg"]["database"] == "analytics_v1"

    again = sandbox.terraform(workdir, "plan", "-detailed-exitcode", "-input=false", "-no-color")
    assert again.returncode == 0, again.stdout
    assert "No changes." in again.stdout


def test_promote_plans_exactly_one_in_place_update_of_the_reader(sandbox, tmp_path):
    workdir = applied_example(sandbox, tmp_path)
    promote(workdir, TABLES)

    plan = planned_changes(sandbox, workdir)

    assert changed(plan) == [("artie_source_reader.shop", ["update"])]
    reader = next(r for r in plan["resource_changes"] if r["address"] == "artie_source_reader.shop")
    before, after = reader["change"]["before"], reader["change"]["after"]
    assert {k for k in after if before.get(k) != after[k]} == {"is_shared", "tables"}
    assert after["tables"] == {
        t: {"name": t, "schema": None, "columns_to_exclude": None, "columns_to_include": None}
        for t in TABLES
    }
    pipeline = next(
        r for r in plan["resource_changes"] if r["address"] == "artie_pipeline.analytics_v1"
    )
    assert pipeline["change"]["actions"] == ["no-op"]


def test_second_pipeline_needs_a_shared_reader(sandbox, tmp_path):
    workdir = applied_example(sandbox, tmp_path)
    reader_uuid = state_uuid(sandbox, workdir, "artie_source_reader.shop")
    v1_uuid = state_uuid(sandbox, workdir, "artie_pipeline.analytics_v1")
    add_pipeline(workdir, "analytics_v2", TABLES)

    error = failed_apply(sandbox, workdir)

    assert (
        "Error: Unable to create Pipeline with artie_pipeline.analytics_v2, on analytics_v2.tf "
        'line 3, in resource "artie_pipeline" "analytics_v2": 3: source_reader_uuid = '
        f'artie_source_reader.shop.uuid pipeline "analytics_v2": source reader "shop" '
        f'({reader_uuid}) is not shared and already feeds pipeline "analytics_v1" ({v1_uuid}); '
        "set is_shared = true on the source reader and list every table in tables, then apply "
        "this pipeline again (HTTP 400)"
    ) in error

    promote(workdir, TABLES)
    sandbox.terraform(workdir, "apply", "-auto-approve", "-input=false", "-no-color")
    v2_uuid = state_uuid(sandbox, workdir, "artie_pipeline.analytics_v2")
    _, v2 = sandbox.api("GET", f"pipelines/{v2_uuid}")
    assert v2["sourceReaderUUID"] == reader_uuid
    clean = sandbox.terraform(workdir, "plan", "-detailed-exitcode", "-input=false", "-no-color")
    assert clean.returncode == 0, clean.stdout


def test_unshare_is_refused_with_two_pipelines_and_allowed_after_one_is_deleted(sandbox, tmp_path):
    workdir = example_module(sandbox, tmp_path / "tf")
    promote(workdir, TABLES)
    add_pipeline(workdir, "analytics_v2", TABLES)
    sandbox.terraform(workdir, "init", "-input=false", "-no-color")
    sandbox.terraform(workdir, "apply", "-auto-approve", "-input=false", "-no-color")
    reader_uuid = state_uuid(sandbox, workdir, "artie_source_reader.shop")
    v1_uuid = state_uuid(sandbox, workdir, "artie_pipeline.analytics_v1")
    v2_uuid = state_uuid(sandbox, workdir, "artie_pipeline.analytics_v2")
    unshare(workdir)

    error = failed_apply(sandbox, workdir)

    assert (
        "Error: Unable to update Source Reader with artie_source_reader.shop, on main.tf line 40, "
        'in resource "artie_source_reader" "shop": 40: is_shared = false source reader validation '
        f'failed: source reader "shop" ({reader_uuid}) feeds 2 pipelines ('
    ) in error
    assert f'"analytics_v1" ({v1_uuid})' in error and f'"analytics_v2" ({v2_uuid})' in error
    assert error.endswith(
        "it can only be unshared (is_shared = false) with at most one pipeline attached: "
        "delete the other pipelines first"
    )
    _, reader = sandbox.api("GET", f"source-readers/{reader_uuid}")
    assert reader["isShared"] is True

    promote(workdir, TABLES)
    remove_resource(workdir, "artie_pipeline", "analytics_v1")
    sandbox.terraform(workdir, "apply", "-auto-approve", "-input=false", "-no-color")
    unshare(workdir)
    sandbox.terraform(workdir, "apply", "-auto-approve", "-input=false", "-no-color")
    _, reader = sandbox.api("GET", f"source-readers/{reader_uuid}")
    assert (reader["isShared"], reader["tablesConfig"]) == (False, None)
    assert sandbox.api("GET", f"pipelines/{v1_uuid}")[0] == 404


def test_deleting_a_reader_with_pipelines_is_refused_and_it_stays_in_state(sandbox, tmp_path):
    workdir = applied_example(sandbox, tmp_path)
    reader_uuid = state_uuid(sandbox, workdir, "artie_source_reader.shop")
    main = workdir / "main.tf"
    main.write_text(main.read_text().replace("artie_source_reader.shop.uuid", f'"{reader_uuid}"'))
    (workdir / "outputs.tf").unlink()
    remove_resource(workdir, "artie_source_reader", "shop")

    error = failed_apply(sandbox, workdir)

    pipeline_uuid = state_uuid(sandbox, workdir, "artie_pipeline.analytics_v1")
    assert (
        f'Error: Unable to delete Source Reader source reader "shop" ({reader_uuid}) cannot be '
        "deleted while pipelines use it: "
    ) in error
    assert f'"analytics_v1" ({pipeline_uuid}); delete those pipelines first (HTTP 400)' in error
    assert "artie_source_reader.shop" in sandbox.terraform(workdir, "state", "list").stdout
    assert sandbox.api("GET", f"source-readers/{reader_uuid}")[0] == 200


def test_shared_reader_may_omit_a_pipeline_table_and_the_api_shows_it(sandbox, tmp_path):
    workdir = applied_example(sandbox, tmp_path)
    promote(workdir, ["customers", "orders", "order_items"])

    sandbox.terraform(workdir, "apply", "-auto-approve", "-input=false", "-no-color")

    reader_uuid = state_uuid(sandbox, workdir, "artie_source_reader.shop")
    pipeline_uuid = state_uuid(sandbox, workdir, "artie_pipeline.analytics_v1")
    _, reader = sandbox.api("GET", f"source-readers/{reader_uuid}")
    assert sorted(reader["tablesConfig"]) == ["customers", "order_items", "orders"]
    assert reader["uncapturedTables"] == [
        {"table": "products", "pipelineUUID": pipeline_uuid, "pipelineName": "analytics_v1"}
    ]
    _, pipeline = sandbox.api("GET", f"pipelines/{pipeline_uuid}")
    statuses = {t["name"]: t["status"] for t in pipeline["tables"]}
    assert statuses["products"] == "not_captured"
    assert all(s != "not_captured" for name, s in statuses.items() if name != "products")


def test_import_by_uuid_gives_a_state_with_no_changes(sandbox, tmp_path):
    workdir = applied_example(sandbox, tmp_path)
    uuids = {
        a: state_uuid(sandbox, workdir, a)
        for a in ("artie_source_reader.shop", "artie_pipeline.analytics_v1")
    }
    sandbox.terraform(workdir, "state", "rm", *uuids)

    for address, uuid in uuids.items():
        sandbox.terraform(workdir, "import", "-input=false", "-no-color", address, uuid)

    again = sandbox.terraform(workdir, "plan", "-detailed-exitcode", "-input=false", "-no-color")
    assert again.returncode == 0, again.stdout


def test_status_override_pauses_after_an_update_and_removing_it_starts_again(sandbox, tmp_path):
    workdir = applied_example(sandbox, tmp_path)
    pipeline_uuid = state_uuid(sandbox, workdir, "artie_pipeline.analytics_v1")
    main = workdir / "main.tf"
    running = main.read_text()
    main.write_text(
        running.replace(
            "  include_database_updated_at_column = true\n",
            '  include_database_updated_at_column = true\n  status_override                    = "paused"\n',
        )
    )

    sandbox.terraform(workdir, "apply", "-auto-approve", "-input=false", "-no-color")
    assert sandbox.api("GET", f"pipelines/{pipeline_uuid}")[1]["status"] == "paused"
    clean = sandbox.terraform(workdir, "plan", "-detailed-exitcode", "-input=false", "-no-color")
    assert clean.returncode == 0, clean.stdout

    main.write_text(running)
    sandbox.terraform(workdir, "apply", "-auto-approve", "-input=false", "-no-color")
    assert sandbox.api("GET", f"pipelines/{pipeline_uuid}")[1]["status"] == "running"


def test_a_new_pipeline_must_be_covered_by_the_shared_readers_tables(sandbox, tmp_path):
    workdir = applied_example(sandbox, tmp_path)
    promote(workdir, TABLES[:3])
    add_pipeline(workdir, "analytics_v2", ["orders", "products"])

    error = failed_apply(sandbox, workdir)

    reader_uuid = state_uuid(sandbox, workdir, "artie_source_reader.shop")
    assert (
        "Error: Unable to create Pipeline with artie_pipeline.analytics_v2, on analytics_v2.tf "
        'line 8, in resource "artie_pipeline" "analytics_v2": 8: tables = { 9: "orders" = { '
        'name = "orders" } 10: "products" = { name = "products" } 11: } source validation '
        f'failed: this pipeline: shared source reader "shop" ({reader_uuid}) does not capture '
        '"products"; add it to the source reader\'s tables first'
    ) in error

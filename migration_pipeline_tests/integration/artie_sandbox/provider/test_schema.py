"""A user's module must plan against the sandbox provider as Artie's provider's schema implies (Optional + Computed, defaults)."""

from __future__ import annotations

import json

from migration_pipeline_tests.support.sandbox import example_module, promote, unshare

READER = "artie_source_reader.shop"
TABLES = ["customers", "orders", "order_items"]


def plan(sandbox, workdir) -> dict:
    """The saved plan as JSON, and nothing applied."""
    sandbox.terraform(workdir, "plan", "-input=false", "-no-color", "-out=plan.bin")
    return json.loads(sandbox.terraform(workdir, "show", "-json", "plan.bin").stdout)


def reader_change(planned: dict) -> dict:
    return next(c["change"] for c in planned["resource_changes"] if c["address"] == READER)


def no_changes(sandbox, workdir) -> None:
    result = sandbox.terraform(workdir, "plan", "-detailed-exitcode", "-input=false", "-no-color")
    assert result.returncode == 0, result.stdout


def apply(sandbox, workdir) -> None:
    sandbox.terraform(workdir, "apply", "-auto-approve", "-input=false", "-no-color")


def test_reader_attributes_plan_as_artie_providers_schema_implies(sandbox, tmp_path):
    workdir = example_module(sandbox, tmp_path / "tf")
    sandbox.terraform(workdir, "init", "-input=false", "-no-color")

    # Create: is_shared, tables and backfill_batch_size are Optional + Computed without a
    # default, so Artie's provider plans them "known after apply"; database_name defaults "".
    planned = plan(sandbox, workdir)
    created = reader_change(planned)
    assert created["actions"] == ["create"]
    pipeline = next(
        c["change"]
        for c in planned["resource_changes"]
        if c["address"] == "artie_pipeline.analytics_v1"
    )
    # The example leaves soft_delete_rows out; Optional + Computed without a default there too.
    assert pipeline["after_unknown"].get("soft_delete_rows") is True
    assert {k for k, v in created["after_unknown"].items() if v is True} == {
        "uuid",
        "connector_uuid",
        "is_shared",
        "tables",
        "backfill_batch_size",
    }  # the connector is new too
    apply(sandbox, workdir)
    shown = json.loads(sandbox.terraform(workdir, "show", "-json").stdout)
    reader = next(r for r in shown["values"]["root_module"]["resources"] if r["address"] == READER)
    assert (reader["values"]["is_shared"], reader["values"]["backfill_batch_size"]) == (False, 5000)
    no_changes(sandbox, workdir)

    # Shared, then is_shared and tables both left out: Terraform proposes tables null (the prior
    # map holds values only a configuration sets), so the framework plans an update with tables
    # "known after apply" and is_shared kept from the state (UseStateForUnknown).
    promote(workdir, TABLES)
    apply(sandbox, workdir)
    main = workdir / "main.tf"
    shared_text = main.read_text()
    start = shared_text.index("  is_shared      = true\n")
    main.write_text(
        shared_text[:start] + "}\n" + shared_text[shared_text.index("\n}\n", start) + 3 :]
    )
    left_out = reader_change(plan(sandbox, workdir))
    assert left_out["actions"] == ["update"]
    assert (left_out["before"]["is_shared"], left_out["after"]["is_shared"]) == (True, True)
    assert left_out["after_unknown"].get("tables") is True
    main.write_text(shared_text)
    no_changes(sandbox, workdir)

    # Unshare: is_shared = false with tables left out plans tables "known after apply" (Optional
    # + Computed, no plan modifier), and the apply sends no tables, so the API accepts it.
    unshare(workdir)
    unshared = reader_change(plan(sandbox, workdir))
    assert unshared["actions"] == ["update"]
    assert (unshared["before"]["is_shared"], unshared["after"]["is_shared"]) == (True, False)
    assert unshared["after_unknown"].get("tables") is True
    apply(sandbox, workdir)
    status, body = sandbox.api("GET", f"source-readers/{reader['values']['uuid']}")
    assert (status, body["isShared"], body["tablesConfig"]) == (200, False, None)

    # backfill_batch_size above Artie's maximum is refused at plan time, as Artie's provider does.
    main.write_text(
        main.read_text().replace(
            "  is_shared      = false\n",
            "  is_shared      = false\n  backfill_batch_size = 60000\n",
        )
    )
    refused = sandbox.terraform(workdir, "plan", "-input=false", "-no-color", check=False)
    assert refused.returncode == 1
    assert "The maximum allowed value for `backfill_batch_size` is 50,000." in refused.stderr

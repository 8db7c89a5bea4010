"""The plan guard refuses every change outside a step's contract, in words, with secrets masked.

The documents in recorded_plans/ are `terraform show -json` of real plans of terraform_data
resources (a sensitive variable set to `hunter22-not-for-logs`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migration_pipeline.terraform.guard import Allowed, contract, repaired_drift, unexpected_changes
from migration_pipeline.terraform.plan import MASK, parse_plan, secrets_of
from migration_pipeline.terraform.results import StepResult
from migration_pipeline_tests.support.tf_modules import spec_for

RECORDED = Path(__file__).parent / "recorded_plans"
SECRET = "hunter22-not-for-logs"
READER = (Allowed("terraform_data.reader", ("update",), frozenset({"input"})),)


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())


def check(name: str, allowed=READER, step="promote") -> list[str]:
    return unexpected_changes(parse_plan(recorded(name)), step, allowed)


def test_the_allowed_update_passes():
    assert check("update_reader") == []


def test_no_changes_pass():
    assert check("no_changes") == []


def test_a_replace_is_refused_even_for_the_allowed_address():
    allowed = (Allowed("terraform_data.old_pipeline", ("update",), None),)
    assert check("replace_old_pipeline", allowed) == [
        "terraform_data.old_pipeline would be replaced (destroyed, then created again) because "
        "triggers_replace cannot change in place; a migration step never replaces a resource."
    ]


def test_a_change_to_another_resource_is_refused():
    assert check("update_bystander_and_reader") == [
        "terraform_data.bystander would be updated in place (changes input), but promote does "
        "not touch it."
    ]


def test_a_create_is_refused_where_only_a_delete_is_allowed():
    allowed = (Allowed("terraform_data.new_pipeline", ("delete",)),)
    assert check("create_new_pipeline", allowed, "cutover") == [
        "terraform_data.new_pipeline would be created, but cutover may only destroy "
        "terraform_data.new_pipeline."
    ]


def test_an_update_of_an_attribute_outside_the_contract_is_refused():
    allowed = (Allowed("terraform_data.reader", ("update",), frozenset({"is_shared", "tables"})),)
    assert check("update_reader", allowed) == [
        "terraform_data.reader would also change input, but promote may only update "
        "terraform_data.reader (only is_shared, tables)."
    ]


def test_the_expected_create_and_delete_pass():
    assert (
        check(
            "create_new_pipeline", (Allowed("terraform_data.new_pipeline", ("create",)),), "create"
        )
        == []
    )
    assert (
        check(
            "delete_old_pipeline", (Allowed("terraform_data.old_pipeline", ("delete",)),), "cutover"
        )
        == []
    )


def test_drift_is_refused():
    doc = recorded("no_changes")
    doc["resource_drift"] = [
        {
            "address": "terraform_data.reader",
            "mode": "managed",
            "type": "terraform_data",
            "change": {"actions": ["update"], "before": {"input": "a"}, "after": {"input": "b"}},
        }
    ]
    assert unexpected_changes(parse_plan(doc), "promote", READER) == [
        "terraform_data.reader was changed outside Terraform (input differ from the state): "
        "someone edited it by hand. Make the module match what you want, then rerun."
    ]


def test_contracts_follow_the_design_table(tmp_path):
    spec = spec_for(tmp_path)
    shared = frozenset({"is_shared", "tables"})
    tables = frozenset({"tables"})
    assert contract("promote", spec) == (
        Allowed("artie_source_reader.mysql", ("update",), shared, repairs=tables),
    )
    assert contract("create", spec) == (Allowed("artie_pipeline.orders_duckdb", ("create",)),)
    assert contract("cutover", spec) == (Allowed("artie_pipeline.orders_snowflake", ("delete",)),)
    assert contract("unshare", spec) == (Allowed("artie_source_reader.mysql", ("update",), shared),)


@pytest.mark.parametrize("name", sorted(p.stem for p in RECORDED.glob("*.json")))
def test_sensitive_values_never_reach_parsed_plans_or_markdown(name):
    doc = recorded(name)
    assert SECRET in json.dumps(doc)  # the raw document does hold it
    plan = parse_plan(doc)
    result = StepResult("promote", "refused", "x", plan=plan, problems=tuple(check(name)))
    assert SECRET not in repr(plan)
    assert SECRET not in result.to_markdown()
    assert SECRET not in json.dumps(repr(secrets_of(doc)))


def test_only_the_flagged_part_of_a_value_is_masked():
    (change,) = parse_plan(recorded("update_reader")).changes
    (attribute,) = change.attributes
    assert attribute.before == f'{{"is_shared": false, "password": "{MASK}", "tables": {{}}}}'
    assert attribute.after == (
        f'{{"is_shared": true, "password": "{MASK}", "tables": {{"orders": {{"name": "orders"}}}}}}'
    )


def test_a_value_derived_from_a_secret_without_a_flag_is_masked_too():
    # terraform_data copies `input` into `output` without carrying the sensitive flag.
    doc = recorded("delete_old_pipeline")
    (deleted,) = [rc for rc in doc["resource_changes"] if rc["change"]["actions"] == ["delete"]]
    deleted["change"]["before"]["output"] = {"copy": SECRET}
    (change,) = parse_plan(doc).changes
    assert {a.name: a.before for a in change.attributes}["output"] == f'{{"copy": "{MASK}"}}'


def test_an_output_only_change_still_counts_as_a_change_to_apply():
    doc = recorded("no_changes")
    doc["output_changes"] = {
        "old_uuid": {"actions": ["delete"], "before": SECRET, "after": None},
        "reader": {"actions": ["no-op"], "before": "r", "after": "r"},
    }
    plan = parse_plan(doc)
    assert (plan.outputs, plan.has_changes) == (("output old_uuid would be destroyed",), True)
    assert unexpected_changes(plan, "cutover", ()) == []


def reader_plan(drift_after: dict, planned_after: dict, step_attrs=("tables",)) -> dict:
    """A plan of the reader whose `tables` were {a, b, c} in the state: Artie now holds
    `drift_after` (changed outside Terraform) and the plan writes `planned_after`."""
    state = {"is_shared": True, "tables": {k: {"name": k} for k in "abc"}}
    refreshed = {**state, "tables": drift_after}
    rc = {"address": "artie_source_reader.mysql", "mode": "managed"}
    return {
        "resource_drift": [
            {**rc, "change": {"actions": ["update"], "before": state, "after": refreshed}}
        ],
        "resource_changes": [
            {
                **rc,
                "change": {
                    "actions": ["update"],
                    "before": refreshed,
                    "after": {**refreshed, "tables": planned_after},
                },
            }
        ],
    }


ALL = {k: {"name": k} for k in "abc"}
WITHOUT_C = {k: {"name": k} for k in "ab"}


def test_promote_may_put_back_reader_tables_removed_at_artie_and_nothing_else(tmp_path):
    promote = contract("promote", spec_for(tmp_path))
    repaired = parse_plan(reader_plan(WITHOUT_C, ALL))
    assert repaired_drift(repaired, promote) == {"artie_source_reader.mysql": ("c",)}
    assert unexpected_changes(repaired, "promote", promote) == []
    drift_problem = (
        "artie_source_reader.mysql was changed outside Terraform (tables differ from the "
        "state): someone edited it by hand. Make the module match what you want, then rerun."
    )
    for name, doc, allowed in (
        ("not put back", reader_plan(WITHOUT_C, WITHOUT_C | {"d": {"name": "d"}}), promote),
        ("an entry changed too", reader_plan({**WITHOUT_C, "a": {"name": "x"}}, ALL), promote),
        ("an entry added at Artie", reader_plan({**ALL, "d": {"name": "d"}}, ALL), promote),
        (
            "unshare repairs nothing",
            reader_plan(WITHOUT_C, ALL),
            contract("unshare", spec_for(tmp_path)),
        ),
    ):
        plan = parse_plan(doc)
        assert repaired_drift(plan, allowed) == {}, name
        assert drift_problem in unexpected_changes(plan, "promote", allowed), name


def test_a_drift_is_let_through_only_when_the_plan_itself_puts_every_removed_entry_back(tmp_path):
    # Kills the guard's mutants that let other drift through with a repaired one.
    promote = contract("promote", spec_for(tmp_path))
    reader_problem = (
        "artie_source_reader.mysql was changed outside Terraform ({} differ from the "
        "state): someone edited it by hand. Make the module match what you want, then rerun."
    )
    # A drift with nothing to show is never taken for a repair.
    blank = reader_plan(WITHOUT_C, ALL)
    blank["resource_drift"][0]["change"]["after"] = blank["resource_drift"][0]["change"]["before"]
    assert repaired_drift(parse_plan(blank), promote) == {}
    assert unexpected_changes(parse_plan(blank), "promote", promote) == [
        reader_problem.format("its attributes")
    ]
    # The plan changes the reader but not its tables: nothing is put back.
    untouched = reader_plan(WITHOUT_C, WITHOUT_C)
    untouched["resource_changes"][0]["change"]["after"]["is_shared"] = False
    assert repaired_drift(parse_plan(untouched), promote) == {}
    assert unexpected_changes(parse_plan(untouched), "promote", promote) == [
        reader_problem.format("tables")
    ]
    # Another resource's drift is reported whichever side of the repaired one it is listed on.
    bystander = {
        "address": "artie_pipeline.other",
        "mode": "managed",
        "change": {"actions": ["update"], "before": {"name": "a"}, "after": {"name": "b"}},
    }
    other_problem = (
        "artie_pipeline.other was changed outside Terraform (name differ from the state): "
        "someone edited it by hand. Make the module match what you want, then rerun."
    )
    for first in (True, False):
        doc = reader_plan(WITHOUT_C, ALL)
        drifts = doc["resource_drift"]
        doc["resource_drift"] = [bystander, *drifts] if first else [*drifts, bystander]
        plan = parse_plan(doc)
        assert repaired_drift(plan, promote) == {"artie_source_reader.mysql": ("c",)}, first
        assert unexpected_changes(plan, "promote", promote) == [other_problem], first

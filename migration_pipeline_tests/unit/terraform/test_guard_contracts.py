"""The plan guard lets through exactly each step's contracted action at exactly its address.

Every action is tried against every contract (abort steps included), addresses that share a
prefix, an index or a module path with the contracted one are bystanders, and drift is refused
even on the resource the step changes. Plans are `show -json` shaped documents built here.
"""

from __future__ import annotations

import pytest

from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.guard import (
    READER_ATTRIBUTES,
    Allowed,
    contract,
    own_partial_apply,
    unexpected_changes,
)
from migration_pipeline.terraform.plan import parse_plan

SPEC = MigrationSpec.model_validate(
    {
        "name": "m",
        "terraform": {"dir": "/nonexistent-module"},
        "reader": "artie_source_reader.mysql",
        "old_pipeline": "artie_pipeline.v1",
        "new_pipeline": {"address": "artie_pipeline.v2"},
    }
)
READER, OLD, NEW = "artie_source_reader.mysql", "artie_pipeline.v1", "artie_pipeline.v2"
STEPS = ("promote", "create", "cutover", "unshare", "abort_pipeline", "abort_reader", "abort_tidy")
# What each step may do, written out independently of guard.contract.
EXPECTED = {
    "promote": {READER: ("update",)},
    "create": {NEW: ("create",)},
    "cutover": {OLD: ("delete",)},
    "unshare": {READER: ("update",)},
    "abort_pipeline": {NEW: ("delete",)},
    "abort_reader": {READER: ("update",)},
    "abort_tidy": {},
}
ACTIONS = (("create",), ("update",), ("delete",), ("delete", "create"), ("create", "delete"))


def rc(
    address: str, actions: tuple[str, ...], attribute: str = "is_shared", mode: str = "managed"
) -> dict:
    before = None if actions == ("create",) else {attribute: False, "name": "x"}
    after = None if actions == ("delete",) else {attribute: True, "name": "x"}
    change = {"actions": list(actions), "before": before, "after": after}
    if set(actions) == {"create", "delete"}:
        change["replace_paths"] = [["name"]]
    return {"address": address, "mode": mode, "type": address.split(".")[-2], "change": change}


def plan(*changes: dict, drift: tuple[dict, ...] = ()):
    return parse_plan({"resource_changes": list(changes), "resource_drift": list(drift)})


def test_contracts_cover_every_step_with_the_design_table():
    for step in STEPS:
        got = {a.address: a.actions for a in contract(step, SPEC)}
        assert got == EXPECTED[step], step
    for step in ("promote", "unshare", "abort_reader"):
        (rule,) = contract(step, SPEC)
        assert rule.attributes == READER_ATTRIBUTES == frozenset({"is_shared", "tables"})
    for step in ("create", "cutover", "abort_pipeline"):
        (rule,) = contract(step, SPEC)
        assert rule.attributes is None


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("address", (READER, OLD, NEW))
@pytest.mark.parametrize("actions", ACTIONS, ids="/".join)
def test_every_action_against_every_contract(step, address, actions):
    problems = unexpected_changes(plan(rc(address, actions)), step, contract(step, SPEC))
    if EXPECTED[step].get(address) == actions:
        assert problems == []
        return
    (problem,) = problems
    if set(actions) == {"create", "delete"}:
        assert problem.endswith("; a migration step never replaces a resource.")
    elif address not in EXPECTED[step]:
        assert problem.endswith(f", but {step} does not touch it.")
    else:
        assert f", but {step} may only " in problem


def test_an_update_where_only_a_create_is_allowed_is_refused():
    assert unexpected_changes(plan(rc(NEW, ("update",))), "create", contract("create", SPEC)) == [
        "artie_pipeline.v2 would be updated in place (changes is_shared), but create may only "
        "create artie_pipeline.v2."
    ]


def test_an_update_where_only_a_delete_is_allowed_is_refused():
    assert unexpected_changes(plan(rc(OLD, ("update",))), "cutover", contract("cutover", SPEC)) == [
        "artie_pipeline.v1 would be updated in place (changes is_shared), but cutover may only "
        "destroy artie_pipeline.v1."
    ]
    assert unexpected_changes(
        plan(rc(NEW, ("update",))), "abort_pipeline", contract("abort_pipeline", SPEC)
    ) == [
        "artie_pipeline.v2 would be updated in place (changes is_shared), but abort_pipeline "
        "may only destroy artie_pipeline.v2."
    ]


def test_a_delete_or_create_where_only_an_update_is_allowed_is_refused():
    for step in ("promote", "unshare", "abort_reader"):
        assert unexpected_changes(plan(rc(READER, ("delete",))), step, contract(step, SPEC)) == [
            f"artie_source_reader.mysql would be destroyed, but {step} may only update "
            "artie_source_reader.mysql (only is_shared, tables)."
        ]
        assert unexpected_changes(plan(rc(READER, ("create",))), step, contract(step, SPEC)) == [
            f"artie_source_reader.mysql would be created, but {step} may only update "
            "artie_source_reader.mysql (only is_shared, tables)."
        ]


def test_a_replace_is_refused_at_the_contracted_address_in_either_order():
    for actions in (("delete", "create"), ("create", "delete")):
        (problem,) = unexpected_changes(
            plan(rc(OLD, actions)), "cutover", contract("cutover", SPEC)
        )
        assert problem.endswith(
            "because name cannot change in place; a migration step never replaces a resource."
        )


def test_abort_tidy_refuses_any_resource_change():
    for address in (READER, OLD, NEW):
        for actions in ACTIONS:
            assert len(unexpected_changes(plan(rc(address, actions)), "abort_tidy", ())) == 1


def test_a_reader_update_of_only_contracted_attributes_passes_and_any_other_is_named():
    allowed = contract("promote", SPEC)
    assert unexpected_changes(plan(rc(READER, ("update",), "tables")), "promote", allowed) == []
    assert unexpected_changes(plan(rc(READER, ("update",), "name_x")), "promote", allowed) == [
        "artie_source_reader.mysql would also change name_x, but promote may only update "
        "artie_source_reader.mysql (only is_shared, tables)."
    ]


def test_a_data_source_read_is_not_a_change_but_a_managed_read_is():
    read = rc("data.artie_connector.c", ("read",), mode="data")
    assert unexpected_changes(plan(read), "cutover", contract("cutover", SPEC)) == []
    managed = rc("artie_connector.c", ("read",))
    assert len(unexpected_changes(plan(managed), "cutover", contract("cutover", SPEC))) == 1
    data_delete = rc("data.artie_connector.c", ("delete",), mode="data")
    assert len(unexpected_changes(plan(data_delete), "cutover", contract("cutover", SPEC))) == 1


@pytest.mark.parametrize(
    "bystander",
    (
        "artie_pipeline.v1_eu",
        "artie_pipeline.v1-eu",
        "artie_pipeline.v",
        "artie_pipeline.v1x",
        'artie_pipeline.v1["a"]',
        "artie_pipeline.v1[0]",
        "module.eu.artie_pipeline.v1",
        "module.v1.artie_pipeline.v1_eu",
        "artie_pipeline_x.v1",
        "xartie_pipeline.v1",
    ),
)
def test_an_address_sharing_a_prefix_with_the_contracted_one_is_a_bystander(bystander):
    allowed = contract("cutover", SPEC)
    both = plan(rc(OLD, ("delete",)), rc(bystander, ("delete",)))
    assert unexpected_changes(both, "cutover", allowed) == [
        f"{bystander} would be destroyed, but cutover does not touch it."
    ]


def test_instance_addresses_are_matched_whole():
    allowed = (Allowed('artie_pipeline.p["a"]', ("delete",)),)
    for other in (
        'artie_pipeline.p["ab"]',
        'artie_pipeline.p["b"]',
        "artie_pipeline.p",
        'module.m.artie_pipeline.p["a"]',
    ):
        assert unexpected_changes(plan(rc(other, ("delete",))), "cutover", allowed) == [
            f"{other} would be destroyed, but cutover does not touch it."
        ]
    assert (
        unexpected_changes(plan(rc('artie_pipeline.p["a"]', ("delete",))), "cutover", allowed) == []
    )
    indexed = (Allowed("artie_pipeline.p[1]", ("delete",)),)
    for other in ("artie_pipeline.p[10]", "artie_pipeline.p[0]"):
        assert len(unexpected_changes(plan(rc(other, ("delete",))), "cutover", indexed)) == 1


def test_the_contracted_address_is_not_matched_by_a_longer_contract_either():
    allowed = (Allowed("artie_pipeline.v1_eu", ("delete",)),)
    assert unexpected_changes(plan(rc(OLD, ("delete",))), "cutover", allowed) == [
        "artie_pipeline.v1 would be destroyed, but cutover does not touch it."
    ]


def test_drift_on_the_resource_the_step_changes_is_still_refused():
    drift = rc(READER, ("update",), "tables")
    changed = plan(rc(READER, ("update",)), drift=(drift,))
    assert unexpected_changes(changed, "promote", contract("promote", SPEC)) == [
        "artie_source_reader.mysql was changed outside Terraform (tables differ from the "
        "state): someone edited it by hand. Make the module match what you want, then rerun."
    ]


def test_drift_on_a_deleted_resource_is_refused_and_never_adopted():
    drift = rc(OLD, ("update",), "name_x")
    deleting = plan(rc(OLD, ("delete",)), drift=(drift,))
    problems = unexpected_changes(deleting, "cutover", contract("cutover", SPEC))
    assert problems == [
        "artie_pipeline.v1 was changed outside Terraform (name_x differ from the state): "
        "someone edited it by hand. Make the module match what you want, then rerun."
    ]
    assert own_partial_apply(deleting, contract("cutover", SPEC)) == ()


def test_every_drift_and_change_is_listed_drift_first():
    p = plan(
        rc(READER, ("update",)),
        rc(OLD, ("delete",)),
        drift=(rc(NEW, ("update",)), rc(READER, ("update",), "tables")),
    )
    problems = unexpected_changes(p, "promote", contract("promote", SPEC))
    assert [p.split(" ", 1)[0] for p in problems] == [NEW, READER, OLD]


def test_own_partial_apply_adopts_only_the_contracted_action_at_the_exact_address():
    allowed = contract("create", SPEC)
    own = plan(drift=(rc(NEW, ("create",)),))
    assert own_partial_apply(own, allowed) == (NEW,)
    for drift in (
        rc(NEW, ("update",)),
        rc(NEW, ("delete",)),
        rc(NEW + "_eu", ("create",)),
        rc(NEW + "[0]", ("create",)),
    ):
        assert own_partial_apply(plan(drift=(drift,)), allowed) == ()
    mixed = plan(drift=(rc(NEW, ("create",)), rc(OLD, ("update",))))
    assert own_partial_apply(mixed, allowed) == ()
    reader = contract("promote", SPEC)
    assert own_partial_apply(plan(drift=(rc(READER, ("update",), "tables"),)), reader) == (READER,)
    assert own_partial_apply(plan(drift=(rc(READER, ("update",), "name_x"),)), reader) == ()
    assert own_partial_apply(plan(), allowed) == ()


def test_every_drifted_attribute_is_named_or_the_resource_as_a_whole():
    two = {
        "address": READER,
        "mode": "managed",
        "type": "artie_source_reader",
        "change": {"actions": ["update"], "before": {"a": 1, "b": 1}, "after": {"a": 2, "b": 2}},
    }
    same = {
        "address": OLD,
        "mode": "managed",
        "type": "artie_pipeline",
        "change": {"actions": ["update"], "before": {"a": 1}, "after": {"a": 1}},
    }
    assert unexpected_changes(plan(drift=(two, same)), "cutover", ()) == [
        "artie_source_reader.mysql was changed outside Terraform (a, b differ from the state): "
        "someone edited it by hand. Make the module match what you want, then rerun.",
        "artie_pipeline.v1 was changed outside Terraform (its attributes differ from the "
        "state): someone edited it by hand. Make the module match what you want, then rerun.",
    ]


def test_a_data_source_read_before_a_change_does_not_hide_it():
    read = rc("data.artie_connector.c", ("read",), mode="data")
    assert unexpected_changes(
        plan(read, rc(NEW, ("delete",))), "cutover", contract("cutover", SPEC)
    ) == ["artie_pipeline.v2 would be destroyed, but cutover does not touch it."]


def test_every_attribute_outside_the_contract_is_named():
    change = {
        "address": READER,
        "mode": "managed",
        "type": "artie_source_reader",
        "change": {
            "actions": ["update"],
            "before": {"is_shared": False, "x": 1, "y": 1},
            "after": {"is_shared": True, "x": 2, "y": 2},
        },
    }
    assert unexpected_changes(plan(change), "promote", contract("promote", SPEC)) == [
        "artie_source_reader.mysql would also change x, y, but promote may only update "
        "artie_source_reader.mysql (only is_shared, tables)."
    ]

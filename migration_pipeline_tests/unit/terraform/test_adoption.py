"""Only drift that is exactly a step's own change is adopted after a crash; anything else is not."""

from __future__ import annotations

from migration_pipeline.terraform.guard import Allowed, own_partial_apply
from migration_pipeline.terraform.plan import AttributeChange, Plan, ResourceChange

READER = "artie_source_reader.shop"
PROMOTE = (Allowed(READER, ("update",), frozenset({"is_shared", "tables"})),)
CUTOVER = (Allowed("artie_pipeline.v1", ("delete",)),)


def drift(address: str, actions: tuple[str, ...], *names: str) -> ResourceChange:
    return ResourceChange(
        address, "managed", actions, tuple(AttributeChange(n, "before", "after") for n in names)
    )


def test_the_reader_update_artie_accepted_before_the_crash_is_adopted():
    plan = Plan(changes=(), drift=(drift(READER, ("update",), "is_shared", "tables"),))
    assert own_partial_apply(plan, PROMOTE) == (READER,)


def test_a_delete_artie_accepted_before_the_crash_is_adopted():
    plan = Plan(changes=(), drift=(drift("artie_pipeline.v1", ("delete",)),))
    assert own_partial_apply(plan, CUTOVER) == ("artie_pipeline.v1",)


def test_drift_in_another_attribute_is_not_the_steps_own():
    plan = Plan(changes=(), drift=(drift(READER, ("update",), "is_shared", "name"),))
    assert own_partial_apply(plan, PROMOTE) == ()


def test_drift_of_another_resource_voids_the_adoption_of_all():
    plan = Plan(
        changes=(),
        drift=(
            drift(READER, ("update",), "tables"),
            drift("artie_pipeline.v1", ("update",), "tables"),
        ),
    )
    assert own_partial_apply(plan, PROMOTE) == ()


def test_a_resource_that_still_differs_from_the_edit_is_not_adopted():
    # Artie holds something, but not the journaled edit: the plan would still change it.
    plan = Plan(
        changes=(drift(READER, ("update",), "tables"),),
        drift=(drift(READER, ("update",), "tables"),),
    )
    assert own_partial_apply(plan, PROMOTE) == ()


def test_a_delete_drift_where_the_step_updates_is_not_adopted():
    plan = Plan(changes=(), drift=(drift(READER, ("delete",)),))
    assert own_partial_apply(plan, PROMOTE) == ()


def test_no_drift_adopts_nothing():
    assert own_partial_apply(Plan(changes=(), drift=()), PROMOTE) == ()

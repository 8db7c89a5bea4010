"""The plan guard: holds a saved plan to the one change each migration step may make."""

from __future__ import annotations

from dataclasses import dataclass

from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.plan import Plan

READER_ATTRIBUTES = frozenset({"is_shared", "tables"})


@dataclass(frozen=True)
class Allowed:
    """One change a step may make: to `address`, with `actions`; for updates, only `attributes`."""

    address: str
    actions: tuple[str, ...]
    attributes: frozenset[str] | None = None
    # Map attributes whose entries, removed outside Terraform (drift), the step may put back.
    repairs: frozenset[str] = frozenset()

    def describe(self) -> str:
        what = {"update": "update", "create": "create", "delete": "destroy"}[self.actions[0]]
        extra = f" (only {', '.join(sorted(self.attributes))})" if self.attributes else ""
        return f"{what} {self.address}{extra}"


def contract(step: str, spec: MigrationSpec) -> tuple[Allowed, ...]:
    """The changes `step` may make, as the design's table states them."""
    return {
        "promote": (Allowed(spec.reader, ("update",), READER_ATTRIBUTES, frozenset({"tables"})),),
        "create": (Allowed(spec.new_pipeline.address, ("create",)),),
        "cutover": (Allowed(spec.old_pipeline, ("delete",)),),
        "unshare": (Allowed(spec.reader, ("update",), READER_ATTRIBUTES),),
        "abort_pipeline": (Allowed(spec.new_pipeline.address, ("delete",)),),
        "abort_reader": (Allowed(spec.reader, ("update",), READER_ATTRIBUTES),),
        "abort_tidy": (),  # only removes a line that restates the state
    }[step]


def own_partial_apply(plan: Plan, allowed: tuple[Allowed, ...]) -> tuple[str, ...]:
    """The addresses whose drift is exactly the step's own change, applied in Artie before a
    crash kept it out of the state; empty unless every drift is such a change.

    A drift is the step's own when it is the contracted action on a contracted resource (for an
    update, only contracted attributes) and, once refreshed, the resource already matches the
    edited module (the plan changes nothing more on it): Artie holds exactly the journaled edit.
    """
    by_address = {a.address: a for a in allowed}
    changed = {c.address for c in plan.changes}
    adopted = []
    for drift in plan.drift:
        rule = by_address.get(drift.address)
        if rule is None or drift.address in changed or drift.actions != rule.actions:
            return ()
        if (
            rule.attributes is not None
            and not {a.name for a in drift.attributes} <= rule.attributes
        ):
            return ()
        adopted.append(drift.address)
    return tuple(adopted)


def repaired_drift(plan: Plan, allowed: tuple[Allowed, ...]) -> dict[str, tuple[str, ...]]:
    """The drifts the plan puts back and `allowed` lets it: per address, the map entries (e.g.
    reader tables) someone removed outside Terraform, when removing them is the whole drift and
    the plan's own update of that resource adds every one of them back."""
    by_address = {a.address: a for a in allowed}
    changes = {c.address: c for c in plan.changes if c.actions == ("update",)}
    repaired = {}
    for drift in plan.drift:
        rule, change = by_address.get(drift.address), changes.get(drift.address)
        if rule is None or change is None or drift.actions != ("update",) or not drift.attributes:
            continue
        putting_back = {a.name: set(a.added) for a in change.attributes}
        if all(
            a.name in rule.repairs
            and a.removed_only
            and set(a.removed_only) <= putting_back.get(a.name, set())
            for a in drift.attributes
        ):
            repaired[drift.address] = tuple(k for a in drift.attributes for k in a.removed_only)
    return repaired


def unexpected_changes(plan: Plan, step: str, allowed: tuple[Allowed, ...]) -> list[str]:
    """Every change or drift in `plan` outside `allowed`, in words an operator can act on."""
    problems = []
    repaired = repaired_drift(plan, allowed)
    for drift in plan.drift:
        if drift.address in repaired:
            continue
        names = ", ".join(a.name for a in drift.attributes) or "its attributes"
        problems.append(
            f"{drift.address} was changed outside Terraform ({names} differ from the state): "
            "someone edited it by hand. Make the module match what you want, then rerun."
        )
    by_address = {a.address: a for a in allowed}
    for change in plan.changes:
        if change.mode == "data" and change.actions == ("read",):
            continue
        rule = by_address.get(change.address)
        if change.is_replace:
            problems.append(f"{change.describe()}; a migration step never replaces a resource.")
        elif rule is None:
            problems.append(f"{change.describe()}, but {step} does not touch it.")
        elif change.actions != rule.actions:
            problems.append(f"{change.describe()}, but {step} may only {rule.describe()}.")
        elif rule.attributes is not None:
            extra = sorted(a.name for a in change.attributes if a.name not in rule.attributes)
            if extra:
                problems.append(
                    f"{change.address} would also change {', '.join(extra)}, but {step} may "
                    f"only {rule.describe()}."
                )
    return problems

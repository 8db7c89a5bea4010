"""Reads `terraform show -json` of a saved plan into plain changes, with sensitive values masked.

Terraform flags sensitive paths in `before_sensitive` / `after_sensitive`, but a value derived
from a sensitive variable can also appear unflagged (e.g. `terraform_data.output`), and the
plan's `variables` hold raw values. So every value of a sensitive variable or at a flagged path
is collected and masked wherever it appears; nothing else of the raw document leaves here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MASK = "(sensitive value)"
_VERBS = {
    ("create",): "created",
    ("delete",): "destroyed",
    ("update",): "updated in place",
    ("delete", "create"): "replaced (destroyed, then created again)",
    ("create", "delete"): "replaced (created, then the old one destroyed)",
    ("read",): "read",
}


@dataclass(frozen=True)
class AttributeChange:
    """One top-level attribute of a resource: its values before and after, already masked."""

    name: str
    before: str
    after: str
    # For a map (e.g. `tables`): the keys it lost when losing them is all that changed, and the
    # keys it gained; empty otherwise.
    removed_only: tuple[str, ...] = ()
    added: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResourceChange:
    """What the plan does to one resource instance (or what drifted outside Terraform)."""

    address: str
    mode: str
    actions: tuple[str, ...]
    attributes: tuple[AttributeChange, ...]
    replace_because: tuple[str, ...] = ()

    @property
    def verb(self) -> str:
        return _VERBS.get(self.actions, "/".join(self.actions))

    @property
    def is_replace(self) -> bool:
        return set(self.actions) == {"create", "delete"}

    def describe(self) -> str:
        names = ", ".join(a.name for a in self.attributes)
        text = f"{self.address} would be {self.verb}"
        if self.is_replace and self.replace_because:
            text += f" because {', '.join(self.replace_because)} cannot change in place"
        elif self.actions == ("update",) and names:
            text += f" (changes {names})"
        return text


@dataclass(frozen=True)
class Plan:
    """The changes and drift of one saved plan, safe to log and show."""

    changes: tuple[ResourceChange, ...]
    drift: tuple[ResourceChange, ...]
    outputs: tuple[str, ...] = ()  # root outputs the apply would change (values not kept)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes or self.outputs)


class Redactor:
    """Replaces every known sensitive value in a text with a mask."""

    def __init__(self, secrets: set[str] | None = None):
        self.secrets = {s for s in (secrets or set()) if len(s) >= 3}

    def add(self, other: Redactor) -> None:
        self.secrets |= other.secrets

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def __repr__(self) -> str:
        return f"Redactor({len(self.secrets)} values)"


def secrets_of(doc: dict) -> Redactor:
    """Every sensitive value in a `show -json` document: sensitive variables, flagged paths."""
    found: set[str] = set()
    declared = doc.get("configuration", {}).get("root_module", {}).get("variables", {})
    for name, value in doc.get("variables", {}).items():
        if declared.get(name, {}).get("sensitive"):
            _strings(value.get("value"), found)
    for rc in doc.get("resource_changes", []) + doc.get("resource_drift", []):
        change = rc.get("change", {})
        for side in ("before", "after"):
            _flagged(change.get(side), change.get(f"{side}_sensitive"), found)
    state = doc.get("values", doc.get("prior_state", {}).get("values", {}))
    for res in state.get("root_module", {}).get("resources", []):
        _flagged(res.get("values"), res.get("sensitive_values"), found)
    return Redactor(found)


def _strings(value, into: set[str]) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _strings(v, into)
    elif isinstance(value, list):
        for v in value:
            _strings(v, into)
    elif value is not None and not isinstance(value, bool):
        into.add(str(value))


def _flagged(value, flags, into: set[str]) -> None:
    if flags is True:
        _strings(value, into)
    elif isinstance(flags, dict) and isinstance(value, dict):
        for k, f in flags.items():
            _flagged(value.get(k), f, into)
    elif isinstance(flags, list) and isinstance(value, list):
        for v, f in zip(value, flags, strict=False):
            _flagged(v, f, into)


def parse_plan(doc: dict, redact: Redactor | None = None) -> Plan:
    """The plan's resource changes (no-ops left out) and drift, masked."""
    redact = redact or secrets_of(doc)
    changes = tuple(
        _change(rc, redact)
        for rc in doc.get("resource_changes", [])
        if tuple(rc["change"]["actions"]) != ("no-op",)
    )
    drift = tuple(_change(rc, redact) for rc in doc.get("resource_drift", []))
    outputs = tuple(
        f"output {name} would be {_VERBS.get(tuple(o['actions']), '/'.join(o['actions']))}"
        for name, o in sorted(doc.get("output_changes", {}).items())
        if tuple(o["actions"]) != ("no-op",)
    )
    return Plan(changes, drift, outputs)


def _change(rc: dict, redact: Redactor) -> ResourceChange:
    change = rc["change"]
    before, after = change.get("before") or {}, change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    sensitive = {
        **_as_dict(change.get("before_sensitive")),
        **_as_dict(change.get("after_sensitive")),
    }
    attrs = []
    for name in sorted(set(before) | set(after) | set(unknown)):
        b, a = before.get(name), after.get(name)
        if b == a and unknown.get(name) is not True:
            continue
        if unknown.get(name) is True and name not in after:
            if name in before and change["actions"] == ["update"]:
                continue  # a computed attribute Terraform recomputes; not a change we make
            shown_after = "(known after apply)"
        else:
            shown_after = _show(a, sensitive.get(name), redact)
        attrs.append(
            AttributeChange(
                name,
                _show(b, sensitive.get(name), redact),
                shown_after,
                *_map_keys(b, a, redact),
            )
        )
    because = tuple(".".join(str(p) for p in path) for path in change.get("replace_paths", []))
    return ResourceChange(
        rc["address"], rc.get("mode", "managed"), tuple(change["actions"]), tuple(attrs), because
    )


def _map_keys(before, after, redact: Redactor) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keys only removed, keys added) between two maps; both empty unless both are maps."""
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return (), ()
    gone, added = sorted(set(before) - set(after)), sorted(set(after) - set(before))
    only = not added and all(before[k] == v for k, v in after.items())
    return tuple(redact(k) for k in gone) if only else (), tuple(redact(k) for k in added)


def _as_dict(flags) -> dict:
    return flags if isinstance(flags, dict) else {}


def _show(value, flag, redact: Redactor) -> str:
    if value is None:
        return "null"
    text = json.dumps(_compact(_mask(value, flag)), sort_keys=True, ensure_ascii=False)
    text = redact(text)
    return text if len(text) <= 300 else text[:297] + "..."


def _compact(value):
    """Unset (null) fields of nested objects left out: a `tables` map stays readable."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def _mask(value, flags):
    """`value` with every part its sensitivity flags mark replaced by the mask."""
    if flags is True:
        return MASK
    if isinstance(flags, dict) and isinstance(value, dict):
        return {k: _mask(v, flags.get(k)) for k, v in value.items()}
    if isinstance(flags, list) and isinstance(value, list):
        return [_mask(v, flags[i] if i < len(flags) else None) for i, v in enumerate(value)]
    return value

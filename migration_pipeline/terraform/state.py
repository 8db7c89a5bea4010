"""The Terraform state as the migration reads it: the one parser of `terraform state pull`'s JSON.

Only root-module managed resources count; a resource with `count` / `for_each` (an index key)
is not one the spec can name as `<type>.<name>`, so it has no address here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class StateResource:
    """One managed resource instance of the root module. `attributes` hold sensitive values in
    plain text: they never appear in a repr."""

    type: str
    name: str
    indexed: bool
    attributes: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    @property
    def uuid(self) -> str | None:
        return self.attributes.get("uuid") or None


@dataclass(frozen=True)
class TerraformState:
    """What `terraform state pull` returned, typed (empty when nothing was applied yet)."""

    resources: tuple[StateResource, ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> TerraformState:
        found = []
        for res in raw.get("resources", ()):
            if res.get("mode") != "managed" or res.get("module"):
                continue
            instances = res.get("instances", ())
            for instance in instances:
                found.append(
                    StateResource(
                        res["type"],
                        res["name"],
                        "index_key" in instance or len(instances) > 1,
                        MappingProxyType(dict(instance.get("attributes") or {})),
                    )
                )
        return cls(tuple(found))

    def attributes(self, address: str) -> Mapping[str, Any] | None:
        """The attributes of the single-instance resource at `address`, if the state holds it."""
        return next(
            (r.attributes for r in self.resources if not r.indexed and r.address == address), None
        )

    def uuids(self) -> dict[str, str]:
        """`address -> uuid` of the single-instance resources that have one."""
        return {r.address: r.uuid for r in self.resources if not r.indexed and r.uuid}

    def by_uuid(self, uuid: str | None) -> Mapping[str, Any] | None:
        """The attributes of any instance whose `uuid` is `uuid` (an indexed one too)."""
        if not uuid:
            return None
        return next((r.attributes for r in self.resources if r.uuid == uuid), None)

"""Table identities as Artie's `tables` maps spell them, and which reader entry covers which."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class TableId:
    """A source table: `schema` is empty when the map key and value leave it out."""

    schema: str
    name: str

    @classmethod
    def parse(cls, text: str) -> TableId:
        schema, _, name = text.rpartition(".")
        return cls(schema, name)

    @classmethod
    def from_entry(cls, key: str, value) -> TableId:
        """The table a `tables` map entry names: its `name`/`schema` values, else its key."""
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            schema = value.get("schema")
            return cls(schema if isinstance(schema, str) else "", value["name"])
        return cls.parse(key)

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def covers(self, other: TableId) -> bool:
        """A reader entry covers a pipeline table of the same name; an unset schema matches any."""
        return self.name == other.name and (
            not self.schema or not other.schema or self.schema == other.schema
        )

    def __str__(self) -> str:
        return self.key


def uncovered(reader: set[TableId] | frozenset[TableId], needed) -> list[TableId]:
    """The tables in `needed` that no entry of `reader` covers, sorted."""
    return sorted(t for t in needed if not any(r.covers(t) for r in reader))


@dataclass(frozen=True)
class AttachedPipeline:
    """A pipeline reading from the reader: declared in the module, or reported by Artie's API."""

    label: str
    tables: frozenset[TableId]

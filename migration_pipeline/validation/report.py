"""What a validation found, per table and overall: plain frozen data, no wire format."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

Key = tuple[Any, ...]

MATCH, MISMATCH, UNCONFIRMED = "match", "mismatch", "unconfirmed"


@dataclass(frozen=True)
class SchemaDifference:
    """A column (or the whole table) that is not comparable; `kind` says how."""

    kind: str  # missing_in_new | missing_in_old | incompatible_type | table_missing_in_new | history_table_missing_in_new
    column: str | None = None
    old_type: str | None = None
    new_type: str | None = None

    @property
    def description(self) -> str:
        if self.kind == "incompatible_type":
            return f"column {self.column!r}: {self.old_type} in old, {self.new_type} in new"
        if self.kind in ("missing_in_new", "missing_in_old"):
            return f"column {self.column!r} {self.kind.replace('_', ' ')}"
        return self.kind.replace("_", " ")


@dataclass(frozen=True)
class KeyList:
    """Mismatched keys of one kind: the first `len(keys)` in key order, out of `total`."""

    keys: tuple[Key, ...] = ()
    total: int = 0

    @property
    def truncated(self) -> bool:
        return self.total > len(self.keys)


@dataclass(frozen=True)
class ColumnDiff:
    column: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ChangedRow:
    key: Key
    columns: tuple[ColumnDiff, ...]


@dataclass(frozen=True)
class DuplicateKey:
    """A key with more than one live row on a side (never merged silently)."""

    key: Key
    old_rows: int
    new_rows: int


@dataclass(frozen=True)
class Freshness:
    """Latest Artie write time on each side and how far new trails old (seconds; < 0: ahead)."""

    column: str | None = None
    old_max: datetime | None = None
    new_max: datetime | None = None
    watermark: datetime | None = None

    @property
    def lag_seconds(self) -> float | None:
        if self.old_max is None or self.new_max is None:
            return None
        return (self.old_max - self.new_max).total_seconds()

    @property
    def leading(self) -> str | None:
        """The side whose latest write time is later ("old" | "new"); None when level or unknown."""
        if self.watermark is None or self.old_max is None or self.new_max is None:
            return None
        if self.old_max == self.new_max:
            return None
        return "old" if self.old_max > self.new_max else "new"

    def latest(self, side: str) -> datetime | None:
        return self.old_max if side == "old" else self.new_max


@dataclass(frozen=True)
class TableReport:
    table: str
    new_table: str
    key_columns: tuple[str, ...] = ()
    compared_columns: tuple[str, ...] = ()
    old_rows: int = 0
    new_rows: int = 0
    missing_in_new: KeyList = KeyList()
    extra_in_new: KeyList = KeyList()
    changed: tuple[ChangedRow, ...] = ()
    changed_total: int = 0
    duplicate_keys: tuple[DuplicateKey, ...] = ()
    duplicate_total: int = 0
    in_flight: KeyList = KeyList()
    # Of `in_flight`: keys on the lagging side only, absent from the leading side (a hard delete
    # has no write time, so it may have reached the leading side and not yet the lagging one).
    pending_deletes: KeyList = KeyList()
    schema_differences: tuple[SchemaDifference, ...] = ()
    freshness: Freshness = Freshness()
    buckets: int = 0
    differing_buckets: int = 0
    seconds: float = 0.0
    confirmed: KeyList | None = None  # set when an earlier validation could confirm
    previous_mismatched_rows: int | None = None  # the earlier validation's figure: convergence

    @property
    def mismatched_rows(self) -> int:
        return (
            self.missing_in_new.total
            + self.extra_in_new.total
            + self.changed_total
            + self.duplicate_total
        )

    def listed_keys(self) -> tuple[Key, ...]:
        """Every mismatched key this report lists (what a later validation confirms against)."""
        return (
            self.missing_in_new.keys
            + self.extra_in_new.keys
            + tuple(row.key for row in self.changed)
            + tuple(dup.key for dup in self.duplicate_keys)
        )

    @property
    def verdict(self) -> str:
        if self.schema_differences or (self.confirmed is not None and self.confirmed.total):
            return MISMATCH
        return UNCONFIRMED if self.mismatched_rows else MATCH

    @property
    def matches(self) -> bool:
        return self.verdict == MATCH

    def one_sided_keys(self) -> dict[Key, str]:
        """Keys present on one side only (listed or pending deletes) -> the side lacking them."""
        sides = {key: "new" for key in self.missing_in_new.keys}
        sides.update((key, "old") for key in self.extra_in_new.keys)
        leading = self.freshness.leading
        if leading:
            sides.update((key, leading) for key in self.pending_deletes.keys)
        return sides

    def with_confirmation(
        self,
        previous_keys: set[Key],
        previous_mismatched_rows: int | None = None,
        unapplied_deletes: frozenset[Key] = frozenset(),
    ) -> TableReport:
        """Keys also listed by the previous validation are confirmed mismatches, and so are
        `unapplied_deletes`: keys set aside as pending deletes earlier that are still on one
        side only after the lagging side has passed the point the leading side had reached."""
        table = self._settle(unapplied_deletes)
        persisting = tuple(
            key for key in table.listed_keys() if key in previous_keys or key in unapplied_deletes
        )
        return replace(
            table,
            confirmed=KeyList(persisting, len(persisting)),
            previous_mismatched_rows=previous_mismatched_rows,
        )

    def _settle(self, unapplied: frozenset[Key]) -> TableReport:
        """Move unapplied deletes still set aside as pending into the missing / extra lists."""
        moving = tuple(key for key in self.pending_deletes.keys if key in unapplied)
        if not moving:
            return self
        target = "extra_in_new" if self.freshness.leading == "old" else "missing_in_new"
        listed: KeyList = getattr(self, target)
        return replace(
            self,
            pending_deletes=_without(self.pending_deletes, moving),
            in_flight=_without(self.in_flight, moving),
            **{target: KeyList(_in_key_order(listed.keys + moving), listed.total + len(moving))},
        )


def _without(keys: KeyList, removed: tuple[Key, ...]) -> KeyList:
    return KeyList(tuple(k for k in keys.keys if k not in removed), keys.total - len(removed))


def _in_key_order(keys: tuple[Key, ...]) -> tuple[Key, ...]:
    return tuple(sorted(keys, key=lambda key: tuple((v is None, v) for v in key)))


@dataclass(frozen=True)
class SkippedTable:
    table: str
    reason: str


@dataclass(frozen=True)
class ValidationReport:
    old: str
    new: str
    started_at: datetime
    finished_at: datetime
    tables: tuple[TableReport, ...] = ()
    skipped: tuple[SkippedTable, ...] = field(default=())
    # Names the validation everywhere: its history row, its Dagster event, an approval of it.
    id: str = field(default_factory=lambda: uuid.uuid4().hex, compare=False)

    @property
    def verdict(self) -> str:
        verdicts = {table.verdict for table in self.tables}
        for verdict in (MISMATCH, UNCONFIRMED):
            if verdict in verdicts:
                return verdict
        return MATCH

    @property
    def matches(self) -> bool:
        return self.verdict == MATCH

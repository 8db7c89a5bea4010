"""What a validation found, per table and overall: plain frozen data, no wire format."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from migration_pipeline.validation.verdict import Limits, Verdict, judge

Key = tuple[Any, ...]

# Why a key is a confirmed mismatch: listed by this validation and the previous one, or set
# aside as a pending delete and still on one side only once the lagging side passed the point
# the leading side had reached.
SEEN_TWICE, DELETE_NOT_APPLIED = "seen_in_consecutive_validations", "pending_delete_not_applied"


@dataclass(frozen=True)
class SchemaDifference:
    """A column (or the whole table) that differs in schema; `kind` says how. A type change
    whose values still compare (INTEGER -> BIGINT) is listed with `values_compare` and does not
    by itself make the table differ."""

    kind: str  # missing_in_new | missing_in_old | type_changed | incompatible_type | table_missing_in_new | history_table_missing_in_new
    column: str | None = None
    old_type: str | None = None
    new_type: str | None = None
    values_compare: bool = False

    @property
    def description(self) -> str:
        if self.kind in ("incompatible_type", "type_changed"):
            compare = "values still compare" if self.values_compare else "values do not compare"
            return (
                f"column {self.column!r}: {self.old_type} in old, {self.new_type} in new "
                f"({compare})"
            )
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
class Confirmation:
    """A confirmed mismatched key and the rule that confirmed it."""

    key: Key
    rule: str


@dataclass(frozen=True)
class Summary:
    """The counts a verdict rests on; a key is in exactly one of the four counts."""

    confirmed: int = 0
    unconfirmed: int = 0  # mismatched keys seen in this validation only
    pending_deletes: int = 0  # on one side only, absent from the side that is ahead
    in_flight: int = 0  # changed after the watermark on either side
    new_behind_old_seconds: float | None = None  # < 0: the old side is behind
    in_flight_age_seconds: float | None = None

    def __add__(self, other: Summary) -> Summary:
        lags = [x for x in (self.new_behind_old_seconds, other.new_behind_old_seconds)
                if x is not None]  # fmt: skip
        ages = [x for x in (self.in_flight_age_seconds, other.in_flight_age_seconds)
                if x is not None]  # fmt: skip
        return Summary(
            self.confirmed + other.confirmed,
            self.unconfirmed + other.unconfirmed,
            self.pending_deletes + other.pending_deletes,
            self.in_flight + other.in_flight,
            max(lags, key=abs) if lags else None,
            max(ages) if ages else None,
        )


@dataclass(frozen=True)
class Freshness:
    """Latest Artie write time on each side (the comparison's watermark is the older one)."""

    column: str | None = None
    old_max: datetime | None = None
    new_max: datetime | None = None
    watermark: datetime | None = None

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


FULL, INCREMENTAL = "full", "incremental"


@dataclass(frozen=True)
class Coverage:
    """What a table's comparison covered: every row (full), or only the keys whose rows changed
    on either side after `since` (incremental), plus why a full one ran and the change time both
    sides had reached (where the next incremental validation may start once this one is clean)."""

    mode: str = FULL
    reason: str = ""  # why full (empty for incremental)
    column: str | None = None  # the change-time column read for incremental
    since: datetime | None = None
    changed_keys: int = 0
    count_difference: int = 0  # old rows - new rows, all among the changed keys when incremental
    reached: datetime | None = None  # the older of the two sides' latest change time

    @property
    def description(self) -> str:
        if self.mode == FULL:
            return f"full ({self.reason})" if self.reason else "full"
        since = self.since.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if self.since else "?"
        counts = (
            "counts equal"
            if not self.count_difference
            else f"counts differ by {self.count_difference:+,}, all among the changed keys"
        )
        keys = "changed key" if self.changed_keys == 1 else "changed keys"
        return f"incremental since {since}: {self.changed_keys:,} {keys} checked, {counts}"


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
    oldest_in_flight: datetime | None = None  # the earliest write time among keys in flight
    confirmations: tuple[Confirmation, ...] = ()
    previous_mismatched_rows: int | None = None  # the earlier validation's figure: convergence
    limits: Limits = Limits()
    coverage: Coverage = Coverage()

    @property
    def judgement(self) -> Verdict:
        """The verdict this table alone gets (the report's verdict covers every table)."""
        return judge(self.summary, self.limits, (self.table,) if self.schema_blocks else ())

    @property
    def verdict(self) -> str:
        return self.judgement.kind

    @property
    def clean(self) -> bool:
        return self.verdict == "clean"

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
    def confirmed(self) -> KeyList:
        keys = tuple(c.key for c in self.confirmations)
        return KeyList(keys, len(keys))

    @property
    def schema_blocks(self) -> bool:
        """A schema difference stops values from comparing: the table differs."""
        return any(not d.values_compare for d in self.schema_differences)

    @property
    def new_behind_old_seconds(self) -> float | None:
        """How far the new side trails the old one by Artie's write times (< 0: the old side
        trails). 0 when no key is in flight or pending: whatever the latest write times say
        (backfill snapshot times, say), nothing is behind."""
        f = self.freshness
        if f.old_max is None or f.new_max is None:
            return None
        if not (self.in_flight.total or self.pending_deletes.total):
            return 0.0
        return (f.old_max - f.new_max).total_seconds()

    @property
    def in_flight_age_seconds(self) -> float | None:
        """How much older than the leading side's latest write the oldest change in flight is."""
        leading = self.freshness.leading
        latest = self.freshness.latest(leading) if leading else None
        if latest is None or self.oldest_in_flight is None or not self.in_flight.total:
            return None
        return max(0.0, (latest - self.oldest_in_flight).total_seconds())

    @property
    def summary(self) -> Summary:
        confirmed = {c.key for c in self.confirmations}

        def open_(keys: KeyList) -> int:
            return keys.total - sum(1 for k in keys.keys if k in confirmed)

        listed = sum(1 for k in self.listed_keys() if k in confirmed)
        return Summary(
            confirmed=len(confirmed),
            unconfirmed=self.mismatched_rows - listed,
            pending_deletes=open_(self.pending_deletes),
            in_flight=open_(self.in_flight),
            new_behind_old_seconds=self.new_behind_old_seconds,
            in_flight_age_seconds=self.in_flight_age_seconds,
        )

    def one_sided_keys(self) -> dict[Key, str]:
        """Keys present on one side only (listed or pending deletes) -> the side lacking them."""
        sides = {key: "new" for key in self.missing_in_new.keys}
        sides.update((key, "old") for key in self.extra_in_new.keys)
        leading = self.freshness.leading
        if leading:
            sides.update((key, leading) for key in self.pending_deletes.keys)
        return sides

    def suspect_keys(self) -> tuple[Key, ...]:
        """Every key this report holds as differing: listed, pending deletes and in flight."""
        return self.listed_keys() + self.pending_deletes.keys + self.in_flight.keys

    def with_confirmation(
        self, confirmations: dict[Key, str], previous_mismatched_rows: int | None = None
    ) -> TableReport:
        """Mark `confirmations` (key -> rule) confirmed; confirmed pending deletes move to the
        missing / extra lists, since they are no longer waiting for anything."""
        table = self.settle(frozenset(k for k in self.pending_deletes.keys if k in confirmations))
        kept = tuple(
            Confirmation(key, confirmations[key])
            for key in table.suspect_keys()
            if key in confirmations
        )
        return replace(table, confirmations=kept, previous_mismatched_rows=previous_mismatched_rows)

    def settle(self, keys: frozenset[Key], resolved: frozenset[Key] = frozenset()) -> TableReport:
        """Pending deletes in `keys` move to the missing / extra lists; those in `resolved`
        (no longer on one side only) are dropped."""
        moving = tuple(key for key in self.pending_deletes.keys if key in keys)
        gone = tuple(key for key in self.pending_deletes.keys if key in resolved)
        if not moving and not gone:
            return self
        target = "extra_in_new" if self.freshness.leading == "old" else "missing_in_new"
        listed: KeyList = getattr(self, target)
        return replace(
            self,
            pending_deletes=_without(self.pending_deletes, moving + gone),
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
    limits: Limits = Limits()

    @property
    def summary(self) -> Summary:
        total = Summary()
        for table in self.tables:
            total = total + table.summary
        return total

    @property
    def judgement(self) -> Verdict:
        blocking = tuple(t.table for t in self.tables if t.schema_blocks)
        return judge(self.summary, self.limits, blocking, self.old, self.new)

    @property
    def verdict(self) -> str:
        """clean | inconclusive | mismatch (`verdict.py`)."""
        return self.judgement.kind

    @property
    def clean(self) -> bool:
        return self.verdict == "clean"

    @property
    def mode(self) -> str:
        """full | incremental | mixed: how the tables were compared."""
        modes = {t.coverage.mode for t in self.tables}
        return modes.pop() if len(modes) == 1 else "mixed" if modes else FULL

    def table_verdict(self, table: TableReport) -> Verdict:
        """The verdict `table` alone gets, its reasons naming this report's destinations."""
        return judge(
            replace(self, tables=(table,)).summary,
            self.limits,
            (table.table,) if table.schema_blocks else (),
            self.old,
            self.new,
        )

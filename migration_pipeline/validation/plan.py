"""Which columns of a table pair are compared, as which SQL expressions, and what differs in schema.

Values are compared exactly: when the two sides use different but compatible types (INTEGER vs
BIGINT, DECIMAL scales, timestamp precisions, JSON vs text) both are cast to one common type
so that equal values hash equally; anything else is a schema difference naming the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migration_pipeline.errors import ValidationInputError
from migration_pipeline.validation.catalog import Column, Table
from migration_pipeline.validation.mapping import TableMapping
from migration_pipeline.validation.report import SchemaDifference
from migration_pipeline.validation.sql import Sql, compose, ident

_INTEGERS = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
}  # fmt: skip
_FLOATS = {"FLOAT", "DOUBLE"}
_TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}
_TIMESTAMP_TZ = "TIMESTAMP WITH TIME ZONE"
_TEXT = {"VARCHAR", "JSON"}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")

DELETE_COLUMN = "__artie_delete"
WATERMARK_COLUMNS = ("__artie_db_updated_at", "__artie_updated_at")


@dataclass(frozen=True)
class ComparedColumn:
    """One column pair and the SQL that reads it from each side in the common type."""

    name: str
    old_name: str
    new_name: str
    old_sql: Sql
    new_sql: Sql
    type: str
    is_float: bool = False


@dataclass(frozen=True)
class ComparisonPlan:
    keys: tuple[ComparedColumn, ...]
    columns: tuple[ComparedColumn, ...]
    schema_differences: tuple[SchemaDifference, ...]
    old_delete: str | None
    new_delete: str | None
    freshness: tuple[str, str | None, str | None] | None  # (label, old column, new column)

    @property
    def live(self) -> bool:
        """Both sides carry the same Artie write-time column: compare up to a watermark."""
        return self.freshness is not None and None not in self.freshness


def _decimal(type_: str) -> tuple[int, int] | None:
    match = _DECIMAL.fullmatch(type_)
    return (int(match.group(1)), int(match.group(2))) if match else None


def common_type(old: str, new: str) -> tuple[str | None, bool] | None:
    """(cast target or None for no cast, is_float); None when the types are not comparable."""
    if old == new:
        return (None, old in _FLOATS) if old != "JSON" else ("JSON", False)
    numeric = _INTEGERS | _FLOATS
    if {old, new} <= _INTEGERS:
        return "HUGEINT", False
    if (_decimal(old) or old in _INTEGERS) and (_decimal(new) or new in _INTEGERS):
        scale = max((_decimal(t) or (0, 0))[1] for t in (old, new))
        return f"DECIMAL(38,{scale})", False
    if (old in _FLOATS or new in _FLOATS) and all(t in numeric or _decimal(t) for t in (old, new)):
        return "DOUBLE", True
    if {old, new} <= _TIMESTAMPS:
        return "TIMESTAMP_NS", False
    if {old, new} <= _TIMESTAMPS | {_TIMESTAMP_TZ}:
        return _TIMESTAMP_TZ, False
    if {old, new} <= _TEXT:
        return "JSON", False
    return None


def _read(column: str, cast: str | None) -> Sql:
    name = ident(column)
    if cast is None:
        return name
    if cast == "JSON":  # the same JSON document, however it was spaced, compares equal
        return compose(
            "CASE WHEN json_valid({c}) THEN json({c})::VARCHAR ELSE {c}::VARCHAR END",
            c=name,
        )
    return compose("CAST({c} AS {t})", c=name, t=Sql(cast))


def _pair(name: str, old: Column, new: Column) -> ComparedColumn | None:
    common = common_type(old.type, new.type)
    if common is None:
        return None
    cast, is_float = common
    return ComparedColumn(
        name,
        old.name,
        new.name,
        _read(old.name, cast),
        _read(new.name, cast),
        cast or old.type,
        is_float,
    )


def _by_name(table: Table) -> dict[str, Column]:
    return {column.name.lower(): column for column in table.columns}


def _find(columns: dict[str, Column], names: tuple[str, ...]) -> str | None:
    return next((columns[n].name for n in names if n in columns), None)


def _key_names(mapping: TableMapping, old: Table, keys: tuple[str, ...]) -> tuple[str, ...]:
    names = keys or mapping.key_columns or old.primary_key
    if not names:
        raise ValidationInputError(
            f"table {old.display!r} has no primary key in the old destination: pass --key COLUMN"
        )
    columns = _by_name(old)
    for name in names:
        if name.lower() not in columns:
            raise ValidationInputError(
                f"key column {name!r} not found in table {old.display!r} of the old destination"
            )
    return tuple(columns[n.lower()].name for n in names)


def plan_table(
    mapping: TableMapping, old: Table, new: Table, keys: tuple[str, ...] = ()
) -> ComparisonPlan:
    """Pair the columns of `old` and `new` by name, honouring the pipelines' settings."""
    key_names = _key_names(mapping, old, keys)
    old_cols, new_cols = _by_name(old), _by_name(new)
    differences: list[SchemaDifference] = []
    key_pairs, pairs = [], []
    for lower, column in old_cols.items():
        is_key = column.name in key_names
        if not is_key and not mapping.comparable(column.name):
            continue
        counterpart = new_cols.get(lower)
        if counterpart is None:
            differences.append(
                SchemaDifference("missing_in_new", column.name, old_type=column.type)
            )
            continue
        pair = _pair(column.name, column, counterpart)
        if pair is None:
            differences.append(
                SchemaDifference("incompatible_type", column.name, column.type, counterpart.type)
            )
            continue
        if column.type != counterpart.type:
            differences.append(
                SchemaDifference(
                    "type_changed", column.name, column.type, counterpart.type, values_compare=True
                )
            )
        if is_key:
            key_pairs.append(pair)
        else:
            pairs.append(pair)
    for lower, column in new_cols.items():
        if lower not in old_cols and mapping.comparable(column.name):
            differences.append(
                SchemaDifference("missing_in_old", column.name, new_type=column.type)
            )
    key_pairs.sort(key=lambda pair: key_names.index(pair.name))
    return ComparisonPlan(
        keys=tuple(key_pairs) if len(key_pairs) == len(key_names) else (),
        columns=tuple(pairs),
        schema_differences=tuple(differences),
        old_delete=_find(old_cols, (DELETE_COLUMN,)),
        new_delete=_find(new_cols, (DELETE_COLUMN,)),
        freshness=_freshness(old_cols, new_cols),
    )


def _freshness(
    old: dict[str, Column], new: dict[str, Column]
) -> tuple[str, str | None, str | None] | None:
    """The write-time column both sides have (else the first either side has)."""
    both = [n for n in WATERMARK_COLUMNS if n in old and n in new]
    either = [n for n in WATERMARK_COLUMNS if n in old or n in new]
    name = (both or either or [None])[0]
    if name is None:
        return None
    return name, _find(old, (name,)), _find(new, (name,))

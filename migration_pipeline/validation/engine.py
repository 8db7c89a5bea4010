"""Validate a new destination against the old one: resolve the tables, compare each, report."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from migration_pipeline.errors import ValidationInputError
from migration_pipeline.validation.catalog import (
    NEW,
    OLD,
    ConnectionSettings,
    Table,
    held,
    list_tables,
    workspace,
)
from migration_pipeline.validation.compare import (
    ROWS_PER_BUCKET,
    CompareOptions,
    compare_table,
    missing_table_keys,
)
from migration_pipeline.validation.db import duckdb
from migration_pipeline.validation.incremental import (
    Start,
    change_columns,
    compare_changed,
    latest_change,
    start,
)
from migration_pipeline.validation.mapping import (
    ARTIE_SCHEMA_PREFIX,
    HISTORY_SUFFIX,
    TableMapping,
    TableRef,
    TableSide,
)
from migration_pipeline.validation.plan import DELETE_COLUMN, ComparisonPlan, plan_table
from migration_pipeline.validation.recheck import recheck_pending
from migration_pipeline.validation.report import (
    FULL,
    Coverage,
    SchemaDifference,
    SkippedTable,
    TableReport,
    ValidationReport,
)
from migration_pipeline.validation.schedule import IncrementalPolicy
from migration_pipeline.validation.sides import side_of
from migration_pipeline.validation.verdict import Limits


@dataclass(frozen=True)
class ValidationOptions:
    """How to compare. `keys` overrides every table's declared primary key (in that order)."""

    keys: tuple[str, ...] = ()
    max_keys: int | None = None
    float_tolerance: float = 0.0
    watermark: datetime | None = None
    memory_limit: str = "2GB"
    threads: int | None = None
    lock_timeout_s: float = 10.0
    rows_per_bucket: int = ROWS_PER_BUCKET  # finer buckets: less to re-read per difference
    limits: Limits = Limits()
    # How long pending deletes are re-read within one validation (files released meanwhile).
    pending_recheck_seconds: float = 5.0
    # None: every table compared in full (no history to continue from).
    incremental: IncrementalPolicy | None = None

    def connection(self) -> ConnectionSettings:
        return ConnectionSettings(self.memory_limit, self.threads, self.lock_timeout_s)

    def compare(self) -> CompareOptions:
        return CompareOptions(
            self.max_keys, self.float_tolerance, self.watermark, self.rows_per_bucket
        )


def find_table(tables: Sequence[Table], ref: TableRef) -> Table | None:
    """`ref` by exact schema + name, else by name (schema `main` first), else as `schema.name`."""

    def named(schema: str | None, name: str) -> list[Table]:
        return [
            t for t in tables
            if t.name.lower() == name.lower() and (schema is None or t.schema.lower() == schema.lower())
        ]  # fmt: skip

    found = named(ref.schema, ref.name)
    if not found and ref.schema is None and "." in ref.name:
        schema, _, name = ref.name.partition(".")
        found = named(schema, name)
    if len(found) > 1:
        found = [t for t in found if t.schema == "main"] or found
        if len(found) > 1:
            raise ValidationInputError(
                f"table {ref.display!r} exists in several schemas "
                f"({', '.join(t.schema for t in found)}): name it as schema.table"
            )
    return found[0] if found else None


def _all_tables(
    old_tables: Sequence[Table],
) -> tuple[list[TableMapping], list[SkippedTable]]:
    names = {(t.schema, t.name.lower()) for t in old_tables}
    mappings, skipped = [], []
    for table in old_tables:
        if table.schema.lower().startswith(ARTIE_SCHEMA_PREFIX):
            skipped.append(SkippedTable(table.display, "Artie's bookkeeping, not replicated data"))
            continue
        base = (
            table.name[: -len(HISTORY_SUFFIX)].lower()
            if table.name.endswith(HISTORY_SUFFIX)
            else None
        )
        if base and (table.schema, base) in names:
            skipped.append(
                SkippedTable(
                    table.display,
                    "history table: an append-only change log that differs by design",
                )
            )
            continue
        ref = TableRef(table.name, None if table.schema == "main" else table.schema)
        mappings.append(TableMapping(TableSide(ref), TableSide(ref)))
    return mappings, skipped


def validate(
    old: str,
    new: str,
    mappings: Sequence[TableMapping] | None = None,
    options: ValidationOptions = ValidationOptions(),
    con: duckdb.DuckDBPyConnection | None = None,
) -> ValidationReport:
    """Compare every mapped table (every table of the old destination when `mappings` is None),
    in `con` (a `workspace` made with `options.connection()`) or in a workspace of its own."""
    if con is None:
        with workspace(options.connection()) as own:
            return validate(old, new, mappings, options, own)
    started = datetime.now(UTC)

    def hold():
        return held(con, old, new, options.lock_timeout_s)

    with hold():
        # Only the old side's declared key is ever used, and only without --key.
        old_tables = list_tables(con, OLD, primary_keys=not options.keys)
        new_tables = list_tables(con, NEW, primary_keys=False)
    skipped: list[SkippedTable] = []
    if mappings is None:
        mappings, skipped = _all_tables(old_tables)
    resolved = [_resolve(m, old_tables, new_tables) for m in mappings]
    reports = []
    for mapping, old_table, new_table in resolved:
        with hold():
            report = _compare(con, mapping, old_table, new_table, new_tables, options)
        if report.pending_deletes.keys and new_table is not None:
            plan = plan_table(mapping, old_table, new_table, options.keys)
            report = recheck_pending(
                con,
                side_of("old", old_table, plan),
                side_of("new", new_table, plan),
                report,
                hold,
                options.pending_recheck_seconds,
                options.max_keys,
            )
        reports.append(replace(report, limits=options.limits))
    return ValidationReport(
        old, new, started, datetime.now(UTC), tuple(reports), tuple(skipped), limits=options.limits
    )


def _resolve(
    mapping: TableMapping, old_tables: Sequence[Table], new_tables: Sequence[Table]
) -> tuple[TableMapping, Table, Table | None]:
    old = find_table(old_tables, mapping.old.ref)
    if old is None:
        available = ", ".join(t.display for t in old_tables) or "none"
        raise ValidationInputError(
            f"table {mapping.old.ref.display!r} not found in the old destination (tables there: {available})"
        )
    new = find_table(new_tables, mapping.new.ref) if mapping.new else None
    return mapping, old, new


def _compare(
    con: duckdb.DuckDBPyConnection,
    mapping: TableMapping,
    old: Table,
    new: Table | None,
    new_tables: Sequence[Table],
    options: ValidationOptions,
) -> TableReport:
    new_name = mapping.new.ref.display if mapping.new else ""
    if new is None:
        return _missing_table(con, mapping, old, new_name, options)
    plan = plan_table(mapping, old, new, options.keys)
    differences = plan.schema_differences
    if (
        mapping.new
        and mapping.new.history_mode
        and find_table(new_tables, mapping.new.history_ref) is None
    ):
        differences += (
            SchemaDifference("history_table_missing_in_new", mapping.new.history_ref.display),
        )
    report = TableReport(
        table=old.display,
        new_table=new.display,
        key_columns=tuple(k.name for k in plan.keys),
        compared_columns=tuple(c.name for c in plan.columns),
        schema_differences=differences,
    )
    started = time.perf_counter()
    begin = start(options.incremental, plan, old, new, datetime.now(UTC))
    if isinstance(begin, Start):
        result = compare_changed(con, plan, old, new, report, options.compare(), begin)
        if isinstance(result, TableReport):
            return replace(result, seconds=time.perf_counter() - started)
        reason = f"the row counts differ by {result:+,} beyond the changed keys"
    else:
        reason = begin
    full = compare_table(con, plan, old, new, report, options.compare())
    columns = change_columns(options.incremental or IncrementalPolicy(), plan, old, new)
    return replace(
        full,
        seconds=time.perf_counter() - started,
        coverage=Coverage(
            FULL,
            reason,
            columns[0] if columns else None,
            reached=_reached(con, plan, full, old, new, columns),
        ),
    )


def _reached(
    con: duckdb.DuckDBPyConnection,
    plan: ComparisonPlan,
    report: TableReport,
    old: Table,
    new: Table,
    columns: tuple[str, str] | None,
) -> datetime | None:
    """The older of the two sides' latest change time (read again only for a named column)."""
    if columns is None:
        return None
    if plan.freshness and columns == plan.freshness[1:]:
        f = report.freshness
        return min(f.old_max, f.new_max) if f.old_max and f.new_max else None
    return latest_change(con, old, new, columns)


def _missing_table(
    con: duckdb.DuckDBPyConnection,
    mapping: TableMapping,
    old: Table,
    new_name: str,
    options: ValidationOptions,
) -> TableReport:
    plan = plan_table(mapping, old, old, options.keys)
    keys = tuple(k.name for k in plan.keys)
    delete = next((c.name for c in old.columns if c.name.lower() == DELETE_COLUMN), None)
    total, missing = missing_table_keys(con, keys, old, delete, options.max_keys)
    return TableReport(
        table=old.display,
        new_table=new_name,
        key_columns=keys,
        old_rows=total,
        missing_in_new=missing,
        schema_differences=(SchemaDifference("table_missing_in_new"),),
    )

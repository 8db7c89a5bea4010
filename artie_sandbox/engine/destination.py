"""How a pipeline's tables land in its DuckDB file: shapes, snapshot batches, change batches.

Every write is set-based (an Arrow batch registered in DuckDB, staged, then DELETE ... USING and
INSERT ... SELECT): nothing goes row by row. Artie's metadata columns: `__artie_delete` (soft
delete), `__artie_updated_at` (when the engine wrote the row), `__artie_db_updated_at` (the
source commit time; the snapshot read time for backfilled rows). History tables
`<table>__history` append every change with `__artie_operation` c/u/d, and r for backfilled rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas  # noqa: F401 - DuckDB imports it on the first register(): pay that at start, not in a batch
import pyarrow as pa

from artie_sandbox.models import Pipeline, PipelineTable, ReaderTable
from artie_sandbox.source.schema import Column, Table, literal, quote

DELETE, UPDATED_AT, DB_UPDATED_AT, OPERATION = (
    "__artie_delete", "__artie_updated_at", "__artie_db_updated_at", "__artie_operation")
HISTORY_SUFFIX = "__history"


@dataclass(frozen=True)
class TablePlan:
    """One pipeline table: its source schema and how it lands in DuckDB."""

    key: str
    source: Table
    columns: tuple[Column, ...]
    schema: str
    target: str
    soft_delete: bool = False
    artie_updated_at: bool = False
    db_updated_at: bool = False
    history: bool = False
    skip_deletes: bool = False

    @classmethod
    def build(cls, pipeline: Pipeline, table: PipelineTable, source: Table,
              reader_table: ReaderTable | None = None) -> TablePlan:
        """The destination shape: source columns minus the pipeline's and the shared reader's
        `columns_to_exclude`, restricted to the reader's `columns_to_include` when it lists any;
        primary-key columns always stay."""
        excluded = set(table.columns_to_exclude)
        included = set(source.column_names)
        if reader_table is not None:
            excluded |= set(reader_table.columns_to_exclude)
            included = set(reader_table.columns_to_include) or included
        keep = (included - excluded) | set(source.primary_key)
        return cls(
            key=table.key, source=source,
            columns=tuple(c for c in source.columns if c.name in keep),
            schema=pipeline.schema or "main", target=table.destination_name,
            soft_delete=pipeline.soft_delete_rows,
            artie_updated_at=pipeline.include_artie_updated_at_column,
            db_updated_at=pipeline.include_database_updated_at_column,
            history=table.enable_history_mode, skip_deletes=table.skip_deletes,
        )

    @property
    def qualified(self) -> str:
        return f"{quote(self.schema)}.{quote(self.target)}"

    @property
    def history_qualified(self) -> str:
        return f"{quote(self.schema)}.{quote(self.target + HISTORY_SUFFIX)}"

    @property
    def names(self) -> str:
        return ", ".join(quote(c.name) for c in self.columns)

    def _meta(self) -> list[tuple[str, str, str]]:
        """(column, type, value expression over a staged batch) of the main table's metadata."""
        meta = []
        if self.soft_delete:
            meta.append((DELETE, "BOOLEAN", "op = 'd'"))
        if self.artie_updated_at:
            meta.append((UPDATED_AT, "TIMESTAMP", "$now"))
        if self.db_updated_at:
            meta.append((DB_UPDATED_AT, "TIMESTAMP", "db_at"))
        return meta

    def create(self, con: duckdb.DuckDBPyConnection) -> None:
        cols = [f"{quote(c.name)} {c.duckdb_type}" for c in self.columns]
        main = cols + [f"{quote(n)} {t}" for n, t, _ in self._meta()]
        kept = {c.name for c in self.columns}
        if all(k in kept for k in self.source.primary_key):
            # Declared like the source's, so validation (and users) find the key in the catalog.
            main.append(f"PRIMARY KEY ({', '.join(quote(k) for k in self.source.primary_key)})")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema)}")
        con.execute(f"CREATE TABLE IF NOT EXISTS {self.qualified} ({', '.join(main)})")
        if self.history:
            hist = cols + [f"{quote(OPERATION)} VARCHAR", f"{quote(UPDATED_AT)} TIMESTAMP",
                           f"{quote(DB_UPDATED_AT)} TIMESTAMP"]
            con.execute(f"CREATE TABLE IF NOT EXISTS {self.history_qualified} ({', '.join(hist)})")

    def _key_join(self, left: str, right: str) -> str:
        return " AND ".join(f"{left}.{quote(k)} = {right}.{quote(k)}" for k in self.source.primary_key)

    def _land(self, con: duckdb.DuckDBPyConnection, staged: str, upsert: bool, now: datetime) -> None:
        """Write a staged batch (one row per key; columns, op, db_at) into the main table."""
        if upsert:
            _run(con, f"DELETE FROM {self.qualified} AS t USING {staged} AS s WHERE {self._key_join('t', 's')}", now=now)  # noqa: S608 - identifiers go through quote()
        meta = self._meta()
        names = self.names + "".join(f", {quote(n)}" for n, _, _ in meta)
        values = self.names + "".join(f", {expr}" for _, _, expr in meta)
        keep = "" if self.soft_delete else "WHERE op <> 'd'"
        _run(con, f"INSERT INTO {self.qualified} ({names}) SELECT {values} FROM {staged} {keep}", now=now)  # noqa: S608 - identifiers go through quote()

    def _append_history(self, con: duckdb.DuckDBPyConnection, staged: str, now: datetime) -> None:
        if self.history:
            _run(con, f"INSERT INTO {self.history_qualified} SELECT {self.names}, op, $now, db_at "  # noqa: S608 - identifiers go through quote()
                      f"FROM {staged} ORDER BY off", now=now)

    def _staging(self, relation: str, where: str, positional: bool = False) -> str:
        """SELECT off, op, db_at and the typed columns out of a relation of JSON rows: objects
        keyed by column name, or (`positional`) arrays in source column order."""
        names = self.source.column_names
        paths = "[" + ", ".join(
            literal(f"$[{names.index(c.name)}]" if positional else f'$."{c.name}"') for c in self.columns
        ) + "]"
        casts = ", ".join(f"{_cast(c, f'v[{i + 1}]')} AS {quote(c.name)}" for i, c in enumerate(self.columns))
        return (f"SELECT off, op, db_at, {casts} FROM (SELECT off, op, "  # noqa: S608 - identifiers go through quote()
                f"CAST(committed_at AS TIMESTAMP) AS db_at, json_extract_string(row, {paths}) AS v "
                f"FROM {relation} WHERE {where})")

    def write_snapshot(self, con: duckdb.DuckDBPyConnection, images: list[str], upsert: bool,
                       now: datetime) -> None:
        """Land backfill rows read from the source, each a JSON array in source column order.

        SQLite builds the JSON in C and DuckDB parses it vectorised, so no value of the batch
        becomes a Python object; `upsert` replaces rows a concurrent change already wrote."""
        con.register("_snapshot", pa.table({"row": pa.array(images, pa.string())}))
        select = self._staging("(SELECT 0 AS off, 'r' AS op, $now AS committed_at, row FROM _snapshot)",
                               "true", positional=True)
        staged = f"({select})"
        if upsert or self.history:  # the batch is read twice: stage it once
            _run(con, f"CREATE OR REPLACE TEMP TABLE _staged AS {select}", now=now)
            staged = "_staged"
        self._append_history(con, staged, now)
        self._land(con, staged, upsert, now)
        con.unregister("_snapshot")

    def apply_changes(self, con: duckdb.DuckDBPyConnection, after: int, now: datetime) -> None:
        """Apply this table's changes in the registered `_changes` batch with offsets > `after`.

        The last change per key wins in the main table; history gets every change in order."""
        skip = "AND op <> 'd'" if self.skip_deletes else ""
        select = self._staging("_changes", f"tbl = $tbl AND off > $after {skip}")
        _run(con, f"CREATE OR REPLACE TEMP TABLE _staged AS {select}", tbl=self.source.name, after=after)
        self._append_history(con, "_staged", now)
        keys = ", ".join(quote(k) for k in self.source.primary_key)
        latest = f"(SELECT * FROM _staged QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY off DESC) = 1)"  # noqa: S608 - identifiers go through quote()
        self._land(con, latest, upsert=True, now=now)


def _run(con: duckdb.DuckDBPyConnection, sql: str, **params) -> None:
    """Execute with the named parameters the statement uses (DuckDB refuses unused ones)."""
    con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql} or None)


def _cast(column: Column, expr: str) -> str:
    if column.kind == "boolean":
        return f"CAST(CAST({expr} AS BIGINT) AS BOOLEAN)"
    if column.kind in ("text", "json"):
        return f"CAST({expr} AS VARCHAR)"
    return f"CAST({expr} AS {column.duckdb_type})"

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
from artie_sandbox.source.schema import SourceColumn, SourceTable
from artie_sandbox.sql import Sql, compose, ident, join, literal, qualified

DELETE, UPDATED_AT, DB_UPDATED_AT, OPERATION = (
    "__artie_delete",
    "__artie_updated_at",
    "__artie_db_updated_at",
    "__artie_operation",
)
HISTORY_SUFFIX = "__history"


@dataclass(frozen=True)
class TablePlan:
    """One pipeline table: its source schema and how it lands in DuckDB."""

    key: str
    source: SourceTable
    columns: tuple[SourceColumn, ...]
    schema: str
    target: str
    soft_delete: bool = False
    artie_updated_at: bool = False
    db_updated_at: bool = False
    history: bool = False
    skip_deletes: bool = False

    @classmethod
    def build(
        cls,
        pipeline: Pipeline,
        table: PipelineTable,
        source: SourceTable,
        reader_table: ReaderTable | None = None,
    ) -> TablePlan:
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
            key=table.key,
            source=source,
            columns=tuple(c for c in source.columns if c.name in keep),
            schema=pipeline.schema or "main",
            target=table.destination_name,
            soft_delete=pipeline.soft_delete_rows,
            artie_updated_at=pipeline.include_artie_updated_at_column,
            db_updated_at=pipeline.include_database_updated_at_column,
            history=table.enable_history_mode,
            skip_deletes=table.skip_deletes,
        )

    @property
    def qualified(self) -> Sql:
        return qualified(self.schema, self.target)

    @property
    def history_qualified(self) -> Sql:
        return qualified(self.schema, self.target + HISTORY_SUFFIX)

    @property
    def names(self) -> Sql:
        return join(ident(c.name) for c in self.columns)

    def _meta(self) -> list[tuple[str, Sql, Sql]]:
        """(column, type, value expression over a staged batch) of the main table's metadata."""
        meta = []
        if self.soft_delete:
            meta.append((DELETE, Sql("BOOLEAN"), Sql("op = 'd'")))
        if self.artie_updated_at:
            meta.append((UPDATED_AT, Sql("TIMESTAMP"), Sql("$now")))
        if self.db_updated_at:
            meta.append((DB_UPDATED_AT, Sql("TIMESTAMP"), Sql("db_at")))
        return meta

    def create(self, con: duckdb.DuckDBPyConnection) -> None:
        cols = [_definition(c.name, Sql(c.duckdb_type)) for c in self.columns]
        main = cols + [_definition(n, t) for n, t, _ in self._meta()]
        kept = {c.name for c in self.columns}
        if all(k in kept for k in self.source.primary_key):
            # Declared like the source's, so validation (and users) find the key in the catalog.
            main.append(
                compose(
                    "PRIMARY KEY ({keys})", keys=join(ident(k) for k in self.source.primary_key)
                )
            )
        con.execute(compose("CREATE SCHEMA IF NOT EXISTS {schema}", schema=ident(self.schema)))
        con.execute(
            compose(
                "CREATE TABLE IF NOT EXISTS {table} ({columns})",
                table=self.qualified,
                columns=join(main),
            )
        )
        if self.history:
            hist = cols + [
                _definition(OPERATION, Sql("VARCHAR")),
                _definition(UPDATED_AT, Sql("TIMESTAMP")),
                _definition(DB_UPDATED_AT, Sql("TIMESTAMP")),
            ]
            con.execute(
                compose(
                    "CREATE TABLE IF NOT EXISTS {table} ({columns})",
                    table=self.history_qualified,
                    columns=join(hist),
                )
            )

    def _key_join(self) -> Sql:
        return join(
            (compose("t.{k} = s.{k}", k=ident(k)) for k in self.source.primary_key), " AND "
        )

    def _land(
        self, con: duckdb.DuckDBPyConnection, staged: Sql, upsert: bool, now: datetime
    ) -> None:
        """Write a staged batch (one row per key; columns, op, db_at) into the main table."""
        if upsert:
            _run(
                con,
                compose(
                    "DELETE FROM {table} AS t USING {staged} AS s WHERE {on}",
                    table=self.qualified,
                    staged=staged,
                    on=self._key_join(),
                ),
                now=now,
            )
        meta = self._meta()
        names = join([self.names, *(ident(n) for n, _, _ in meta)])
        values = join([self.names, *(expr for _, _, expr in meta)])
        keep = Sql("") if self.soft_delete else Sql("WHERE op <> 'd'")
        _run(
            con,
            compose(
                "INSERT INTO {table} ({names}) SELECT {values} FROM {staged} {keep}",
                table=self.qualified,
                names=names,
                values=values,
                staged=staged,
                keep=keep,
            ),
            now=now,
        )

    def _append_history(self, con: duckdb.DuckDBPyConnection, staged: Sql, now: datetime) -> None:
        if self.history:
            _run(
                con,
                compose(
                    "INSERT INTO {table} SELECT {names}, op, $now, db_at FROM {staged} ORDER BY off",
                    table=self.history_qualified,
                    names=self.names,
                    staged=staged,
                ),
                now=now,
            )

    def _staging(self, relation: Sql, where: Sql, positional: bool = False) -> Sql:
        """SELECT off, op, db_at and the typed columns out of a relation of JSON rows: objects
        keyed by column name, or (`positional`) arrays in source column order."""
        names = self.source.column_names
        paths = join(
            literal(f"$[{names.index(c.name)}]" if positional else f'$."{c.name}"')
            for c in self.columns
        )
        casts = join(
            compose("{value} AS {name}", value=_cast(c, Sql(f"v[{i + 1}]")), name=ident(c.name))
            for i, c in enumerate(self.columns)
        )
        return compose(
            "SELECT off, op, db_at, {casts} FROM (SELECT off, op, CAST(committed_at AS TIMESTAMP) AS db_at, "
            "json_extract_string(row, [{paths}]) AS v FROM {relation} WHERE {where})",
            casts=casts,
            paths=paths,
            relation=relation,
            where=where,
        )

    def write_snapshot(
        self, con: duckdb.DuckDBPyConnection, images: list[str], upsert: bool, now: datetime
    ) -> None:
        """Land backfill rows read from the source, each a JSON array in source column order.

        SQLite builds the JSON in C and DuckDB parses it vectorised, so no value of the batch
        becomes a Python object; `upsert` replaces rows a concurrent change already wrote."""
        con.register("_snapshot", pa.table({"row": pa.array(images, pa.string())}))
        select = self._staging(
            Sql("(SELECT 0 AS off, 'r' AS op, $now AS committed_at, row FROM _snapshot)"),
            Sql("true"),
            positional=True,
        )
        staged = compose("({select})", select=select)
        if upsert or self.history:  # the batch is read twice: stage it once
            _run(
                con,
                compose("CREATE OR REPLACE TEMP TABLE _staged AS {select}", select=select),
                now=now,
            )
            staged = Sql("_staged")
        self._append_history(con, staged, now)
        self._land(con, staged, upsert, now)
        con.unregister("_snapshot")

    def apply_changes(self, con: duckdb.DuckDBPyConnection, after: int, now: datetime) -> None:
        """Apply this table's changes in the registered `_changes` batch with offsets > `after`.

        The last change per key wins in the main table; history gets every change in order."""
        where = Sql(
            "tbl = $tbl AND off > $after AND op <> 'd'"
            if self.skip_deletes
            else "tbl = $tbl AND off > $after"
        )
        select = self._staging(Sql("_changes"), where)
        _run(
            con,
            compose("CREATE OR REPLACE TEMP TABLE _staged AS {select}", select=select),
            tbl=self.source.name,
            after=after,
        )
        self._append_history(con, Sql("_staged"), now)
        latest = compose(
            "(SELECT * FROM _staged QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY off DESC) = 1)",
            keys=join(ident(k) for k in self.source.primary_key),
        )
        self._land(con, latest, upsert=True, now=now)


def _definition(name: str, type_: Sql) -> Sql:
    return compose("{name} {type}", name=ident(name), type=type_)


def _run(con: duckdb.DuckDBPyConnection, sql: Sql, **params) -> None:
    """Execute with the named parameters the statement uses (DuckDB refuses unused ones)."""
    con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql} or None)


def _cast(column: SourceColumn, expr: Sql) -> Sql:
    if column.kind == "boolean":
        return compose("CAST(CAST({expr} AS BIGINT) AS BOOLEAN)", expr=expr)
    if column.kind in ("text", "json"):
        return compose("CAST({expr} AS VARCHAR)", expr=expr)
    return compose("CAST({expr} AS {type})", expr=expr, type=Sql(column.duckdb_type))

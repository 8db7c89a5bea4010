"""Two in-memory DuckDB catalogs holding table `t`, compared: the comparison tests' one way to
run the engine on rows they write as SQL literals."""

from __future__ import annotations

import duckdb

from migration_pipeline.validation.catalog import list_tables
from migration_pipeline.validation.compare import CompareOptions, compare_table
from migration_pipeline.validation.mapping import plain_mapping
from migration_pipeline.validation.plan import plan_table
from migration_pipeline.validation.report import TableReport
from migration_pipeline.validation.sql import Sql, compose, ident, qualified


def compare(
    schema: str,
    old_rows: str,
    new_rows: str,
    keys: tuple[str, ...] = (),
    new_schema: str | None = None,
    **options,
) -> TableReport:
    """Table `t` (columns `schema`) in two in-memory catalogs, given rows written as SQL
    literals by these tests, compared."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        for catalog, rows, columns in (
            ("old", old_rows, schema),
            ("new", new_rows, new_schema or schema),
        ):
            con.execute(compose("ATTACH ':memory:' AS {c}", c=ident(catalog)))
            table = qualified(catalog, "main", "t")
            con.execute(compose("CREATE TABLE {t} ({s})", t=table, s=Sql(columns)))
            if rows:
                con.execute(compose("INSERT INTO {t} VALUES {r}", t=table, r=Sql(rows)))
        (old,), (new,) = list_tables(con, "old"), list_tables(con, "new")
        plan = plan_table(plain_mapping("t"), old, new, keys)
        return compare_table(con, plan, old, new, TableReport("t", "t"), CompareOptions(**options))
    finally:
        con.close()

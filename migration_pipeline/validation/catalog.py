"""One in-memory DuckDB connection with both destinations ATTACHed read-only, and what they hold."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from migration_pipeline.errors import ValidationInputError
from migration_pipeline.locations import is_motherduck
from migration_pipeline.validation.db import duckdb
from migration_pipeline.validation.sql import Sql, compose, ident, literal, qualified

OLD, NEW = "old", "new"
_LOCK_MARKERS = ("Could not set lock", "Conflicting lock")


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class Table:
    """A table found in an attached destination."""

    catalog: str
    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    estimated_rows: int

    @property
    def display(self) -> str:
        return self.name if self.schema == "main" else f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class ConnectionSettings:
    memory_limit: str = "2GB"
    threads: int | None = None
    lock_timeout_s: float = 10.0


def _open(settings: ConnectionSettings, spill: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    try:
        con.execute(compose("SET temp_directory = {v}", v=literal(spill)))
        try:
            con.execute(compose("SET memory_limit = {v}", v=literal(settings.memory_limit)))
        except duckdb.Error as e:
            raise ValidationInputError(
                f"memory limit {settings.memory_limit!r} is not a size DuckDB accepts ({e}): "
                "give a number and a unit, such as 2GB or 512MB"
            ) from None
        if settings.threads:
            con.execute(compose("SET threads = {v}", v=literal(int(settings.threads))))
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")  # it would write to the CLI's stderr
    except BaseException:
        con.close()
        raise
    return con


def _open_while(
    settings: ConnectionSettings, spill: str, meanwhile: Callable[[], object]
) -> duckdb.DuckDBPyConnection:
    """`_open` in another thread while `meanwhile()` runs in this one: DuckDB releases the GIL
    while it starts a database (tens of milliseconds), so Python's work goes on meanwhile."""
    opened: list[duckdb.DuckDBPyConnection] = []
    failed: list[BaseException] = []

    def open_() -> None:
        try:
            opened.append(_open(settings, spill))
        except BaseException as e:  # raised again in the caller's thread
            failed.append(e)

    opener = threading.Thread(target=open_, name="duckdb-open")
    opener.start()
    try:
        meanwhile()
    except BaseException:
        opener.join()
        for con in opened:
            con.close()
        raise
    opener.join()
    if failed:
        raise failed[0]
    return opened[0]


@contextmanager
def workspace(
    settings: ConnectionSettings = ConnectionSettings(),
    meanwhile: Callable[[], object] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory connection for the comparison, holding no destination yet; `meanwhile`
    (the CLI loading the engine's modules) runs while DuckDB starts the database.

    DuckDB spills to a private temporary directory (an in-memory database would otherwise use
    `.tmp` in the working directory), so nothing is written beside the inputs.
    """
    with tempfile.TemporaryDirectory(prefix="validation-") as spill:
        con = (
            _open(settings, spill) if meanwhile is None else _open_while(settings, spill, meanwhile)
        )
        try:
            yield con
        finally:
            con.close()


@contextmanager
def held(
    con: duckdb.DuckDBPyConnection, old: str, new: str, timeout_s: float = 10.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Catalogs `old` and `new` attached read-only for the block, detached after it: a writer
    waits for a destination file only while one table is read, never for a whole validation."""
    for role, location in ((OLD, old), (NEW, new)):
        _check_exists(role, location)
    attached = []
    try:
        for role, location in ((OLD, old), (NEW, new)):
            _attach(con, role, location, timeout_s)
            attached.append(role)
        yield con
    finally:
        for role in attached:
            con.execute(compose("DETACH {alias}", alias=ident(role)))


@contextmanager
def open_destinations(
    old: str, new: str, settings: ConnectionSettings = ConnectionSettings()
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection where catalog `old` and `new` are the two destinations, read-only."""
    with workspace(settings) as con, held(con, old, new, settings.lock_timeout_s):
        yield con


def _check_exists(role: str, location: str) -> None:
    if is_motherduck(location):
        return
    path = Path(location)
    if not path.exists():
        raise ValidationInputError(
            f"{role} destination not found: {location} (give the path of a DuckDB file or an md: name)"
        )
    if not path.is_file():
        raise ValidationInputError(f"{role} destination is not a file: {location}")


def _attach(con: duckdb.DuckDBPyConnection, role: str, location: str, timeout_s: float) -> None:
    statement = compose("ATTACH ? AS {alias} (READ_ONLY)", alias=ident(role))
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        try:
            con.execute(statement, [location])
            return
        except duckdb.IOException as e:
            message = str(e)
            if not any(marker in message for marker in _LOCK_MARKERS):
                raise ValidationInputError(
                    f"cannot open the {role} destination {location} read-only: {_first_line(message)}"
                ) from e
            if time.monotonic() >= deadline:
                raise ValidationInputError(
                    f"the {role} destination {location} stayed locked by another process for "
                    f"{timeout_s:g} s; retry when its writer has finished the current batch"
                ) from e
        except duckdb.Error as e:
            raise ValidationInputError(
                f"cannot open the {role} destination {location} read-only: {_first_line(str(e))}"
            ) from e
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message


def list_tables(
    con: duckdb.DuckDBPyConnection, catalog: str, primary_keys: bool = True
) -> list[Table]:
    """Every base table of one attached destination, with columns and declared primary key
    (left empty without `primary_keys`: reading the constraints costs a few milliseconds that a
    caller comparing by given key columns need not pay)."""
    rows = con.execute(
        "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
        "WHERE database_name = ? AND NOT temporary ORDER BY schema_name, table_name",
        [catalog],
    ).fetchall()
    columns: dict[tuple[str, str], list[Column]] = {}
    for schema, table, name, type_ in con.execute(
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = ? ORDER BY schema_name, table_name, column_index",
        [catalog],
    ).fetchall():
        columns.setdefault((schema, table), []).append(Column(name, type_))
    keys = {
        (schema, table): tuple(names)
        for schema, table, names in (
            con.execute(
                "SELECT schema_name, table_name, constraint_column_names FROM duckdb_constraints() "
                "WHERE database_name = ? AND constraint_type = 'PRIMARY KEY'",
                [catalog],
            ).fetchall()
            if primary_keys
            else ()
        )
    }
    return [
        Table(
            catalog,
            s,
            t,
            tuple(columns.get((s, t), ())),
            keys.get((s, t), ()),
            int(n or 0),
        )
        for s, t, n in rows
    ]


def table_sql(table: Table) -> Sql:
    return qualified(table.catalog, table.schema, table.name)


def readable_tables(
    location: str, settings: ConnectionSettings = ConnectionSettings()
) -> list[Table]:
    """The tables of one destination, opened read-only as a validation would (preflight)."""
    _check_exists(OLD, location)
    with workspace(settings) as con:
        _attach(con, OLD, location, settings.lock_timeout_s)
        try:
            return list_tables(con, OLD)
        finally:
            con.execute(compose("DETACH {alias}", alias=ident(OLD)))

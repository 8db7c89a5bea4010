"""Source readers: read the source's changes once into the reader's change log.

A shared reader captures the tables in its `tables` map; a dedicated one captures its
pipeline's tables. Every source change is read exactly once per reader, captured or not;
promoting a reader changes only which tables are appended from then on, never the offsets.
"""

from __future__ import annotations

import sqlite3

from artie_sandbox.engine.changelog import ChangeLog
from artie_sandbox.models import Pipeline, SourceReader
from artie_sandbox.source.capture import CHANGES, head_position
from artie_sandbox.sql import compose, ident


class SourceReplaced(Exception):
    """The source file is not the one this reader has been reading."""


def captured_tables(reader: SourceReader, pipelines: list[Pipeline]) -> set[str]:
    """Source table names the reader captures."""
    if reader.is_shared:
        return {t.name for t in (reader.tables or {}).values()}
    return {t.name for p in pipelines for t in p.tables}


def read_source(log: ChangeLog, source: sqlite3.Connection, tables: set[str], limit: int) -> int:
    """Move one batch of source changes into the log; returns how many were read from the source."""
    position = log.counters()["source_position"]
    rows = source.execute(
        compose(
            "SELECT position, table_name, op, row, committed_at FROM {changes} "
            "WHERE position > ? ORDER BY position LIMIT ?",
            changes=ident(CHANGES),
        ),
        (position, limit),
    ).fetchall()
    if rows:
        log.append(rows, [r for r in rows if r[1] in tables], rows[-1][0])
    elif head_position(source) < position:
        raise SourceReplaced(
            f"the source's newest change is {head_position(source)} but this reader already read up "
            f"to {position}: the source database was re-created under the same path. Delete the "
            f"reader's change log {log.path} and the pipelines' DuckDB files to start over"
        )
    return len(rows)

"""One pipeline's replication into its DuckDB file: backfill its tables, then apply its reader's log.

Each `step` is one short transaction on the destination file (opened, written, closed): the
data, the log offset and the backfill cursors commit together, so a kill -9 loses or repeats
nothing. The backfill records the log offset it starts from; changes after it are applied once
the backfill is done (upserts by key, so changes the snapshot already saw re-apply idempotently).
A table added to a pipeline that is already streaming backfills while the others stream.
"""

from __future__ import annotations

import time
from dataclasses import astuple, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from artie_sandbox.engine.changelog import ChangeLog
from artie_sandbox.engine.destination import TablePlan
from artie_sandbox.engine.faults import Faults
from artie_sandbox.engine.snapshot import SnapshotReader
from artie_sandbox.sql import Sql, compose, ident

# Under a slow_backfill fault, backfill batches come at most this often (a slow backfill must not
# turn into many tiny batches that keep the destination file busy).
_SLOW_CHECK = 0.25
_STATE_DDL = """
CREATE SCHEMA IF NOT EXISTS _artie;
CREATE TABLE IF NOT EXISTS _artie.pipeline (pipeline_uuid VARCHAR, log_offset BIGINT,
    start_offset BIGINT, start_position BIGINT, streaming BOOLEAN, reader_uuid VARCHAR);
CREATE TABLE IF NOT EXISTS _artie.tables (table_key VARCHAR, start_offset BIGINT, cursor VARCHAR,
    rows_backfilled BIGINT, rows_estimated BIGINT, done BOOLEAN);
"""


class DestinationBusy(Exception):
    """Another process holds the DuckDB file (e.g. a validator); the step is retried later."""


class ForeignDestination(Exception):
    """The DuckDB file already holds another pipeline's data."""


@dataclass(frozen=True)
class TableState:
    key: str
    start_offset: int
    cursor: str | None = None
    rows_backfilled: int = 0
    rows_estimated: int = 0
    done: bool = False


@dataclass
class State:
    """What the destination file says about its pipeline (the source of truth after a restart)."""

    pipeline_uuid: str
    log_offset: int
    start_offset: int
    start_position: int
    streaming: bool = False
    reader_uuid: str = ""  # whose change log `log_offset` counts in
    tables: dict[str, TableState] = field(default_factory=dict)


def destination_connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise DestinationBusy(f"{path} is in use by another process") from e
        raise


class PipelineRunner:
    """Moves one pipeline forward one short batch at a time."""

    def __init__(
        self,
        pipeline_uuid: str,
        path: Path,
        reader_uuid: str,
        log: ChangeLog,
        source: Path,
        faults: Faults,
        backfill_batch: int = 50_000,
        apply_batch: int = 50_000,
        target_hold: float = 0.4,
    ):
        self.uuid, self.path, self.log, self.faults = pipeline_uuid, path, log, faults
        self.reader_uuid = reader_uuid
        self.source = source
        self.snapshots = SnapshotReader(source)
        self.backfill_batch, self.apply_batch = backfill_batch, apply_batch
        self.state: State | None = None
        self.applied = 0
        self.longest_hold = 0.0  # seconds the destination file was held by one batch, at most
        # Backfill batches adapt so one holds the file about `target_hold` seconds (smaller on a
        # busy machine, up to `backfill_batch` rows on an idle one).
        self.target_hold, self.batch_rows = target_hold, min(10_000, backfill_batch)
        self.apply_rows = min(20_000, apply_batch)
        self.behind = True  # more to do right away (backfilling or a full batch), else linger
        self._created: set[str] = set()
        self._last_backfill = time.monotonic()

    def step(self, plans: list[TablePlan]) -> bool:
        """One batch: a backfill batch and/or a batch of changes. True if anything was written."""
        if self._throttled():
            return False
        if not self.path.exists():  # a new pipeline, or its file was deleted: start over
            self._created.clear()
            self.state = None
        # Row estimates of tables new to this pipeline, counted before the file is held.
        known = self.state.tables if self.state else {}
        estimates = {p.key: self.snapshots.count(p) for p in plans if p.key not in known}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = destination_connect(self.path)
        opened = time.monotonic()
        try:
            con.execute("BEGIN")
            state = self._load(con)
            loaded = dict(state.tables)
            for plan in plans:
                self._prepare(con, plan, state, estimates)
            pending = [p for p in plans if not state.tables[p.key].done]
            worked = self._backfill(con, pending[0], state) if pending else False
            state.streaming = state.streaming or all(state.tables[p.key].done for p in plans)
            applied, used = 0, []
            if state.streaming:
                applied, used = self._apply(con, plans, state)
                used += self._corrupt(con, plans)
            self._save(con, state, tables_changed=state.tables != loaded)
            con.execute("COMMIT")
        finally:
            con.close()
            held = time.monotonic() - opened
            self.longest_hold = max(self.longest_hold, held)
        if pending and worked:
            self.batch_rows = _adapt(self.batch_rows, held, self.target_hold, self.backfill_batch)
        elif applied >= self.apply_rows // 2:
            self.apply_rows = _adapt(self.apply_rows, held, self.target_hold, self.apply_batch)
        self.state = state
        self.applied += applied
        self.behind = bool(pending) or state.log_offset < self.log.end()
        for fault, n in used:
            self.faults.use(fault, n)
        return worked or applied > 0 or bool(used)

    def close(self) -> None:
        self.snapshots.close()

    def peek(self) -> State | None:
        """The last state this process wrote, else what the file says (None if unreadable now)."""
        if self.state is None and self.path.exists():
            try:
                con = destination_connect(self.path, read_only=True)
            except (DestinationBusy, duckdb.Error):
                return None
            try:
                self.state = self._read_state(con)
            except (duckdb.CatalogException, ForeignDestination):  # the step reports the latter
                return None
            finally:
                con.close()
        return self.state

    def _read_state(self, con: duckdb.DuckDBPyConnection) -> State | None:
        row = con.execute("SELECT * FROM _artie.pipeline").fetchone()
        if row is None:
            return None
        if row[0] != self.uuid:
            raise ForeignDestination(
                f"{self.path} holds pipeline {row[0]}'s data; give this pipeline its own "
                "destination_config.database"
            )
        state = State(*row)
        if state.reader_uuid != self.reader_uuid:
            raise ForeignDestination(
                f"{self.path} was filled from source reader {state.reader_uuid}'s change log, but the "
                f"pipeline now reads from {self.reader_uuid}; offsets do not carry over between "
                "readers: re-create the pipeline (or delete its DuckDB file to backfill again)"
            )
        for r in con.execute("SELECT * FROM _artie.tables").fetchall():
            state.tables[r[0]] = TableState(*r)
        return state

    def _load(self, con: duckdb.DuckDBPyConnection) -> State:
        if not self._created:
            con.execute(_STATE_DDL)
        state = self._read_state(con)
        if state is None:
            end = self.log.end()
            state = State(
                self.uuid, end, end, self.log.position_at(end), reader_uuid=self.reader_uuid
            )
            con.execute(
                "INSERT INTO _artie.pipeline VALUES (?, ?, ?, ?, false, ?)",
                [self.uuid, end, end, state.start_position, self.reader_uuid],
            )
        return state

    def _prepare(
        self,
        con: duckdb.DuckDBPyConnection,
        plan: TablePlan,
        state: State,
        estimates: dict[str, int],
    ) -> None:
        if plan.key not in self._created:
            plan.create(con)
            self._created.add(plan.key)
        if plan.key not in state.tables:
            estimated = estimates[plan.key] if plan.key in estimates else self.snapshots.count(plan)
            start = state.log_offset if state.streaming else state.start_offset
            state.tables[plan.key] = TableState(plan.key, start, rows_estimated=estimated)

    def _save(self, con: duckdb.DuckDBPyConnection, state: State, tables_changed: bool) -> None:
        con.execute(
            "UPDATE _artie.pipeline SET log_offset = ?, streaming = ?",
            [state.log_offset, state.streaming],
        )
        if not tables_changed:
            return
        con.execute("DELETE FROM _artie.tables")
        con.executemany(
            "INSERT INTO _artie.tables VALUES (?, ?, ?, ?, ?, ?)",
            [list(astuple(t)) for t in state.tables.values()],
        )

    def _throttled(self) -> bool:
        """Under a slow_backfill fault, a backfill batch came less than `_SLOW_CHECK` ago."""
        return (
            self.state is not None
            and not self.state.streaming
            and time.monotonic() - self._last_backfill < _SLOW_CHECK
            and bool(self.faults.for_pipeline("slow_backfill", self.uuid))
        )

    def _slow_rate(self) -> float | None:
        """The rows per second a slow_backfill fault allows this pipeline (None without one)."""
        slow = self.faults.for_pipeline("slow_backfill", self.uuid)
        return min(float(f.params.get("rows_per_second", 1000)) for f in slow) if slow else None

    def _slow_limit(self) -> int | None:
        """Rows allowed now by a slow_backfill fault (None without one); the time of the last
        batch moves on only when a batch is allowed, so that a rate under one row per check
        still adds up to a row."""
        now, rate = time.monotonic(), self._slow_rate()
        if rate is None:
            self._last_backfill = now
            return None
        limit = min(self.batch_rows, int(rate * min(now - self._last_backfill, 1.0)))
        if limit >= 1:
            self._last_backfill = now
        return limit

    def retry_in(self) -> float | None:
        """Seconds until a backfill held back by a slow_backfill fault may take its next batch
        (None when nothing is held back): the engine wakes for it instead of resting until its
        idle refresh."""
        if self.state is None or self.state.streaming:
            return None
        rate = self._slow_rate()
        if rate is None:
            return None
        wait = max(_SLOW_CHECK, 1.0 / rate if rate > 0 else _SLOW_CHECK)
        return max(0.0, self._last_backfill + wait - time.monotonic())

    def _backfill(self, con: duckdb.DuckDBPyConnection, plan: TablePlan, state: State) -> bool:
        slow = self._slow_limit()
        limit = self.batch_rows if slow is None else slow
        if limit < 1:
            return False
        table = state.tables[plan.key]
        rows, limit = self.snapshots.read(plan, table.cursor, limit, exact=slow is not None)
        done = len(rows) < limit
        cursor = self.snapshots.cursor(plan, rows) if rows else table.cursor
        if not done and not state.streaming and slow is None:
            self.snapshots.read_ahead(plan, cursor, self.batch_rows)
        if rows:
            plan.write_snapshot(con, rows, upsert=state.streaming, now=_utcnow())
        state.tables[plan.key] = replace(
            table, cursor=cursor, rows_backfilled=table.rows_backfilled + len(rows), done=done
        )
        return bool(rows)

    def _apply(
        self, con: duckdb.DuckDBPyConnection, plans: list[TablePlan], state: State
    ) -> tuple[int, list]:
        """Apply the next batch of changes; returns (applied, [(drop fault, changes it dropped)])."""
        rows = self.log.read(state.log_offset, self.apply_rows)
        if not rows:
            return 0, []
        drops = self.faults.for_pipeline("drop_changes", self.uuid)
        dropped = min(drops[0].remaining, len(rows)) if drops else 0
        kept = rows[dropped:]
        batch = pa.table(
            {
                "off": pa.array([r[0] for r in kept], pa.int64()),
                "tbl": pa.array([r[2] for r in kept], pa.string()),
                "op": pa.array([r[3] for r in kept], pa.string()),
                "row": pa.array([r[4] for r in kept], pa.string()),
                "committed_at": pa.array([r[5] for r in kept], pa.string()),
            }
        )
        con.register("_changes", batch)
        now = _utcnow()
        applied = 0
        for plan in plans:
            start = state.tables[plan.key].start_offset
            count = sum(1 for r in kept if r[2] == plan.source.name and r[0] > start)
            if count:
                plan.apply_changes(con, start, now)
                applied += count
        con.unregister("_changes")
        state.log_offset = rows[-1][0]
        return applied, [(drops[0], dropped)] if dropped else []

    def _corrupt(self, con: duckdb.DuckDBPyConnection, plans: list[TablePlan]) -> list:
        done = []
        for fault in self.faults.for_pipeline("corrupt_rows", self.uuid):
            wanted = fault.params.get("table") or ""
            plan = next((p for p in plans if wanted in ("", p.key, p.target)), None)
            if plan is None:
                continue
            column = next(c for c in plan.columns if c.name not in plan.source.primary_key)
            con.execute(
                compose(
                    "UPDATE {table} SET {column} = {value} "
                    "WHERE rowid IN (SELECT rowid FROM {table} ORDER BY hash(rowid) LIMIT ?)",
                    table=plan.qualified,
                    column=ident(column.name),
                    value=_corrupted(column),
                ),
                [fault.remaining],
            )
            done.append((fault, fault.remaining))
        return done


def _adapt(size: int, held: float, target: float, most: int) -> int:
    """The next batch size so that a batch holds the file about `target` seconds."""
    return max(1_000, min(most, int(size * max(0.5, min(1.5, target / max(held, 1e-3))))))


def _corrupted(column) -> Sql:
    if column.kind in ("text", "json"):
        template = "COALESCE({c}, '') || '~corrupt'"
    elif column.kind == "boolean":
        template = "NOT COALESCE({c}, false)"
    elif column.kind == "timestamp":
        template = "COALESCE({c}, TIMESTAMP '2000-01-01') + INTERVAL 1 DAY"
    else:
        template = "COALESCE({c}, 0) + 1"
    return compose(template, c=ident(column.name))


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)

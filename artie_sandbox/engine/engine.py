"""The engine loop: each round, every reader reads its source once, every pipeline moves one batch.

Single-threaded on purpose: a pipeline's snapshot reads and change batches never interleave,
which is what makes re-applying changes after a backfill converge. State lives in the reader
change logs (under `<state-dir>/engine/logs`) and in each destination DuckDB file, never only in
memory, so the process can be killed at any moment and restarted.

At rest the engine sleeps: once a round moves nothing it only checks, at growing intervals up to
`idle_poll` (1 s), whether another process committed to the control-plane store or a source
(SQLite's `PRAGMA data_version`, which the engine's own writes do not move), and runs a round
when one did, when a retry or fault expiry is due, or every
`idle_refresh` seconds. A change therefore reaches the engine within `idle_poll` (1 s) and its
destination about one round later.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

from artie_sandbox.engine.changelog import ChangeLog
from artie_sandbox.engine.destination import TablePlan
from artie_sandbox.engine.faults import Faults
from artie_sandbox.engine.pipeline import DestinationBusy, PipelineRunner
from artie_sandbox.engine.progress import pipeline_progress, seconds_between, table_progress
from artie_sandbox.engine.reader import captured_tables, read_source
from artie_sandbox.models import Connector, Pipeline, PipelineProgress, SourceReader
from artie_sandbox.paths import change_log_path
from artie_sandbox.source.capture import commit_time, head_position, read_schema
from artie_sandbox.store import Store, now

log = logging.getLogger("artie_sandbox.engine")


class Engine:
    """Replicates every pipeline in a control-plane store."""

    def __init__(
        self,
        state_dir: str | Path,
        store: Store,
        *,
        read_batch: int = 20_000,
        backfill_batch: int = 50_000,
        apply_batch: int = 50_000,
        poll_interval: float = 0.1,
        pipeline_gap: float = 0.02,
        linger: float = 0.25,
        report_every: float = 0.5,
        idle_poll: float = 1.0,
        idle_refresh: float = 30.0,
    ):
        self.state_dir = Path(state_dir)
        self.store = store
        self.faults = Faults(store)
        self.read_batch, self.backfill_batch, self.apply_batch = (
            read_batch,
            backfill_batch,
            apply_batch,
        )
        # After a batch a pipeline waits `pipeline_gap` if it is behind, else `linger`: fewer,
        # larger batches once caught up leave validators long windows to ATTACH the file.
        self.poll_interval, self.pipeline_gap, self.linger = poll_interval, pipeline_gap, linger
        self.report_every = report_every
        self.idle_poll, self.idle_refresh = max(idle_poll, poll_interval), idle_refresh
        self.logs: dict[str, ChangeLog] = {}
        self.sources: dict[Path, sqlite3.Connection] = {}
        self.runners: dict[str, PipelineRunner] = {}
        self.errors: dict[str, str] = {}
        self._not_before: dict[str, float] = {}
        # When a pipeline held back by a fault (a slowed backfill) may move again: wakes the
        # resting engine, without holding the pipeline back itself (its runner does that).
        self._wake_for: dict[str, float] = {}
        self._last_report = 0.0
        self._reported: dict[str, PipelineProgress] = {}
        self._fault_expiry: float | None = None
        self._round_started = time.monotonic()

    def path(self, configured: str) -> Path:
        """Connector paths are taken relative to the state directory unless absolute."""
        path = Path(configured).expanduser()
        return path if path.is_absolute() else self.state_dir / path

    def change_log(self, reader_uuid: str) -> ChangeLog:
        if reader_uuid not in self.logs:
            self.logs[reader_uuid] = ChangeLog(change_log_path(self.state_dir, reader_uuid))
        return self.logs[reader_uuid]

    def source(self, connector: Connector) -> sqlite3.Connection:
        path = self.path(connector.shared_config["path"])
        if path not in self.sources:
            if not path.exists():
                raise FileNotFoundError(
                    f"source database {path} does not exist; run `artie-sandbox source create`"
                )
            self.sources[path] = sqlite3.connect(path, timeout=30, check_same_thread=False)
        return self.sources[path]

    def close(self) -> None:
        """Release every file and thread the engine holds."""
        for runner in self.runners.values():
            runner.close()
        for handle in [*self.logs.values(), *self.sources.values()]:
            handle.close()
        self.runners, self.logs, self.sources = {}, {}, {}

    def run(self, stop: threading.Event) -> None:
        """Replicate until `stop` is set; after a round that moved nothing, sleep until a change."""
        while not stop.is_set():
            seen = self.fingerprint()
            if not self.run_once():
                self.report(force=True)  # what the last busy rounds left unreported
                self.sleep(stop, seen)
        self.report(force=True)
        self.close()

    def fingerprint(self) -> tuple[int, ...]:
        """Moves when another process commits to the store or to a source the engine reads."""
        try:
            return (
                self.store.data_version(),
                *(
                    source.execute("PRAGMA data_version").fetchone()[0]
                    for source in self.sources.values()
                ),
            )
        except sqlite3.Error:
            return (-1,)  # unreadable now: let the next round report why

    def sleep(self, stop: threading.Event, seen: tuple) -> None:
        """Wait until `stop`, a changed fingerprint, a due retry or fault expiry, or `idle_refresh`.

        Checks start `poll_interval` apart and double up to `idle_poll`, so a burst of work
        resumes at once while a sandbox at rest wakes about once a second for a few `stat`s.
        """
        start = time.monotonic()
        # A retry set or deferred during the last round may fall due while the round finishes
        # (a backfill batch defers its next one by `pipeline_gap`): it wakes at once, not after
        # `idle_refresh`. Timers older than the round were due and seen by it.
        timers = [
            t
            for t in (*self._not_before.values(), *self._wake_for.values(), self._fault_expiry)
            if t and t > self._round_started
        ]
        wake = min([start + self.idle_refresh, *timers])
        delay = self.poll_interval
        while not stop.wait(max(0.0, min(delay, wake - time.monotonic()))):
            if time.monotonic() >= wake or self.fingerprint() != seen:
                return
            delay = min(delay * 2, self.idle_poll)

    def run_once(self) -> bool:
        """One round over all readers and pipelines; True if any data moved."""
        self._round_started = time.monotonic()
        tx = self.store.read()
        connectors = {c.uuid: c for c in tx.list(Connector)}
        readers = {r.uuid: r for r in tx.list(SourceReader)}
        pipelines = tx.list(Pipeline)
        self._cleanup({p.uuid for p in pipelines})
        worked = False
        for reader in readers.values():
            attached = [p for p in pipelines if p.source_reader_uuid == reader.uuid]
            if attached and reader.connector_uuid in connectors:
                worked |= self._guard(
                    reader.uuid,
                    lambda r=reader, a=attached: (
                        read_source(
                            self.change_log(r.uuid),
                            self.source(connectors[r.connector_uuid]),
                            captured_tables(r, a),
                            self.read_batch,
                        )
                        > 0
                    ),
                )
        for pipeline in pipelines:
            reader = readers.get(pipeline.source_reader_uuid)
            if reader is not None and self._due(pipeline):
                worked |= self._guard(
                    pipeline.uuid, lambda p=pipeline, r=reader: self._step(p, r, connectors)
                )
        self._fault_expiry = self.faults.next_expiry()
        self.report(readers=readers, pipelines=pipelines, connectors=connectors)
        return worked

    def _guard(self, uuid: str, action) -> bool:
        """Run one reader/pipeline action; a failure is reported in its status, not fatal."""
        try:
            worked = action()
            self.errors.pop(uuid, None)
            return bool(worked)
        except DestinationBusy as e:
            self.errors[uuid] = f"{e}; retrying"
            # Let the other process finish before trying again (locks in DuckDB do not queue).
            self._not_before[uuid] = time.monotonic() + self.linger
        except Exception as e:  # one broken pipeline must not stop the others
            if self.errors.get(uuid) != str(e):
                log.exception("%s failed", uuid)
            self.errors[uuid] = str(e)
        return False

    def _guard_value(self, action):
        try:
            return action()
        except (OSError, sqlite3.Error, KeyError):
            return None

    def _due(self, pipeline: Pipeline) -> bool:
        if pipeline.status != "running":
            return False
        if self.faults.for_pipeline("stall", pipeline.uuid):
            return False
        return time.monotonic() >= self._not_before.get(pipeline.uuid, 0.0)

    def runner(
        self, pipeline: Pipeline, reader: SourceReader, connectors: dict[str, Connector]
    ) -> PipelineRunner:
        destination = connectors[pipeline.destination_uuid]
        path = self.path(destination.shared_config["directory"]) / f"{pipeline.database}.duckdb"
        runner = self.runners.get(pipeline.uuid)
        source = self.path(connectors[reader.connector_uuid].shared_config["path"])
        if (
            runner is None
            or (runner.path, runner.source) != (path, source)
            or runner.log is not self.change_log(reader.uuid)
        ):
            if runner is not None:
                runner.close()
            runner = PipelineRunner(
                pipeline.uuid,
                path,
                reader.uuid,
                self.change_log(reader.uuid),
                source,
                self.faults,
                backfill_batch=self.backfill_batch,
                apply_batch=self.apply_batch,
            )
            self.runners[pipeline.uuid] = runner
        return runner

    def plans(
        self, pipeline: Pipeline, reader: SourceReader, source: sqlite3.Connection
    ) -> list[TablePlan]:
        schema = read_schema(source)
        plans = []
        for table in pipeline.tables:
            if table.name not in schema:
                raise LookupError(
                    f"table {table.name!r} of pipeline {pipeline.name!r} does not exist in the source"
                )
            reader_table = (reader.tables or {}).get(table.key) if reader.is_shared else None
            plans.append(TablePlan.build(pipeline, table, schema[table.name], reader_table))
        return plans

    def _step(
        self, pipeline: Pipeline, reader: SourceReader, connectors: dict[str, Connector]
    ) -> bool:
        runner = self.runner(pipeline, reader, connectors)
        worked = runner.step(
            self.plans(pipeline, reader, self.source(connectors[reader.connector_uuid]))
        )
        if worked:
            gap = self.pipeline_gap if runner.behind else self.linger
            self._not_before[pipeline.uuid] = time.monotonic() + gap
        elif (wait := runner.retry_in()) is not None:  # a slowed backfill's next batch
            self._wake_for[pipeline.uuid] = time.monotonic() + wait
        return worked

    def _cleanup(self, live: set[str]) -> None:
        for uuid in set(self.runners) - live:
            self.runners.pop(uuid).close()

    def report(self, readers=None, pipelines=None, connectors=None, force: bool = False) -> None:
        """Write every pipeline's progress to the store (at most every `report_every` seconds)."""
        if not force and time.monotonic() - self._last_report < self.report_every:
            return
        if readers is None:
            tx = self.store.read()
            readers = {r.uuid: r for r in tx.list(SourceReader)}
            pipelines, connectors = tx.list(Pipeline), {c.uuid: c for c in tx.list(Connector)}
        self._last_report = time.monotonic()
        reports = [
            self._started(self._progress(p, readers.get(p.source_reader_uuid), connectors))
            for p in pipelines
        ]
        # Only what changed is written: a write would otherwise wake the idle engine again.
        changed = [
            r
            for r in reports
            if r is not None and not _same(r, self._reported.get(r.pipeline_uuid))
        ]
        if not changed:
            return
        with self.store.transaction() as tx:
            for report in changed:
                if tx.get(Pipeline, report.pipeline_uuid) is not None:
                    tx.put(report)
        self._reported.update((r.pipeline_uuid, r) for r in changed)

    def _started(self, report: PipelineProgress | None) -> PipelineProgress | None:
        """Each table's backfill start time carried over from the last report (the store's after
        a restart), set now when its backfill is first seen under way."""
        if report is None:
            return None
        previous = self._reported.get(report.pipeline_uuid) or self.store.read().get(
            PipelineProgress, report.pipeline_uuid
        )
        before = {t.table_key: t.backfill_started_at for t in (previous.tables if previous else ())}
        tables = tuple(
            t
            if t.backfill_stage == "not_started"
            else replace(t, backfill_started_at=before.get(t.table_key) or now())
            for t in report.tables
        )
        return replace(report, tables=tables)

    def _progress(
        self, pipeline: Pipeline, reader: SourceReader | None, connectors: dict[str, Connector]
    ) -> PipelineProgress | None:
        if reader is None:
            return None
        runner = self.runners.get(pipeline.uuid)
        if runner is None and pipeline.destination_uuid in connectors:
            runner = self._guard_value(lambda: self.runner(pipeline, reader, connectors))
        state = runner.peek() if runner else None
        changes = self.change_log(reader.uuid)
        end = changes.end()
        behind = (
            changes.committed_at(state.log_offset + 1) if state and state.log_offset < end else None
        )
        captured = {t.key for t in pipeline.tables if reader.captures(t)}
        stalled = bool(self.faults.for_pipeline("stall", pipeline.uuid))
        phase = (
            "paused"
            if pipeline.status != "running"
            else "stalled"
            if stalled
            else "streaming"
            if state and state.streaming
            else "backfilling"
        )
        connector = connectors.get(reader.connector_uuid)
        head, counters = self._source_head(connector), changes.counters()
        if head > counters["source_position"]:  # the reader itself is behind the source
            unread = self._commit_time(connector, counters["source_position"] + 1)
            behind = min(t for t in (behind, unread) if t) if (behind or unread) else None
        extra = {
            "phase": phase,
            "error": self.errors.get(pipeline.uuid, self.errors.get(reader.uuid, "")),
            "reader_uuid": reader.uuid,
            "reader": counters,
            "source_head": head,
            "start_offset": state.start_offset if state else None,
            "start_position": state.start_position if state else None,
            "changes_applied": runner.applied if runner else 0,
            "longest_batch_seconds": round(runner.longest_hold, 3) if runner else 0.0,
            "destination": str(runner.path) if runner else "",
        }
        tables = table_progress(pipeline, reader, state, captured, pipeline.status == "running")
        return pipeline_progress(pipeline, tables, state, end, seconds_between(behind), extra)

    def _source_head(self, connector: Connector | None) -> int:
        try:
            return head_position(self.source(connector)) if connector else 0
        except (OSError, sqlite3.Error):
            return 0

    def _commit_time(self, connector: Connector, position: int) -> str | None:
        try:
            return commit_time(self.source(connector), position)
        except (OSError, sqlite3.Error):
            return None


def _same(report: PipelineProgress, previous: PipelineProgress | None) -> bool:
    """Equal apart from the time it was taken."""
    return previous is not None and replace(report, updated_at="") == replace(
        previous, updated_at=""
    )

"""Benchmark of the sandbox replication engine: backfill rows/s and change-apply changes/s into DuckDB.

    .venv/bin/python benchmarks/sandbox_engine.py --dir /tmp/enginebench --rows 500000 \\
        --changes 200000 --runs 5 --out benchmarks/sandbox_engine.md

Seeds an SQLite source (the demo schema: customers, products, orders, order_items), runs one
pipeline's backfill to completion, then produces `--changes` captured changes at the source with
bulk statements (updates, deletes, inserts spread over the four tables), lets the reader move
them into its change log, and times the pipeline applying them. The engine runs with its default
batch sizes, opening and closing the DuckDB file for every batch as it does in production.
Targets (issue 3): >= 100k rows/s backfill, >= 20k changes/s apply.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import time
from pathlib import Path

import duckdb

from artie_sandbox.engine.engine import Engine
from artie_sandbox.engine.reader import read_source
from artie_sandbox.models import Connector, Pipeline, PipelineTable, SourceReader
from artie_sandbox.source.schema import DEMO_TABLES
from artie_sandbox.source.seed import create_source
from artie_sandbox.sql import compose, ident, join, qualified
from artie_sandbox.store import Store

BACKFILL_TARGET, APPLY_TARGET = 100_000, 20_000


def make_changes(source: Path, changes: int) -> int:
    """About `changes` captured changes: 70% updates, 15% deletes, 15% inserts, all four tables."""
    with sqlite3.connect(source, isolation_level=None) as conn:
        sizes = {
            t.name: conn.execute(compose("SELECT count(*) FROM {t}", t=ident(t.name))).fetchone()[0]
            for t in DEMO_TABLES
        }
        conn.execute("BEGIN")
        for table in DEMO_TABLES:
            first, name = table.primary_key[0], ident(table.name)
            rowids = [
                r[0] for r in conn.execute(compose("SELECT rowid FROM {t} ORDER BY rowid", t=name))
            ]
            n = min(changes * sizes[table.name] // sum(sizes.values()), len(rowids))
            updates, deletes = rowids[: int(n * 0.7)], rowids[int(n * 0.7) : int(n * 0.85)]
            column = next(c for c in table.columns if c.kind == "timestamp").name
            conn.executemany(
                compose("UPDATE {t} SET {c} = ? WHERE rowid = ?", t=name, c=ident(column)),
                [("2025-01-01 00:00:00.000001", r) for r in updates],
            )
            conn.executemany(
                compose("DELETE FROM {t} WHERE rowid = ?", t=name), [(r,) for r in deletes]
            )
            offset = conn.execute(
                compose("SELECT max({k}) FROM {t}", k=ident(first), t=name)
            ).fetchone()[0]
            cols = join(ident(c.name) for c in table.columns)
            shifted = join(
                compose("{k} + ?", k=ident(c.name)) if c.name == first else ident(c.name)
                for c in table.columns
            )
            conn.execute(
                compose(
                    "INSERT INTO {t} ({cols}) SELECT {shifted} FROM {t} "
                    "WHERE rowid IN (SELECT rowid FROM {t} ORDER BY rowid DESC LIMIT ?)",
                    t=name,
                    cols=cols,
                    shifted=shifted,
                ),
                (offset, n - len(updates) - len(deletes)),
            )
        conn.execute("COMMIT")
        return conn.execute("SELECT count(*) FROM _artie_changes").fetchone()[0]


def seed(directory: Path, rows: int) -> tuple[Path, float]:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    started = time.perf_counter()
    create_source(directory / "pristine.db", rows=rows, seed=1)
    return directory / "pristine.db", time.perf_counter() - started


def run(directory: Path, pristine: Path, rows: int, changes: int) -> dict:
    """One measured run on a fresh copy of the seeded source."""
    directory.mkdir(parents=True)
    source = directory / "source.db"
    shutil.copyfile(pristine, source)
    store = Store(directory / "control-plane.db")
    with store.transaction() as tx:
        tx.put(Connector("src", "sqlite", "src", {"path": str(source)}))
        tx.put(Connector("wh", "duckdb", "wh", {"directory": str(directory / "wh")}))
        tx.put(SourceReader("reader", "shop", "src", "main"))
        tx.put(
            Pipeline(
                "p",
                "bench",
                "reader",
                "wh",
                "bench",
                tables=tuple(PipelineTable(t.name) for t in DEMO_TABLES),
                include_artie_updated_at_column=True,
                include_database_updated_at_column=True,
            )
        )
    engine = Engine(directory, store, pipeline_gap=0, linger=0, report_every=3600)

    load_before = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    while not (
        engine.runners.get("p")
        and engine.runners["p"].state
        and engine.runners["p"].state.streaming
    ):
        engine.run_once()
    backfill_seconds, backfill_cpu = time.perf_counter() - started, time.process_time() - cpu
    backfill_hold = engine.runners["p"].longest_hold

    made = make_changes(source, changes)
    log = engine.change_log("reader")
    tables = {t.name for t in DEMO_TABLES}
    started = time.perf_counter()
    while log.counters()["source_position"] < made:
        read_source(
            log, engine.source(store.read().get(Connector, "src")), tables, engine.read_batch
        )
    read_seconds = time.perf_counter() - started
    runner = engine.runners["p"]
    runner.longest_hold = 0.0
    started, cpu = time.perf_counter(), time.process_time()
    plans = engine.plans(
        store.read().get(Pipeline, "p"),
        store.read().get(SourceReader, "reader"),
        engine.source(store.read().get(Connector, "src")),
    )
    while runner.state.log_offset < made:
        runner.step(plans)
    apply_seconds, apply_cpu = time.perf_counter() - started, time.process_time() - cpu
    with duckdb.connect(str(runner.path), read_only=True) as con:
        landed = sum(
            con.execute(
                compose("SELECT count(*) FROM {t}", t=qualified("main", t.name))
            ).fetchone()[0]
            for t in DEMO_TABLES
        )
    with sqlite3.connect(source) as conn:
        expected = sum(
            conn.execute(compose("SELECT count(*) FROM {t}", t=ident(t.name))).fetchone()[0]
            for t in DEMO_TABLES
        )
    engine.close()
    if landed != expected:
        raise SystemExit(
            f"the destination holds {landed} rows, the source {expected}: the run is invalid"
        )
    return {
        "rows": rows,
        "backfill_seconds": backfill_seconds,
        "backfill_rate": rows / backfill_seconds,
        "backfill_hold": backfill_hold,
        "changes": made,
        "read_seconds": read_seconds,
        "read_rate": made / read_seconds,
        "apply_seconds": apply_seconds,
        "apply_rate": made / apply_seconds,
        "apply_hold": runner.longest_hold,
        "duckdb_mb": runner.path.stat().st_size / 1e6,
        "source_mb": source.stat().st_size / 1e6,
        "rows_after": landed,
        "backfill_cpu": backfill_cpu,
        "apply_cpu": apply_cpu,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "backfill_batch": engine.backfill_batch,
        "apply_batch": engine.apply_batch,
    }


def markdown(runs: list[dict], seed_seconds: float, command: str) -> str:
    def verdict(rate, target):
        return "met" if rate >= target else "NOT met"

    r = sorted(runs, key=lambda x: x["backfill_rate"])[len(runs) // 2]  # the median run by backfill
    apply_median = sorted(x["apply_rate"] for x in runs)[len(runs) // 2]
    backfill_cpu_rate = sorted(x["rows"] / x["backfill_cpu"] for x in runs)[len(runs) // 2]
    apply_cpu_rate = sorted(x["changes"] / x["apply_cpu"] for x in runs)[len(runs) // 2]
    rows = "\n".join(
        f"| {i} | {x['backfill_rate']:,.0f} ({x['backfill_seconds']:.2f} s, {x['backfill_cpu']:.2f} CPU s) "
        f"| {x['apply_rate']:,.0f} ({x['apply_seconds']:.2f} s, {x['apply_cpu']:.2f} CPU s) "
        f"| {x['read_rate']:,.0f} | {x['backfill_hold']:.2f} / {x['apply_hold']:.2f} s "
        f"| {x['load_before']:.1f} -> {x['load_after']:.1f} |"
        for i, x in enumerate(runs, start=1)
    )
    return f"""# Sandbox replication engine benchmark

Reproduce: `{command}`

Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()},
DuckDB {duckdb.__version__}, SQLite {sqlite3.sqlite_version}. The machine was shared with other
work while this ran (see the load averages), so every run is listed, with the CPU seconds of the
benchmark process next to the wall-clock time.

Data: the demo schema (customers, products, orders, order_items with a composite key; integers,
text, decimals, doubles, timestamps, booleans, NULLs, JSON text), {r["rows"]:,} seeded rows
({r["source_mb"]:.0f} MB SQLite source, seeded once in {seed_seconds:.1f} s and copied for each run),
one pipeline with `__artie_updated_at` and `__artie_db_updated_at`; DuckDB file
{r["duckdb_mb"]:.0f} MB holding {r["rows_after"]:,} rows at the end of a run (row count checked equal to
the source's). Changes: {r["changes"]:,} captured changes per run (about 70% updates, 15% deletes,
15% inserts over the four tables). Backfill and apply batches adapt to hold the DuckDB file about 0.4 s
(at most {r["backfill_batch"]:,} rows); apply batches at most {r["apply_batch"]:,} changes; the
DuckDB file is opened and closed for every batch, as in production.

## Result (median of {len(runs)} runs)

| measure | median, wall clock | median, per CPU second of the process | target (wall clock) | |
|---|---|---|---|---|
| backfill (source -> DuckDB) | {r["backfill_rate"]:,.0f} rows/s | {backfill_cpu_rate:,.0f} rows | >= {BACKFILL_TARGET:,} rows/s | {verdict(r["backfill_rate"], BACKFILL_TARGET)} |
| change apply (change log -> DuckDB) | {apply_median:,.0f} changes/s | {apply_cpu_rate:,.0f} changes | >= {APPLY_TARGET:,} changes/s | {verdict(apply_median, APPLY_TARGET)} |

## Every run

| run | backfill rows/s | apply changes/s | reader changes/s | longest file hold, backfill / apply | load average |
|---|---|---|---|---|---|
{rows}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="scratch directory (replaced)")
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--changes", type=int, default=200_000)
    parser.add_argument(
        "--runs", type=int, default=5, help="measured runs on copies of one seeded source"
    )
    parser.add_argument("--out", type=Path, help="write the Markdown results here")
    args = parser.parse_args()
    pristine, seed_seconds = seed(args.dir, args.rows)
    runs = [
        run(args.dir / f"run{i}", pristine, args.rows, args.changes)
        for i in range(1, args.runs + 1)
    ]
    command = (
        f".venv/bin/python benchmarks/sandbox_engine.py --dir {args.dir} --rows {args.rows} "
        f"--changes {args.changes} --runs {args.runs}" + (f" --out {args.out}" if args.out else "")
    )
    text = markdown(runs, seed_seconds, command)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()

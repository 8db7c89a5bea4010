"""How long a writer of the new destination waits while validations run (issue 15, item 4).

    .venv/bin/python benchmarks/validation_holds.py --dir /tmp/holdbench --out benchmarks/validation_holds.md

For each size, two DuckDB files with `tables` copies of the validation benchmark's table are
written; a writer process then opens the new file read-write every 50 ms (as the sandbox engine
does per batch), appends one row to a probe table and closes it, noting how long each open
waited for the lock, while `migration-pipeline validate` runs round after round as a whole
process. Per round: its wall time (what a writer would wait if validation held the files for
the whole run) and the writer's longest wait.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from validation import GENERATE  # noqa: E402  (the benchmark table, one definition)

WRITER = """
import json, sys, time, duckdb
path, out, stop = sys.argv[1], sys.argv[2], sys.argv[3]
import os
with open(out, "w") as log:
    while not os.path.exists(stop):
        asked = time.time()
        while True:
            try:
                con = duckdb.connect(path)
                break
            except duckdb.IOException:
                time.sleep(0.001)
        waited = time.time() - asked
        con.execute("CREATE TABLE IF NOT EXISTS _writer_probe (asked DOUBLE)")
        con.execute("INSERT INTO _writer_probe VALUES (?)", [asked])
        con.close()
        log.write(json.dumps([asked, waited]) + "\\n")
        log.flush()
        time.sleep(0.05)
"""

SIZES = {"demo data (5,000 rows x 3 tables)": (5_000, 3), "10M rows (1 table)": (10_000_000, 1)}


def generate(directory: Path, rows: int, tables: int) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    old, new = directory / "old.duckdb", directory / "new.duckdb"
    for path in (old, new):
        path.unlink(missing_ok=True)
        with duckdb.connect(str(path)) as con:
            con.execute(GENERATE.format(rows=int(rows)))
            for n in range(1, tables):
                con.execute(f"CREATE TABLE orders_{n} AS SELECT * FROM orders")  # noqa: S608
    return old, new


def measure(old: Path, new: Path, rounds: int, work: Path) -> list[dict]:
    log, stop = work / "writer.jsonl", work / "stop"
    stop.unlink(missing_ok=True)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(new), str(log), str(stop)])
    time.sleep(1.0)
    if writer.poll() is not None:
        raise SystemExit(f"the writer stopped (exit {writer.returncode})")
    command = Path(sys.executable).parent / "migration-pipeline"
    spans = []
    try:
        for _ in range(rounds):
            started = time.time()
            result = subprocess.run(
                [str(command), "validate", "--old", str(old), "--new", str(new), "--json",
                 "--key", "id", "--lock-timeout", "60"],
                capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            spans.append((started, time.time(), json.loads(result.stdout)["summary"]["verdict"]))
            time.sleep(0.3)
    finally:
        stop.touch()
        writer.wait(30)
    waits = [json.loads(line) for line in log.read_text().splitlines()]
    results = []
    for started, ended, verdict in spans:
        during = [w for asked, w in waits if started <= asked + w and asked <= ended]
        results.append(
            {
                "round_s": ended - started,
                "longest_wait_s": max(during, default=0.0),
                "writes": len(during),
                "verdict": verdict,
            }
        )
    return results


def render(results: dict[str, list[dict]], rounds: int, out_dir: str) -> str:
    lines = [
        "# Writer waits during validation (issue 15, item 4)",
        "",
        "Validation attaches both destination files read-only for one table at a time and "
        "detaches them in between, so a writer of the new destination (one read-write open per "
        "batch, every 50 ms) waits at most for the table being read, never for a whole validation.",
        "",
        "| data | round (s, median) | writer's longest wait per round (s): median / max | writes during rounds |",
        "|---|---|---|---|",
    ]
    for name, rows in results.items():
        rounds_s = sorted(r["round_s"] for r in rows)
        waits = sorted(r["longest_wait_s"] for r in rows)
        lines.append(
            f"| {name} | {rounds_s[len(rounds_s) // 2]:.2f} | {waits[len(waits) // 2]:.3f} / "
            f"{waits[-1]:.3f} | {sum(r['writes'] for r in rows)} |"
        )
    lines += [
        "",
        f"{rounds} rounds per size; the round is `migration-pipeline validate --json` as a whole "
        "process. With one table, the hold is that table's read: per-table release cannot help "
        "there (a single 10M-row table still blocks its writer for about one comparison of it).",
        "",
        f"Machine: {platform.machine()}, {platform.python_version()}, duckdb {duckdb.__version__}.",
        "",
        "Reproduce:",
        "",
        f"    .venv/bin/python benchmarks/validation_holds.py --dir {out_dir} --rounds {rounds} "
        "--out benchmarks/validation_holds.md",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only", choices=("demo", "10m"))
    args = parser.parse_args(argv)
    results = {}
    for name, (rows, tables) in SIZES.items():
        if args.only and (args.only == "demo") != (rows < 1_000_000):
            continue
        work = args.dir / f"{rows}x{tables}"
        old, new = generate(work, rows, tables)
        results[name] = measure(old, new, args.rounds, work)
        print(name, json.dumps(results[name]))
    text = render(results, args.rounds, str(args.dir))
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the validation engine against the floor, reladiff and datacompy (issue 5).

    .venv/bin/python benchmarks/validation.py generate --dir /tmp/valbench
    .venv/bin/python benchmarks/validation.py run --dir /tmp/valbench --out benchmarks/validation.md

`generate` writes two DuckDB files with the same 10M-row table (10 mixed columns) and a third
one with 1,000 scattered differences; `run` times every tool in its own process (peak memory
from the kernel's accounting of that process) and writes the results as Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROWS = 10_000_000
DIFFERENCES = 1_000
TABLE = "orders"
MEMORY_LIMIT = "2GB"

# ids are even so that inserted keys (odd) land between existing rows, scattered like the rest.
GENERATE = """
CREATE TABLE orders AS SELECT
  (2 * i)::BIGINT AS id,
  (hash(i) % 1000000)::INTEGER AS quantity,
  (hash(i + 7) % 10000000000)::BIGINT AS amount_cents,
  ((hash(i + 13) % 1000000) / 997.0)::DOUBLE AS score,
  ((hash(i + 17) % 100000000) / 10000)::DECIMAL(18, 4) AS price,
  'customer-' || (hash(i + 19) % 100000)::VARCHAR AS customer,
  CASE WHEN i % 10 = 0 THEN NULL ELSE substr(md5(i::VARCHAR), 1, 12) END AS note,
  (hash(i + 23) % 2 = 0) AS active,
  (DATE '2020-01-01' + (hash(i + 29) % 2000)::INTEGER) AS signup_date,
  (TIMESTAMP '2020-01-01' + to_microseconds((hash(i + 31) % 100000000000)::BIGINT)) AS updated_at
FROM range({rows}) r(i)
"""

# Every 3rd difference of each kind: a changed value (rotating over columns, NULL <-> value
# included), a row missing in new, a row extra in new.
CHANGES = [
    "UPDATE orders SET quantity = quantity + 1 WHERE id = $1",
    "UPDATE orders SET note = CASE WHEN note IS NULL THEN 'was null' ELSE NULL END WHERE id = $1",
    "UPDATE orders SET score = score + 1e-9 WHERE id = $1",
    "UPDATE orders SET price = price + 0.0001 WHERE id = $1",
    "UPDATE orders SET signup_date = signup_date + 1 WHERE id = $1",
    "UPDATE orders SET updated_at = updated_at + INTERVAL 1 MICROSECOND WHERE id = $1",
]


def difference_keys(rows: int = ROWS, count: int = DIFFERENCES) -> dict[str, list[int]]:
    """The injected differences by kind: evenly spread over the key range."""
    step = rows // count
    kinds: dict[str, list[int]] = {"changed": [], "missing_in_new": [], "extra_in_new": []}
    for j in range(count):
        key = 2 * (j * step + step // 2)
        kind = ("changed", "missing_in_new", "extra_in_new")[j % 3]
        kinds[kind].append(key + 1 if kind == "extra_in_new" else key)
    return kinds


def generate(directory: Path, rows: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    old, new, diff = (directory / f"{n}.duckdb" for n in ("old", "new", "new_diff"))
    for path in (old, new, diff):
        path.unlink(missing_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(old)) as con:
        con.execute(GENERATE.format(rows=int(rows)))
    shutil.copyfile(old, new)
    shutil.copyfile(old, diff)
    kinds = difference_keys(rows)
    with duckdb.connect(str(diff)) as con:
        for n, key in enumerate(kinds["changed"]):
            con.execute(CHANGES[n % len(CHANGES)], [key])
        con.executemany("DELETE FROM orders WHERE id = $1", [[k] for k in kinds["missing_in_new"]])
        con.executemany(
            "INSERT INTO orders SELECT $1, 1, 2, 3.5, 4.25, 'inserted', NULL, true, "
            "DATE '2024-01-01', TIMESTAMP '2024-01-01 00:00:00'",
            [[k] for k in kinds["extra_in_new"]],
        )
    (directory / "differences.json").write_text(json.dumps(kinds))
    print(f"generated {rows} rows x 10 columns in {time.perf_counter() - started:.1f} s")


COLUMNS = (
    "id, quantity, amount_cents, score, price, customer, note, active, signup_date, updated_at"
)
VARIANTS = {"clean": "new", "1,000 differences": "new_diff"}
FLOOR = (
    "SELECT * FROM (SELECT count(*), sum(hash(id, quantity, amount_cents, score, price, customer, note, "
    "active, signup_date, updated_at)) FROM o.orders), (SELECT count(*), sum(hash(id, quantity, "
    "amount_cents, score, price, customer, note, active, signup_date, updated_at)) FROM n.orders)"
)


def _floor(old: str, new: str) -> dict:
    """One count(*) + sum(hash(...)) scan of each table, both files ATTACHed read-only."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("ATTACH ? AS o (READ_ONLY)", [old])
    con.execute("ATTACH ? AS n (READ_ONLY)", [new])
    rows = con.execute(FLOOR).fetchone()
    return {"equal": rows[:2] == rows[2:], "keys": None}


def _engine(old: str, new: str) -> dict:
    from migration_pipeline.validation import ValidationOptions, plain_mapping, validate

    options = ValidationOptions(keys=("id",), memory_limit=MEMORY_LIMIT)
    (table,) = validate(old, new, [plain_mapping(TABLE)], options).tables
    return {
        "equal": table.matches,
        "keys": {
            "changed": [row.key[0] for row in table.changed],
            "missing_in_new": [k[0] for k in table.missing_in_new.keys],
            "extra_in_new": [k[0] for k in table.extra_in_new.keys],
        },
        "buckets": table.buckets,
        "differing_buckets": table.differing_buckets,
    }


def _reladiff(old: str, new: str) -> dict:
    import reladiff

    columns = tuple(c.strip() for c in COLUMNS.split(",")[1:])
    one = reladiff.connect_to_table(f"duckdb://{old}", TABLE, "id")
    two = reladiff.connect_to_table(f"duckdb://{new}", TABLE, "id")
    # skip_sort_results: reladiff 0.6 crashes sorting a diff where a value is NULL on one side.
    diff = list(reladiff.diff_tables(one, two, extra_columns=columns, skip_sort_results=True))
    signs: dict[int, set[str]] = {}
    for sign, row in diff:
        signs.setdefault(int(row[0]), set()).add(sign)
    return {"equal": not diff, "keys": _by_kind(signs, "-", "+")}


def _datacompy(old: str, new: str) -> dict:
    import datacompy

    frames = [
        duckdb.connect(p, read_only=True).sql("SELECT * FROM orders").df() for p in (old, new)
    ]
    compare = datacompy.PandasCompare(frames[0], frames[1], join_columns="id")
    return {
        "equal": compare.matches(),
        "keys": {
            "changed": compare.all_mismatch()["id"].tolist(),
            "missing_in_new": compare.df1_unq_rows["id"].tolist(),
            "extra_in_new": compare.df2_unq_rows["id"].tolist(),
        },
    }


def _by_kind(signs: dict[int, set[str]], old_sign: str, new_sign: str) -> dict[str, list[int]]:
    kinds: dict[str, list[int]] = {"changed": [], "missing_in_new": [], "extra_in_new": []}
    for key, seen in signs.items():
        kind = (
            "changed"
            if len(seen) == 2
            else "missing_in_new"
            if old_sign in seen
            else "extra_in_new"
        )
        kinds[kind].append(key)
    return kinds


TOOLS = {"floor": _floor, "engine": _engine, "reladiff": _reladiff, "datacompy": _datacompy}
LABELS = {
    "floor": "floor: count(*) + sum(hash(...)) of both tables",
    "engine": "migration_pipeline.validation",
    "reladiff": "reladiff 0.6 (hashdiff)",
    "datacompy": "datacompy on pandas",
}


def run_tool(tool: str, old: str, new: str) -> None:
    """Child process: run one tool once and print its result as JSON."""
    started, cpu = time.perf_counter(), time.process_time()
    result = TOOLS[tool](old, new)
    result["seconds"] = time.perf_counter() - started
    result["cpu"] = time.process_time() - cpu  # every thread of the process
    print(json.dumps(result, default=int))


def measure(tool: str, old: Path, new: Path) -> dict:
    """Run `tool` in its own process; peak memory is that process's maximum resident set."""
    command = [sys.executable, __file__, "tool", tool, str(old), str(new)]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.stdout.close()
    if status != 0:
        raise RuntimeError(f"{tool} failed on {new.name} (status {status})")
    result = json.loads(out)
    result.update(wall=time.perf_counter() - started, peak_mb=usage.ru_maxrss / 1024, load=load)
    return result


def located(result: dict, expected: dict[str, list[int]]) -> str:
    if result["keys"] is None:
        return "no (counts only)"
    got = {kind: sorted(int(k) for k in keys) for kind, keys in result["keys"].items()}
    want = {kind: sorted(keys) for kind, keys in expected.items()}
    return (
        "all 1,000, each kind right" if got == want else f"NO: {sum(map(len, got.values()))} keys"
    )


def _best(runs: list[dict]) -> dict:
    """The fastest run: other processes on the machine only ever add time."""
    return min(runs, key=lambda r: r["seconds"])


def _record(results: dict, tool: str, variant: str, runs: list[dict], expected: dict) -> None:
    result = _best(runs)
    result["runs"] = [round(r["seconds"], 2) for r in runs]
    clean = variant == "clean"
    result["located"] = (
        ("equal" if result["equal"] else "NOT EQUAL") if clean else located(result, expected)
    )
    results[(tool, variant)] = result
    print(
        f"{variant:>18} {tool:>10} {result['seconds']:8.2f} s {result['cpu']:8.2f} cpu-s "
        f"{result['peak_mb']:8.0f} MB  {result['located']}",
        flush=True,
    )


def benchmark(directory: Path, repeats: int) -> dict:
    """Floor and engine alternate `repeats` times (so both see the same machine); the others run once."""
    old = directory / "old.duckdb"
    expected = json.loads((directory / "differences.json").read_text())
    results: dict = {}
    for variant, name in VARIANTS.items():
        new = directory / f"{name}.duckdb"
        runs: dict[str, list[dict]] = {"floor": [], "engine": []}
        for _ in range(repeats):
            for tool in runs:
                runs[tool].append(measure(tool, old, new))
        for tool in TOOLS:
            _record(results, tool, variant, runs.get(tool) or [measure(tool, old, new)], expected)
    return results


def _machine() -> list[str]:
    import datacompy
    import pandas
    import reladiff

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    versions = {
        "duckdb": duckdb.__version__,
        "reladiff": reladiff.__version__ if hasattr(reladiff, "__version__") else "0.6.0",
        "datacompy": datacompy.__version__,
        "pandas": pandas.__version__,
    }
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; RAM {memory / 1024 / 1024:.0f} GiB; Linux {platform.release()}",
        f"- Python {platform.python_version()}; "
        + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"- DuckDB memory limit: {MEMORY_LIMIT} for the floor and our engine (the engine's default; "
        "`--memory-limit` on the CLI); reladiff and datacompy run with their defaults",
    ]


def _target(name: str, ratio: tuple[float, float], bound: float, at_least: bool = True) -> str:
    """A row of the targets table: the ratio on wall time and on CPU time, each judged."""

    def met(value: float) -> str:
        return "yes" if (value >= bound if at_least else value <= bound) else "NO"

    wall, cpu = ratio
    sign = ">=" if at_least else "<="
    return f"| {name} | {sign} {bound:g} | {wall:.2f} | {met(wall)} | {cpu:.2f} | {met(cpu)} |"


def render(results: dict, directory: Path, repeats: int) -> str:
    def r(tool: str, variant: str) -> dict:
        return results[(tool, variant)]

    def ratio(a: tuple[str, str], b: tuple[str, str]) -> tuple[float, float]:
        return tuple(r(*a)[m] / r(*b)[m] for m in ("seconds", "cpu"))  # type: ignore[return-value]

    clean, diff = VARIANTS
    rows = [
        f"| {LABELS[tool]} | {variant} | {res['seconds']:.2f} | {res['cpu']:.2f} | {res['peak_mb']:,.0f} "
        f"| {res['located']} | {res['load']:.2f} |"
        for (tool, variant), res in results.items()
    ]
    peak = max(r("engine", v)["peak_mb"] for v in VARIANTS)
    dc_peak = min(r("datacompy", v)["peak_mb"] for v in VARIANTS)
    located_all = r("engine", diff)["located"].startswith("all")
    ours_clean, ours_diff = ("engine", clean), ("engine", diff)
    targets = [
        _target(
            "clean compare within 1.5x of the floor",
            ratio(ours_clean, ("floor", clean)),
            1.5,
            False,
        ),
        _target(
            "at least 5x faster than reladiff, clean", ratio(("reladiff", clean), ours_clean), 5
        ),
        _target(
            "at least 15x faster than reladiff, 1,000 differences",
            ratio(("reladiff", diff), ours_diff),
            15,
        ),
        _target(
            "at least 15x faster than datacompy, clean", ratio(("datacompy", clean), ours_clean), 15
        ),
        _target(
            "at least 15x faster than datacompy, 1,000 differences",
            ratio(("datacompy", diff), ours_diff),
            15,
        ),
        _target(
            "peak memory at most a fifth of datacompy's (theirs / ours)", (dc_peak / peak,) * 2, 5
        ),
        _target(
            "1,000 differences located, every key, within 2x the clean time"
            + ("" if located_all else " (NOT all located)"),
            ratio(ours_diff, ours_clean) if located_all else (float("inf"),) * 2,
            2,
            False,
        ),
    ]
    lines = [
        "# Validation benchmark",
        "",
        "Two DuckDB files with the same 10M-row table `orders` (10 columns: BIGINT key, INTEGER, BIGINT,",
        "DOUBLE, DECIMAL(18,4), two VARCHAR (one 10% NULL), BOOLEAN, DATE, TIMESTAMP), and a variant of the",
        "new file with 1,000 differences spread evenly over the key range: 334 changed values (rotating",
        "over six columns, NULL <-> value included), 333 rows missing in new, 333 rows extra in new.",
        "Every tool runs in its own process; peak memory is that process's maximum resident set",
        "(`ru_maxrss` from `wait4`). Times are the tool's own, from connecting to having every result:",
        "wall seconds, and CPU seconds of all the process's threads (less sensitive to other load).",
        f"Floor and engine: the best of {repeats} alternating runs (all listed below); reladiff and",
        "datacompy: one run each (a few minutes per run), so any load on the machine counts against",
        "them and not against us: their CPU seconds are the fairer figure.",
        "",
        "Reproduce (about 10 minutes on 2 cores; needs the `bench` extra for reladiff and datacompy):",
        "",
        "    .venv/bin/python benchmarks/validation.py generate --dir /tmp/valbench",
        f"    .venv/bin/python benchmarks/validation.py run --dir /tmp/valbench --repeats {repeats} --out benchmarks/validation.md",
        "",
        "## Machine",
        "",
        *_machine(),
        "- Other engineers' processes shared this machine during the run; the 1-minute load average seen",
        "  when each process started is in the last column.",
        "",
        "## Results",
        "",
        "| tool | variant | seconds | CPU seconds | peak MB | differences located | load |",
        "|---|---|---:|---:|---:|---|---:|",
        *rows,
        "",
        f"Engine runs (s): clean {r('engine', clean)['runs']}, with differences {r('engine', diff)['runs']};"
        f" floor runs (s): clean {r('floor', clean)['runs']}, with differences {r('floor', diff)['runs']}.",
        f"Engine buckets: {r('engine', diff).get('buckets')} key buckets, {r('engine', diff).get('differing_buckets')} differing with 1,000 differences.",
        "",
        "For scale, issue 5 quotes for a quiet 2-core machine of this kind: floor about 2 s, reladiff",
        "about 19 s clean and 125 s with 1,000 differences, datacompy about 60 s with a 7 GB peak.",
        "",
        "## Targets (issue 5)",
        "",
        "| target | needed | ratio (wall) | met | ratio (CPU) | met |",
        "|---|---|---:|---|---:|---|",
        *targets,
        f"| peak memory bounded | DuckDB memory_limit {MEMORY_LIMIT} | {peak:,.0f} MB peak | {'yes' if peak < 2.5 * 1024 else 'NO'} | | |",
        "",
        "The issue states the targets in elapsed time; both ratios are judged. Floor and engine runs",
        "last seconds, so on a machine shared with other work their elapsed time swings with the",
        "load (see the runs above); the CPU-time ratio is the steadier measure of the work done.",
        "Against the mostly single-threaded tools (datacompy, reladiff) the CPU ratio understates",
        "what an operator waits for, since DuckDB keeps both cores busy (its CPU seconds exceed its",
        "elapsed seconds).",
        "",
        "## Notes on the other tools",
        "",
        "- reladiff 0.6.0 crashes (`TypeError: '<' not supported between instances of 'NoneType' and 'str'`)",
        "  sorting its results when a value changes between NULL and non-NULL; the harness passes",
        "  `skip_sort_results=True`, which avoids it. It warns that DATE is not mapped (compared as text),",
        "  and rounds DOUBLEs to 13 digits; with these data it still located all 1,000 keys.",
        "- datacompy reads both tables into pandas first (DECIMAL becomes float64); that load is",
        "  included in its time and memory, as it is the way it has to be used on DuckDB files.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("--dir", type=Path, required=True)
    gen.add_argument("--rows", type=int, default=ROWS)
    run = sub.add_parser("run")
    run.add_argument("--dir", type=Path, required=True)
    run.add_argument("--out", type=Path)
    run.add_argument("--repeats", type=int, default=3)
    again = sub.add_parser(
        "render", help="write the Markdown again from the last run's results.json"
    )
    again.add_argument("--dir", type=Path, required=True)
    again.add_argument("--out", type=Path)
    tool = sub.add_parser("tool")
    tool.add_argument("name", choices=sorted(TOOLS))
    tool.add_argument("old")
    tool.add_argument("new")
    args = parser.parse_args(argv)
    if args.step == "generate":
        generate(args.dir, args.rows)
    elif args.step == "tool":
        run_tool(args.name, args.old, args.new)
    else:
        saved = args.dir / "results.json"
        if args.step == "run":
            results = benchmark(args.dir, args.repeats)
            saved.write_text(
                json.dumps([[tool, variant, r] for (tool, variant), r in results.items()])
            )
        results = {(tool, variant): r for tool, variant, r in json.loads(saved.read_text())}
        text = render(results, args.dir, len(results[("engine", "clean")]["runs"]))
        if args.out:
            args.out.write_text(text)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

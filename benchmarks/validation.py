"""Benchmark of `migration-pipeline validate` against the floor, reladiff and datacompy, and of
its incremental re-validation (issues 5 and 9).

    .venv/bin/python benchmarks/validation.py generate --dir /tmp/valbench
    .venv/bin/python benchmarks/validation.py run --dir /tmp/valbench --out benchmarks/validation.md

`generate` writes two DuckDB files with the same 10M-row table (10 mixed columns and Artie's
`__artie_updated_at`), a third one with 1,000 scattered differences, and two more pairs that
were validated clean (full) and then received the same 10,000 random changes with a fresh
change time (in the second pair, 50 of them dropped or corrupted on the new side; in the third,
1,000 more updates on the old side only, as while the new pipeline lags). `run` times
every tool as a whole process, start to exit (peak memory and CPU from the kernel's accounting
of that process), and writes the results as Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb

ROWS = 10_000_000
DIFFERENCES = 1_000
CHANGES_APPLIED = 10_000  # inserts, updates, deletes applied to both sides after the baseline
FAULTS = 50  # of those, dropped or corrupted on the new side
IN_FLIGHT = 1_000  # updates on old only, 5 s after the others: new lags (both pipelines stream)
T0, T1 = "2026-01-01 00:00:00", "2026-01-02 00:00:00"  # the baseline's and the changes' time
T2 = "2026-01-02 00:00:05"  # the in-flight updates' time
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
  (TIMESTAMP '2020-01-01' + to_microseconds((hash(i + 31) % 100000000000)::BIGINT)) AS updated_at,
  TIMESTAMP '{t0}' AS __artie_updated_at
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
        con.execute(GENERATE.format(rows=int(rows), t0=T0))
    shutil.copyfile(old, new)
    shutil.copyfile(old, diff)
    kinds = difference_keys(rows)
    with duckdb.connect(str(diff)) as con:
        for n, key in enumerate(kinds["changed"]):
            con.execute(CHANGES[n % len(CHANGES)], [key])
        con.executemany("DELETE FROM orders WHERE id = $1", [[k] for k in kinds["missing_in_new"]])
        con.executemany(
            "INSERT INTO orders SELECT $1, 1, 2, 3.5, 4.25, 'inserted', NULL, true, "
            "DATE '2024-01-01', TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2020-01-01'",
            [[k] for k in kinds["extra_in_new"]],
        )
    (directory / "differences.json").write_text(json.dumps(kinds))
    print(f"generated {rows} rows x 10 columns in {time.perf_counter() - started:.1f} s")
    _generate_changes(directory, rows)


def in_flight_keys(rows: int, changes: dict[str, list[int]]) -> list[int]:
    """Existing keys none of the changes touched, updated on old only while new lags."""
    touched = set(changes["update"] + changes["delete"])
    rng = random.Random(11)
    keys: list[int] = []
    while len(keys) < IN_FLIGHT:
        key = 2 * rng.randrange(rows)
        if key not in touched and key not in keys:
            keys.append(key)
    return keys


def change_set(rows: int) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """10,000 random changes (60% updates, 20% deletes, 20% inserts) and the 50 faults among
    them: updates and inserts dropped on new, updates corrupted on new (deletes never dropped:
    a lost delete leaves no change time and sends the table to a full run, tested elsewhere)."""
    rng = random.Random(9)
    existing = rng.sample(range(rows), CHANGES_APPLIED * 4 // 5)
    updates = [2 * i for i in existing[: CHANGES_APPLIED * 3 // 5]]
    deletes = [2 * i for i in existing[CHANGES_APPLIED * 3 // 5 :]]
    inserts = [2 * i + 1 for i in rng.sample(range(rows), CHANGES_APPLIED // 5)]
    changes = {"update": updates, "delete": deletes, "insert": inserts}
    faults = {
        "dropped_update": updates[:20],
        "corrupted_update": updates[20:35],
        "dropped_insert": inserts[:15],
    }
    return changes, faults


def _apply_changes(
    path: Path,
    changes: dict[str, list[int]],
    skip: set[int],
    corrupt: set[int],
    at: str = T1,
) -> None:
    """Apply the changes as Artie's writer does (and the sandbox's): a merge that deletes the
    keys' old rows and inserts their new versions, with a fresh change time `at`."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TEMP TABLE c (id BIGINT, kind VARCHAR)")
        con.executemany(
            "INSERT INTO c VALUES (?, ?)",
            [[k, kind] for kind, keys in changes.items() for k in keys if k not in skip],
        )
        con.execute("CREATE TEMP TABLE bad AS SELECT unnest(?::BIGINT[]) AS id", [sorted(corrupt)])
        con.execute(
            "CREATE TEMP TABLE staged AS SELECT * REPLACE (quantity + CASE WHEN id IN "
            "(SELECT id FROM bad) THEN 7 ELSE 1 END AS quantity, 'changed' AS note, "
            "?::TIMESTAMP AS __artie_updated_at) FROM orders "
            "WHERE id IN (SELECT id FROM c WHERE kind = 'update')",
            [at],
        )
        con.execute(
            "INSERT INTO staged SELECT id, 1, 2, 3.5, 4.25, 'inserted', NULL, true, "
            "DATE '2024-01-01', TIMESTAMP '2024-01-01', ?::TIMESTAMP FROM c WHERE kind = 'insert'",
            [at],
        )
        con.execute("BEGIN")
        con.execute("DELETE FROM orders WHERE id IN (SELECT id FROM c WHERE kind <> 'insert')")
        con.execute("INSERT INTO orders SELECT * FROM staged ORDER BY id")
        con.execute("COMMIT")


def scale(directory: Path, rows: int, repeats: int) -> None:
    """A clean pair of `rows` rows (generated, compared by the floor and our CLI, deleted)."""
    pair = directory / "scale"
    shutil.rmtree(pair, ignore_errors=True)
    pair.mkdir(parents=True)
    needed = 2 * rows * 40  # about 39 bytes per row per file at 10M rows
    if shutil.disk_usage(pair).free < 2 * needed:
        raise SystemExit(
            f"not enough free disk in {pair} for two files of about {needed / 1e9:.0f} GB"
        )
    try:
        started = time.perf_counter()
        # In a child: a child's peak memory (ru_maxrss) starts from its parent's size at fork.
        make = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute(sys.argv[2])"
        sql = GENERATE.format(rows=int(rows), t0=T0)
        subprocess.run([sys.executable, "-c", make, str(pair / "old.duckdb"), sql], check=True)
        shutil.copyfile(pair / "old.duckdb", pair / "new.duckdb")
        size = (pair / "old.duckdb").stat().st_size
        print(
            f"generated {rows} rows ({size / 1e9:.1f} GB per file) in {time.perf_counter() - started:.0f} s"
        )
        results: dict = {}
        _compile_package()
        runs = _alternate(("floor", "engine"), pair / "old.duckdb", pair / "new.duckdb", repeats)
        for tool, tool_runs in runs.items():
            _record(results, tool, f"{rows:,} rows", tool_runs, None)
    finally:
        shutil.rmtree(pair, ignore_errors=True)
    (directory / "scale.json").write_text(
        json.dumps(
            {
                "rows": rows,
                "bytes_per_file": size,
                "revision": _revision(),
                "results": [[t, v, r] for (t, v), r in results.items()],
            }
        )
    )


def _generate_changes(directory: Path, rows: int) -> None:
    """Three pairs validated clean in full, then changed: equally, with the 50 faults, and
    equally plus 1,000 updates on old only (new 5 s behind)."""
    started = time.perf_counter()
    changes, faults = change_set(rows)
    for name in INCREMENTAL:
        pair = directory / name
        shutil.rmtree(pair, ignore_errors=True)
        pair.mkdir()
        for side in ("old", "new"):
            shutil.copyfile(directory / "old.duckdb", pair / f"{side}.duckdb")
        baseline = subprocess.run(
            [*validate_command(pair / "old.duckdb", pair / "new.duckdb"), "--state-dir", str(pair / "state")],
            capture_output=True, text=True,
        )  # fmt: skip
        if baseline.returncode != 0:
            raise RuntimeError(
                f"the baseline of {name} was not clean: {baseline.stdout}{baseline.stderr}"
            )
        _apply_changes(pair / "old.duckdb", changes, set(), set())
        faulty = name == "incremental_50_faults"
        dropped = set(faults["dropped_update"] + faults["dropped_insert"]) if faulty else set()
        corrupt = set(faults["corrupted_update"]) if faulty else set()
        _apply_changes(pair / "new.duckdb", changes, dropped, corrupt)
        if name == "incremental_in_flight":
            late = {"update": in_flight_keys(rows, changes), "delete": [], "insert": []}
            _apply_changes(pair / "old.duckdb", late, set(), set(), T2)
    (directory / "faults.json").write_text(json.dumps(faults))
    print(
        f"applied {CHANGES_APPLIED} changes to three pairs in {time.perf_counter() - started:.1f} s"
    )


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
    con.execute("SET TimeZone = 'UTC'")
    con.execute("ATTACH ? AS o (READ_ONLY)", [old])
    con.execute("ATTACH ? AS n (READ_ONLY)", [new])
    rows = con.execute(FLOOR).fetchone()
    return {"equal": rows[:2] == rows[2:], "keys": None}


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


TOOLS = {"floor": _floor, "reladiff": _reladiff, "datacompy": _datacompy}
LABELS = {
    "floor": "floor: count(*) + sum(hash(...)) of both tables",
    "engine": "`migration-pipeline validate`",
    "incremental": "`migration-pipeline validate` (incremental)",
    "reladiff": "reladiff 0.6 (hashdiff)",
    "datacompy": "datacompy on pandas",
}
INCREMENTAL = ("incremental_equal", "incremental_50_faults", "incremental_in_flight")
CLI = Path(sys.executable).parent / "migration-pipeline"


def validate_command(old: Path, new: Path) -> list[str]:
    """Our CLI as a user runs it (all keys listed: --json has no limit unless --max-keys)."""
    return [str(CLI), "validate", "--old", str(old), "--new", str(new), "--table", TABLE, "--key", "id",
            "--json", "--memory-limit", MEMORY_LIMIT]  # fmt: skip


PACKAGE = Path(__file__).resolve().parent.parent / "migration_pipeline"


def _compile_package() -> None:
    """Our package's bytecode, written once before timing as `pip install` writes it: where
    PYTHONDONTWRITEBYTECODE is set (this machine sets it) an editable install would otherwise
    compile every module in every timed run."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(PACKAGE)], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def _revision() -> str:
    """The commit of the code measured (with `+` when the work tree differs from it)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(PACKAGE.parent), *args], capture_output=True,
                              text=True).stdout.strip()  # fmt: skip

    return git("rev-parse", "--short", "HEAD") + (
        "+" if git("status", "--porcelain", "--", str(PACKAGE)) else ""
    )


def run_tool(tool: str, old: str, new: str) -> None:
    """Child process: run one tool once and print its result as JSON."""
    started = time.perf_counter()
    result = TOOLS[tool](old, new)
    result["seconds"] = time.perf_counter() - started
    print(json.dumps(result, default=int))


def _cli_result(out: str) -> dict:
    document = json.loads(out)
    (table,) = document["tables"]
    started, finished = (datetime.fromisoformat(document[k]) for k in ("started_at", "finished_at"))
    return {
        "equal": document["summary"]["verdict"] == "clean",
        "keys": {
            "changed": [row["key"] for row in table["changed"]],
            "missing_in_new": table["missing_in_new"],
            "extra_in_new": table["extra_in_new"],
        },
        "seconds": (finished - started).total_seconds(),
        "coverage": table["coverage"]["description"],
        "in_flight": len(table["in_flight"]),
    }


def measure(tool: str, old: Path, new: Path, state: Path | None = None) -> dict:
    """One whole process, start to exit: wall time, CPU time of all its threads and peak
    memory from the kernel (`wait4`); `seconds` is the tool's own timer inside the process."""
    if tool in ("engine", "incremental"):
        command = validate_command(old, new)
        if state is not None:  # a fresh copy: every repeat continues from the same baseline
            fresh = state.parent / "state-run"
            shutil.rmtree(fresh, ignore_errors=True)
            shutil.copytree(state, fresh)
            command += ["--state-dir", str(fresh)]
    else:
        command = [sys.executable, __file__, "tool", tool, str(old), str(new)]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.stdout.close()
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{tool} failed on {new} (status {status})")
    result = _cli_result(out) if tool in ("engine", "incremental") else json.loads(out)
    result.update(wall=wall, cpu=usage.ru_utime + usage.ru_stime,
                  peak_mb=usage.ru_maxrss / 1024, load=load)  # fmt: skip
    return result


def located(result: dict, expected: dict[str, list[int]]) -> str:
    if result["keys"] is None:
        return "no (counts only)"
    got = {kind: sorted(int(k) for k in keys) for kind, keys in result["keys"].items()}
    want = {kind: sorted(expected.get(kind, [])) for kind in got}
    total = sum(map(len, want.values()))
    return (
        f"all {total:,}, each kind right"
        if got == want
        else f"NO: {sum(map(len, got.values()))} keys"
    )


def _median(runs: list[dict]) -> dict:
    """The median run by wall time (its other figures are medians too), every run listed."""
    result = dict(sorted(runs, key=lambda r: r["wall"])[len(runs) // 2])
    for measure_ in ("wall", "cpu", "seconds"):
        result[measure_] = statistics.median(r[measure_] for r in runs)
    result["peak_mb"] = max(r["peak_mb"] for r in runs)
    result["load"] = statistics.mean(r["load"] for r in runs)
    result["runs"] = [round(r["wall"], 2) for r in runs]
    return result


def _record(
    results: dict, tool: str, variant: str, runs: list[dict], expected: dict | None
) -> None:
    result = _median(runs)
    result["located"] = (
        ("equal" if result["equal"] else "NOT EQUAL")
        if expected is None
        else located(result, expected)
    )
    if result.get("in_flight"):
        result["located"] += f", {result['in_flight']:,} in flight"
    if not all((r["equal"], r["keys"]) == (runs[0]["equal"], runs[0]["keys"]) for r in runs):
        result["located"] += " (runs disagree)"
    results[(tool, variant)] = result
    print(
        f"{variant:>22} {tool:>11} {result['wall']:8.2f} s {result['cpu']:8.2f} cpu-s "
        f"{result['peak_mb']:8.0f} MB  {result['located']}  runs {result['runs']}",
        flush=True,
    )


def _alternate(
    tools: tuple[str, ...], old: Path, new: Path, repeats: int, state: Path | None = None
) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {tool: [] for tool in tools}
    for _ in range(repeats):
        for tool in tools:
            runs[tool].append(measure(tool, old, new, state))
    return runs


def benchmark(directory: Path, repeats: int, others: int) -> dict:
    """Floor and our CLI alternate `repeats` times (so both see the same machine); reladiff and
    datacompy run `others` times each (minutes per run)."""
    _compile_package()
    old = directory / "old.duckdb"
    expected = json.loads((directory / "differences.json").read_text())
    results: dict = {}
    # Both variants in turn: the clean and the located runs see the same load, as floor and CLI do.
    turns: dict[tuple[str, str], list[dict]] = {
        (tool, variant): [] for variant in VARIANTS for tool in ("floor", "engine")
    }
    for _ in range(repeats):
        for variant, name in VARIANTS.items():
            for tool in ("floor", "engine"):
                turns[(tool, variant)].append(measure(tool, old, directory / f"{name}.duckdb"))
    for (tool, variant), runs in turns.items():
        want = None if variant == "clean" or tool == "floor" else expected
        _record(results, tool, variant, runs, want)
    for variant, name in VARIANTS.items():
        want = None if variant == "clean" else expected
        for tool in ("reladiff", "datacompy"):
            if others:
                new = directory / f"{name}.duckdb"
                _record(results, tool, variant, _alternate((tool,), old, new, others)[tool], want)
    faults = json.loads((directory / "faults.json").read_text())
    wanted = {"changed": faults["dropped_update"] + faults["corrupted_update"],
              "missing_in_new": faults["dropped_insert"], "extra_in_new": []}  # fmt: skip
    for name in INCREMENTAL:
        pair = directory / name
        runs = _alternate(("floor", "incremental"), pair / "old.duckdb", pair / "new.duckdb",
                          repeats, pair / "state")  # fmt: skip
        _record(results, "floor", name, runs["floor"], None)
        _record(results, "incremental", name, runs["incremental"],
                wanted if name == "incremental_50_faults" else None)  # fmt: skip
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
    """A row of the targets table: the ratio on whole-process wall time and on CPU time."""

    def met(value: float) -> str:
        return "yes" if (value >= bound if at_least else value <= bound) else "NO"

    wall, cpu = ratio
    sign = ">=" if at_least else "<="
    return f"| {name} | {sign} {bound:g} | {wall:.2f} | {met(wall)} | {cpu:.2f} | {met(cpu)} |"


def _targets(results: dict) -> list[str]:
    def ratio(a: tuple[str, str], b: tuple[str, str]) -> tuple[float, float]:
        return tuple(results[a][m] / results[b][m] for m in ("wall", "cpu"))  # type: ignore[return-value]

    clean, diff = VARIANTS
    ours, ours_diff = ("engine", clean), ("engine", diff)
    rows = [
        _target("clean compare within 1.3x the floor", ratio(ours, ("floor", clean)), 1.3, False)
    ]
    located_all = results[ours_diff]["located"].startswith("all")
    rows.append(
        _target(
            "1,000 differences located, every key, within 2x the clean time"
            + ("" if located_all else " (NOT all located)"),
            ratio(ours_diff, ours) if located_all else (float("inf"),) * 2,
            2,
            False,
        )
    )
    for tool, bounds in (("reladiff", (5, 15)), ("datacompy", (15, 15))):
        for variant, bound in zip(VARIANTS, bounds, strict=True):
            if (tool, variant) in results:
                rows.append(
                    _target(
                        f"at least {bound}x faster than {tool}, {variant}",
                        ratio((tool, variant), ("engine", variant)),
                        bound,
                    )
                )
    if ("datacompy", clean) in results:
        peak = max(results[("engine", v)]["peak_mb"] for v in VARIANTS)
        theirs = min(results[("datacompy", v)]["peak_mb"] for v in VARIANTS)
        rows.append(
            _target(
                "peak memory at most a fifth of datacompy's (theirs / ours)",
                (theirs / peak,) * 2,
                5,
            )
        )
    expected = {
        "incremental_equal": ("", "reports equal", "equal"),
        "incremental_50_faults": (f" ({FAULTS} faults)", f"reports exactly the {FAULTS} faulty keys",
                                  f"all {FAULTS}, each kind right"),
        "incremental_in_flight": (f" and {IN_FLIGHT:,} on old only (new 5 s behind; not an issue "
                                  "target, the same bound)", f"reports equal with {IN_FLIGHT:,} "
                                  "in flight", f"equal, {IN_FLIGHT:,} in flight"),
    }  # fmt: skip
    for name in INCREMENTAL:
        result = results[("incremental", name)]
        case, what, wanted = expected[name]
        ok = result["located"] == wanted
        rows.append(
            _target(
                f"incremental after {CHANGES_APPLIED:,} changes{case}: within "
                f"0.2x the floor, {what}{'' if ok else ' (NOT: ' + result['located'] + ')'}",
                ratio(("incremental", name), ("floor", name)),
                0.2,
                False,
            )
        )
    return rows  # fmt: skip


def _scale_lines(directory: Path) -> list[str]:
    path = directory / "scale.json"
    if not path.exists():
        return ["## Scale", "", "Not measured in this run (`validation.py scale`).", ""]
    document = json.loads(path.read_text())
    results = {(t, v): r for t, v, r in document["results"]}
    (variant,) = {v for _, v in results}
    floor, ours = results[("floor", variant)], results[("engine", variant)]
    rows = [
        f"| {LABELS[tool]} | {res['wall']:.1f} | {res['cpu']:.1f} | {res['seconds']:.1f} "
        f"| {res['peak_mb']:,.0f} | {res['located']} | {res['load']:.1f} | {res['runs']} |"
        for (tool, _), res in results.items()
    ]
    return [
        "## Scale",
        "",
        f"The same table at {document['rows']:,} rows x 10 columns per side (two files of "
        f"{document['bytes_per_file'] / 1e9:.1f} GB), clean, generated, compared and deleted by",
        f"`validation.py scale --dir /tmp/valbench --rows {document['rows']}`; DuckDB memory limit "
        f"{MEMORY_LIMIT} for both (our CLI's default `--memory-limit`). "
        + (
            f"Code measured: commit {document['revision']}."
            if document.get("revision")
            else "Measured by an earlier run (commit not recorded), before the code measured above."
        ),
        "",
        "| tool | seconds | CPU seconds | in-process seconds | peak MB | result | load | runs |",
        "|---|---:|---:|---:|---:|---|---:|---|",
        *rows,
        "",
        f"Ratio to the floor: {ours['wall'] / floor['wall']:.2f} (wall), {ours['cpu'] / floor['cpu']:.2f} (CPU); "
        f"peak memory {ours['peak_mb']:,.0f} MB (target under 3 GB: {'met' if ours['peak_mb'] < 3072 else 'NOT met'}).",
        "",
    ]


def render(
    results: dict,
    repeats: int,
    others: int,
    directory: Path,
    reused: bool = False,
    revision: str | None = None,
) -> str:
    rows = [
        f"| {LABELS[tool]} | {variant} | {res['wall']:.2f} | {res['cpu']:.2f} | {res['seconds']:.2f} "
        f"| {res['peak_mb']:,.0f} | {res['located']} | {res['load']:.1f} |"
        for (tool, variant), res in results.items()
    ]
    peak = max(
        r["peak_mb"] for (tool, _), r in results.items() if tool in ("engine", "incremental")
    )
    runs = [f"- {LABELS[tool]}, {variant}: {r['runs']}" for (tool, variant), r in results.items()]
    coverage = [f"- {name}: {results[('incremental', name)]['coverage']}" for name in INCREMENTAL]
    others_text = (
        f"reladiff and datacompy: median of {others} run(s) each (minutes per run)"
        + (", measured by the run before this one and kept (`--reuse-others`)" if reused else "")
        if others
        else "reladiff and datacompy: not run (`--others 0`)"
    )
    lines = [
        "# Validation benchmark",
        "",
        "Two DuckDB files with the same 10M-row table `orders` (10 columns: BIGINT key, INTEGER, BIGINT,",
        "DOUBLE, DECIMAL(18,4), two VARCHAR (one 10% NULL), BOOLEAN, DATE, TIMESTAMP; plus Artie's",
        "`__artie_updated_at`, not compared), and a variant of the new file with 1,000 differences",
        "spread evenly over the key range: 334 changed values (rotating over six columns, NULL <-> value",
        "included), 333 rows missing in new, 333 rows extra in new.",
        "",
        "Incremental: three more copies of the pair, each validated clean (full, `--state-dir`), then",
        f"{CHANGES_APPLIED:,} random changes (6,000 updates, 2,000 deletes, 2,000 inserts of random keys) applied",
        "to both sides with a fresh `__artie_updated_at` the way Artie's writer applies them (a merge: the",
        "keys' old rows deleted, their new versions inserted); in the second pair",
        f"{FAULTS} of them are dropped or corrupted on the new side (20 updates and 15 inserts dropped,",
        f"15 updates written with another value); in the third, {IN_FLIGHT:,} more updates of other keys",
        "reach the old side only, 5 s later: the new pipeline lags, as while both stream, and those",
        "keys are in flight.",
        "Each incremental run starts from a fresh copy of the state dir, so every repeat continues from",
        "the same clean full validation; the floor is timed on the same changed pair.",
        "",
        "Every tool is timed as a whole process, start to exit, as an operator runs it (our CLI is",
        "`migration-pipeline validate --table orders --key id --json`; the floor, reladiff and datacompy are",
        "Python processes that import their library and compare): wall seconds, CPU seconds of all its",
        "threads, and peak resident memory (`ru_maxrss` from `wait4`). The tool's own timer inside the",
        "process (our report's started_at -> finished_at) is the in-process column. A child's peak",
        "memory counts from its parent's resident size at fork, so the harness keeps its own process",
        "small (about 90 MB with DuckDB loaded: the floor of every peak below).",
        f"Floor and our CLI: median of {repeats} alternating runs (all listed below; floor and CLI in",
        "turn, clean and 1,000 differences in turn, so every ratio compares runs made under the same",
        f"load); {others_text}.",
        "Our package's bytecode is compiled once before timing, as `pip install` does (this machine",
        "sets PYTHONDONTWRITEBYTECODE, which would make every run of the editable install compile it).",
        f"Code measured: commit {revision or '(not recorded)'}.",
        "",
        "Reproduce (needs the `bench` extra for reladiff and datacompy):",
        "",
        "    make bench-validation",
        "",
        "## Machine",
        "",
        *_machine(),
        "- Other engineers' processes (mutation testing among them) shared this 2-core machine",
        "  during the run, so it was loaded: the mean 1-minute load average seen when each process",
        "  started is in the last column. Absolute seconds swing with that load; what counts are the",
        "  ratios between tools measured in alternating runs of the same invocation (the floor and our",
        "  CLI take turns, so both see the same machine).",
        "",
        "## Results (median, whole process)",
        "",
        "| tool | variant | seconds | CPU seconds | in-process seconds | peak MB | differences located | load |",
        "|---|---|---:|---:|---:|---:|---|---:|",
        *rows,
        "",
        "Runs (whole-process seconds, in order):",
        "",
        *runs,
        "",
        "What the incremental runs covered (from the report; the keys deleted on both sides leave no",
        "row to read, and the row counts show they are gone on both):",
        "",
        *coverage,
        "",
        "## Targets (issues 5 and 9)",
        "",
        "| target | needed | ratio (wall) | met | ratio (CPU) | met |",
        "|---|---|---:|---|---:|---|",
        *_targets(results),
        f"| peak memory bounded | DuckDB memory_limit {MEMORY_LIMIT} | {peak:,.0f} MB peak | {'yes' if peak < 2.5 * 1024 else 'NO'} | | |",
        "",
        "The targets are stated in elapsed time; both ratios are judged. On a machine shared with",
        "other work elapsed times swing with the load (see the runs above); the CPU ratio is the",
        "steadier measure of the work done, though against the mostly single-threaded tools it",
        "understates what an operator waits for, since DuckDB keeps both cores busy.",
        "",
        *_scale_lines(directory),
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
    gen.add_argument(
        "--changes-only",
        action="store_true",
        help="only the two incremental pairs (old.duckdb generated before)",
    )
    run = sub.add_parser("run")
    run.add_argument("--dir", type=Path, required=True)
    run.add_argument("--out", type=Path)
    run.add_argument("--repeats", type=int, default=5)
    run.add_argument(
        "--others", type=int, default=1, help="runs of reladiff and datacompy (0: skip)"
    )
    run.add_argument(
        "--reuse-others",
        action="store_true",
        help="keep reladiff's and datacompy's results from the last run's results.json",
    )
    again = sub.add_parser(
        "render", help="write the Markdown again from the last run's results.json"
    )
    again.add_argument("--dir", type=Path, required=True)
    again.add_argument("--out", type=Path)
    big = sub.add_parser(
        "scale", help="a clean pair of --rows rows: floor and our CLI, files deleted after"
    )
    big.add_argument("--dir", type=Path, required=True)
    big.add_argument("--rows", type=int, default=100_000_000)
    big.add_argument("--repeats", type=int, default=1)
    tool = sub.add_parser("tool")
    tool.add_argument("name", choices=sorted(TOOLS))
    tool.add_argument("old")
    tool.add_argument("new")
    args = parser.parse_args(argv)
    if args.step == "generate" and args.changes_only:
        _generate_changes(args.dir, args.rows)
    elif args.step == "generate":
        generate(args.dir, args.rows)
    elif args.step == "scale":
        scale(args.dir, args.rows, args.repeats)
    elif args.step == "tool":
        run_tool(args.name, args.old, args.new)
    else:
        saved = args.dir / "results.json"
        if args.step == "run":
            others = args.others
            kept = []
            if args.reuse_others:
                earlier = json.loads(saved.read_text())
                kept = [row for row in earlier["results"] if row[0] in ("reladiff", "datacompy")]
                others = earlier["others"]
            results = benchmark(args.dir, args.repeats, 0 if args.reuse_others else args.others)
            rows = [[t, v, r] for (t, v), r in results.items()] + kept
            saved.write_text(
                json.dumps(
                    {
                        "others": others,
                        "results": rows,
                        "others_reused": bool(args.reuse_others),
                        "revision": _revision(),
                    }
                )
            )
        document = json.loads(saved.read_text())
        results = {(tool, variant): r for tool, variant, r in document["results"]}
        text = render(
            results,
            len(results[("engine", "clean")]["runs"]),
            document["others"],
            args.dir,
            document.get("others_reused", False),
            document.get("revision"),
        )
        if args.out:
            args.out.write_text(text)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

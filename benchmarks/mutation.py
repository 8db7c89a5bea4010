"""Mutation testing of the modules that decide what is applied or approved (`make mutation`).

mutmut (configured in pyproject.toml, [tool.mutmut]) mutates each module and runs the unit tests
that cover each mutated function. This script runs the modules named (one mutmut run each, in
the order given), saves each run module's results in a committed file,
benchmarks/mutation_results/<module>.json (counts, wall time, each survivor's mutant name and
diff), and writes one report from every committed result file: per module, mutants generated,
killed, survived, timed out, each survivor with its diff and, when it cannot change behaviour,
why (benchmarks/mutation_equivalent.json), then the hand-written benchmarks/mutation_notes.md.
A module with no result file is listed as not run.
mutmut's own working folder (mutants/, git-ignored) stays in one worktree; the result files are
what worktrees share, so modules can be run in different worktrees and the report rebuilt from
their merged results (after a merge conflict on the report, rebuild it with --report-only):

    python benchmarks/mutation.py --modules guard,phases --out benchmarks/mutation.md
    python benchmarks/mutation.py --report-only --out benchmarks/mutation.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = Path(__file__).with_name("mutation_equivalent.json")
RESULTS = Path(__file__).with_name("mutation_results")
NOTES = Path(__file__).with_name("mutation_notes.md")  # hand-written, appended to the report
# Highest value first: what is applied (guard, plan), when (phases), what is written (edits,
# hcl), what is approved (verdict, compare and its parts), then the rest of the brief.
MODULES = {
    "guard": "migration_pipeline/terraform/guard.py",
    "plan": "migration_pipeline/terraform/plan.py",
    "phases": "migration_pipeline/phases.py",
    "edits": "migration_pipeline/terraform/edits.py",
    "verdict": "migration_pipeline/validation/verdict.py",
    "compare": "migration_pipeline/validation/compare.py",
    "hcl": "migration_pipeline/terraform/hcl.py",
    "rowdiff": "migration_pipeline/validation/rowdiff.py",
    "sides": "migration_pipeline/validation/sides.py",
    "abort": "migration_pipeline/terraform/abort.py",
    "sensors": "migration_pipeline/orchestration/sensors.py",
    "schedules": "migration_pipeline/orchestration/schedules.py",
    "backend": "artie_sandbox/backend.py",
    "align": "migration_pipeline/terraform/align.py",
    "coverage": "migration_pipeline/terraform/coverage.py",
    "inputs": "migration_pipeline/terraform/inputs.py",
}
TARGET = 0.90
DETECTED = {"killed", "timeout", "caught by type check"}


def dotted(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def run_module(name: str, max_children: int, rerun_all: bool = False) -> float:
    """mutmut runs over `name`'s mutants; their wall time in seconds. Mutants killed in an earlier
    run of this worktree stay killed (mutmut resets those of a function whose code changed, and
    every result when the test selection in pyproject.toml changes); only the others (survivors
    not explained as equivalent, not checked) are run, unless `rerun_all`."""
    mutmut = Path(sys.executable).with_name("mutmut")
    started = time.monotonic()
    found = statuses(MODULES[name])
    explained = json.loads(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}
    # Survivors explained as equivalent are not run again (no test can kill them). With nothing
    # pending, one killed mutant is run again: the run regenerates changed functions.
    pending = [
        k
        for k, s in found.items()
        if s not in DETECTED and not (s == "survived" and k in explained)
    ] or list(found)[:1]
    first = [f"{dotted(MODULES[name])}.*"] if rerun_all or not found else pending
    names, before = first, None
    # A run can reset more results as it starts (functions changed, new tests covering them), so
    # run again (at most 4 runs) while that leaves mutants never run and each run checks some.
    for _ in range(4):
        if not names or len(names) == before:
            break
        before = None if names is first else len(names)
        subprocess.run(
            ["nice", "-n", "10", str(mutmut), "run", "--max-children", str(max_children), *names],
            cwd=ROOT,
            check=False,
            env={**os.environ, "CHECKPOINT_DISABLE": "1"},
        )
        names = unchecked(name)
    return time.monotonic() - started


def unchecked(name: str) -> list[str]:
    """Mutants never run: new, or of a function changed since (the first run regenerates them)."""
    return [k for k, s in statuses(MODULES[name]).items() if s == "not checked"]


def statuses(path: str) -> dict[str, str]:
    """mutant name -> mutmut's status, from this worktree's mutants/ (empty when never run)."""
    from mutmut.stats import status_by_exit_code

    meta = ROOT / "mutants" / f"{path}.meta"
    if not meta.exists():
        return {}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {key: status_by_exit_code[code] for key, code in codes.items()}


def diff_of(mutant: str, path: str) -> str:
    """The mutant's changed lines (mutmut's own diff, read in this process: `mutmut show` is one
    slow start per survivor)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    os.chdir(ROOT)  # mutmut reads mutants/ relative to the working directory
    shown = get_diff_for_mutant(mutant, path=path)
    lines = [
        line
        for line in shown.splitlines()
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))
    ]
    return "\n".join(lines).strip() or shown.strip()


def save(name: str, wall: float | None) -> Path:
    """Write `name`'s results from mutants/ to its committed result file."""
    found = statuses(MODULES[name])
    counts: dict[str, int] = {}
    for status in found.values():
        counts[status] = counts.get(status, 0) + 1
    survivors = sorted(k for k, s in found.items() if s == "survived")
    out = RESULTS / f"{name}.json"
    RESULTS.mkdir(exist_ok=True)
    result = {
        "module": name,
        "path": MODULES[name],
        "run_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "wall_seconds": None if wall is None else round(wall),
        "generated": len(found),
        "counts": dict(sorted(counts.items())),
        "survivors": [{"mutant": key, "diff": diff_of(key, MODULES[name])} for key in survivors],
    }
    out.write_text(json.dumps(result, indent=1) + "\n")
    return out


def report() -> tuple[str, bool]:
    """The markdown report from the committed result files, and whether every module run
    meets the target with every survivor explained."""
    explained = json.loads(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}
    rows, sections, ok = [], [], True
    for name, path in MODULES.items():
        file = RESULTS / f"{name}.json"
        if not file.exists():
            rows.append(f"| {name} | `{path}` | not run | | | | | |")
            continue
        result = json.loads(file.read_text())
        counts, total = result["counts"], result["generated"]
        checked = total - counts.get("not checked", 0)
        if not checked:
            rows.append(f"| {name} | `{path}` | not run ({total} generated) | | | | | |")
            continue
        detected = sum(counts.get(s, 0) for s in DETECTED)
        survivors = result["survivors"]
        unexplained = [s for s in survivors if s["mutant"] not in explained]
        score = (detected + len(survivors) - len(unexplained)) / total if total else 1.0
        meets = checked == total and score >= TARGET and not unexplained
        ok &= meets
        others = ", ".join(
            f"{s} {n}" for s, n in sorted(counts.items()) if s not in DETECTED | {"survived"}
        )
        wall = result["wall_seconds"]
        when = f"{wall} s ({result['run_at']})" if wall is not None else "see notes"
        rows.append(
            f"| {name} | `{path}` | {total} | {counts.get('killed', 0)} | {len(survivors)} "
            f"| {counts.get('timeout', 0)} | {detected / total:.1%} killed"
            f"{f' ({score:.1%} with equivalents)' if survivors else ''}"
            f"{f'; {others}' if others else ''} | {when} |"
        )
        if survivors:
            lines = [f"### {name}: {len(survivors)} surviving", ""]
            for survivor in survivors:
                key = survivor["mutant"]
                why = explained.get(key, "NOT EXPLAINED: needs a test or a reason")
                lines += [
                    f"- `{key}`: {why}",
                    "",
                    "  ```diff",
                    *(f"  {line}" for line in survivor["diff"].splitlines()),
                    "  ```",
                    "",
                ]
            sections.append("\n".join(lines))
    head = [
        "# Mutation testing",
        "",
        "Mutants of the modules that decide what is applied or approved, each run against the "
        "unit tests that cover the mutated function (`make mutation`; mutmut 3, configured in "
        "pyproject.toml). Killed counts timeouts and type-check catches as detected. A survivor "
        "is either killed by a test added since or explained as equivalent in "
        "`benchmarks/mutation_equivalent.json` (it cannot change behaviour). Built from the "
        "committed per-module results in `benchmarks/mutation_results/`.",
        "",
        f"Target: at least {TARGET:.0%} of each module's mutants killed, every survivor explained.",
        "",
        "| module | file | mutants | killed | survived | timed out | score | wall time |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
        *rows,
        "",
    ]
    notes = [NOTES.read_text().strip()] if NOTES.exists() else []
    return "\n".join(head + sections + notes) + "\n", ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--modules", default=",".join(MODULES), help=f"comma-separated, from: {', '.join(MODULES)}"
    )
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild the report from the result files"
    )
    parser.add_argument(
        "--rerun-all", action="store_true", help="run every mutant, killed before or not"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "mutation.md")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.modules.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    if not args.report_only:
        for name in names:
            print(f"wrote {save(name, run_module(name, args.max_children, args.rerun_all))}")
    text, ok = report()
    args.out.write_text(text)
    print(f"wrote {args.out}" + ("" if ok else " (some module below target or unexplained)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

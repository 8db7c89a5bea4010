"""Mutation testing of the modules that decide what is applied or approved (`make mutation`).

mutmut (configured in pyproject.toml, [tool.mutmut]) mutates each module and runs the unit tests
that cover each mutated function. This script runs the modules named (one mutmut run each, in
the order given) and writes one report: per module, mutants generated, killed, survived, timed
out, each survivor with its diff and, when it cannot change behaviour, why
(benchmarks/mutation_equivalent.json). A module not run in this or an earlier run is listed as
not run. Results accumulate in mutants/ (git-ignored), so modules can be run one at a time:

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
    "backend": "artie_sandbox/backend.py",
}
TARGET = 0.90
DETECTED = {"killed", "timeout", "caught by type check"}


def dotted(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def run_module(name: str, max_children: int) -> float:
    """One mutmut run over `name`'s mutants; its wall time in seconds."""
    mutmut = Path(sys.executable).with_name("mutmut")
    started = time.monotonic()
    subprocess.run(
        [
            "nice",
            "-n",
            "10",
            str(mutmut),
            "run",
            "--max-children",
            str(max_children),
            f"{dotted(MODULES[name])}.*",
        ],
        cwd=ROOT,
        check=False,
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},
    )
    return time.monotonic() - started


def statuses(path: str) -> dict[str, str]:
    """mutant name -> mutmut's status, from the module's results (empty when never run)."""
    from mutmut.stats import status_by_exit_code

    meta = ROOT / "mutants" / f"{path}.meta"
    if not meta.exists():
        return {}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {key: status_by_exit_code[code] for key, code in codes.items()}


def diff_of(mutant: str) -> str:
    mutmut = Path(sys.executable).with_name("mutmut")
    shown = subprocess.run(
        [str(mutmut), "show", mutant], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout
    lines = [
        line
        for line in shown.splitlines()[1:]
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))
    ]
    return "\n".join(lines).strip() or shown.strip()


def report(timings: dict[str, float], previous: dict[str, str]) -> tuple[str, bool]:
    """The markdown report and whether every module run meets the target with every
    survivor explained."""
    explained = json.loads(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}
    rows, sections, ok = [], [], True
    for name, path in MODULES.items():
        found = statuses(path)
        if not found:
            rows.append(f"| {name} | `{path}` | not run | | | | | |")
            continue
        counts: dict[str, int] = {}
        for status in found.values():
            counts[status] = counts.get(status, 0) + 1
        total = len(found)
        checked = total - counts.get("not checked", 0)
        if not checked:
            rows.append(f"| {name} | `{path}` | not run ({total} generated) | | | | | |")
            continue
        detected = sum(counts.get(s, 0) for s in DETECTED)
        survivors = sorted(k for k, s in found.items() if s == "survived")
        unexplained = [k for k in survivors if k not in explained]
        score = (detected + len(survivors) - len(unexplained)) / total if total else 1.0
        meets = checked == total and score >= TARGET and not unexplained
        ok &= meets
        others = ", ".join(
            f"{s} {n}" for s, n in sorted(counts.items()) if s not in DETECTED | {"survived"}
        )
        wall = timings.get(name)
        when = f"{wall:.0f} s" if wall is not None else previous.get(name, "see notes")
        rows.append(
            f"| {name} | `{path}` | {total} | {counts.get('killed', 0)} | {len(survivors)} "
            f"| {counts.get('timeout', 0)} | {detected / total:.1%} killed"
            f"{f' ({score:.1%} with equivalents)' if survivors else ''}"
            f"{f'; {others}' if others else ''} | {when} |"
        )
        if survivors:
            lines = [f"### {name}: {len(survivors)} surviving", ""]
            for key in survivors:
                why = explained.get(key, "NOT EXPLAINED: needs a test or a reason")
                lines += [
                    f"- `{key}`: {why}",
                    "",
                    "  ```diff",
                    *(f"  {line}" for line in diff_of(key).splitlines()),
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
        "`benchmarks/mutation_equivalent.json` (it cannot change behaviour).",
        "",
        f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Target: at least {TARGET:.0%} of each "
        "module's mutants killed, every survivor explained.",
        "",
        "| module | file | mutants | killed | survived | timed out | score | wall time |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
        *rows,
        "",
    ]
    return "\n".join(head + sections) + "\n", ok


def previous_timings(out: Path) -> dict[str, str]:
    """Wall times of modules run earlier, kept from the report being rewritten."""
    if not out.exists():
        return {}
    found = {}
    for line in out.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 8 and cells[0] in MODULES and not cells[2].startswith("not run"):
            found[cells[0]] = cells[7]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--modules", default=",".join(MODULES), help=f"comma-separated, from: {', '.join(MODULES)}"
    )
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "mutation.md")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.modules.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    previous = previous_timings(args.out)
    timings = {} if args.report_only else {n: run_module(n, args.max_children) for n in names}
    text, ok = report(timings, previous)
    args.out.write_text(text)
    print(f"wrote {args.out}" + ("" if ok else " (some module below target or unexplained)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

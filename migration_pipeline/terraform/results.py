"""What a step did, as structured results and as markdown (shown as Dagster run metadata)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from migration_pipeline.terraform.plan import Plan, Redactor


@dataclass(frozen=True)
class FileDiff:
    """The unified diff of one edited file of the module."""

    file: str
    diff: str

    @property
    def added(self) -> int:
        return sum(1 for line in self.diff.splitlines() if line[:1] == "+" and line[:3] != "+++")

    @property
    def removed(self) -> int:
        return sum(1 for line in self.diff.splitlines() if line[:1] == "-" and line[:3] != "---")


def file_diffs(
    before: dict[Path, str], after: dict[Path, str], root: Path, redact: Redactor | None = None
) -> tuple[FileDiff, ...]:
    """A diff per file whose text changed, paths relative to the module."""
    diffs = []
    for path in sorted(after):
        name = str(Path(path).relative_to(root)) if Path(path).is_absolute() else str(path)
        text = "".join(
            difflib.unified_diff(
                before.get(path, "").splitlines(keepends=True),
                after[path].splitlines(keepends=True),
                fromfile=f"a/{name}",
                tofile=f"b/{name}",
            )
        )
        if text:
            diffs.append(FileDiff(name, redact(text) if redact else text))
    return tuple(diffs)


UNDONE_STATUS = "undone"
NOT_APPLIED = "Not applied: the step's edit was undone, so Terraform applied nothing of it."


@dataclass(frozen=True)
class StepResult:
    """One step's outcome: `applied`, `already done`, `planned` (rehearsal), `refused` or
    `undone` (an unfinished step an abort settled: its edit undone, nothing applied)."""

    step: str
    status: str
    message: str
    diffs: tuple[FileDiff, ...] = ()
    plan: Plan | None = None
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def to_markdown(self) -> str:
        lines = [f"### {self.step}: {self.status}", "", self.message, ""]
        lines += [f"- {n}" for n in self.notes]
        if self.problems:
            lines += ["", "**Unexpected changes:**", ""] + [f"- {p}" for p in self.problems]
        lines += ["", "**File changes:**", ""]
        if self.diffs:
            for d in self.diffs:
                lines += [
                    f"`{d.file}` (+{d.added} -{d.removed})",
                    "",
                    "```diff",
                    d.diff.rstrip("\n"),
                    "```",
                    "",
                ]
        else:
            lines += ["(none)", ""]
        lines += ["**Plan:**", ""] + self.plan_lines()
        return "\n".join(lines).rstrip() + "\n"

    def plan_lines(self) -> list[str]:
        """The plan as this step's outcome shows it: an undone step's plan was never applied."""
        return [NOT_APPLIED] if self.status == UNDONE_STATUS else plan_lines(self.plan)


def plan_lines(plan: Plan | None) -> list[str]:
    """The plan as a markdown list: each change, its attributes before and after."""
    if plan is None:
        return ["(not planned)"]
    if not plan.changes and not plan.drift and not plan.outputs:
        return ["No changes."]
    lines = []
    for change in plan.changes:
        lines.append(f"- {change.describe()}")
        lines += [f"  - `{a.name}`: `{a.before}` -> `{a.after}`" for a in change.attributes]
    lines += [f"- {o}" for o in plan.outputs]
    for drift in plan.drift:
        lines.append(f"- {drift.address} changed outside Terraform")
        lines += [f"  - `{a.name}`: `{a.before}` -> `{a.after}`" for a in drift.attributes]
    return lines


def results_markdown(title: str, results: list[StepResult]) -> str:
    return f"## {title}\n\n" + "\n".join(r.to_markdown() for r in results)

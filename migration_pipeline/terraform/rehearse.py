"""Rehearsal: every step planned in order in a temporary copy of the module; nothing applied.

Each step is edited on top of the previous steps' edits. As nothing is applied, each plan also
holds the changes of the steps before it, so each is held to the contracts of the steps so far.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from migration_pipeline.errors import MigrationError
from migration_pipeline.phases import STEPS, GateSettings, MigrationFacts, assess, done_in
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform import guard, hcl, workdir
from migration_pipeline.terraform.facts import module_facts
from migration_pipeline.terraform.inputs import check_inputs
from migration_pipeline.terraform.plan import Plan, Redactor
from migration_pipeline.terraform.results import StepResult, file_diffs, results_markdown
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline.terraform.steps import PipelineSource, make_edit, plan_and_check

RunnerFactory = Callable[[Path], TerraformRunner]


@dataclass(frozen=True)
class Rehearsal:
    """Every step's result in order; `ok` when none was refused."""

    migration: str
    results: tuple[StepResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.status != "refused" for r in self.results)

    def to_markdown(self) -> str:
        return results_markdown(
            f"Rehearsal of {self.migration} (nothing applied)", list(self.results)
        )

    def to_json(self) -> dict:
        """Plain data for `--json`: every step with its diffs, plan and problems."""
        return {
            "migration": self.migration,
            "ok": self.ok,
            "steps": [asdict(r) for r in self.results],
        }


def steps_of(spec: MigrationSpec) -> tuple[str, ...]:
    return STEPS if spec.unshare else STEPS[:-1]


_PARENT_SOURCE = re.compile(r'^\s*source\s*=\s*"\.\./', re.MULTILINE)


def _copy_module(source: Path, scratch: Path) -> Path:
    """Copy the module; beside the original when a module call's source is `../...`, so the
    relative path still resolves (removed afterwards), else into `scratch`."""
    beside = any(_PARENT_SOURCE.search(p.read_text()) for p in source.glob("*.tf"))
    target = (
        Path(tempfile.mkdtemp(prefix=".migration-rehearsal-", dir=source.parent))
        if (beside)
        else scratch / "module"
    )
    # Providers are installed again by init; the lock and journal belong to the original.
    shutil.copytree(
        source,
        target,
        symlinks=True,
        dirs_exist_ok=True,
        ignore=lambda folder, names: [
            n
            for n in names
            if Path(folder).name == ".terraform" and n in ("providers", "migration-pipeline")
        ],
    )
    return target


def rehearse(
    spec: MigrationSpec, runner_for: RunnerFactory, artie: PipelineSource | None = None
) -> Rehearsal:
    """Plan every step on a copy of `spec.terraform.dir`; the user's files are only read."""
    results: list[StepResult] = []
    redact = Redactor()
    with tempfile.TemporaryDirectory(prefix="migration-rehearsal-") as tmp:
        copy = _copy_module(Path(spec.terraform.dir), Path(tmp))
        try:
            runner = runner_for(copy)
            runner.redact = redact
            runner.init()
            state = runner.state()
            check_inputs(spec, state, artie, runner.evaluate)  # the job's first checks
            phase = starting_phase(spec, copy, state, artie)
            allowed: tuple[guard.Allowed, ...] = ()
            for step in steps_of(spec):
                if done_in(step, phase):
                    results.append(
                        StepResult(
                            step,
                            "already done",
                            f"The migration is in phase {phase}: the job passes this step.",
                        )
                    )
                    continue
                allowed += guard.contract(step, spec)
                result = _rehearse_step(
                    step, spec, copy, Path(tmp), runner, state, artie, allowed, redact
                )
                results.append(_with_delta(result, results[-1].plan if results else None))
                if result.status == "refused":
                    break
        finally:
            if copy.parent != Path(tmp):
                shutil.rmtree(copy, ignore_errors=True)
    return Rehearsal(spec.name, tuple(results))


def starting_phase(spec: MigrationSpec, copy: Path, state, artie) -> str:
    """The phase the job would find now (the same facts and phase logic; no validation or
    approval counted): the steps done in it are passed, as the job passes them."""
    moved = spec.model_copy(update={"terraform": spec.terraform.model_copy(update={"dir": copy})})
    facts = MigrationFacts(
        module_facts(moved, state, artie), spec.reader, spec.old_pipeline, spec.new_pipeline.address
    )
    return assess(facts, GateSettings(unshare=spec.unshare)).phase


def _with_delta(result: StepResult, previous: Plan | None) -> StepResult:
    """Name what this step's plan adds to the previous one (plans are cumulative here)."""
    if result.plan is None:
        return result
    before = set(previous.changes) if previous else set()
    added = [c.describe() for c in result.plan.changes if c not in before]
    now = {c.address for c in result.plan.changes}
    gone = [
        f"{c.address} is back to its current settings"
        for c in (previous.changes if previous else ())
        if c.address not in now
    ]
    note = "this step's own change: " + ("; ".join(added + gone) or "none")
    return replace(result, notes=(*result.notes, note))


def _rehearse_step(step, spec, copy, scratch, runner, state, artie, allowed, redact):
    module = hcl.load_module(copy)
    try:
        edit = make_edit(step, spec, module, state, artie)
    except MigrationError as e:
        return StepResult(step, "refused", redact(str(e)))
    for path, text in edit.files.items():
        workdir.write_atomically(path, text)
    plan, problems = plan_and_check(runner, scratch / f"{step}.tfplan", step, allowed, redact)
    diffs = file_diffs(module.files, edit.files, copy, redact)  # once secrets are known
    if problems:
        return StepResult(
            step,
            "refused",
            f"The plan after {step} breaks its contract; the real step would refuse it.",
            diffs,
            plan,
            edit.notes,
            tuple(problems),
        )
    done = "" if edit.files else " The module already holds this step's edit."
    return StepResult(
        step,
        "planned",
        f"Planned on top of the previous steps' edits; nothing "
        f"applied, so the plan also shows their changes.{done}",
        diffs,
        plan,
        edit.notes,
    )

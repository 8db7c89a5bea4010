"""Runs one migration step on the user's module: edit, plan, guard, apply; idempotent and locked.

A step whose effect is already in the files and the infrastructure edits and applies nothing.
A step interrupted after its edit finds the edit in place, plans it and applies it. A refused
plan restores the edited files byte for byte from the journal.

A step killed after Artie accepted its change but before Terraform recorded it converges too:
on the next run (its journal still pending), drift that is exactly the step's own change is
adopted with a checked refresh-only apply of that one resource (a pipeline whose delete Artie
accepted, confirmed gone by Artie's API, is dropped from the state); a new pipeline Artie created
but the state does not know is imported instead of created twice. Any other drift is refused.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Protocol

from migration_pipeline.artie.models import PipelineDetail
from migration_pipeline.errors import ArtieApiError, PlanGuardRefusal, StepRefused
from migration_pipeline.phases import STEPS, Step
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform import abort, edits, guard, hcl, workdir
from migration_pipeline.terraform.plan import Plan, Redactor, parse_plan, secrets_of
from migration_pipeline.terraform.results import UNDONE_STATUS, StepResult, file_diffs
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline.terraform.tables import AttachedPipeline, TableId

UNDONE = (
    "{step} had not reached Artie (an earlier run stopped before Artie accepted it): its edit is "
    "undone and nothing was applied."
)
NO_API_NOTE = (
    "Artie's API was not consulted: pipelines on this reader that the module does "
    "not declare were not counted."
)


class PipelineSource(Protocol):
    """What a step asks Artie (ArtieClient provides it): the pipelines attached to a reader, and
    starting a pipeline an interrupted create saved but never started."""

    def pipelines_on_reader(self, reader_uuid: str) -> list[PipelineDetail]: ...

    def start_pipeline(self, uuid: str) -> None: ...

    def get_pipeline(self, uuid: str) -> PipelineDetail: ...


def attached_pipelines(
    module: hcl.Module, spec: MigrationSpec, state: TerraformState, artie: PipelineSource | None
) -> list[AttachedPipeline]:
    """Pipelines on the reader: those the module declares (the old pipeline always), plus the
    rest Artie reports, except pipelines removed from the module (being cut over)."""
    attached = edits.module_pipelines(module, spec.reader)
    old = module.resources.get(spec.old_pipeline)
    if old is not None and old.address not in {p.label for p in attached}:
        tables = edits.table_ids(edits.literal_attr(module, old, "tables", {}))
        attached.append(AttachedPipeline(old.address, tables))
    uuids = state.uuids()
    reader_uuid = uuids.get(spec.reader)
    if artie is None or not reader_uuid:
        return attached
    skip = {uuids.get(p.label) for p in attached} | {
        u for a, u in uuids.items() if a.startswith("artie_pipeline.") and a not in module.resources
    }
    addresses = {u: a for a, u in uuids.items()}
    for pipeline in artie.pipelines_on_reader(reader_uuid):
        if pipeline.uuid in skip:
            continue
        where = addresses.get(pipeline.uuid)
        label = (
            f"{where} (its source_reader_uuid is not written as {spec.reader}.uuid)"
            if where
            else f"Artie pipeline {pipeline.name!r} ({pipeline.uuid}, not in this module)"
        )
        tables = frozenset(TableId(t.schema, t.name) for t in pipeline.tables)
        attached.append(AttachedPipeline(label, tables))
    return attached


# Which edit each step makes: those of the module alone, and those of the reader, which need
# every pipeline attached to it.
_MODULE_EDITS = {
    Step.CREATE: edits.create,
    Step.CUTOVER: edits.cutover,
    "abort_pipeline": abort.abort_pipeline,
    "abort_reader": abort.abort_reader,
    "abort_tidy": abort.abort_tidy,
}
_READER_EDITS = {Step.PROMOTE: edits.promote, Step.UNSHARE: edits.unshare}


def make_edit(
    step: str,
    spec: MigrationSpec,
    module: hcl.Module,
    state: TerraformState,
    artie: PipelineSource | None,
) -> edits.StepEdit:
    """The file edit `step` needs now (empty when already in place)."""
    if step in _MODULE_EDITS:
        return _MODULE_EDITS[step](module, spec)
    if step not in _READER_EDITS:
        raise ValueError(f"unknown step {step!r}; steps are {', '.join((*STEPS, *abort.STEPS))}")
    edit = _READER_EDITS[step](module, spec, attached_pipelines(module, spec, state, artie))
    if artie is None:
        edit = replace(edit, notes=(*edit.notes, NO_API_NOTE))
    return edit


def plan_and_check(
    runner: TerraformRunner,
    plan_file: Path,
    step: str,
    allowed: tuple[guard.Allowed, ...],
    redact: Redactor,
) -> tuple[Plan, list[str]]:
    """Save a plan, read it back masked, and list what breaks the contract."""
    runner.plan(plan_file)
    doc = runner.show_json(plan_file)
    redact.add(secrets_of(doc))
    plan = parse_plan(doc, redact)
    return plan, guard.unexpected_changes(plan, step, allowed)


def orphan_pipeline(
    spec: MigrationSpec, module: hcl.Module, state: TerraformState, artie: PipelineSource | None
) -> PipelineDetail | None:
    """A pipeline on the reader, unknown to the state, with the new pipeline's name or
    destination: what an earlier create left when it was killed after Artie accepted it."""
    uuids = state.uuids()
    reader_uuid = uuids.get(spec.reader)
    if artie is None or not reader_uuid or spec.new_pipeline.address in uuids:
        return None
    new = spec.new_pipeline
    name = new.name
    if name is None and spec.old_pipeline in module.resources:
        name = edits.literal_attr(module, module.resources[spec.old_pipeline], "name")
    destination = (
        uuids.get(new.destination_connector)
        if new.destination_connector
        else new.destination_connector_uuid
    )
    known = set(uuids.values())
    found = [
        p
        for p in artie.pipelines_on_reader(reader_uuid)
        if p.uuid not in known
        and (p.name == name or (destination and p.destination_uuid == destination))
    ]
    if len(found) > 1:
        raise StepRefused(
            f"{len(found)} pipelines on {spec.reader} that this module does not manage look like "
            f"{new.address} ({', '.join(f'{p.name!r} {p.uuid}' for p in found)}); create will not "
            "guess which one is its own. Delete the extra ones in Artie, then run create again."
        )
    return found[0] if found else None


def adopt_partial_apply(
    runner: TerraformRunner,
    plan_file: Path,
    step: str,
    addresses: tuple[str, ...],
    redact: Redactor,
) -> None:
    """Record in the state what Artie already holds for each address, through a refresh-only
    plan of that one resource checked to change nothing else."""
    for address in addresses:
        runner.plan(plan_file, refresh_only_of=address)
        doc = runner.show_json(plan_file)
        redact.add(secrets_of(doc))
        refresh = parse_plan(doc, redact)
        others = [c.describe() for c in refresh.changes] + [
            f"{d.address} changed outside Terraform" for d in refresh.drift if d.address != address
        ]
        if others:
            raise PlanGuardRefusal(step, others)
        runner.apply(plan_file)


def forget_deleted(
    runner: TerraformRunner,
    state: TerraformState,
    allowed: tuple[guard.Allowed, ...],
    artie: PipelineSource | None,
) -> tuple[str, ...]:
    """The pipelines the step deletes that Artie no longer has (a delete it accepted before
    the step was killed), dropped from the state: Artie's provider reports a 404 on read as an
    error, so no plan runs until the state forgets them."""
    if artie is None:
        return ()
    uuids = state.uuids()
    forgotten = []
    for rule in allowed:
        uuid = uuids.get(rule.address)
        if (
            rule.actions != ("delete",)
            or not uuid
            or not rule.address.startswith("artie_pipeline.")
        ):
            continue
        try:
            artie.get_pipeline(uuid)
        except ArtieApiError as e:
            if e.status_code != 404:
                raise
            runner.forget(rule.address)
            forgotten.append(rule.address)
    return tuple(forgotten)


def run_step(
    step: str,
    spec: MigrationSpec,
    runner: TerraformRunner,
    artie: PipelineSource | None = None,
    settle_only: bool = False,
) -> StepResult:
    """Bring the module and the infrastructure to where `step` leaves them; see the module doc.
    With `settle_only` (an abort settling a step left unfinished) nothing is applied: what Artie
    already accepted of the step is recorded as usual and the rest of its edit is undone."""
    directory = Path(spec.terraform.dir)
    redact = Redactor()
    runner.redact = redact
    with workdir.locked(directory):
        journal = workdir.Journal(directory)
        journal.check(step)
        converging = journal.pending_step() == step
        runner.init()
        state = runner.state()
        module = hcl.load_module(directory)
        if step in ("promote", "create"):
            abort.record_before(module, spec)
        edit = make_edit(step, spec, module, state, artie)
        if edit.files:
            journal.begin(step, {p: module.files[p] for p in edit.files})
        allowed = guard.contract(step, spec)
        adopted: tuple[str, ...] = ()
        imported: PipelineDetail | None = None
        with workdir.saved_plan(directory, step) as plan_file:
            # Anything raised before the apply starts (a refusal, a parse error, an interrupt or
            # a termination) puts the user's files back byte for byte and clears the journal.
            try:
                for path, text in edit.files.items():
                    workdir.write_atomically(path, text)
                if step == "create":
                    imported = orphan_pipeline(spec, module, state, artie)
                    if imported is not None:
                        runner.import_resource(spec.new_pipeline.address, imported.uuid)
                if converging:
                    adopted = forget_deleted(runner, state, allowed, artie)
                plan, problems = plan_and_check(runner, plan_file, step, allowed, redact)
                if problems and converging:
                    drifted = guard.own_partial_apply(plan, allowed)
                    if drifted:
                        adopt_partial_apply(runner, plan_file, step, drifted, redact)
                        adopted += drifted
                        plan, problems = plan_and_check(runner, plan_file, step, allowed, redact)
                # After the plan: the redactor then knows every sensitive value.
                diffs = file_diffs(module.files, edit.files, directory, redact)
                if problems:
                    message = str(PlanGuardRefusal(step, problems))
                    raise PlanGuardRefusal(
                        step,
                        problems,
                        StepResult(
                            step, "refused", message, diffs, plan, edit.notes, tuple(problems)
                        ),
                    )
            except BaseException:
                if imported is not None:
                    runner.forget(spec.new_pipeline.address)  # the orphan stays as it was found
                journal.restore()
                raise
            if settle_only and plan.has_changes:
                journal.restore()  # Artie never saw this part: undone, not applied
            elif plan.has_changes:
                runner.apply(plan_file)
        if imported is not None and imported.status == "draft" and not settle_only:
            # Saved but never started (the provider starts right after the save): finish it.
            artie.start_pipeline(imported.uuid)
        journal.clear()
        if step == Step.CUTOVER:
            abort.forget_before(directory)
    undone = settle_only and plan.has_changes
    status, message = (
        (UNDONE_STATUS, UNDONE.format(step=step))
        if undone
        else _outcome(step, bool(edit.files), plan.has_changes, converging)
    )
    if adopted:
        status, message = (
            "applied",
            (
                f"Artie already held the {step} change to {', '.join(adopted)} (an earlier run was "
                "stopped after Artie accepted it, before Terraform recorded it): recorded it in the "
                "state (a checked refresh-only apply, or `state rm` of a pipeline Artie deleted)."
                + (" " + message if plan.has_changes else "")
            ),
        )
    elif imported is not None:
        status, message = (
            "applied",
            (
                f"Artie already had {imported.name!r} ({imported.uuid}) on the reader, unknown to the "
                f"state (an earlier create was stopped after Artie accepted it): imported it as "
                f"{spec.new_pipeline.address} instead of creating a second pipeline"
                + (" and started it." if imported.status == "draft" and not settle_only else ".")
            ),
        )
    # Undone: no edit stays and nothing was repaired.
    notes = edit.notes if undone else (*edit.notes, *repair_notes(plan, allowed))
    return StepResult(step, status, message, () if undone else diffs, plan, notes)


def repair_notes(plan: Plan, allowed: tuple[guard.Allowed, ...]) -> tuple[str, ...]:
    """What the step put back that someone had removed outside Terraform (Artie's API or UI)."""
    return tuple(
        f"{address}: put back {', '.join(keys)}, removed outside Terraform (at Artie)"
        for address, keys in guard.repaired_drift(plan, allowed).items()
    )


def _outcome(step: str, edited: bool, applied: bool, converging: bool) -> tuple[str, str]:
    if not edited and not applied:
        return "already done", (
            f"{step} is already done: the module and the infrastructure "
            "already match it. Nothing was edited or applied."
        )
    if not edited:
        why = "an earlier run stopped before applying" if converging else "it was edited before"
        return "applied", (
            f"The module already held the {step} edit ({why}); applied the checked plan."
        )
    if not applied:
        return "applied", f"Edited the module for {step}; Terraform found nothing to change."
    return "applied", f"Edited the module for {step} and applied the checked plan."


def abort_migration(
    spec: MigrationSpec, runner: TerraformRunner, artie: PipelineSource | None = None
) -> tuple[StepResult, ...]:
    """Roll the migration back before cutover, one guarded step at a time: delete the new
    pipeline (the plan may only destroy it), then put the reader's `is_shared` / `tables` back
    as they were before promote (the plan may only update those). Refused once the cutover has
    started (finished or not). An abort stopped mid-rollback resumes at the step it left
    unfinished (the earlier ones are done: each step clears its journal before the next starts).
    A promote or create left unfinished is settled first, applying nothing: what Artie already
    accepted of it is recorded (the journal's adoption rule; any other drift refuses), the rest
    of its edit undone; the rollback then undoes what it recorded."""
    abort.check_before_cutover(spec)
    pending = workdir.Journal(Path(spec.terraform.dir)).pending_step()
    if pending in abort.STEPS:
        steps = abort.STEPS[abort.STEPS.index(pending) :]
        return tuple(run_step(step, spec, runner, artie) for step in steps)
    settled = (run_step(pending, spec, runner, artie, settle_only=True),) if pending else ()
    return settled + tuple(run_step(step, spec, runner, artie) for step in abort.STEPS)

"""Abort before cutover: the file edits that undo create (the new pipeline's block removed) and
promote (the reader's `is_shared` / `tables` back to what they were before the migration).

A reader that had no `is_shared` line before is unshared with an explicit `is_shared = false`
first (Artie's provider keeps a computed `is_shared` when the line is absent); `abort_tidy`
then removes that line again, a step whose plan must change nothing.

What the reader held before is recorded once, when promote first runs, in the module's
`.terraform/migration-pipeline/before.json` (the entries' source text, so a rollback restores
the bytes). Anything else the user changed meanwhile stays as it is.
"""

from __future__ import annotations

import json
from pathlib import Path

from migration_pipeline.errors import StepRefused
from migration_pipeline.phases import Step
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform import edits, hcl, workdir
from migration_pipeline.terraform.edits import StepEdit

STEPS = ("abort_pipeline", "abort_reader", "abort_tidy")
AFTER_CUTOVER = (
    "The cutover has started or is done: {old} is no longer in the module, so the "
    "old pipeline is being (or has been) deleted and there is nothing to roll back "
    "to. Abort only applies before cutover; finish the migration instead."
)
# Steps from the cutover on: one left unfinished means the old pipeline may be gone at Artie.
CUTOVER_STEPS = (Step.CUTOVER, Step.UNSHARE)
UNFINISHED_CUTOVER = (
    "A {step} step did not finish in {dir}: the cutover has started, so Artie may already have "
    "deleted {old} and there is nothing to roll back to. Abort only applies before cutover; "
    "launch the job to finish the {step} step and the migration."
)


def _before_path(directory: Path) -> Path:
    return workdir.folder(directory) / "before.json"


def record_before(module: hcl.Module, spec: MigrationSpec) -> None:
    """Keep the reader's `is_shared` / `tables` source text as it is now, once per migration."""
    path = _before_path(module.directory)
    if path.exists() or spec.old_pipeline not in module.resources:
        return
    reader = edits.resource(module, spec.reader)
    text = module.files[reader.path]
    entries = {
        key: (None if (e := reader.body.get(key)) is None else text[e.value_start : e.value_end])
        for key in ("is_shared", "tables")
    }
    path.write_text(json.dumps({"reader": spec.reader, "entries": entries}))


def forget_before(directory: Path) -> None:
    """The cutover is done: abort no longer applies, the record has served."""
    _before_path(directory).unlink(missing_ok=True)


def check_before_cutover(spec: MigrationSpec) -> None:
    """Refuse (StepRefused) once the cutover has started, finished or not: nothing is rolled back
    any more."""
    directory = Path(spec.terraform.dir)
    pending = workdir.Journal(directory).pending_step()
    if pending in CUTOVER_STEPS:
        raise StepRefused(
            UNFINISHED_CUTOVER.format(step=pending, dir=directory, old=spec.old_pipeline)
        )
    _refuse_after_cutover(hcl.load_module(directory), spec)


def _refuse_after_cutover(module: hcl.Module, spec: MigrationSpec) -> None:
    if spec.old_pipeline not in module.resources:
        raise StepRefused(AFTER_CUTOVER.format(old=spec.old_pipeline))


def abort_pipeline(module: hcl.Module, spec: MigrationSpec) -> StepEdit:
    """Remove the new pipeline's block (with the blank line create put before it)."""
    _refuse_after_cutover(module, spec)
    block = module.resources.get(spec.new_pipeline.address)
    if block is None:
        return StepEdit("abort_pipeline", {})
    block = edits.resource(module, spec.new_pipeline.address)
    text = module.files[block.path]
    if (
        text[max(0, block.start - 2) : block.start] == "\n\n"
        and text[block.start - 3 : block.start - 2] == "}"
    ):
        splice = hcl.Splice(block.path, block.start - 2, block.end, "")  # exactly what create added
    else:
        splice = edits._block_removal(module, block)
    return StepEdit("abort_pipeline", hcl.apply_splices(module.files, [splice]))


def abort_reader(module: hcl.Module, spec: MigrationSpec) -> StepEdit:
    """Put the reader's `is_shared` and `tables` back as they were before promote."""
    _refuse_after_cutover(module, spec)
    if spec.new_pipeline.address in module.resources:
        raise StepRefused(
            f"{spec.new_pipeline.address} is still in the module: roll it back "
            "(abort_pipeline) before the reader."
        )
    reader = edits.resource(module, spec.reader)
    if not _before_path(module.directory).exists() and not _shared(module, reader):
        return StepEdit("abort_reader", {})  # promote never ran: the reader is as it was
    before = _load_before(module, spec)
    text = module.files[reader.path]
    splices = []
    shared, tables = reader.body.get("is_shared"), reader.body.get("tables")
    if before["is_shared"] is None:
        if shared is not None and text[shared.value_start : shared.value_end].strip() != "false":
            splices.append(hcl.set_entry(text, reader.path, reader.body, "is_shared", "false"))
    elif shared is None or text[shared.value_start : shared.value_end] != before["is_shared"]:
        splices.append(
            hcl.set_entry(text, reader.path, reader.body, "is_shared", before["is_shared"])
        )
    if before["tables"] is None and tables is not None:
        splices.append(hcl.remove_entry(text, reader.path, tables))
    elif before["tables"] is not None and (
        tables is None or text[tables.value_start : tables.value_end] != before["tables"]
    ):
        splices.append(hcl.set_entry(text, reader.path, reader.body, "tables", before["tables"]))
    return StepEdit("abort_reader", hcl.apply_splices(module.files, splices, (reader,)))


def abort_tidy(module: hcl.Module, spec: MigrationSpec) -> StepEdit:
    """Remove the `is_shared = false` line abort_reader added to a reader that had none."""
    _refuse_after_cutover(module, spec)
    if not _before_path(module.directory).exists():
        return StepEdit("abort_tidy", {})
    before = _load_before(module, spec)
    reader = edits.resource(module, spec.reader)
    text = module.files[reader.path]
    shared = reader.body.get("is_shared")
    if (
        before["is_shared"] is not None
        or shared is None
        or text[shared.value_start : shared.value_end].strip() != "false"
    ):
        return StepEdit("abort_tidy", {})
    return StepEdit(
        "abort_tidy",
        hcl.apply_splices(module.files, [hcl.remove_entry(text, reader.path, shared)], (reader,)),
    )


def _shared(module: hcl.Module, reader: hcl.ResourceBlock) -> bool:
    return edits.literal_attr(module, reader, "is_shared", False) is True


def _load_before(module: hcl.Module, spec: MigrationSpec) -> dict:
    path = _before_path(module.directory)
    if not path.exists():
        raise StepRefused(
            f"No record of {spec.reader} before the migration ({path} is missing: promote never "
            f"ran here, or .terraform was deleted). Set its is_shared / tables back by hand."
        )
    return json.loads(path.read_text())["entries"]

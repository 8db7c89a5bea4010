"""Abort before cutover: the file edits that undo create (the new pipeline's block removed) and
promote (the reader's `is_shared` / `tables` back to what they were before the migration).

What the reader held before is recorded once, when promote first runs, in the module's
`.terraform/migration-pipeline/before.json` (the entries' source text, so a rollback restores
the bytes). Anything else the user changed meanwhile stays as it is.
"""

from __future__ import annotations

import json
from pathlib import Path

from migration_pipeline.errors import StepRefused
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform import edits, hcl, workdir
from migration_pipeline.terraform.edits import StepEdit

STEPS = ("abort_pipeline", "abort_reader")
AFTER_CUTOVER = ("The cutover has started or is done: {old} is no longer in the module, so the "
                 "old pipeline is being (or has been) deleted and there is nothing to roll back "
                 "to. Abort only applies before cutover; finish the migration instead.")


def _before_path(directory: Path) -> Path:
    return workdir.folder(directory) / "before.json"


def record_before(module: hcl.Module, spec: MigrationSpec) -> None:
    """Keep the reader's `is_shared` / `tables` source text as it is now, once per migration."""
    path = _before_path(module.directory)
    if path.exists() or spec.old_pipeline not in module.resources:
        return
    reader = edits.resource(module, spec.reader)
    text = module.files[reader.path]
    entries = {key: (None if (e := reader.body.get(key)) is None
                     else text[e.value_start:e.value_end]) for key in ("is_shared", "tables")}
    path.write_text(json.dumps({"reader": spec.reader, "entries": entries}))


def forget_before(directory: Path) -> None:
    """The rollback is done (or the migration complete): the record has served."""
    _before_path(directory).unlink(missing_ok=True)


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
    if text[max(0, block.start - 2):block.start] == "\n\n" and text[block.start - 3:block.start - 2] == "}":
        splice = hcl.Splice(block.path, block.start - 2, block.end, "")  # exactly what create added
    else:
        splice = edits._block_removal(module, block)
    return StepEdit("abort_pipeline", hcl.apply_splices(module.files, [splice]))


def abort_reader(module: hcl.Module, spec: MigrationSpec) -> StepEdit:
    """Put the reader's `is_shared` and `tables` back as they were before promote."""
    _refuse_after_cutover(module, spec)
    if spec.new_pipeline.address in module.resources:
        raise StepRefused(f"{spec.new_pipeline.address} is still in the module: roll it back "
                          "(abort_pipeline) before the reader.")
    path = _before_path(module.directory)
    if not path.exists():
        raise StepRefused(
            f"No record of {spec.reader} before the migration ({path} is missing: promote never "
            f"ran here, or .terraform was deleted). Set its is_shared / tables back by hand.")
    before = json.loads(path.read_text())["entries"]
    reader = edits.resource(module, spec.reader)
    text = module.files[reader.path]
    splices = []
    for key in ("is_shared", "tables"):
        entry, wanted = reader.body.get(key), before[key]
        if wanted is None and entry is not None:
            splices.append(hcl.remove_entry(text, reader.path, entry))
        elif wanted is not None and (entry is None
                                     or text[entry.value_start:entry.value_end] != wanted):
            splices.append(hcl.set_entry(text, reader.path, reader.body, key, wanted))
    return StepEdit("abort_reader", hcl.apply_splices(module.files, splices))

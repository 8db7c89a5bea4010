"""What the module and its state say about a migration, for deciding its phase (read only)."""

from __future__ import annotations

from pathlib import Path

from migration_pipeline.phases import ModuleFacts
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform import edits, hcl, workdir
from migration_pipeline.terraform.coverage import reader_gaps
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline.terraform.steps import PipelineSource


def module_facts(
    spec: MigrationSpec, state: TerraformState | None = None, artie: PipelineSource | None = None
) -> ModuleFacts:
    """Read the module's files (and, given the pulled state, the migration's uuids; given Artie's
    API, the pipelines it attaches to the reader and the tables the reader really captures)."""
    directory = Path(spec.terraform.dir)
    module = hcl.load_module(directory)
    reader = edits.resource(module, spec.reader)
    tables = edits.table_ids(edits.literal_attr(module, reader, "tables"))
    uuids = {}
    if state is not None:
        addresses = (spec.reader, spec.old_pipeline, spec.new_pipeline.address)
        uuids = {a: u for a, u in state.uuids().items() if a in addresses}
    return ModuleFacts(
        reader_shared=edits.literal_attr(module, reader, "is_shared", False) is True,
        reader_tables=tuple(sorted(t.key for t in tables)),
        old_pipeline_declared=spec.old_pipeline in module.resources,
        new_pipeline_declared=spec.new_pipeline.address in module.resources,
        pending_step=workdir.Journal(directory).pending_step()
        if (directory / ".terraform").exists()
        else None,
        uuids=uuids,
        reader_gaps=reader_gaps(module, spec, state, artie),
    )

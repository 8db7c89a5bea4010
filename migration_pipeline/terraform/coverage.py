"""Whether a shared reader captures every table its attached pipelines replicate (a fact of
the phase): the module's `tables` and, when Artie's API is at hand, the reader Artie runs."""

from __future__ import annotations

from typing import Protocol

from migration_pipeline.artie.models import SourceReaderDetail
from migration_pipeline.errors import ArtieApiError
from migration_pipeline.phases import ReaderGap
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform import edits, hcl
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline.terraform.steps import PipelineSource, attached_pipelines
from migration_pipeline.terraform.tables import TableId, uncovered


class ReaderSource(PipelineSource, Protocol):
    """What coverage asks Artie: the attached pipelines and the reader (ArtieClient)."""

    def get_source_reader(self, uuid: str) -> SourceReaderDetail: ...


def reader_gaps(
    module: hcl.Module,
    spec: MigrationSpec,
    state: TerraformState | None,
    artie: PipelineSource | None,
) -> tuple[ReaderGap, ...]:
    """The tables attached pipelines (and the new pipeline) need that the shared reader leaves
    out, in the module or at Artie; empty for a dedicated reader (it captures its pipeline's)."""
    reader = edits.resource(module, spec.reader)
    if edits.literal_attr(module, reader, "is_shared", False) is not True:
        return ()
    if state is None:
        state = TerraformState.parse({})
    needed = edits.needed_tables(spec, attached_pipelines(module, spec, state, artie))
    missing = {
        t: None
        for t in uncovered(edits.table_ids(edits.literal_attr(module, reader, "tables")), needed)
    }
    reader_uuid = state.uuids().get(spec.reader)
    statuses: dict[TableId, str] = {}
    if reader_uuid and hasattr(artie, "get_source_reader"):
        try:
            running = artie.get_source_reader(reader_uuid)
        except ArtieApiError as e:
            if e.status_code != 404:
                raise
            running = None  # deleted at Artie: the plan will say so
        if running is not None and running.is_shared:
            captured = frozenset(TableId(t.schema, t.name) for t in running.tables)
            for table in uncovered(captured, needed):
                missing[table] = running.updated_at
            statuses = _table_statuses(artie, reader_uuid) if any(missing.values()) else {}
    return tuple(
        ReaderGap(str(t), needed[t], since, statuses.get(t) if since else None)
        for t, since in sorted(missing.items())
    )


def _table_statuses(artie: PipelineSource, reader_uuid: str) -> dict[TableId, str]:
    """What Artie reports for each table of the reader's pipelines (`not_captured` beats any
    other status: one pipeline that lost the table is enough)."""
    found: dict[TableId, str] = {}
    for pipeline in artie.pipelines_on_reader(reader_uuid):
        for table in pipeline.tables:
            key = TableId(table.schema, table.name)
            if table.status and found.get(key) != "not_captured":
                found[key] = table.status
    return found

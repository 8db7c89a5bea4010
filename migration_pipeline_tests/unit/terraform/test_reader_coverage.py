"""Which tables a shared reader leaves out, in the module and at Artie, and since when (the gate
that holds a migration back on them; found by mutation testing of coverage.py, which had no
unit test)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from migration_pipeline.artie.models import (
    PipelineDetail,
    ReaderTableDetail,
    SourceReaderDetail,
    TableStatus,
)
from migration_pipeline.errors import ArtieApiError
from migration_pipeline.phases import ReaderGap
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform import coverage, hcl
from migration_pipeline.terraform.state import TerraformState

SINCE = datetime(2026, 11, 28, 22, 5, tzinfo=UTC)
OLD = (
    'resource "artie_pipeline" "v1" {\n  source_reader_uuid = artie_source_reader.mysql.uuid\n'
    '  tables = { "shop.orders" = {}, "shop.items" = {}, "shop.pay" = {} }\n}\n'
)


def resource(kind: str, name: str, uuid: str) -> dict:
    return {
        "mode": "managed",
        "type": kind,
        "name": name,
        "instances": [{"attributes": {"uuid": uuid}}],
    }


STATE = TerraformState.parse({"resources": [resource("artie_source_reader", "mysql", "r-1")]})


class Artie:
    """A hand-written stand-in for Artie's API: no other pipeline on the reader, and the reader
    it runs (or an error for it)."""

    def __init__(self, running: SourceReaderDetail | None = None, error: int | None = None):
        self.running, self.error, self.asked = running, error, []

    def pipelines_on_reader(self, reader_uuid: str) -> list:
        return []

    def get_source_reader(self, uuid: str) -> SourceReaderDetail:
        self.asked.append(uuid)
        if self.error:
            raise ArtieApiError("no", status_code=self.error)
        return self.running


class PipelinesOnly:
    """An Artie stand-in that cannot report readers."""

    def pipelines_on_reader(self, reader_uuid: str) -> list:
        return []


def running(*tables: str, shared: bool = True) -> SourceReaderDetail:
    found = tuple(ReaderTableDetail(t.split(".")[1], t.split(".")[0]) for t in tables)
    return SourceReaderDetail("r-1", "r", "c-1", shared, "running", found, SINCE)


def gaps(directory: Path, reader_lines: str, state=STATE, artie=None) -> tuple[ReaderGap, ...]:
    reader = f'resource "artie_source_reader" "mysql" {{\n{reader_lines}}}\n'
    (directory / "main.tf").write_text(f"{reader}\n{OLD}")
    spec = MigrationSpec.model_validate(
        {
            "name": "m",
            "terraform": {"dir": str(directory)},
            "reader": "artie_source_reader.mysql",
            "old_pipeline": "artie_pipeline.v1",
            "new_pipeline": {"address": "artie_pipeline.v2", "tables": {"shop.new": {}}},
        }
    )
    return coverage.reader_gaps(hcl.load_module(directory), spec, state, artie)


SHARED = '  is_shared = true\n  tables = { "shop.orders" = {} }\n'


def test_a_dedicated_reader_has_no_gaps(tmp_path):
    assert gaps(tmp_path, '  tables = { "shop.orders" = {} }\n') == ()
    assert gaps(tmp_path, "  is_shared = false\n", artie=Artie(running())) == ()


def test_the_module_gaps_are_every_needed_table_its_tables_leave_out(tmp_path):
    expected = (
        ReaderGap("shop.items", "artie_pipeline.v1"),
        ReaderGap("shop.new", "artie_pipeline.v2"),
        ReaderGap("shop.pay", "artie_pipeline.v1"),
    )
    assert gaps(tmp_path, SHARED, state=None) == expected
    assert gaps(tmp_path, SHARED) == expected


def test_tables_the_running_reader_leaves_out_carry_its_last_update(tmp_path):
    artie = Artie(running("shop.orders", "shop.items", "shop.new"))
    assert gaps(tmp_path, SHARED, artie=artie) == (
        ReaderGap("shop.items", "artie_pipeline.v1"),
        ReaderGap("shop.new", "artie_pipeline.v2"),
        ReaderGap("shop.pay", "artie_pipeline.v1", SINCE),
    )
    assert artie.asked == ["r-1"]
    every = '  is_shared = true\n  tables = { a = { name = "orders", schema = "shop" } }\n'
    assert gaps(tmp_path, every.replace("} }", "}, items = {}, new = {}, pay = {} }")) == ()
    assert gaps(
        tmp_path, every.replace("} }", "}, items = {}, new = {}, pay = {} }"), artie=artie
    ) == (ReaderGap("shop.pay", "artie_pipeline.v1", SINCE),)


def test_artie_is_not_asked_without_the_readers_uuid_or_a_way_to_ask(tmp_path):
    artie = Artie(running())
    gaps(tmp_path, SHARED, state=TerraformState.parse({}), artie=artie)
    assert artie.asked == []
    assert len(gaps(tmp_path, SHARED, artie=PipelinesOnly())) == 3


def test_a_running_reader_not_shared_or_deleted_adds_no_gap(tmp_path):
    module_only = gaps(tmp_path, SHARED)
    assert gaps(tmp_path, SHARED, artie=Artie(running(shared=False))) == module_only
    assert gaps(tmp_path, SHARED, artie=Artie(error=404)) == module_only


def test_any_other_answer_from_artie_is_raised(tmp_path):
    with pytest.raises(ArtieApiError) as raised:
        gaps(tmp_path, SHARED, artie=Artie(error=500))
    assert raised.value.status_code == 500


class WithStatuses(Artie):
    """Artie's stand-in whose reader's pipelines report their tables' statuses."""

    def __init__(self, running: SourceReaderDetail, pipelines: list[PipelineDetail]):
        super().__init__(running)
        self.pipelines = pipelines

    def pipelines_on_reader(self, reader_uuid: str) -> list:
        return self.pipelines


def pipeline(uuid: str, **statuses: str) -> PipelineDetail:
    tables = tuple(TableStatus(name, "shop", status) for name, status in statuses.items())
    return PipelineDetail(uuid, uuid, "r-1", "d-1", "running", tables)


def test_a_gap_at_artie_carries_the_table_status_artie_reports_not_captured_first(tmp_path):
    state = TerraformState.parse(
        {
            "resources": [
                resource("artie_source_reader", "mysql", "r-1"),
                resource("artie_pipeline", "v1", "p-1"),
                resource("artie_pipeline", "gone", "p-2"),  # being cut over: not in the module
            ]
        }
    )
    artie = WithStatuses(
        running("shop.orders", "shop.items", "shop.new"),
        [pipeline("p-1", pay="not_captured", items="queued"), pipeline("p-2", pay="streaming")],
    )
    assert gaps(tmp_path, SHARED, state=state, artie=artie) == (
        ReaderGap("shop.items", "artie_pipeline.v1"),  # left out in the module only
        ReaderGap("shop.new", "artie_pipeline.v2"),
        ReaderGap("shop.pay", "artie_pipeline.v1", SINCE, "not_captured"),
    )


class Listing(WithStatuses):
    """WithStatuses that records each listing of the reader's pipelines."""

    def __init__(self, running: SourceReaderDetail, pipelines: list[PipelineDetail]):
        super().__init__(running, pipelines)
        self.listed = []

    def pipelines_on_reader(self, reader_uuid: str) -> list:
        self.listed.append(reader_uuid)
        return self.pipelines


def test_statuses_are_asked_of_the_reader_only_when_artie_leaves_a_table_out(tmp_path):
    state = TerraformState.parse({"resources": [resource("artie_source_reader", "mysql", "r-1")]})
    every = running("shop.orders", "shop.items", "shop.new", "shop.pay")
    artie = Listing(every, [])
    gaps(tmp_path, SHARED, state=state, artie=artie)
    assert artie.listed == ["r-1"]  # the attached pipelines only
    artie = Listing(running("shop.orders"), [])
    gaps(tmp_path, SHARED, state=state, artie=artie)
    assert artie.listed == ["r-1", "r-1"]


def test_a_pipeline_only_artie_knows_needs_its_tables_too(tmp_path):
    state = TerraformState.parse({"resources": [resource("artie_source_reader", "mysql", "r-1")]})
    artie = Listing(running("shop.orders", "shop.items", "shop.new", "shop.pay"), [])
    artie.pipelines = [pipeline("p-9", extra="streaming")]
    assert gaps(tmp_path, SHARED, state=state, artie=artie)[0] == ReaderGap(
        "shop.extra", "Artie pipeline 'p-9' (p-9, not in this module)", SINCE, "streaming"
    )


def test_a_table_captured_in_another_schema_is_a_gap_at_artie(tmp_path):
    artie = Artie(running("shop.orders", "other.items", "shop.new", "shop.pay"))
    assert gaps(tmp_path, SHARED, artie=artie)[0] == ReaderGap(
        "shop.items", "artie_pipeline.v1", SINCE
    )

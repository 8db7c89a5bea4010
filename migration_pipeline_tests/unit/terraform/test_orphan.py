"""A new pipeline Artie created but the state does not know is found (once) before create."""

from __future__ import annotations

import pytest

from migration_pipeline.artie.models import PipelineDetail
from migration_pipeline.errors import StepRefused
from migration_pipeline.terraform import hcl
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline.terraform.steps import orphan_pipeline
from migration_pipeline_tests.support.sandbox_module import EXAMPLE, spec_for

STATE = TerraformState.parse(
    {
        "resources": [
            {"mode": "managed", "type": t, "name": n, "instances": [{"attributes": {"uuid": u}}]}
            for t, n, u in (
                ("artie_source_reader", "shop", "r-1"),
                ("artie_pipeline", "analytics_v1", "p-1"),
                ("artie_connector", "analytics_v2", "c-2"),
            )
        ]
    }
)


class FakeArtie:
    """The pipelines Artie reports on a reader."""

    def __init__(self, *pipelines: PipelineDetail):
        self.pipelines = pipelines

    def pipelines_on_reader(self, reader_uuid: str) -> list[PipelineDetail]:
        return [p for p in self.pipelines if p.source_reader_uuid == reader_uuid]


def pipeline(uuid: str, name: str, destination: str = "c-9") -> PipelineDetail:
    return PipelineDetail(uuid, name, "r-1", destination, "running")


def find(*pipelines: PipelineDetail) -> PipelineDetail | None:
    return orphan_pipeline(
        spec_for(EXAMPLE), hcl.load_module(EXAMPLE), STATE, FakeArtie(*pipelines)
    )


def test_a_pipeline_with_the_new_name_unknown_to_the_state_is_the_orphan():
    assert find(pipeline("p-1", "analytics_v1"), pipeline("p-2", "analytics_v2")).uuid == "p-2"


def test_a_pipeline_on_the_new_destination_is_the_orphan_whatever_its_name():
    assert find(pipeline("p-3", "renamed", destination="c-2")).uuid == "p-3"


def test_pipelines_the_state_knows_or_unrelated_ones_are_not_orphans():
    assert find(pipeline("p-1", "analytics_v1"), pipeline("p-4", "someone_elses")) is None


def test_two_candidates_are_refused_rather_than_guessed():
    with pytest.raises(
        StepRefused,
        match=r"^2 pipelines on artie_source_reader.shop that this "
        r"module does not manage look like artie_pipeline.analytics_v2",
    ):
        find(pipeline("p-2", "analytics_v2"), pipeline("p-3", "other", destination="c-2"))

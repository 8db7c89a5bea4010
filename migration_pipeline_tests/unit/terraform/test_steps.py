"""Step bookkeeping without terraform: the directory lock, the journal, attached pipelines, markdown."""

from __future__ import annotations

import pytest

from migration_pipeline.artie.models import PipelineDetail, TableStatus
from migration_pipeline.errors import StepLockedError, StepRefused
from migration_pipeline.phases import STEPS, ModuleFacts
from migration_pipeline.terraform import abort, edits, hcl, workdir
from migration_pipeline.terraform.facts import module_facts
from migration_pipeline.terraform.plan import AttributeChange, Plan, ResourceChange
from migration_pipeline.terraform.results import FileDiff, StepResult
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline.terraform.steps import (
    _MODULE_EDITS,
    _READER_EDITS,
    NO_API_NOTE,
    UNDONE,
    attached_pipelines,
    make_edit,
    run_step,
)
from migration_pipeline.terraform.tables import AttachedPipeline, TableId
from migration_pipeline_tests.support.tf_modules import spec_for, write_module

READER_UUID = "r-1"


class FakeArtie:
    """Reports a fixed set of pipelines, as Artie's API would for one reader."""

    def __init__(self, pipelines: list[PipelineDetail]):
        self.pipelines = pipelines
        self.asked: list[str] = []

    def pipelines_on_reader(self, reader_uuid: str) -> list[PipelineDetail]:
        self.asked.append(reader_uuid)
        return [p for p in self.pipelines if p.source_reader_uuid == reader_uuid]


def pipeline(uuid: str, name: str, *tables: str) -> PipelineDetail:
    return PipelineDetail(
        uuid,
        name,
        READER_UUID,
        None,
        "running",
        tables=tuple(TableStatus(t, "shop") for t in tables),
    )


def raw_state(**uuids: str) -> TerraformState:
    return TerraformState.parse(
        {
            "resources": [
                {
                    "mode": "managed",
                    "type": address.split("__")[0],
                    "name": address.split("__")[1],
                    "instances": [{"attributes": {"uuid": uuid}}],
                }
                for address, uuid in uuids.items()
            ]
        }
    )


def never_runs(directory) -> TerraformRunner:
    return TerraformRunner(directory, binary="/nonexistent/terraform")


def test_a_second_step_in_the_same_directory_is_refused_while_one_runs(tmp_path):
    directory = write_module(tmp_path / "m")
    with workdir.locked(directory):
        with pytest.raises(StepLockedError) as locked:
            run_step("promote", spec_for(directory), never_runs(directory))
    lock = directory / ".terraform" / "migration-pipeline" / "lock"
    assert str(locked.value) == (
        f"Another migration step is running in {directory} (lock {lock}). Wait for it to "
        "finish, then run this step again."
    )


def test_an_unfinished_step_must_be_finished_before_another(tmp_path):
    directory = write_module(tmp_path / "m")
    workdir.Journal(directory).begin("promote", {})
    with pytest.raises(StepRefused) as refused:
        run_step("create", spec_for(directory), never_runs(directory))
    assert str(refused.value) == (
        f"A previous promote step did not finish in {directory}: run promote again first."
    )


def test_the_journal_restores_the_first_recorded_bytes(tmp_path):
    directory = write_module(tmp_path / "m")
    path = directory / "pipelines.tf"
    original = b'# crlf\r\nresource "x" "y" {}\r\n'
    path.write_bytes(original)
    journal = workdir.Journal(directory)
    journal.begin("promote", {path: original.decode()})
    workdir.write_atomically(path, "edited once\n")
    journal.begin("promote", {path: "edited once\n"})  # a rerun keeps the first bytes
    workdir.write_atomically(path, "edited twice\n")
    assert journal.restore() == [path]
    assert path.read_bytes() == original
    assert journal.pending_step() is None


def test_attached_pipelines_join_the_module_and_what_artie_reports(tmp_path):
    directory = write_module(tmp_path / "m")
    spec = spec_for(directory)
    artie = FakeArtie(
        [pipeline("p-old", "orders", "orders"), pipeline("p-audit", "audit", "refunds", "orders")]
    )
    state = raw_state(
        artie_source_reader__mysql=READER_UUID, artie_pipeline__orders_snowflake="p-old"
    )
    found = attached_pipelines(hcl.load_module(directory), spec, state, artie)
    assert artie.asked == [READER_UUID]
    assert [p.label for p in found] == [
        "artie_pipeline.orders_snowflake",
        "Artie pipeline 'audit' (p-audit, not in this module)",
    ]
    assert found[1] == AttachedPipeline(
        found[1].label, frozenset({TableId("shop", "refunds"), TableId("shop", "orders")})
    )


def test_without_a_reader_in_state_artie_is_not_asked(tmp_path):
    directory = write_module(tmp_path / "m")
    artie = FakeArtie([])
    found = attached_pipelines(
        hcl.load_module(directory), spec_for(directory), TerraformState(), artie
    )
    assert ([p.label for p in found], artie.asked) == (["artie_pipeline.orders_snowflake"], [])


def test_a_result_renders_as_markdown():
    change = ResourceChange(
        "artie_source_reader.mysql",
        "managed",
        ("update",),
        (AttributeChange("is_shared", "false", "true"),),
    )
    diff = FileDiff("main.tf", "--- a/main.tf\n+++ b/main.tf\n@@ -1 +1 @@\n-a\n+b\n")
    result = StepResult(
        "promote",
        "applied",
        "Edited the module for promote and applied the checked plan.",
        (diff,),
        Plan((change,), ()),
        ("reader tables: added x",),
    )
    assert result.to_markdown() == (
        "### promote: applied\n\n"
        "Edited the module for promote and applied the checked plan.\n\n"
        "- reader tables: added x\n\n"
        "**File changes:**\n\n"
        "`main.tf` (+1 -1)\n\n```diff\n--- a/main.tf\n+++ b/main.tf\n@@ -1 +1 @@\n-a\n+b\n```\n\n"
        "**Plan:**\n\n"
        "- artie_source_reader.mysql would be updated in place (changes is_shared)\n"
        "  - `is_shared`: `false` -> `true`\n"
    )


def test_an_undone_result_says_its_plan_was_not_applied():
    change = ResourceChange(
        "artie_source_reader.mysql",
        "managed",
        ("update",),
        (AttributeChange("is_shared", "false", "true"),),
    )
    result = StepResult("promote", "undone", UNDONE.format(step="promote"), (), Plan((change,), ()))
    shown = result.to_markdown()
    assert shown.startswith(f"### promote: undone\n\n{UNDONE.format(step='promote')}\n"), shown
    assert shown.endswith(
        "**File changes:**\n\n(none)\n\n**Plan:**\n\n"
        "Not applied: the step's edit was undone, so Terraform applied nothing of it.\n"
    ), shown


def test_the_old_pipeline_counts_however_it_names_the_reader(tmp_path):
    directory = write_module(tmp_path / "m")
    pipelines = directory / "pipelines.tf"
    pipelines.write_text(
        pipelines.read_text().replace(
            "source_reader_uuid         = artie_source_reader.mysql.uuid",
            "source_reader_uuid         = local.reader_uuid",
        )
        + ('resource "artie_pipeline" "other" {\n  source_reader_uuid = local.reader_uuid\n}\n')
    )
    spec = spec_for(directory)
    artie = FakeArtie([pipeline("p-old", "orders", "orders"), pipeline("p-2", "x", "refunds")])
    state = raw_state(
        artie_source_reader__mysql=READER_UUID,
        artie_pipeline__orders_snowflake="p-old",
        artie_pipeline__other="p-2",
    )
    found = attached_pipelines(hcl.load_module(directory), spec, state, artie)
    assert [p.label for p in found] == [
        "artie_pipeline.orders_snowflake",
        "artie_pipeline.other (its source_reader_uuid is not written as "
        "artie_source_reader.mysql.uuid)",
    ]


def test_module_facts_follow_the_steps(tmp_path):
    directory = write_module(tmp_path / "m")
    spec = spec_for(directory)
    assert module_facts(spec) == ModuleFacts(False, (), True, False, None)
    module = hcl.load_module(directory)
    for path, text in edits.promote(
        module, spec, edits.module_pipelines(module, spec.reader)
    ).files.items():
        path.write_text(text)
    workdir.Journal(directory).begin("create", {})
    state = raw_state(artie_source_reader__mysql=READER_UUID, artie_connector__mysql="c-1")
    assert module_facts(spec, state) == ModuleFacts(
        True,
        ("shop.customers", "shop.line_items", "shop.orders"),
        True,
        False,
        "create",
        {"artie_source_reader.mysql": READER_UUID},
    )


def test_without_artie_the_reader_steps_say_what_they_could_not_count(tmp_path):
    directory = write_module(tmp_path / "m")
    module = hcl.load_module(directory)
    spec = spec_for(directory)
    assert make_edit("promote", spec, module, TerraformState(), None).notes[-1] == (
        "Artie's API was not consulted: pipelines on this reader that the module does not "
        "declare were not counted."
    )
    assert (
        NO_API_NOTE not in make_edit("promote", spec, module, TerraformState(), FakeArtie([])).notes
    )


class PlanRaises:
    """A runner whose plan raises `error` (an interrupt, a termination, a parsing bug) after
    recording what the module looked like when terraform would have started."""

    def __init__(self, directory, error: BaseException):
        self.directory = directory
        self.error = error
        self.redact = None
        self.seen_at_plan: dict[str, bytes] | None = None

    def init(self) -> None:
        pass

    def state(self) -> TerraformState:
        return TerraformState()

    def plan(self, plan_file) -> bool:
        self.seen_at_plan = files_of(self.directory)
        raise self.error


def files_of(directory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.tf"))}


@pytest.mark.parametrize(
    "error", [KeyboardInterrupt(), ValueError("bad plan JSON"), SystemExit(143)]
)
def test_anything_raised_before_the_apply_restores_the_files_and_clears_the_journal(
    tmp_path, error
):
    directory = write_module(tmp_path / "m")
    before = files_of(directory)
    runner = PlanRaises(directory, error)
    with pytest.raises(type(error)):
        run_step("promote", spec_for(directory), runner)
    assert runner.seen_at_plan is not None and runner.seen_at_plan != before  # it was edited
    assert files_of(directory) == before
    assert workdir.Journal(directory).pending_step() is None


def test_every_step_has_exactly_one_edit():
    assert set(_MODULE_EDITS) | set(_READER_EDITS) == {*STEPS, *abort.STEPS}
    assert not set(_MODULE_EDITS) & set(_READER_EDITS)

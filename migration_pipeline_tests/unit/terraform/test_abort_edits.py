"""Abort's edits undo promote and create byte for byte, keeping what the user changed meanwhile."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migration_pipeline.errors import StepRefused
from migration_pipeline.terraform import abort, hcl
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline.terraform.steps import make_edit
from migration_pipeline_tests.support.sandbox_module import EXAMPLE, spec_for


def run_edits(directory: Path, *steps: str) -> None:
    spec = spec_for(directory)
    for step in steps:
        module = hcl.load_module(directory)
        if step in ("promote", "create"):
            abort.record_before(module, spec)
        for path, text in make_edit(step, spec, module, TerraformState(), None).files.items():
            path.write_bytes(text.encode())


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.tf"))}


@pytest.fixture
def module(tmp_path) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "module")
    return tmp_path / "module"


def test_abort_after_create_gives_back_the_original_bytes_and_keeps_a_users_change(module):
    original = files(module)
    run_edits(module, "promote", "create")
    main = module / "main.tf"
    main.write_text(main.read_text().replace("# The shop's CDC setup", "# The shop's CDC (edited)"))
    run_edits(module, *abort.STEPS)
    expected = {
        **original,
        "main.tf": original["main.tf"].replace(
            b"# The shop's CDC setup", b"# The shop's CDC (edited)"
        ),
    }
    assert files(module) == expected
    run_edits(module, *abort.STEPS)  # again: nothing left to edit
    assert files(module) == expected


def test_abort_after_cutover_is_refused(module):
    run_edits(module, "promote", "create", "cutover")
    with pytest.raises(StepRefused, match="^The cutover has started or is done"):
        run_edits(module, "abort_pipeline")


def test_abort_without_the_record_promote_keeps_names_the_file(module):
    run_edits(module, "promote", "create", "abort_pipeline")
    (module / ".terraform" / "migration-pipeline" / "before.json").unlink()
    with pytest.raises(
        StepRefused,
        match=r"^No record of artie_source_reader.shop before the "
        r"migration \(.*before.json is missing",
    ):
        run_edits(module, "abort_reader")


def test_abort_before_promote_has_nothing_to_undo(module):
    original = files(module)
    run_edits(module, *abort.STEPS)
    assert files(module) == original

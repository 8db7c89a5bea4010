"""Each abort step's edit, byte for byte, for each shape of the reader before and after promote
(found by mutation testing of abort.py: the example module exercises one shape only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migration_pipeline.errors import StepRefused
from migration_pipeline.terraform import abort, hcl, workdir
from migration_pipeline_tests.support.tf_modules import mysql_spec

OLD = 'resource "artie_pipeline" "v1" {\n  name = "v1"\n}'
NEW = 'resource "artie_pipeline" "v2" {\n  name = "v2"\n}'
TABLES = '{\n    "shop.orders" = { name = "orders" }\n  }'


def reader(*lines: str) -> str:
    return 'resource "artie_source_reader" "mysql" {\n  name = "r"\n' + "".join(lines) + "}\n"


def module(directory: Path, text: str, before: dict | None = None) -> hcl.Module:
    (directory / "main.tf").write_text(text)
    if before is not None:
        record = directory / ".terraform" / "migration-pipeline" / "before.json"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"reader": "artie_source_reader.mysql", "entries": before}))
    return hcl.load_module(directory)


def record(directory: Path) -> dict:
    return json.loads((directory / ".terraform" / "migration-pipeline" / "before.json").read_text())


def test_promote_records_the_readers_entries_once_and_not_after_cutover(tmp_path):
    text = reader("  is_shared = false # off\n", f"  tables = {TABLES}\n") + f"\n{OLD}\n"
    abort.record_before(module(tmp_path, text), mysql_spec(tmp_path))
    first = {
        "reader": "artie_source_reader.mysql",
        "entries": {"is_shared": "false", "tables": TABLES},
    }
    assert record(tmp_path) == first
    abort.record_before(module(tmp_path, reader() + f"\n{OLD}\n"), mysql_spec(tmp_path))
    assert record(tmp_path) == first
    abort.forget_before(tmp_path)
    abort.forget_before(tmp_path)  # already gone: nothing to do
    abort.record_before(module(tmp_path, reader() + f"\n{NEW}\n"), mysql_spec(tmp_path))
    assert not (tmp_path / ".terraform" / "migration-pipeline" / "before.json").exists()
    abort.record_before(module(tmp_path, reader() + f"\n{OLD}\n"), mysql_spec(tmp_path))
    assert record(tmp_path)["entries"] == {"is_shared": None, "tables": None}


def test_after_cutover_every_abort_step_and_the_check_refuse(tmp_path):
    m = module(tmp_path, reader() + f"\n{NEW}\n")
    message = abort.AFTER_CUTOVER.format(old="artie_pipeline.v1")
    for step in (abort.abort_pipeline, abort.abort_reader, abort.abort_tidy):
        with pytest.raises(StepRefused) as refused:
            step(m, mysql_spec(tmp_path))
        assert str(refused.value) == message
    with pytest.raises(StepRefused) as refused:
        abort.check_before_cutover(mysql_spec(tmp_path))
    assert str(refused.value) == message
    module(tmp_path, reader() + f"\n{OLD}\n")
    abort.check_before_cutover(mysql_spec(tmp_path))


@pytest.mark.parametrize("step", ["cutover", "unshare"])
def test_an_unfinished_cutover_or_unshare_refuses_the_abort_even_with_the_old_block_in_place(
    tmp_path, step
):
    text = reader() + f"\n{OLD}\n"
    module(tmp_path, text)
    workdir.Journal(tmp_path).begin(step, {tmp_path / "main.tf": text})
    with pytest.raises(StepRefused) as refused:
        abort.check_before_cutover(mysql_spec(tmp_path))
    assert str(refused.value) == (
        f"A {step} step did not finish in {tmp_path}: the cutover has started, so Artie may "
        "already have deleted artie_pipeline.v1 and there is nothing to roll back to. Abort only "
        f"applies before cutover; launch the job to finish the {step} step and the migration."
    )
    workdir.Journal(tmp_path).clear()
    workdir.Journal(tmp_path).begin("create", {tmp_path / "main.tf": text})
    abort.check_before_cutover(mysql_spec(tmp_path))  # settled by the abort, not refused


def test_abort_pipeline_removes_exactly_what_create_added(tmp_path):
    before = reader() + f"\n{OLD}\n# after\n"
    text = before.replace(OLD, f"{OLD}\n\n{NEW}")
    edit = abort.abort_pipeline(module(tmp_path, text), mysql_spec(tmp_path))
    assert (edit.step, edit.files) == ("abort_pipeline", {tmp_path / "main.tf": before})
    nothing = abort.abort_pipeline(module(tmp_path, before), mysql_spec(tmp_path))
    assert (nothing.step, nothing.files) == ("abort_pipeline", {})


@pytest.mark.parametrize(
    ("text", "left"),
    [
        (f"# notes\n\n{NEW}\n", "# notes\n"),  # a blank line above, not after a block
        (f"{NEW}\n", ""),  # the file's first block
        (f"locals {{}}\n{NEW}\n", "locals {}\n"),  # right after a block, no blank line
        (f"locals {{}} \n{NEW}\n", "locals {} \n"),  # a brace, a space: not what create wrote
    ],
)
def test_abort_pipeline_removes_a_block_create_did_not_place_with_its_lines(tmp_path, text, left):
    (tmp_path / "new.tf").write_text(text)
    edit = abort.abort_pipeline(module(tmp_path, reader() + f"\n{OLD}\n"), mysql_spec(tmp_path))
    assert edit.files == {tmp_path / "new.tf": left}


def test_abort_reader_refuses_while_the_new_pipeline_is_there(tmp_path):
    m = module(tmp_path, reader("  is_shared = true\n") + f"\n{OLD}\n\n{NEW}\n", {})
    with pytest.raises(StepRefused) as refused:
        abort.abort_reader(m, mysql_spec(tmp_path))
    assert str(refused.value) == (
        "artie_pipeline.v2 is still in the module: roll it back (abort_pipeline) before the reader."
    )


@pytest.mark.parametrize(
    ("before", "now", "after"),
    [
        # no is_shared / tables before: shared explicitly off (abort_tidy removes it), tables gone
        (
            {"is_shared": None, "tables": None},
            reader("  is_shared = true\n", f"  tables = {TABLES}\n"),
            reader("  is_shared = false\n"),
        ),
        # both written before: their text comes back as it was
        (
            {"is_shared": "false", "tables": '{ "a" = {} }'},
            reader("  is_shared = true\n", f"  tables = {TABLES}\n"),
            reader("  is_shared = false\n", '  tables = { "a" = {} }\n'),
        ),
        # written before, removed since: added back (the block was aligned: it stays so)
        (
            {"is_shared": "false", "tables": "{}"},
            reader(),
            reader("  is_shared = false\n", "  tables    = {}\n").replace("name =", "name      ="),
        ),
        # already as before: nothing to write
        ({"is_shared": None, "tables": None}, reader("  is_shared = false\n"), None),
        ({"is_shared": None, "tables": None}, reader(), None),
        (
            {"is_shared": "true", "tables": "{}"},
            reader("  is_shared = true\n  tables = {}\n"),
            None,
        ),
    ],
)
def test_abort_reader_puts_back_what_the_reader_held(tmp_path, before, now, after):
    edit = abort.abort_reader(module(tmp_path, f"{now}\n{OLD}\n", before), mysql_spec(tmp_path))
    assert edit.step == "abort_reader"
    assert edit.files == ({} if after is None else {tmp_path / "main.tf": f"{after}\n{OLD}\n"})


def test_abort_reader_without_a_record(tmp_path):
    edit = abort.abort_reader(module(tmp_path, reader() + f"\n{OLD}\n"), mysql_spec(tmp_path))
    assert (edit.step, edit.files) == ("abort_reader", {})
    shared = module(tmp_path, reader("  is_shared = true\n") + f"\n{OLD}\n")
    with pytest.raises(StepRefused) as refused:
        abort.abort_reader(shared, mysql_spec(tmp_path))
    record = tmp_path / ".terraform" / "migration-pipeline" / "before.json"
    assert str(refused.value) == (
        f"No record of artie_source_reader.mysql before the migration ({record} is missing: "
        "promote never ran here, or .terraform was deleted). Set its is_shared / tables back "
        "by hand."
    )


@pytest.mark.parametrize(
    ("before", "now", "after"),
    [
        ({"is_shared": None, "tables": None}, reader("  is_shared = false\n"), reader()),
        ({"is_shared": None, "tables": None}, reader("  is_shared = true\n"), None),
        ({"is_shared": None, "tables": None}, reader(), None),
        ({"is_shared": "false", "tables": None}, reader("  is_shared = false\n"), None),
        (None, reader("  is_shared = false\n"), None),
    ],
)
def test_abort_tidy_removes_only_the_line_abort_reader_added(tmp_path, before, now, after):
    edit = abort.abort_tidy(module(tmp_path, f"{now}\n{OLD}\n", before), mysql_spec(tmp_path))
    assert edit.step == "abort_tidy"
    assert edit.files == ({} if after is None else {tmp_path / "main.tf": f"{after}\n{OLD}\n"})


def test_abort_tidy_realigns_the_reader_it_removes_a_line_from(tmp_path):
    now = 'resource "artie_source_reader" "mysql" {\n  name      = "r"\n  is_shared = false\n}\n'
    before = {"is_shared": None, "tables": None}
    edit = abort.abort_tidy(module(tmp_path, f"{now}\n{OLD}\n", before), mysql_spec(tmp_path))
    assert edit.files == {tmp_path / "main.tf": f"{reader()}\n{OLD}\n"}

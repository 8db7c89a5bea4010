"""Cutover and unshare remove exactly the block or entry they mean, with the comments attached to
it, and keep every other comment and blank line: section headers, commented-out config and
comments of the neighbouring blocks, wherever they stand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_pipeline.terraform import edits, hcl
from migration_pipeline_tests.support.tf_modules import mysql_spec

READER = 'resource "artie_source_reader" "mysql" {\n  name = "mysql"\n}\n'
OLD = 'resource "artie_pipeline" "v1" {\n  name = "v1"\n}\n'
NEW = 'resource "artie_pipeline" "v2" {\n  name = "v2"\n}\n'


def cut_over(tmp_path: Path, text: str, other: str | None = None) -> str | None:
    """The new text of main.tf after cutover (None: unchanged); `other` goes in other.tf."""
    (tmp_path / "main.tf").write_bytes(text.encode())
    if other is not None:
        (tmp_path / "other.tf").write_bytes(other.encode())
    edit = edits.cutover(hcl.load_module(tmp_path), mysql_spec(tmp_path))
    return edit.files.get(tmp_path / "main.tf")


# (name, module text, text after cutover)
LAYOUTS = [
    (
        "comment directly above goes with the block",
        f"{READER}\n# the old pipeline\n{OLD}\n{NEW}",
        f"{READER}\n{NEW}",
    ),
    (
        "several comment styles directly above go with it",
        f"{READER}\n# one\n// two\n/* three */\n/*\n * four\n */\n{OLD}\n{NEW}",
        f"{READER}\n{NEW}",
    ),
    (
        "a section header separated by a blank line stays",
        f"{READER}\n# ---- pipelines ----\n\n{OLD}\n{NEW}",
        f"{READER}\n# ---- pipelines ----\n\n{NEW}",
    ),
    (
        "a header separated by a blank line stays, the attached comment goes",
        f"{READER}\n# ---- pipelines ----\n\n# the old one\n{OLD}\n{NEW}",
        f"{READER}\n# ---- pipelines ----\n\n{NEW}",
    ),
    (
        "commented-out config separated by a blank line stays",
        f'{READER}\n# resource "artie_pipeline" "legacy" {{\n#   name = "legacy"\n# }}\n\n{OLD}\n{NEW}',
        f'{READER}\n# resource "artie_pipeline" "legacy" {{\n#   name = "legacy"\n# }}\n\n{NEW}',
    ),
    (
        "a block comment separated by a blank line stays",
        f"{READER}\n/*\n  kept\n*/\n\n{OLD}\n{NEW}",
        f"{READER}\n/*\n  kept\n*/\n\n{NEW}",
    ),
    (
        "a trailing comment on the closing brace goes with the block",
        f"{READER}\n{OLD[:-1]} # end of v1\n\n{NEW}",
        f"{READER}\n{NEW}",
    ),
    (
        "a trailing comment inside the block goes with it",
        f'{READER}\nresource "artie_pipeline" "v1" {{ # old\n  name = "v1" # name\n}}\n\n{NEW}',
        f"{READER}\n{NEW}",
    ),
    (
        "the next block's comment directly below stays",
        f"{READER}\n{OLD}# the new pipeline\n{NEW}",
        f"{READER}\n# the new pipeline\n{NEW}",
    ),
    (
        "a comment between blocks separated from both stays",
        f"{READER}\n{OLD}\n# between\n\n{NEW}",
        f"{READER}\n# between\n\n{NEW}",
    ),
    (
        "a comment below separated by a blank line stays with the next block",
        f"{READER}\n{OLD}\n# the new pipeline\n{NEW}",
        f"{READER}\n# the new pipeline\n{NEW}",
    ),
    (
        "a comment right after the previous block's brace is directly above: it goes",
        f"{READER}# about v1\n{OLD}\n{NEW}",
        f"{READER}\n{NEW}",
    ),
    ("the previous block's closing brace stays", f"{READER}{OLD}\n{NEW}", f"{READER}\n{NEW}"),
    ("at file start with its comment", f"# old\n{OLD}\n{READER}\n{NEW}", f"{READER}\n{NEW}"),
    (
        "at file start after a file header separated by a blank line",
        f"# file header\n\n{OLD}\n{READER}\n{NEW}",
        f"# file header\n\n{READER}\n{NEW}",
    ),
    ("at file end", f"{READER}\n{NEW}\n# old\n{OLD}", f"{READER}\n{NEW}"),
    ("at file end without a final newline", f"{READER}\n{NEW}\n{OLD[:-1]}", f"{READER}\n{NEW}"),
    (
        "at file end with a trailing comment after a blank line",
        f"{READER}\n{NEW}\n{OLD}\n# end of file\n",
        f"{READER}\n{NEW}\n# end of file\n",
    ),
    ("no blank lines around it", f"{READER}{OLD}{NEW}", f"{READER}{NEW}"),
]


@pytest.mark.parametrize(
    "text, expected", [case[1:] for case in LAYOUTS], ids=[case[0] for case in LAYOUTS]
)
def test_cutover_removes_the_block_and_only_the_comments_attached_to_it(tmp_path, text, expected):
    assert cut_over(tmp_path, text) == expected


def test_the_old_block_alone_in_its_file_leaves_it_empty(tmp_path):
    (tmp_path / "pipelines.tf").write_text(f"# old\n{OLD}")
    (tmp_path / "main.tf").write_text(f"# keep\n\n{READER}\n{NEW}")
    edit = edits.cutover(hcl.load_module(tmp_path), mysql_spec(tmp_path))
    assert edit.files == {tmp_path / "pipelines.tf": ""}


def test_a_comment_naming_the_old_pipeline_elsewhere_is_kept_and_not_a_reference(tmp_path):
    text = f"{READER}\n# artie_pipeline.v1 was the first one\n\n{OLD}\n{NEW}"
    assert cut_over(tmp_path, text) == (f"{READER}\n# artie_pipeline.v1 was the first one\n\n{NEW}")


def reader_with(body: str) -> str:
    return f'resource "artie_source_reader" "mysql" {{\n{body}}}\n'


def unshare(tmp_path: Path, reader: str) -> str | None:
    (tmp_path / "main.tf").write_text(f"{reader}\n{NEW}")
    module = hcl.load_module(tmp_path)
    edit = edits.unshare(module, mysql_spec(tmp_path), [])
    new = edit.files.get(tmp_path / "main.tf")
    return None if new is None else new.removesuffix(f"\n{NEW}")


TABLES = '  tables = {\n    "orders" = { name = "orders" }\n  }\n'
UNSHARE_LAYOUTS = [
    (
        "comment and blank line above the entry stay",
        f'  name = "mysql"\n  # shared while migrating\n\n  is_shared = true\n{TABLES}',
        '  name = "mysql"\n  # shared while migrating\n\n  is_shared = false\n',
    ),
    (
        "a trailing comment on the entry goes with it (the block stays fmt-aligned)",
        f'  is_shared = true\n{TABLES[:-1]} # the union\n  name = "mysql"\n',
        '  is_shared = false\n  name      = "mysql"\n',
    ),
    (
        "a comment below the entry stays",
        f'  is_shared = true\n{TABLES}  // not the tables\n\n  name = "mysql"\n',
        '  is_shared = false\n  // not the tables\n\n  name = "mysql"\n',
    ),
    (
        "blank lines on both sides stay",
        f'  is_shared = true\n\n{TABLES}\n  name = "mysql"\n',
        '  is_shared = false\n\n\n  name = "mysql"\n',
    ),
    (
        "a one-line tables entry",
        '  is_shared = true\n  tables = {} # none\n  name = "mysql"\n',
        '  is_shared = false\n  name = "mysql"\n',
    ),
]


@pytest.mark.parametrize(
    "body, expected",
    [case[1:] for case in UNSHARE_LAYOUTS],
    ids=[case[0] for case in UNSHARE_LAYOUTS],
)
def test_unshare_removes_the_tables_entry_and_keeps_every_comment_around_it(
    tmp_path, body, expected
):
    assert unshare(tmp_path, reader_with(body)) == reader_with(expected)

"""The span finder and splicer each step writes with, tested directly (found by mutation testing of
hcl.py: the step tests reach most of it through a few module shapes only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_pipeline.errors import ModuleEditError
from migration_pipeline.terraform import hcl


def load(directory: Path, **files: str) -> hcl.Module:
    for name, text in files.items():
        (directory / f"{name}.tf").write_bytes(text.encode())
    return hcl.load_module(directory)


def test_the_module_lists_resources_outputs_and_module_calls_only(tmp_path):
    module = load(
        tmp_path,
        main=(
            'module "net" {\n  source = "./net"\n}\n'
            "resource artie_pipeline v1 {\n  name = 1\n}\n"
            'output "o" {\n  value = artie_pipeline.v1.uuid\n}\n'
            'data "x" "y" {}\nresource "lonely" {}\nmodule "a" "b" {}\n'
            'output "x" "y" {}\nprovider "artie" {}\n'
        ),
        other='resource "artie_connector" "c" {}\n',
    )
    assert module.module_calls == ("net",)
    assert list(module.resources) == ["artie_pipeline.v1", "artie_connector.c"]
    assert list(module.outputs) == ["output.o"]
    output = module.outputs["output.o"]
    assert (output.type, output.name, output.path) == ("output", "o", tmp_path / "main.tf")
    block = module.resources["artie_pipeline.v1"]
    assert module.text(block) == "resource artie_pipeline v1 {\n  name = 1\n}"
    assert (block.type, block.name, block.address) == ("artie_pipeline", "v1", "artie_pipeline.v1")


def test_files_are_kept_as_read_and_subfolders_are_other_modules(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.tf").write_text('resource "a" "b" {}\n')
    (tmp_path / "notes.txt").write_text("not terraform")
    module = load(tmp_path, main='resource "a" "c" {\r\n  x = 1\r\n}\r\n')
    assert module.files == {tmp_path / "main.tf": 'resource "a" "c" {\r\n  x = 1\r\n}\r\n'}
    assert list(module.resources) == ["a.c"]
    assert module.directory == tmp_path


def test_a_file_that_does_not_parse_is_named(tmp_path):
    with pytest.raises(ModuleEditError) as refused:
        load(tmp_path, good='resource "a" "b" {}\n', bad='resource "a" "c" {\n')
    assert str(refused.value).startswith("bad.tf is not valid HCL: ")


def test_entries_span_their_key_and_value_and_a_heredoc_ends_before_its_newline(tmp_path):
    text = 'resource "a" "b" {\n  name = <<EOT\nx = 1\nEOT\n  other = "o" # c\n}\n'
    block = load(tmp_path, main=text).resources["a.b"]
    name, other = block.body.entries
    assert text[name.start : name.end] == "name = <<EOT\nx = 1\nEOT"
    assert text[name.value_start : name.value_end] == "<<EOT\nx = 1\nEOT"
    assert text[other.start : other.end] == 'other = "o"'
    assert (name.key, other.key) == ("name", "other")
    assert text[block.body.open_brace] == "{" and text[block.body.close_brace] == "}"
    assert block.body.close_brace == len(text) - 2 and block.body.is_body
    assert block.body.get("missing") is None and block.body.get("other") == other


def test_a_lone_block_parses_with_positions_relative_to_it():
    text = 'resource "artie_pipeline" "v2" {\n  name = "n"\n}'
    block = hcl.parse_block(text)
    assert (block.path, block.type, block.name, block.start, block.end) == (
        Path("<generated>"),
        "artie_pipeline",
        "v2",
        0,
        len(text),
    )
    (entry,) = block.body.entries
    assert text[entry.value_start : entry.value_end] == '"n"'


def test_a_lone_block_may_follow_comments_and_blank_lines():
    block = hcl.parse_block('# generated\n\nresource "artie_pipeline" "v2" {\n  name = "n"\n}')
    assert (block.type, block.name) == ("artie_pipeline", "v2")


def test_an_object_value_gives_its_entries_and_anything_else_none(tmp_path):
    text = (
        'resource "a" "b" {\n  t = { "x.y" = { name = "y" }, z = 1 }\n  l = [1]\n  v = var.t\n'
        "  p = ({ q = 1 })\n  h = <<EOT\n{ a = 1 }\nEOT\n}\n"
    )
    body = load(tmp_path, main=text).resources["a.b"].body
    t = hcl.object_container(body.get("t"))
    assert [e.key for e in t.entries] == ["x.y", "z"]
    assert [text[e.start : e.end] for e in t.entries] == ['"x.y" = { name = "y" }', "z = 1"]
    assert [text[e.value_start : e.value_end] for e in t.entries] == ['{ name = "y" }', "1"]
    assert (text[t.open_brace], text[t.close_brace], t.is_body) == ("{", "}", False)
    assert t.close_brace == text.index(" }\n  l") + 1
    inner = hcl.object_container(t.get("x.y"))
    assert [e.key for e in inner.entries] == ["name"]
    assert hcl.object_container(body.get("l")) is None
    assert hcl.object_container(body.get("v")) is None
    assert hcl.object_container(body.get("h")) is None


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ('"a\\nb"', "a\nb"),
        ("1.5", 1.5),
        ("true", True),
        ("null", None),
        ('[1, "b", [false]]', [1, "b", [False]]),
        ('{ "x.y" = { name = "y" }, z = [1] }', {"x.y": {"name": "y"}, "z": [1]}),
        # a real bug, once: keys starting with __ were dropped (python-hcl2 adds none to values)
        ('{ __x = 1, "__y" = 2 }', {"__x": 1, "__y": 2}),
    ],
)
def test_literals_read_as_python_values(source, value):
    assert hcl.literal(source) == value


@pytest.mark.parametrize(
    "source", ['"${var.x}"', "var.x", "{ a = var.b }", '[1, "x-${y}"]', "1 +", 'upper("a")']
)
def test_expressions_are_not_literals(source):
    with pytest.raises(hcl.NotLiteral) as raised:
        hcl.literal(source)
    assert str(raised.value) == source


def test_values_render_as_hcl():
    assert hcl.render(True) == "true" and hcl.render(False) == "false"
    assert hcl.render(None) == "null"
    assert hcl.render(3) == "3" and hcl.render(2.5) == "2.5"
    assert hcl.render('a "q" ${x} %{y}') == '"a \\"q\\" $${x} %%{y}"'
    assert hcl.render((1, [2, "b"])) == '[1, [2, "b"]]'
    assert hcl.render({"a": 1, "b-c": {"d e": [True]}}, "  ") == (
        '{\n    a = 1\n    b-c = {\n      "d e" = [true]\n    }\n  }'
    )
    assert hcl.render([{"a": 1}], "  ") == "[{\n    a = 1\n  }]"
    assert hcl.render({"a": 1}) == "{\n  a = 1\n}"
    with pytest.raises(TypeError) as refused:
        hcl.render(object())
    assert str(refused.value) == "cannot render object as HCL"


@pytest.mark.parametrize(
    ("key", "written"),
    [("name", "name"), ("_a-1", "_a-1"), ("shop.orders", '"shop.orders"'), ("1a", '"1a"')],
)
def test_keys_are_quoted_unless_identifiers(key, written):
    assert hcl.render_key(key) == written


def test_line_positions_and_indents():
    text = "ab\n  cd = 1\n\tx\nlast"
    assert [hcl.line_start(text, p) for p in (0, 2, 3, 7, len(text))] == [0, 0, 3, 3, 15]
    assert [hcl.line_end(text, p) for p in (0, 2, 3, 16)] == [3, 3, 12, len(text)]
    assert hcl.indent_of(text, text.index("cd")) == "  "
    assert hcl.indent_of(text, text.index("x")) == "\t"
    assert hcl.indent_of(text, text.index("= 1")) == "  "
    assert hcl.indent_of(text, 1) == ""
    assert hcl.line_end("\nab", 0) == 1  # an empty first line ends at once
    assert hcl.line_start("\nab", 2) == 1


def body(tmp_path: Path, text: str) -> hcl.Container:
    return load(tmp_path, main=text).resources["a.b"].body


def splice(text: str, s: hcl.Splice) -> str:
    return text[: s.start] + s.replacement + text[s.end :]


def test_an_entry_is_set_in_place_or_added_on_its_own_line(tmp_path):
    text = 'resource "a" "b" {\n    x = 1\n    y = { k = 1 }\n}\n'
    b = body(tmp_path, text)
    path = tmp_path / "main.tf"
    replaced = hcl.set_entry(text, path, b, "x", "2")
    assert (replaced.path, splice(text, replaced)) == (path, text.replace("x = 1", "x = 2"))
    added = hcl.set_entry(text, path, b, "new-key.z", "true")
    assert splice(text, added) == text.replace("}\n}", '}\n    "new-key.z" = true\n}')
    inline = hcl.object_container(b.get("y"))
    assert splice(text, hcl.set_entry(text, path, inline, "m", "2")) == text.replace(
        "k = 1 }", "k = 1, m = 2 }"
    )


def test_a_new_entry_takes_the_first_entrys_indent_else_the_braces_plus_two(tmp_path):
    text = 'resource "a" "b" {\n   a = 1\n  b = {\n  }\n  c = { d = 1\n  }\n}\n'
    b = body(tmp_path, text)
    assert hcl.entry_indent(text, b) == "   "
    assert hcl.entry_indent(text, hcl.object_container(b.get("b"))) == "    "
    assert hcl.entry_indent(text, hcl.object_container(b.get("c"))) == "    "


def test_a_one_line_block_cannot_take_another_attribute(tmp_path):
    text = '\n\nresource "a" "b" { x = 1 }\n'
    with pytest.raises(ModuleEditError) as refused:
        hcl.set_entry(text, tmp_path / "main.tf", body(tmp_path, text), "y", "2")
    assert str(refused.value) == (
        "main.tf:3: a block written on one line cannot take another attribute; write it over "
        "several lines first."
    )


def test_an_empty_one_line_object_takes_entries_between_its_braces(tmp_path):
    text = 'resource "a" "b" {\n  t = {}\n}\n'
    t = hcl.object_container(body(tmp_path, text).get("t"))
    path = tmp_path / "main.tf"
    assert splice(text, hcl.set_entry(text, path, t, "k", "1")) == text.replace("{}", "{ k = 1 }")
    (both,) = hcl.set_entries(text, path, t, [("k", "1"), ("l", "2")])
    assert splice(text, both) == text.replace("{}", "{ k = 1, l = 2 }")


def test_an_entry_is_removed_with_its_lines_or_with_its_comma(tmp_path):
    text = (
        'resource "a" "b" {\n  x = 1 # gone too\n  y = { k = 1 , m = 2 }\n'
        "  z = [1] // and this\n  w = 1 /* kept? no */\n  v = 1\n}\n"
    )
    b = body(tmp_path, text)
    path = tmp_path / "main.tf"
    assert splice(text, hcl.remove_entry(text, path, b.get("x"))) == text.replace(
        "  x = 1 # gone too\n", ""
    )
    assert splice(text, hcl.remove_entry(text, path, b.get("z"))) == text.replace(
        "  z = [1] // and this\n", ""
    )
    assert splice(text, hcl.remove_entry(text, path, b.get("w"))) == text.replace(
        "  w = 1 /* kept? no */\n", ""
    )
    y = hcl.object_container(b.get("y"))
    assert splice(text, hcl.remove_entry(text, path, y.get("k"))) == text.replace(
        "{ k = 1 , m = 2 }", "{  m = 2 }"
    )
    assert splice(text, hcl.remove_entry(text, path, y.get("m"))) == text.replace(
        "{ k = 1 , m = 2 }", "{ k = 1 ,  }"
    )


def test_comment_lines_directly_above_are_found_in_every_style():
    text = "x = 1\n\n# a\n// b\n/* c\n * d\n*/\nresource {}\n"
    assert hcl.comment_lines_above(text, text.index("resource")) == text.index("# a")
    assert hcl.comment_lines_above(text, text.index("resource") + 3) == text.index("# a")
    assert hcl.comment_lines_above("# top\nres {}", 6) == 0
    block = "x = 1\n/* a comment\n   over lines */\nres {}"
    assert hcl.comment_lines_above(block, block.index("res")) == block.index("/*")
    assert hcl.comment_lines_above("x = 1\nres {}", 6) == 6
    assert hcl.comment_lines_above("res {}", 0) == 0


def test_splices_keep_a_crlf_file_crlf_and_a_mixed_one_as_it_is(tmp_path):
    crlf, mixed = tmp_path / "a.tf", tmp_path / "b.tf"
    files = {crlf: "x\r\ny\r\n", mixed: "x\r\ny\n"}
    out = hcl.apply_splices(
        files, [hcl.Splice(crlf, 3, 3, "new\n"), hcl.Splice(mixed, 3, 3, "new\n")]
    )
    assert out == {crlf: "x\r\nnew\r\ny\r\n", mixed: "x\r\nnew\ny\n"}
    assert hcl.apply_splices(files, [hcl.Splice(crlf, 0, 1, "a\r\nb")]) == {crlf: "a\r\nb\r\ny\r\n"}


def test_splices_apply_from_the_end_insertions_at_one_point_in_order(tmp_path):
    path = tmp_path / "a.tf"
    splices = [
        hcl.Splice(path, 4, 4, "1"),
        hcl.Splice(path, 0, 1, "A"),
        hcl.Splice(path, 4, 4, "2"),
        hcl.Splice(path, 2, 3, ""),
    ]
    assert hcl.apply_splices({path: "abcdef", tmp_path / "x.tf": "x"}, splices) == {path: "Abd12ef"}
    with pytest.raises(ModuleEditError) as refused:
        hcl.apply_splices(
            {path: "abcdef"}, [hcl.Splice(path, 0, 3, ""), hcl.Splice(path, 2, 4, "")]
        )
    assert str(refused.value) == "overlapping edits in a.tf"


def test_only_a_block_that_was_aligned_is_aligned_again(tmp_path):
    aligned = 'resource "a" "b" {\n  x  = 1\n  yy = 2\n}\n'
    loose = 'resource "a" "c" {\n  x = 1\n  yy = 2\n}\n'
    module = load(tmp_path, main=aligned + loose)
    text = module.files[tmp_path / "main.tf"]
    b, c = module.resources["a.b"], module.resources["a.c"]
    splices = [
        hcl.set_entry(text, b.path, b.body, "longer", "3"),
        hcl.set_entry(text, c.path, c.body, "longer", "3"),
    ]
    out = hcl.apply_splices(module.files, splices, (b, c))[tmp_path / "main.tf"]
    assert out == (
        'resource "a" "b" {\n  x      = 1\n  yy     = 2\n  longer = 3\n}\n'
        'resource "a" "c" {\n  x = 1\n  yy = 2\n  longer = 3\n}\n'
    )


def test_an_entry_sharing_its_line_is_removed_alone(tmp_path):
    # `a` alone before but not after, `a` after `{` with a comment after: only the entry goes;
    # a tab before its comma takes the comma too (a real bug, once: `{ \t, b = 2 }`).
    text = (
        'resource "a" "b" {\n  t = {\n    a = 1, b = 2\n  }\n  u = { a = 1 # c\n    b = 2\n  }\n'
        "  w = { a = 1\t, b = 2 }\n}\n"
    )
    b = body(tmp_path, text)
    path = tmp_path / "main.tf"
    removed = {
        name: hcl.apply_splices(
            {path: text}, [hcl.remove_entry(text, path, hcl.object_container(b.get(name)).get("a"))]
        )[path]
        for name in "tuw"
    }
    assert removed == {
        "t": text.replace("    a = 1, b = 2\n", "     b = 2\n"),
        "u": text.replace("u = { a = 1 # c", "u = {  # c"),
        "w": text.replace("w = { a = 1\t, b = 2 }", "w = {  b = 2 }"),
    }


def test_two_aligned_blocks_of_one_file_are_both_aligned_again(tmp_path):
    # A shorter value in the first block moves the second: its span moves with it.
    text = (
        'resource "a" "b" {\n  x  = "1111111111111111111111111111111"\n  yy = 2\n}\n'
        'resource "a" "c" {\n  x  = 1\n  yy = 2\n}\n'
    )
    module = load(tmp_path, main=text)
    b, c = module.resources["a.b"], module.resources["a.c"]
    splices = [
        hcl.set_entry(text, b.path, b.body, "x", '"1"'),
        hcl.set_entry(text, c.path, c.body, "longer", "3"),
    ]
    out = hcl.apply_splices(module.files, splices, (b, c))[tmp_path / "main.tf"]
    assert out == (
        'resource "a" "b" {\n  x  = "1"\n  yy = 2\n}\n'
        'resource "a" "c" {\n  x      = 1\n  yy     = 2\n  longer = 3\n}\n'
    )
    widened = [
        hcl.set_entry(text, b.path, b.body, "longest", "4"),
        hcl.set_entry(text, c.path, c.body, "longer", "3"),
    ]
    out = hcl.apply_splices(module.files, widened, (b, c))[tmp_path / "main.tf"]
    assert out == (
        'resource "a" "b" {\n  x       = "1111111111111111111111111111111"\n  yy      = 2\n'
        "  longest = 4\n}\n"
        'resource "a" "c" {\n  x      = 1\n  yy     = 2\n  longer = 3\n}\n'
    )


def test_a_shorter_value_leaves_the_unaligned_block_after_it_alone(tmp_path):
    text = (
        'resource "a" "b" {\n  x  = "1111111111111111111111111111111"\n  yy = 2\n}\n'
        'resource "a" "c" {\n  x = 1\n  yy = 2\n}\n'
    )
    module = load(tmp_path, main=text)
    b, c = module.resources["a.b"], module.resources["a.c"]
    splices = [hcl.set_entry(text, b.path, b.body, "x", '"1"')]
    out = hcl.apply_splices(module.files, splices, (b, c))[tmp_path / "main.tf"]
    assert out == text.replace('"1111111111111111111111111111111"', '"1"')

"""Steps re-align a block the way `terraform fmt` does: each case's expected text is what
`terraform fmt` (1.x) wrote for the case's input, so align.realign is checked against Terraform
itself, quickly and without it (cases chosen by mutation testing of align.py)."""

from __future__ import annotations

import pytest

from migration_pipeline.terraform import align

# name: (input, what `terraform fmt` made of it)
FMT = {
    "run": (
        "locals {\n  a = 1\n  bbb = 2\n}\n",
        "locals {\n  a   = 1\n  bbb = 2\n}\n",
    ),
    "blank_breaks": (
        "locals {\n  a = 1\n  bbb = 2\n\n  cc = 3\n  d = 4\n}\n",
        "locals {\n  a   = 1\n  bbb = 2\n\n  cc = 3\n  d  = 4\n}\n",
    ),
    "comment_alone_breaks": (
        "locals {\n  a = 1\n  # note\n  bbb = 2\n}\n",
        "locals {\n  a = 1\n  # note\n  bbb = 2\n}\n",
    ),
    "opener_breaks": (
        "locals {\n  a = 1\n  obj = {\n    x = 1\n    yyy = 2\n  }\n  bbb = 2\n}\n",
        "locals {\n  a = 1\n  obj = {\n    x   = 1\n    yyy = 2\n  }\n  bbb = 2\n}\n",
    ),
    "trailing_comments": (
        "locals {\n  a = 1 # one\n  bbb = 22 # two\n  c = 333 // three\n}\n",
        "locals {\n  a   = 1   # one\n  bbb = 22  # two\n  c   = 333 // three\n}\n",
    ),
    "comment_run_only_commented": (
        "locals {\n  a = 1 # one\n  bbb = 22\n  c = 3 # three\n}\n",
        "locals {\n  a   = 1 # one\n  bbb = 22\n  c   = 3 # three\n}\n",
    ),
    "double_equal": (
        "locals {\n  a = b == c\n  bb = 1\n}\n",
        "locals {\n  a  = b == c\n  bb = 1\n}\n",
    ),
    "arrow": (
        "locals {\n  m = { for k, v in var.x : k => v }\n  bbb = 1\n}\n",
        "locals {\n  m   = { for k, v in var.x : k => v }\n  bbb = 1\n}\n",
    ),
    "compare_ops": (
        "locals {\n  a = var.x >= 1\n  bb = var.y <= 2\n  ccc = var.z != 3\n}\n",
        "locals {\n  a   = var.x >= 1\n  bb  = var.y <= 2\n  ccc = var.z != 3\n}\n",
    ),
    "string_with_equal_and_hash": (
        'locals {\n  a = "x = # y"\n  bbb = "// z"\n}\n',
        'locals {\n  a   = "x = # y"\n  bbb = "// z"\n}\n',
    ),
    "interpolation": (
        'locals {\n  a = "x${var.a == "#" ? "=" : "}"}y"\n  bbb = "${var.b}-${var.c}" # c\n  c = 1 # d\n}\n',
        'locals {\n  a   = "x${var.a == "#" ? "=" : "}"}y"\n  bbb = "${var.b}-${var.c}" # c\n  c   = 1                   # d\n}\n',
    ),
    "escaped_interpolation": (
        'locals {\n  a = "$${x} = %%{y}" # c\n  bbb = "a\\"b" # d\n  c = "$${" # e\n}\n',
        'locals {\n  a   = "$${x} = %%{y}" # c\n  bbb = "a\\"b"          # d\n  c   = "$${"           # e\n}\n',
    ),
    "heredoc": (
        "locals {\n  a = <<EOF\nfoo = bar\nx = 1\nEOF\n  bbb = 1\n}\n",
        "locals {\n  a   = <<EOF\nfoo = bar\nx = 1\nEOF\n  bbb = 1\n}\n",
    ),
    "indented_heredoc": (
        "locals {\n  a = <<-EOT\n    foo = bar\n    EOT\n  bbb = 1\n  c = 2\n}\n",
        "locals {\n  a   = <<-EOT\n    foo = bar\n    EOT\n  bbb = 1\n  c   = 2\n}\n",
    ),
    "heredoc_after_equal_with_bracket": (
        "locals {\n  a = [<<EOF\nx\nEOF\n  ]\n  bbb = 1\n}\n",
        "locals {\n  a = [<<EOF\nx\nEOF\n  ]\n  bbb = 1\n}\n",
    ),
    "block_comment_lines": (
        "locals {\n  a = 1\n  /* x = 1\n  yyy = 2 */\n  bbb = 2\n}\n",
        "locals {\n  a = 1\n  /* x = 1\n  yyy = 2 */\n  bbb = 2\n}\n",
    ),
    "block_comment_inner_attribute": (
        "locals {\n  a = 1\n  /* x = 1\n  yy = 2 */\n  bbb = 2\n  cc = 3\n}\n",
        "locals {\n  a = 1\n  /* x = 1\n  yy = 2 */\n  bbb = 2\n  cc  = 3\n}\n",
    ),
    "escaped_backslash": (
        'locals {\n  a = "x\\\\" # c\n  bbb = 1 # d\n}\n',
        'locals {\n  a   = "x\\\\" # c\n  bbb = 1     # d\n}\n',
    ),
    "trailing_spaces": (
        "locals {\n  a = 1   \n  bbb = 2\n}\n",
        "locals {\n  a   = 1\n  bbb = 2\n}\n",
    ),
    "heredoc_marker_ending_x": (
        "locals {\n  a = <<EOX\nfoo = bar\nEOX\n  bbb = 1\n  c = 2\n}\n",
        "locals {\n  a   = <<EOX\nfoo = bar\nEOX\n  bbb = 1\n  c   = 2\n}\n",
    ),
    "escaped_directive_with_hash": (
        'locals {\n  a = "%%{ # }"\n  bbb = 1\n}\n',
        'locals {\n  a   = "%%{ # }"\n  bbb = 1\n}\n',
    ),
    "directive_with_quotes": (
        'locals {\n  a = "%{if var.x == "#"}y%{endif}"\n  bbb = 1\n}\n',
        'locals {\n  a   = "%{if var.x == "#"}y%{endif}"\n  bbb = 1\n}\n',
    ),
    "interpolation_inside_brackets": (
        'locals {\n  a = ["x${var.x}"]\n  bbb = 1\n}\n',
        'locals {\n  a   = ["x${var.x}"]\n  bbb = 1\n}\n',
    ),
    "interpolation_holding_a_quoted_hash": (
        'locals {\n  a = "x${"#"}y" # c\n  bbb = 1 # d\n}\n',
        'locals {\n  a   = "x${"#"}y" # c\n  bbb = 1          # d\n}\n',
    ),
    "empty_block_comment": (
        "locals {\n  a = /**/ 1\n  bbb = 2\n}\n",
        "locals {\n  a   = /**/ 1\n  bbb = 2\n}\n",
    ),
    "bracket_between_inline_comments": (
        "locals {\n  a = /* x */ [/* y */ 1]\n  bbb = 2\n}\n",
        "locals {\n  a   = /* x */ [/* y */ 1]\n  bbb = 2\n}\n",
    ),
    "trailing_block_comment_aligned": (
        "locals {\n  a = /* c */ 1\n  bbb = 22 /* tail */\n  c = 3 # x\n}\n",
        "locals {\n  a   = /* c */ 1\n  bbb = 22 /* tail */\n  c   = 3 # x\n}\n",
    ),
    "inline_comment_then_trailing": (
        "locals {\n  a = /* x */ 1 # d\n  bbb = 22 # e\n}\n",
        "locals {\n  a   = /* x */ 1 # d\n  bbb = 22        # e\n}\n",
    ),
    "comment_in_inline_comment": (
        "locals {\n  a = /* # */ 1\n  bbb = 22 # z\n}\n",
        "locals {\n  a   = /* # */ 1\n  bbb = 22 # z\n}\n",
    ),
    "heredoc_in_a_list": (
        "locals {\n  a = [\n    <<EOF\nx = 1\nEOF\n  ]\n  bbb = 1\n  c = 2\n}\n",
        "locals {\n  a = [\n    <<EOF\nx = 1\nEOF\n  ]\n  bbb = 1\n  c   = 2\n}\n",
    ),
    "comparisons_are_no_assignments": (
        "locals {\n  a = [\n    var.b == 1,\n    var.cc == 2,\n    var.d != 3,\n    var.ee <= 4,\n    var.f >= 5,\n  ]\n  bbb = 2\n}\n",
        "locals {\n  a = [\n    var.b == 1,\n    var.cc == 2,\n    var.d != 3,\n    var.ee <= 4,\n    var.f >= 5,\n  ]\n  bbb = 2\n}\n",
    ),
    "two_inline_block_comments": (
        "locals {\n  a = /* x */ 1 /* y */\n  bbb = 2 # z\n}\n",
        "locals {\n  a   = /* x */ 1 /* y */\n  bbb = 2 # z\n}\n",
    ),
    "opener_with_a_comment": (
        "locals {\n  a = 1 # x\n  bbbb = { # y\n    c = 1\n  }\n}\n",
        "locals {\n  a = 1    # x\n  bbbb = { # y\n    c = 1\n  }\n}\n",
    ),
    "opener_with_a_comment_short": (
        "locals {\n  aaaaaaa = 1 # x\n  b = { # y\n    c = 1\n  }\n}\n",
        "locals {\n  aaaaaaa = 1 # x\n  b = {       # y\n    c = 1\n  }\n}\n",
    ),
    "block_comment_inline": (
        "locals {\n  a = /* c */ 1\n  bbb = 2 /* tail */\n  c = 3 # x\n}\n",
        "locals {\n  a   = /* c */ 1\n  bbb = 2 /* tail */\n  c   = 3 # x\n}\n",
    ),
    "multiline_list": (
        "locals {\n  a = [\n    1,\n  ]\n  bbb = 2\n}\n",
        "locals {\n  a = [\n    1,\n  ]\n  bbb = 2\n}\n",
    ),
    "one_line_object": (
        "locals {\n  a = { x = 1 }\n  bbb = 2\n}\n",
        "locals {\n  a   = { x = 1 }\n  bbb = 2\n}\n",
    ),
    "nested_brackets_closed": (
        "locals {\n  a = f([1], { b = 2 })\n  bbb = 2\n}\n",
        "locals {\n  a   = f([1], { b = 2 })\n  bbb = 2\n}\n",
    ),
    "crlf": (
        "locals {\r\n  a = 1\r\n  bbb = 2 # c\r\n}\r\n",
        "locals {\r\n  a   = 1\r\n  bbb = 2 # c\r\n}\r\n",
    ),
}


@pytest.mark.parametrize("name", FMT)
def test_realign_does_what_terraform_fmt_does(name):
    before, formatted = FMT[name]
    assert align.realign(before) == formatted
    assert align.is_aligned(formatted)
    assert align.is_aligned(before) == (before == formatted)


def test_an_interpolated_string_is_a_one_line_attribute():
    # A real bug, once: `${...}` after `=` left the line out of the run, so `name = "${var.env}-x"`
    # broke the alignment of its block and fmt's own output was taken as not aligned.
    assert align.realign('  name = "${var.env}-x"\n  b = 1\n') == (
        '  name = "${var.env}-x"\n  b    = 1\n'
    )


def test_a_comment_at_the_start_of_a_line_is_no_attribute():
    text = "locals {\n# x = 1\n  a = 1\n  bbb = 2\n}\n"
    assert align.realign(text) == "locals {\n# x = 1\n  a   = 1\n  bbb = 2\n}\n"


def test_only_attribute_equals_signs_move():
    # `=>` and the text after an inline comment are not attributes (checked without fmt, which
    # would also respace them).
    arrow = "  m = {\n    for k, v in var.x :\n    k  => v\n  }\n"
    assert align.realign(arrow) == arrow
    inline = '  a = /* c */["#"]\n  bbb = 2\n'
    assert align.realign(inline) == '  a   = /* c */["#"]\n  bbb = 2\n'


def test_a_trailing_block_comment_is_not_aligned_as_fmt_does():
    # A real bug, once: a trailing /* */ comment was aligned with `#` comments; fmt does not.
    text = "  a = 1 /* x */\n  bbb = 22 # y\n"
    assert align.realign(text) == "  a   = 1 /* x */\n  bbb = 22 # y\n"

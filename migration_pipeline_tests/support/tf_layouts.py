"""Generated Terraform module layouts (hypothesis strategies) and a step run on one, as the
layout property tests (unit and with terraform's own parser) use them."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from hypothesis import strategies as st

from migration_pipeline.terraform import edits, hcl

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
SPACE = st.sampled_from([" ", "  ", "\t", "   "])
NOISE = st.sampled_from(
    [
        "# a comment\n",
        "// another comment\n",
        "/* block\n   comment */\n",
        "\n",
        "\n\n",
        'resource "terraform_data" "noise" {\n  input = <<-EOT\n    } { " tricky\n  EOT\n}\n',
        'locals {\n  m = { "quoted key" = 1, bare = "}" }   # trailing\n}\n',
    ]
)


@st.composite
def tables_map(draw, indent: str) -> tuple[str, set[str]]:
    names = draw(st.lists(NAMES, min_size=1, max_size=25, unique=True))
    lines, keys = [], set()
    for name in names:
        schema = draw(st.sampled_from(["", "shop"]))
        key = f"{schema}.{name}" if schema else name
        quoted = f'"{key}"' if schema or draw(st.booleans()) else key
        value = f'{{ name = "{name}"' + (f', schema = "{schema}"' if schema else "") + " }"
        if draw(st.booleans()):
            value = value.replace("{ ", "{\n" + indent * 3).replace(", ", "\n" + indent * 3)
            value = value.replace(" }", "\n" + indent * 2 + "}")
        lines.append(
            f"{indent * 2}{quoted}{draw(SPACE)}={draw(SPACE)}{value}"
            + draw(st.sampled_from(["", "   # note"]))
            + "\n"
        )
        keys.add(key)
    return f"{{\n{''.join(lines)}{indent}}}", keys


@st.composite
def modules(draw) -> tuple[dict[str, str], set[str]]:
    indent = draw(st.sampled_from(["  ", "    ", "\t"]))
    tables, keys = draw(tables_map(indent))
    reader_attrs = [
        f'name{draw(SPACE)}= "r"',
        "connector_uuid = artie_connector.mysql.uuid",
        draw(st.sampled_from(["is_shared = false", "# not shared", ""])),
    ]
    pipeline_attrs = [
        'name = "old"',
        "source_reader_uuid = artie_source_reader.mysql.uuid",
        "destination_connector_uuid = artie_connector.snowflake.uuid",
        'destination_config = {\n  database = "a"\n  schema = "b"\n}'.replace("\n", "\n" + indent),
        f"tables = {tables}",
    ]
    reader_attrs = draw(st.permutations(reader_attrs))
    pipeline_attrs = draw(st.permutations(pipeline_attrs))
    blocks = [
        'resource "artie_source_reader" "mysql" {\n'
        + "".join(f"{indent}{a}\n" for a in reader_attrs if a)
        + "}\n",
        draw(st.sampled_from(["", "# old pipeline\n"]))
        + 'resource "artie_pipeline" "orders_snowflake" {\n'
        + "".join(f"{indent}{a}\n" for a in pipeline_attrs)
        + "}\n",
    ]
    pieces = []
    for block in blocks:
        pieces += draw(st.lists(NOISE, max_size=3)) + [block]
    pieces += draw(st.lists(NOISE, max_size=3))
    cut = draw(st.integers(0, len(pieces)))
    return {"a.tf": "".join(pieces[:cut]), "b.tf": "".join(pieces[cut:])}, keys


def aligned_alike(text: str) -> list[str]:
    """Lines with the spaces before `=` and comments collapsed: a step re-aligns the block it
    edits when it was aligned the way `terraform fmt` aligns it."""
    return [re.sub(r"[ \t]+(=|#|//)", r" \1", line) for line in text.splitlines(True)]


def only(tag: str, before: str, after: str) -> list[str]:
    """The lines `after` adds (tag insert) or drops (tag delete); fails on any other change."""
    before_lines, after_lines = aligned_alike(before), aligned_alike(after)
    ops = difflib.SequenceMatcher(None, before_lines, after_lines, autojunk=False).get_opcodes()
    changed = [op for op in ops if op[0] != "equal"]
    assert {op[0] for op in changed} <= {tag}, changed
    lines = after_lines if tag == "insert" else before_lines
    return [
        line
        for op in changed
        for line in lines[
            (op[3] if tag == "insert" else op[1]) : (op[4] if tag == "insert" else op[2])
        ]
    ]


def run(step, directory: Path, spec, *extra) -> dict[Path, tuple[str, str]]:
    module = hcl.load_module(directory)
    edit = getattr(edits, step)(module, spec, *extra)
    for path, text in edit.files.items():
        path.write_bytes(text.encode())
    return {p: (module.files[p], t) for p, t in edit.files.items()}

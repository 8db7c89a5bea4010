"""Locates resources in a module's .tf files and splices text so every other byte is kept.

python-hcl2's parse tree gives the position of every block, attribute and object element; we
read with it and write by splicing the original text. Its dict and reconstruct round trips
drop comments or change whitespace, so no file is ever written back from them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import hcl2
from lark import Token, Tree

from migration_pipeline.errors import ModuleEditError
from migration_pipeline.terraform import align

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Entry:
    """An attribute of a block body or an element of an object literal, with its spans."""

    key: str
    start: int
    end: int
    value_start: int
    value_end: int
    value: Tree | Token = field(repr=False, compare=False)


@dataclass(frozen=True)
class Container:
    """A block body or an object literal: its entries and where its braces are."""

    open_brace: int
    close_brace: int
    entries: tuple[Entry, ...]
    is_body: bool = False  # a block body takes one attribute per line, never commas

    def get(self, key: str) -> Entry | None:
        return next((e for e in self.entries if e.key == key), None)


@dataclass(frozen=True)
class ResourceBlock:
    """One `resource "type" "name" { ... }` block of a file of the module."""

    path: Path
    type: str
    name: str
    start: int
    end: int
    body: Container

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"


@dataclass(frozen=True)
class Module:
    """The .tf files of a root module (text as read) and the resources declared in them."""

    directory: Path
    files: dict[Path, str]
    resources: dict[str, ResourceBlock]
    module_calls: tuple[str, ...]
    outputs: dict[str, ResourceBlock] = field(default_factory=dict)

    def text(self, block: ResourceBlock) -> str:
        return self.files[block.path][block.start : block.end]


def load_module(directory: Path) -> Module:
    """Parse every `*.tf` file of `directory` (not subfolders: those are other modules)."""
    files: dict[Path, str] = {}
    resources: dict[str, ResourceBlock] = {}
    calls: list[str] = []
    outputs: dict[str, ResourceBlock] = {}
    for path in sorted(Path(directory).glob("*.tf")):
        text = path.read_bytes().decode()  # not read_text: it would turn CRLF into LF
        files[path] = text
        try:
            tree = hcl2.parses_to_tree(text)
        except Exception as e:  # lark raises several unrelated types for syntax errors
            raise ModuleEditError(f"{path.name} is not valid HCL: {e}") from e
        for block in _top_blocks(tree):
            labels = _labels(block)
            if labels[:1] == ["module"] and len(labels) == 2:
                calls.append(labels[1])
            if labels[:1] == ["output"] and len(labels) == 2:
                labels = ["output", "output", labels[1]]
            elif labels[:1] != ["resource"] or len(labels) != 3:
                continue
            res = ResourceBlock(
                path=path,
                type=labels[1],
                name=labels[2],
                start=block.meta.start_pos,
                end=block.meta.end_pos,
                body=_body_container(block),
            )
            (outputs if labels[0] == "output" else resources)[res.address] = res
    return Module(Path(directory), files, resources, tuple(calls), outputs)


def parse_block(text: str) -> ResourceBlock:
    """A lone resource block's text (e.g. one being generated), positions relative to it."""
    block = _top_blocks(hcl2.parses_to_tree(text + "\n"))[0]
    labels = _labels(block)
    return ResourceBlock(
        Path("<generated>"), labels[1], labels[2], 0, len(text), _body_container(block)
    )


def _top_blocks(tree: Tree) -> list[Tree]:
    body = tree.children[0]
    return [c for c in body.children if isinstance(c, Tree) and c.data == "block"]


def _labels(block: Tree) -> list[str]:
    labels = []
    for child in block.children:
        if isinstance(child, Tree) and child.data == "identifier":
            labels.append(str(child.children[0]))
        elif isinstance(child, Tree) and child.data == "string":
            labels.append("".join(str(t) for t in child.scan_values(lambda _: True))[1:-1])
        elif isinstance(child, Token) and child.type == "LBRACE":
            break
    return labels


def _body(block: Tree) -> Tree:
    return next(c for c in block.children if isinstance(c, Tree) and c.data == "body")


def _body_container(block: Tree) -> Container:
    lbrace = next(c for c in block.children if isinstance(c, Token) and c.type == "LBRACE")
    rbrace = next(c for c in block.children if isinstance(c, Token) and c.type == "RBRACE")
    entries = []
    for attr in _body(block).children:
        if isinstance(attr, Tree) and attr.data == "attribute":
            ident, _eq, value = attr.children
            entries.append(
                Entry(
                    str(ident.children[0]),
                    attr.meta.start_pos,
                    _trim_end(attr.meta.end_pos, value),
                    value.meta.start_pos,
                    _trim_end(value.meta.end_pos, value),
                    value,
                )
            )
    return Container(lbrace.start_pos, rbrace.start_pos, tuple(entries), is_body=True)


def _trim_end(end: int, value: Tree) -> int:
    # A heredoc's span includes the newline after its closing marker; keep that newline
    # outside the entry so line-based edits see the same shape for every value.
    if any(
        isinstance(t, Token) and t.type.startswith("HEREDOC")
        for t in value.scan_values(lambda _: True)
    ):
        return end - 1
    return end


def object_container(entry: Entry) -> Container | None:
    """The object literal that is `entry`'s value, or None when the value is anything else."""
    node = entry.value
    while isinstance(node, Tree) and node.data == "expr_term" and len(node.children) == 1:
        node = node.children[0]
    if not (isinstance(node, Tree) and node.data == "object"):
        return None
    entries = []
    for elem in node.children:
        if isinstance(elem, Tree) and elem.data == "object_elem":
            key_node, _eq, value = elem.children
            key = _key_text(key_node)
            entries.append(
                Entry(
                    key,
                    elem.meta.start_pos,
                    _trim_end(elem.meta.end_pos, value),
                    value.meta.start_pos,
                    _trim_end(value.meta.end_pos, value),
                    value,
                )
            )
    return Container(node.meta.start_pos, node.meta.end_pos - 1, tuple(entries))


def _key_text(key_node: Tree) -> str:
    raw = "".join(str(t) for t in key_node.scan_values(lambda _: True))
    return json.loads(raw) if raw.startswith('"') else raw


class NotLiteral(ValueError):
    """The expression refers to variables, resources or functions: only Terraform knows it."""


def literal(source: str):
    """The Python value of an HCL literal (strings, numbers, bools, null, lists, objects)."""
    try:
        parsed = hcl2.loads(f"v = {source}\n")["v"]
    except Exception as e:
        raise NotLiteral(source) from e
    return _unwrap(parsed, source)


def _unwrap(value, source: str):
    if isinstance(value, str):
        if value.startswith('"') and value.endswith('"') and "${" not in value:
            return json.loads(value)
        raise NotLiteral(source)
    if isinstance(value, list):
        return [_unwrap(v, source) for v in value]
    if isinstance(value, dict):
        return {
            (json.loads(k) if k.startswith('"') else k): _unwrap(v, source)
            for k, v in value.items()
        }
    return value


def render(value, indent: str = "") -> str:
    """HCL text for a Python value; objects span several lines indented under `indent`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value).replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(render(v, indent) for v in value) + "]"
    if isinstance(value, dict):
        inner = indent + "  "
        lines = [f"{inner}{render_key(k)} = {render(v, inner)}" for k, v in value.items()]
        return "{\n" + "\n".join(lines) + f"\n{indent}}}"
    raise TypeError(f"cannot render {type(value).__name__} as HCL")


def render_key(key: str) -> str:
    return key if _IDENT.match(key) else json.dumps(key)


def line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def line_end(text: str, pos: int) -> int:
    """Index just past the newline that ends the line holding `pos` (or the end of text)."""
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl + 1


def indent_of(text: str, pos: int) -> str:
    start = line_start(text, pos)
    return text[start : start + len(text[start:pos]) - len(text[start:pos].lstrip())]


def entry_indent(text: str, container: Container) -> str:
    if container.entries and _alone_before(text, container.entries[0].start):
        return indent_of(text, container.entries[0].start)
    return indent_of(text, container.open_brace) + "  "


def _alone_before(text: str, pos: int) -> bool:
    return text[line_start(text, pos) : pos].strip() == ""


@dataclass(frozen=True)
class Splice:
    """Replace `text[start:end]` of one file with `replacement`."""

    path: Path
    start: int
    end: int
    replacement: str


def set_entry(text: str, path: Path, container: Container, key: str, value_text: str) -> Splice:
    """Set `key` in a body or object: replace the value in place, or add a line before `}`."""
    existing = container.get(key)
    if existing is not None:
        return Splice(path, existing.value_start, existing.value_end, value_text)
    close = container.close_brace
    if _alone_before(text, close):
        at = line_start(text, close)
        line = f"{entry_indent(text, container)}{render_key(key)} = {value_text}\n"
        return Splice(path, at, at, line)
    if container.is_body:  # Terraform only allows this shape for a one-line block
        raise ModuleEditError(
            f"{path.name}:{text.count(chr(10), 0, close) + 1}: a block written on one line "
            "cannot take another attribute; write it over several lines first."
        )
    if not container.entries:
        return Splice(path, close, close, f" {render_key(key)} = {value_text} ")
    at = container.entries[-1].end
    return Splice(path, at, at, f", {render_key(key)} = {value_text}")


def set_entries(
    text: str, path: Path, container: Container, items: list[tuple[str, str]]
) -> list[Splice]:
    """`set_entry` for several keys of one container. An empty object written on one line takes
    them in one splice, comma-separated (several splices would leave no separator between them,
    which Terraform rejects)."""
    if len(items) > 1 and not container.entries and not _alone_before(text, container.close_brace):
        if not container.is_body:
            added = ", ".join(f"{render_key(key)} = {value}" for key, value in items)
            return [Splice(path, container.close_brace, container.close_brace, f" {added} ")]
    return [set_entry(text, path, container, key, value) for key, value in items]


def remove_entry(text: str, path: Path, entry: Entry) -> Splice:
    """Remove an entry: its whole lines when it stands alone on them, else just its text."""
    after = text[entry.end : line_end(text, entry.end)]
    if _alone_before(text, entry.start) and (after.strip() == "" or after.lstrip()[:1] in "#/"):
        return Splice(path, line_start(text, entry.start), line_end(text, entry.end), "")
    end = entry.end
    rest = text[end:]
    gap = len(rest) - len(rest.lstrip(" \t"))  # spaces or tabs before its comma
    if rest[gap : gap + 1] == ",":
        end += gap + 1
    return Splice(path, entry.start, end, "")


def comment_lines_above(text: str, pos: int) -> int:
    """Start of the run of comment lines directly above the line holding `pos`."""
    start = line_start(text, pos)
    while start > 0:
        prev = line_start(text, start - 1)
        line = text[prev:start].strip()
        if not (line.startswith(("#", "//", "/*", "*")) or line.endswith("*/")):
            break
        start = prev
    return start


def apply_splices(
    files: dict[Path, str], splices: list[Splice], blocks: tuple[ResourceBlock, ...] = ()
) -> dict[Path, str]:
    """The new text of every file a splice touches; splices in one file must not overlap.

    Each of `blocks` whose `=` signs and comments were aligned as `terraform fmt` aligns them
    is aligned again after the splices (only spaces inside it move); a block that was not
    keeps every byte the splices do not replace.
    """
    out: dict[Path, str] = {}
    by_path: dict[Path, list[Splice]] = {}
    for s in splices:
        by_path.setdefault(s.path, []).append(s)
    for path, items in by_path.items():
        text = files[path]
        crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
        spans = [
            (line_start(text, b.start), line_end(text, b.end)) for b in blocks if b.path == path
        ]
        spans = [(a, z) for a, z in spans if align.is_aligned(text[a:z])]
        last = len(text) + 1
        # Reverse order keeps earlier offsets valid; insertions at one point keep their order.
        ordered = sorted(enumerate(items), key=lambda p: (p[1].start, p[1].end, p[0]))
        for _, s in reversed(ordered):
            if s.end > last:
                raise ModuleEditError(f"overlapping edits in {path.name}")
            new = (
                s.replacement.replace("\r\n", "\n").replace("\n", "\r\n")
                if crlf
                else (s.replacement)
            )
            text = text[: s.start] + new + text[s.end :]
            last = s.start
            delta = len(new) - (s.end - s.start)
            spans = [(a + delta * (s.start < a), z + delta * (s.start < z)) for a, z in spans]
        for a, z in sorted(spans, reverse=True):
            text = text[:a] + align.realign(text[a:z]) + text[z:]
        out[path] = text
    return out

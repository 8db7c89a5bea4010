"""Aligns `=` signs and trailing comments of a span of HCL lines the way `terraform fmt` does.

`terraform fmt` (hclwrite) lines up the `=` of consecutive one-line attributes and the trailing
comments of consecutive commented lines; a line without one (blank, a comment alone, `x = {`
opening a multi-line value) ends the run. Only the spaces before `=` and before a trailing
comment change here, so re-aligning a block a step touched keeps every other byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)")
_OPEN, _CLOSE = "([{", ")]}"


@dataclass(frozen=True)
class _Line:
    """One line split into cells: `lead` (up to `=`), `assign` (from `=`), `comment`."""

    lead: str
    assign: str | None
    comment: str | None
    rest: str  # what follows the comment (the newline), or the tail of a line left as it is
    in_heredoc: bool = False  # terraform sees a heredoc as part of the line that opens it


def _split(line: str, state: dict) -> _Line:
    """Cells of one line; `state` carries an open heredoc or block comment to the next line."""
    if state.get("heredoc"):
        if line.strip() == state["heredoc"]:
            state["heredoc"] = None
        return _Line("", None, None, line, in_heredoc=True)
    if state.get("block_comment"):
        if "*/" in line:
            state["block_comment"] = False
        return _Line("", None, None, line)
    body = line.rstrip("\r\n")
    eol = line[len(body) :]
    equal = comment = heredoc = None
    stack: list[str] = []  # "code" / "string" modes of template interpolations
    mode, i, net_from_equal = "code", 0, 0
    while i < len(body):
        ch, two = body[i], body[i : i + 2]
        if mode == "string":
            if ch == "\\":
                i += 2
                continue
            if body[i : i + 3] in ("$${", "%%{"):  # escaped: literal text, no interpolation
                i += 3
                continue
            if two in ("${", "%{"):
                stack.append("string")
                mode = "code"
                net_from_equal += equal is not None
                i += 2
                continue
            if ch == '"':
                mode = stack.pop() if stack and stack[-1] == "code" else "code"
            i += 1
            continue
        if ch == '"':
            stack.append("code")
            mode = "string"
        elif ch == "#" or two == "//":
            comment = i
            break
        elif two == "/*":
            end = body.find("*/", i + 2)
            if end < 0:
                state["block_comment"] = True
                return _Line("", None, None, line)
            i = end + 2  # terraform fmt aligns `#` and `//` comments, never a `/* */` one
            continue
        elif two == "<<" and (m := _HEREDOC.match(body, i)):
            heredoc = m[1]
            if equal is not None:
                break  # terraform counts brackets only up to the heredoc's opening
            i = m.end()
            continue
        elif ch in _OPEN:
            net_from_equal += equal is not None
        elif ch in _CLOSE:
            if ch == "}" and stack and stack[-1] == "string":
                stack.pop()
                mode = "string"
                net_from_equal -= equal is not None  # the interpolation opened after `=`
            elif equal is not None:
                net_from_equal -= 1
        elif (
            ch == "="
            and equal is None
            and body[i - 1 : i] not in ("=", "!", "<", ">")
            and (body[i + 1 : i + 2] not in ("=", ">"))
            and body[:i].strip()
        ):
            equal = i
        i += 1
    if heredoc:
        state["heredoc"] = heredoc
    code = body if comment is None else body[:comment]
    text_comment = None if comment is None else body[comment:]
    if text_comment is not None and not code.strip():
        return _Line("", None, None, line)  # a comment alone on its line
    if equal is not None and net_from_equal == 0:
        return _Line(code[:equal].rstrip(), code[equal:].rstrip(), text_comment, eol)
    return _Line(code.rstrip(), None, text_comment, eol)


def realign(text: str) -> str:
    """`text` (whole lines of HCL) with `=` and trailing comments aligned as terraform fmt does."""
    state: dict = {}
    lines = [_split(raw, state) for raw in text.splitlines(keepends=True)]
    pads: dict[int, int] = {}
    chain: list[int] = []

    def close_assign() -> None:
        width = max(len(lines[j].lead) for j in chain)
        for j in chain:
            pads[j] = width - len(lines[j].lead) + 1
        chain.clear()

    for j, line in enumerate(lines):
        if line.in_heredoc:
            continue
        if line.assign is None:
            if chain:
                close_assign()
        else:
            chain.append(j)
    if chain:
        close_assign()

    def width(j: int) -> int:
        line = lines[j]
        return len(line.lead) + (pads[j] + len(line.assign) if line.assign else 0)

    comment_pads: dict[int, int] = {}
    for j, line in enumerate([*lines, None]):
        if line is None or line.comment is None or not (line.lead or line.assign):
            if chain:
                most = max(width(k) for k in chain)
                comment_pads.update({k: most - width(k) + 1 for k in chain})
                chain.clear()
        else:
            chain.append(j)
    out = []
    for j, line in enumerate(lines):
        if not (line.lead or line.assign or line.comment):
            out.append(line.rest)
            continue
        parts = [line.lead]
        if line.assign is not None:
            parts.append(" " * pads[j] + line.assign)
        if line.comment is not None:
            parts.append(" " * comment_pads.get(j, 1) + line.comment)
        out.append("".join(parts) + line.rest)
    return "".join(out)


def is_aligned(text: str) -> bool:
    """True when `terraform fmt` would move no `=` and no trailing comment of `text`."""
    return realign(text) == text

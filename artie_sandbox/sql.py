"""SQL text for the sandbox (SQLite and DuckDB): identifiers enter SQL only through `ident`.

The same convention as the product's validation engine, written again here because the sandbox
never imports the product: `ident` quotes a name, `compose` fills a `{name}` template of the
sandbox with fragments that are already `Sql`, and anything else pasted in is refused. Values
always travel as query parameters.
"""

from __future__ import annotations

from collections.abc import Iterable


class Sql(str):
    """SQL text known to be safe: a template of the sandbox, or built by the functions below."""


def ident(name: str) -> Sql:
    """The one quoting function for identifiers (tables, columns, schemas); SQLite and DuckDB
    share the double-quote rules."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ValueError(f"not a usable SQL identifier: {name!r}")
    return Sql('"' + name.replace('"', '""') + '"')


def qualified(*parts: str) -> Sql:
    """A dotted name such as schema.table, every part quoted."""
    return Sql(".".join(ident(part) for part in parts))


def literal(text: str) -> Sql:
    """A string constant for engine-built text such as a JSON path (never a user's value)."""
    if "\x00" in text:
        raise ValueError("a SQL string literal cannot hold a NUL character")
    return Sql("'" + text.replace("'", "''") + "'")


def join(parts: Iterable[Sql], separator: str = ", ") -> Sql:
    """Safe fragments joined by `separator` (a comma by default)."""
    items = list(parts)
    for item in items:
        _require_sql(item, "part")
    return Sql(separator.join(items))


def compose(template: str, **parts: Sql) -> Sql:
    """Fill a `{name}` template of the sandbox with fragments that are already safe SQL."""
    for name, part in parts.items():
        _require_sql(part, name)
    return Sql(template.format(**parts))


def _require_sql(part: object, name: str) -> None:
    if not isinstance(part, Sql):
        raise TypeError(
            f"{name} must be built with ident()/literal()/join()/compose(), not pasted raw"
        )

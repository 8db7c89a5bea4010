"""SQL text for the validation engine: identifiers and literals enter only through these functions."""

from __future__ import annotations

from collections.abc import Iterable


class Sql(str):
    """SQL text known to be safe: a template of this package, or built by the functions below."""


def ident(name: str) -> Sql:
    """The one quoting function for identifiers (tables, columns, schemas, catalogs)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ValueError(f"not a usable SQL identifier: {name!r}")
    return Sql('"' + name.replace('"', '""') + '"')


def qualified(*parts: str) -> Sql:
    """A dotted name such as catalog.schema.table, every part quoted."""
    return Sql(".".join(ident(part) for part in parts))


def literal(value: str | int) -> Sql:
    """A constant for the few statements that take no parameters (SET, PRAGMA)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"no SQL literal for {type(value).__name__}")
    if isinstance(value, int):
        return Sql(str(value))
    if "\x00" in value:
        raise ValueError("a SQL string literal cannot hold a NUL character")
    return Sql("'" + value.replace("'", "''") + "'")


def join(parts: Iterable[Sql], separator: str = ", ") -> Sql:
    items = list(parts)
    for item in items:
        _require_sql(item, "part")
    return Sql(separator.join(items))


def compose(template: str, **parts: Sql) -> Sql:
    """Fill a `{name}` template of this package with fragments that are already safe SQL."""
    for name, part in parts.items():
        _require_sql(part, name)
    return Sql(template.format(**parts))


def _require_sql(part: object, name: str) -> None:
    if not isinstance(part, Sql):
        raise TypeError(f"{name} must be built with ident()/literal()/compose(), not pasted raw")

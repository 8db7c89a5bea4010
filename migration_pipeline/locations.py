"""Where a destination lives: a DuckDB file path, or a MotherDuck database named `md:<name>`."""

from __future__ import annotations

MOTHERDUCK_PREFIXES = ("md:", "motherduck:")


def is_motherduck(location: str) -> bool:
    """A MotherDuck name (`md:` or `motherduck:`) rather than a DuckDB file path."""
    return location.startswith(MOTHERDUCK_PREFIXES)


def motherduck(database: str) -> str:
    """The location of the MotherDuck database `database` (kept as is when already one)."""
    return database if is_motherduck(database) else f"md:{database}"

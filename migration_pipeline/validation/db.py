"""DuckDB for the validation engine: the engine's extension module, without the package's Python
layer.

duckdb 2's package is a Python layer (relations, an expression builder, a version lookup through
importlib.metadata) over the extension module `_duckdb`, whose classes and functions it re-exports
as they are (`duckdb.connect is _duckdb.connect`). The validation uses only connections,
statements, results and exceptions, all the extension's own, while importing the layer costs
about 50 ms of every `migration-pipeline validate` process (0.1 s on a loaded machine): a sixth of
an incremental validation. Where the extension module is not importable by that name (duckdb
1.x keeps it inside the package), the package is used.
"""

try:
    import _duckdb as duckdb
except ImportError:  # pragma: no cover - duckdb < 2
    import duckdb

__all__ = ["duckdb"]

"""`migration-pipeline validate` stays quick: it loads neither Dagster nor the sandbox, and
each command imports only what it uses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
from migration_pipeline.cli import main
code = main({argv!r})
loaded = sorted({{m.split(".")[0] for m in sys.modules}})
print(json.dumps({{"code": code, "loaded": loaded}}), file=sys.stderr)
"""


def loaded_by(argv: list[str]) -> tuple[int, set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, timeout=120
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    return report["code"], set(report["loaded"])


@pytest.mark.parametrize("argv", [["validate", "--help"], ["--help"]])
def test_validate_help_loads_neither_dagster_duckdb_nor_the_sandbox(argv):
    code, loaded = loaded_by(argv)
    assert code == 0
    assert not loaded & {
        "dagster",
        "duckdb",
        "artie_sandbox",
        "sandbox_demo",
        "python_terraform",
        "hcl2",
    }


def test_status_help_does_load_dagster():
    """The probe above can see Dagster when a command does import it."""
    code, loaded = loaded_by(["status", "--help"])
    assert code == 0 and "dagster" in loaded and "artie_sandbox" not in loaded


def test_a_validation_runs_on_duckdbs_extension_without_the_package_layer(tmp_path):
    """A whole validation (with its history) imports DuckDB's extension module only: the
    package's Python layer is ~50 ms of every run (migration_pipeline/validation/db.py)."""
    import duckdb

    for name in ("old", "new"):
        with duckdb.connect(str(tmp_path / f"{name}.duckdb")) as con:
            con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR)")
            con.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    code, loaded = loaded_by(["validate", "--old", str(tmp_path / "old.duckdb"), "--new",
                              str(tmp_path / "new.duckdb"), "--state-dir", str(tmp_path / "s")])  # fmt: skip
    assert code == 0
    assert "_duckdb" in loaded and "duckdb" not in loaded


def test_the_extension_module_is_what_the_duckdb_package_exports():
    """The validation's DuckDB objects are the package's own: if a DuckDB release wraps them
    instead of re-exporting them, this fails before any behaviour can differ."""
    import duckdb

    from migration_pipeline.validation.db import duckdb as engine

    for name in ("connect", "DuckDBPyConnection", "Error", "IOException"):
        assert getattr(engine, name) is getattr(duckdb, name), name

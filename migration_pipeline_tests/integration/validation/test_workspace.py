"""The validation workspace opens DuckDB in another thread while the CLI loads the engine: the
same database either way, and a failure on either side leaves nothing open."""

from __future__ import annotations

import threading

import duckdb
import pytest

from migration_pipeline.errors import ValidationInputError
from migration_pipeline.validation import catalog
from migration_pipeline.validation.catalog import ConnectionSettings, workspace


def _settings(con) -> tuple:
    return con.execute(
        "SELECT current_setting('memory_limit'), current_setting('TimeZone'), "
        "current_setting('enable_progress_bar')"
    ).fetchone()


def test_opened_while_loading_is_the_same_workspace():
    ran = []
    with workspace(ConnectionSettings("512MB")) as plain:
        expected = _settings(plain)
    with workspace(ConnectionSettings("512MB"), meanwhile=lambda: ran.append(1)) as con:
        assert _settings(con) == expected == ("488.2 MiB", "UTC", False)
    assert ran == [1]
    assert not [t for t in threading.enumerate() if t.name == "duckdb-open"]


def test_a_failure_while_loading_closes_the_database_opened_meanwhile(monkeypatch):
    opened = []

    def open_(settings, spill):
        opened.append(real(settings, spill))
        return opened[-1]

    real = catalog._open
    monkeypatch.setattr(catalog, "_open", open_)

    def load():
        raise ImportError("the engine could not load")

    with pytest.raises(ImportError, match="could not load"), workspace(meanwhile=load):
        pass
    (con,) = opened
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")


def test_a_database_that_cannot_open_fails_in_the_callers_thread():
    ran = []
    with (
        pytest.raises(ValidationInputError, match="memory limit .a lot. is not a size"),
        workspace(ConnectionSettings("a lot"), meanwhile=lambda: ran.append(1)),
    ):
        pass
    assert ran == [1]

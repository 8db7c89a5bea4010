"""Hard deletes under live replication: set aside while one side lags, confirmed once it has passed."""

import duckdb
import pytest

from migration_pipeline.validation import ValidationOptions, recheck, record, validate
from migration_pipeline.validation.history import history_path
from migration_pipeline.validation.report import Confirmation, KeyList

QUICK = ValidationOptions(pending_recheck_seconds=0)  # nothing changes these files meanwhile

CREATE = "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR, __artie_db_updated_at TIMESTAMP)"
SETTLED = "INSERT INTO t VALUES (1, 'a', '2024-01-01 00:00'), (2, 'b', '2024-01-01 00:00')"


def _db(path, *statements):
    """Run each statement (SQL text, or SQL text and its parameters) in the file at `path`."""
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            sql, parameters = statement if isinstance(statement, tuple) else (statement, None)
            con.execute(sql, parameters)
    return str(path)


def _write(path, at):
    """The destination's pipeline applies one more change, written at `at` (HH:MM)."""
    _db(path, ("INSERT OR REPLACE INTO t VALUES (1, 'a', ?::TIMESTAMP)", [f"2024-01-01 {at}"]))


def _three_only_in_old(tmp_path):
    old = _db(
        tmp_path / "old.duckdb",
        CREATE,
        SETTLED,
        "INSERT INTO t VALUES (3, 'c', '2024-01-01 00:00')",
    )
    return old, _db(tmp_path / "new.duckdb", CREATE, SETTLED)


@pytest.fixture
def old_deleted_3(tmp_path):
    """Old has applied the delete of 3 and is at 00:05; new still has 3 and is at 00:03."""
    old = _db(
        tmp_path / "old.duckdb",
        CREATE,
        SETTLED,
        "UPDATE t SET __artie_db_updated_at = '2024-01-01 00:05' WHERE id = 2",
    )
    new = _db(
        tmp_path / "new.duckdb",
        CREATE,
        SETTLED,
        "UPDATE t SET __artie_db_updated_at = '2024-01-01 00:03' WHERE id = 2",
        "INSERT INTO t VALUES (3, 'c', '2024-01-01 00:00')",
    )
    return old, new


def test_a_delete_the_lagging_side_has_not_applied_is_pending_and_inconclusive(old_deleted_3):
    old, new = old_deleted_3
    report = validate(old, new, None, QUICK)
    (table,) = report.tables
    assert table.pending_deletes == KeyList(((3,),), 1)
    assert table.in_flight == KeyList()
    assert table.extra_in_new.total == 0 and table.mismatched_rows == 0
    assert (report.summary.pending_deletes, report.summary.in_flight) == (1, 0)
    assert table.verdict == "inconclusive"
    assert report.judgement.reasons[-1] == (
        "1 key on one side only, absent from the side that is ahead: a delete not applied "
        "yet, or lost (re-checked every validation)"
    )


def test_a_delete_old_has_not_applied_is_in_flight_too(tmp_path):
    old, new = _three_only_in_old(tmp_path)
    _write(new, "00:05")
    (table,) = validate(old, new, None, QUICK).tables
    assert (table.pending_deletes, table.missing_in_new.total, table.verdict) == (
        KeyList(((3,),), 1), 0, "inconclusive",
    )  # fmt: skip


def test_an_applied_delete_leaves_nothing_to_confirm(tmp_path, old_deleted_3):
    state = tmp_path / "state"
    old, new = old_deleted_3
    assert record(state, validate(old, new, None, QUICK)).verdict == "inconclusive"
    _db(new, "DELETE FROM t WHERE id = 3")
    _write(new, "00:06")
    after = record(state, validate(old, new, None, QUICK))
    assert after.clean and after.tables[0].confirmed == KeyList((), 0)


def test_a_row_still_there_after_the_lagging_side_caught_up_is_a_confirmed_mismatch(
    tmp_path, old_deleted_3
):
    state = tmp_path / "state"
    old, new = old_deleted_3
    first = record(state, validate(old, new, None, QUICK))
    assert first.verdict == "inconclusive" and first.tables[0].pending_deletes.keys == ((3,),)
    _write(new, "00:06")  # new is past 00:05, where old stood when 3 was set aside
    (table,) = record(state, validate(old, new, None, QUICK)).tables
    assert table.extra_in_new == KeyList(((3,),), 1)
    assert table.confirmations == (Confirmation((3,), "pending_delete_not_applied"),)
    assert table.verdict == "mismatch"
    with duckdb.connect(str(history_path(state)), read_only=True) as con:
        rows = con.execute(
            "SELECT t.verdict, t.extra_in_new, t.in_flight, t.confirmed, t.pending_deletes "
            "FROM validation_tables t JOIN validation_runs r USING (run_id) ORDER BY r.finished_at"
        ).fetchall()
    assert rows == [
        ("inconclusive", 0, 0, 0, '[[3, "old", "2024-01-01T00:05:00+00:00"]]'),
        ("mismatch", 1, 0, 1, "[]"),
    ]


def test_a_confirmed_delete_is_a_mismatch_even_while_the_other_side_has_moved_on(
    tmp_path, old_deleted_3
):
    state = tmp_path / "state"
    old, new = old_deleted_3
    record(state, validate(old, new, None, QUICK))
    _write(new, "00:04")  # not yet past 00:05: still pending
    (waiting,) = record(state, validate(old, new, None, QUICK)).tables
    assert (waiting.verdict, waiting.pending_deletes.keys) == ("inconclusive", ((3,),))
    _write(new, "00:07")
    _write(old, "00:09")  # old is ahead again, but new has passed the 00:05 of the first run
    (table,) = record(state, validate(old, new, None, QUICK)).tables
    assert table.extra_in_new == KeyList(((3,),), 1)
    assert table.confirmed == KeyList(((3,),), 1)
    assert (table.in_flight, table.pending_deletes) == (KeyList(), KeyList())
    assert table.mismatched_rows == 1 and table.verdict == "mismatch"


def test_a_row_missing_while_the_side_lacking_it_is_behind_is_a_mismatch(tmp_path):
    state = tmp_path / "state"
    old, new = _three_only_in_old(tmp_path)
    _write(old, "00:05")
    first = record(state, validate(old, new))
    (table,) = first.tables
    assert (table.missing_in_new, table.in_flight, first.verdict) == (
        KeyList(((3,),), 1), KeyList(), "inconclusive",
    )  # fmt: skip
    assert record(state, validate(old, new)).tables[0].confirmed == KeyList(((3,),), 1)


@pytest.mark.parametrize(
    ("old_at", "new_at"),
    [("00:05", "00:05"), ("00:00", "00:00")],
    ids=["level", "drained"],
)
def test_a_row_on_one_side_of_two_level_sides_is_a_mismatch(tmp_path, old_at, new_at):
    old = _db(tmp_path / "old.duckdb", CREATE, SETTLED)
    new = _db(
        tmp_path / "new.duckdb",
        CREATE,
        SETTLED,
        "INSERT INTO t VALUES (3, 'c', '2024-01-01 00:00')",
    )
    _write(old, old_at)
    _write(new, new_at)
    (table,) = validate(old, new).tables
    assert (table.extra_in_new, table.in_flight) == (KeyList(((3,),), 1), KeyList())


def test_without_metadata_columns_a_row_on_one_side_is_a_mismatch(tmp_path):
    create = "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR)"
    old = _db(tmp_path / "old.duckdb", create, "INSERT INTO t VALUES (1, 'a')")
    new = _db(tmp_path / "new.duckdb", create, "INSERT INTO t VALUES (1, 'a'), (3, 'c')")
    (table,) = validate(old, new).tables
    assert (table.extra_in_new, table.in_flight) == (KeyList(((3,),), 1), KeyList())


SOFT = (
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR, __artie_delete BOOLEAN, "
    "__artie_db_updated_at TIMESTAMP)"
)


@pytest.mark.parametrize(
    ("deleted_at", "in_flight", "extra"),
    [("00:02", 0, 1), ("00:05", 1, 0)],
    ids=["settled delete", "delete after the watermark"],
)
def test_a_soft_delete_has_a_write_time_and_follows_the_watermark(
    tmp_path, deleted_at, in_flight, extra
):
    old = _db(
        tmp_path / "old.duckdb",
        SOFT,
        (
            "INSERT INTO t VALUES (1, 'a', false, '2024-01-01 00:06'), (3, 'c', true, ?::TIMESTAMP)",
            [f"2024-01-01 {deleted_at}"],
        ),
    )
    new = _db(
        tmp_path / "new.duckdb",
        SOFT,
        "INSERT INTO t VALUES (1, 'a', false, '2024-01-01 00:03'), (3, 'c', false, '2024-01-01 00:00')",
    )
    (table,) = validate(old, new).tables
    assert (table.in_flight.total, table.extra_in_new.total, table.pending_deletes.total) == (
        in_flight, extra, 0,
    )  # fmt: skip


def test_a_history_written_before_pending_deletes_were_kept_still_confirms(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    old = _db(tmp_path / "old.duckdb", CREATE, SETTLED)
    new = _db(tmp_path / "new.duckdb", CREATE, SETTLED.replace("'b'", "'B'"))
    _db(
        history_path(state),
        "CREATE TABLE validation_runs (run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ, "
        "finished_at TIMESTAMPTZ, old_destination VARCHAR, new_destination VARCHAR, "
        "verdict VARCHAR, matches BOOLEAN, tables INTEGER, mismatched_tables INTEGER)",
        "CREATE TABLE validation_tables (run_id VARCHAR, table_name VARCHAR, new_table VARCHAR, "
        "verdict VARCHAR, matches BOOLEAN, old_rows BIGINT, new_rows BIGINT, missing_in_new BIGINT, "
        "extra_in_new BIGINT, changed BIGINT, duplicate_keys BIGINT, in_flight BIGINT, "
        "schema_differences INTEGER, confirmed BIGINT, lag_seconds DOUBLE, seconds DOUBLE, "
        "mismatched_keys VARCHAR)",
        (
            "INSERT INTO validation_runs VALUES ('r1', now(), now(), ?, ?, 'unconfirmed', false, 1, 1)",
            [old, new],
        ),
        "INSERT INTO validation_tables VALUES ('r1', 't', 't', 'unconfirmed', false, 2, 2, 0, 0, "
        "1, 0, 0, 0, 0, 0, 0, '[2]')",
    )
    assert record(state, validate(old, new)).tables[0].confirmed == KeyList(((2,),), 1)


def test_a_pending_delete_is_reread_within_the_validation_while_the_files_are_released(
    tmp_path, old_deleted_3, monkeypatch
):
    old, new = old_deleted_3
    applied = []

    def writer_applies_the_delete(seconds):
        if not applied:  # opening the file read-write fails unless the validator released it
            _db(new, "DELETE FROM t WHERE id = 3")
            applied.append(seconds)

    monkeypatch.setattr(recheck.time, "sleep", writer_applies_the_delete)
    report = validate(old, new, None, ValidationOptions(pending_recheck_seconds=5))
    assert applied and report.verdict == "clean"
    assert report.tables[0].pending_deletes == KeyList()


def test_a_lost_delete_is_confirmed_within_the_validation_once_the_lagging_side_passes(
    tmp_path, old_deleted_3, monkeypatch
):
    old, new = old_deleted_3
    monkeypatch.setattr(recheck.time, "sleep", lambda seconds: _write(new, "00:06"))
    report = validate(old, new, None, ValidationOptions(pending_recheck_seconds=5))
    (table,) = report.tables
    assert table.extra_in_new == KeyList(((3,),), 1) and table.pending_deletes == KeyList()
    assert table.confirmations == (Confirmation((3,), "pending_delete_not_applied"),)
    assert (report.verdict, report.summary.confirmed) == ("mismatch", 1)

"""Validation while pipelines stream: watermark, in-flight keys, confirmation, history, locks."""

import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import duckdb
import pytest

from migration_pipeline.errors import ValidationInputError
from migration_pipeline.validation import ValidationOptions, record, validate
from migration_pipeline.validation.history import history_path
from migration_pipeline.validation.report import KeyList

CREATE = "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR, __artie_db_updated_at TIMESTAMP)"
SETTLED = "INSERT INTO t VALUES (1, 'a', '2024-01-01 00:00'), (2, 'b', '2024-01-01 00:00'), (3, 'c', '2024-01-01 00:01')"


def _db(path, *statements):
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)
    return str(path)


def test_keys_touched_after_the_watermark_are_set_aside_as_in_flight(tmp_path):
    old = _db(
        tmp_path / "old.duckdb",
        CREATE,
        SETTLED,
        # old has applied a change at 00:05 that new has not seen yet (new is at 00:01)
        "INSERT INTO t VALUES (4, 'x', '2024-01-01 00:00'), (5, 'new row', '2024-01-01 00:05'), "
        "(7, 'not in new', '2024-01-01 00:00')",
    )
    new = _db(
        tmp_path / "new.duckdb",
        CREATE,
        SETTLED,
        "INSERT INTO t VALUES (4, 'y', '2024-01-01 00:00'), (6, 'only here', '2024-01-01 00:00')",
    )
    (table,) = validate(old, new, None, ValidationOptions(pending_recheck_seconds=0)).tables
    assert table.freshness.watermark == datetime(2024, 1, 1, 0, 1, tzinfo=UTC)
    assert table.new_behind_old_seconds == 240.0
    # 6 is not in old, which is ahead: old may have applied a delete that new has not yet
    assert table.in_flight == KeyList(((5,),), 1)
    assert table.pending_deletes == KeyList(((6,),), 1)
    assert [row.key for row in table.changed] == [(4,)]
    # 7 is not in new, which is behind: no delete can explain it
    assert table.missing_in_new == KeyList(((7,),), 1)
    assert table.extra_in_new.total == 0


def test_an_explicit_watermark_overrides_the_automatic_one(tmp_path):
    old = _db(tmp_path / "old.duckdb", CREATE, SETTLED)
    new = _db(tmp_path / "new.duckdb", CREATE, SETTLED.replace("'c'", "'C'"))
    early = ValidationOptions(watermark=datetime(2024, 1, 1, 0, 0, tzinfo=UTC))
    (table,) = validate(old, new, None, early).tables
    assert table.clean and table.in_flight.keys == ((3,),)


def test_a_mismatch_is_confirmed_only_when_the_next_run_sees_it_again(tmp_path):
    state = tmp_path / "state"
    old = _db(tmp_path / "old.duckdb", CREATE, SETTLED)
    new = _db(tmp_path / "new.duckdb", CREATE, SETTLED.replace("'b'", "'B'"))
    first = record(state, validate(old, new))
    assert first.verdict == "inconclusive" and first.tables[0].confirmed == KeyList()
    second = record(state, validate(old, new))
    assert second.verdict == "mismatch" and second.tables[0].confirmed == KeyList(((2,),), 1)
    assert (
        first.tables[0].previous_mismatched_rows,
        second.tables[0].previous_mismatched_rows,
    ) == (None, 1)
    with duckdb.connect(new) as con:
        con.execute("UPDATE t SET v = 'b' WHERE id = 2")
    converged = record(state, validate(old, new))
    assert converged.verdict == "clean" and converged.tables[0].previous_mismatched_rows == 1
    latest = record(state, validate(old, new))
    with duckdb.connect(str(history_path(state)), read_only=True) as con:
        rows = con.execute(
            "SELECT t.verdict, t.changed, t.confirmed FROM validation_tables t JOIN validation_runs r USING (run_id) "
            "ORDER BY r.finished_at"
        ).fetchall()
        newest = con.execute(
            "SELECT run_id FROM validation_runs ORDER BY finished_at DESC LIMIT 1"
        ).fetchone()
    assert rows == [("inconclusive", 1, 0), ("mismatch", 1, 1), ("clean", 0, 0), ("clean", 0, 0)]
    assert newest == (latest.id,)  # the history keys a validation by the report's own id


def test_a_difference_that_moves_to_another_key_is_not_confirmed(tmp_path):
    state = tmp_path / "state"
    old = _db(tmp_path / "old.duckdb", CREATE, SETTLED)
    new = _db(tmp_path / "new.duckdb", CREATE, SETTLED.replace("'b'", "'B'"))
    record(state, validate(old, new))
    with duckdb.connect(new) as con:
        con.execute("UPDATE t SET v = CASE id WHEN 2 THEN 'b' ELSE 'A' END WHERE id IN (1, 2)")
    assert record(state, validate(old, new)).verdict == "inconclusive"


HOLD_LOCK = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    """
)


def _hold(path, seconds):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, path, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_briefly_locked_destination_is_retried(tmp_path):
    old = _db(tmp_path / "old.duckdb", CREATE, SETTLED)
    new = _db(tmp_path / "new.duckdb", CREATE, SETTLED)
    holder = _hold(new, 0.5)
    try:
        assert validate(old, new, None, ValidationOptions(lock_timeout_s=20)).clean
    finally:
        holder.wait(timeout=20)


def test_a_destination_that_stays_locked_is_a_clear_error(tmp_path):
    old = _db(tmp_path / "old.duckdb", CREATE, SETTLED)
    new = _db(tmp_path / "new.duckdb", CREATE, SETTLED)
    holder = _hold(new, 30)
    try:
        with pytest.raises(ValidationInputError) as error:
            validate(old, new, None, ValidationOptions(lock_timeout_s=0.3))
    finally:
        holder.kill()
        holder.wait()
    assert str(error.value) == (
        f"the new destination {new} stayed locked by another process for 0.3 s; "
        "retry when its writer has finished the current batch"
    )

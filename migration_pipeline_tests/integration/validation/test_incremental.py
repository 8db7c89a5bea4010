"""Incremental re-validation: after a clean full run only changed keys are read, it falls back to
full when it must, and what it cannot see by design the next full run finds."""

import json
from datetime import datetime

import duckdb
import pytest

from migration_pipeline.cli import main

CREATE = "CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR, __artie_updated_at TIMESTAMP)"


def _db(path, *statements):
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)
    return str(path)


@pytest.fixture
def pair(tmp_path):
    rows = (
        "INSERT INTO t SELECT i, 'v' || i, TIMESTAMP '2026-01-01 12:03:04.118' FROM range(100) r(i)"
    )
    return _db(tmp_path / "old.duckdb", CREATE, rows), _db(tmp_path / "new.duckdb", CREATE, rows)


def _write(path, statement, rows):
    with duckdb.connect(path) as con:
        con.executemany(statement, rows)


def _both(pair, *statements):
    for path in pair:
        _db(path, *statements)


def _validate(capsys, pair, state, *args):
    code = main(["validate", "--old", pair[0], "--new", pair[1], "--state-dir", str(state),
                 "--json", *args])  # fmt: skip
    out, err = capsys.readouterr()
    assert err == ""
    document = json.loads(out)
    return code, document, document["tables"][0]


def _keys(table):
    return sorted(table["missing_in_new"] + table["extra_in_new"]
                  + [c["key"] for c in table["changed"]])  # fmt: skip


def test_after_a_clean_full_run_only_changed_keys_are_checked(pair, tmp_path, capsys):
    code, document, table = _validate(capsys, pair, tmp_path)
    assert (code, document["summary"]["mode"], table["coverage"]["reason"]) == (
        0,
        "full",
        "no clean full validation to continue from",
    )
    assert table["coverage"]["reached"] == "2026-01-01T12:03:04.118000+00:00"
    _both(
        pair,
        "UPDATE t SET v = 'x', __artie_updated_at = TIMESTAMP '2026-01-01 13:00:00' WHERE id < 3",
        "INSERT INTO t VALUES (500, 'n', TIMESTAMP '2026-01-01 13:00:00')",
        "DELETE FROM t WHERE id = 50",
    )
    code, document, table = _validate(capsys, pair, tmp_path)
    assert (code, document["summary"]["mode"]) == (0, "incremental")
    assert table["coverage"]["description"] == (
        "incremental since 2026-01-01 12:03:04.118: 4 changed keys checked, counts equal"
    )
    assert (table["old_rows"], table["new_rows"], table["coverage"]["changed_keys"]) == (
        100,
        100,
        4,
    )
    main(["validate", "--old", pair[0], "--new", pair[1], "--state-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert out.startswith("CLEAN: 1 table compared (incremental)\n")
    assert (
        "  coverage: incremental since 2026-01-01 13:00:00.000: 0 changed keys checked, "
        "counts equal" in out
    )


def test_a_change_lost_on_new_is_listed_by_the_incremental_run(pair, tmp_path, capsys):
    _validate(capsys, pair, tmp_path)
    _db(
        pair[0],
        "UPDATE t SET v = 'x', __artie_updated_at = TIMESTAMP '2026-01-01 13:00:00' WHERE id IN (1, 2)",
        "INSERT INTO t VALUES (500, 'n', TIMESTAMP '2026-01-01 13:00:00')",
    )
    _db(
        pair[1],
        "UPDATE t SET v = 'y', __artie_updated_at = TIMESTAMP '2026-01-01 13:00:00' WHERE id = 1",
        "INSERT INTO t VALUES (600, 'n', TIMESTAMP '2026-01-01 13:00:00')",
    )
    code, document, table = _validate(capsys, pair, tmp_path, "--max-lag", "1e9")
    assert (code, document["summary"]["mode"], _keys(table)) == (1, "incremental", [1, 2, 500, 600])
    assert table["coverage"]["changed_keys"] == 4


def test_keys_the_lagging_side_has_not_reached_are_in_flight_then_compared_once_it_has(
    pair, tmp_path, capsys
):
    """While new lags, old's newer changes are set aside unread (even one that wrote the same
    values: only its write time is read on new), and compared once new has caught up."""
    _validate(capsys, pair, tmp_path)
    _both(pair, "UPDATE t SET __artie_updated_at = TIMESTAMP '2026-01-01 12:30:00' WHERE id = 9")
    at_13 = "UPDATE t SET v = ?, __artie_updated_at = TIMESTAMP '2026-01-01 13:00:00' WHERE id = ?"
    _write(pair[0], at_13, [["x", 0], ["x", 1], ["x", 2], ["x", 3], ["v4", 4]])  # 4: same value
    code, document, table = _validate(capsys, pair, tmp_path, "--max-lag", "1e9")
    assert (code, table["coverage"]["mode"], table["in_flight"]) == (
        0,
        "incremental",
        [0, 1, 2, 3, 4],
    )
    assert table["coverage"]["description"].endswith("6 changed keys checked, counts equal")
    _write(pair[1], at_13, [["x", 0], ["x", 1], ["lost", 2], ["v4", 4]])  # 3 never arrives
    code, document, table = _validate(capsys, pair, tmp_path)
    assert (code, table["coverage"]["mode"], table["in_flight"]) == (1, "incremental", [])
    assert [c["key"] for c in table["changed"]] == [2, 3]


def test_a_run_from_another_folder_with_relative_paths_continues(
    pair, tmp_path, capsys, monkeypatch
):
    _validate(capsys, pair, tmp_path)
    monkeypatch.chdir(tmp_path)
    code, document, table = _validate(capsys, ("old.duckdb", "./x/../new.duckdb"), tmp_path)
    assert (code, table["coverage"]["mode"], document["new"]) == (0, "incremental", pair[1])


def test_counts_the_changed_keys_do_not_explain_send_the_table_to_a_full_run(
    pair, tmp_path, capsys
):
    _validate(capsys, pair, tmp_path)
    _db(pair[0], "DELETE FROM t WHERE id = 7")  # a hard delete new never applies
    code, document, table = _validate(capsys, pair, tmp_path)
    assert (code, table["coverage"]["mode"], table["extra_in_new"]) == (1, "full", [7])
    assert table["coverage"]["reason"] == "the row counts differ by -1 beyond the changed keys"


def test_full_every_and_full_force_a_full_run(pair, tmp_path, capsys):
    modes = [_validate(capsys, pair, tmp_path, "--full-every", "3")[1]["summary"]["mode"]
             for _ in range(4)]  # fmt: skip
    assert modes == ["full", "incremental", "incremental", "full"]
    *_, table = _validate(capsys, pair, tmp_path, "--full")
    assert table["coverage"]["reason"] == "full validation requested"
    *_, table = _validate(capsys, pair, tmp_path, "--full-every-hours", "1e-9")
    assert (
        table["coverage"]["reason"] == "last full validation 0.0 h ago (one at least every 1e-09 h)"
    )


def test_no_change_time_column_means_full(tmp_path, capsys):
    pair = tuple(_db(tmp_path / f"{n}.duckdb", "CREATE TABLE t (id INTEGER PRIMARY KEY)")
                 for n in ("old", "new"))  # fmt: skip
    for _ in range(2):
        *_, table = _validate(capsys, pair, tmp_path)
    assert table["coverage"]["reason"].startswith("no change-time column on both sides")


def test_a_named_change_time_column_is_used_and_must_exist(tmp_path, capsys):
    create = "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER, changed TIMESTAMPTZ)"
    rows = "INSERT INTO t SELECT i, i, TIMESTAMPTZ '2026-01-01 00:00:00+00' FROM range(10) r(i)"
    pair = tuple(_db(tmp_path / f"{n}.duckdb", create, rows) for n in ("old", "new"))
    args = ("--change-time-column", "changed")
    _validate(capsys, pair, tmp_path, *args)
    _db(pair[1], "UPDATE t SET v = 0, changed = TIMESTAMPTZ '2026-01-02 00:00:00+00' WHERE id = 3")
    code, document, table = _validate(capsys, pair, tmp_path, *args)
    assert (code, table["coverage"]["mode"], table["coverage"]["column"], _keys(table)) == (
        1,
        "incremental",
        "changed",
        [3],
    )
    assert main(["validate", "--old", pair[0], "--new", pair[1], "--state-dir", str(tmp_path),
                 "--change-time-column", "nope"]) == 2  # fmt: skip
    assert "change-time column 'nope' of table 't' is not in both destinations" in (
        capsys.readouterr().err
    )


def test_a_full_run_that_was_not_clean_allows_no_incremental_run(pair, tmp_path, capsys):
    _validate(capsys, pair, tmp_path)
    _db(pair[1], "UPDATE t SET v = 'rot' WHERE id = 9")  # in place, no new change time
    assert _validate(capsys, pair, tmp_path, "--full")[2]["coverage"]["mode"] == "full"
    *_, table = _validate(capsys, pair, tmp_path)
    assert (table["coverage"]["reason"], _keys(table)) == (
        "no clean full validation to continue from",
        [9],
    )


# What an incremental run cannot see (docs/operators-guide.md, validation/incremental.py), each
# found by --full.
BLIND_SPOTS = {
    "a row corrupted in place without a newer change time": [
        ("new", "UPDATE t SET v = 'rot' WHERE id = 9")],
    "a lost delete balanced by a row removed without a trace": [
        ("old", "DELETE FROM t WHERE id = 11"), ("new", "DELETE FROM t WHERE id = 12")],
    "a change time that went back below the watermark": [
        ("new", "UPDATE t SET v = 'old', __artie_updated_at = TIMESTAMP '2020-01-01' WHERE id = 13")],
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BLIND_SPOTS))
def test_what_an_incremental_run_cannot_see_the_next_full_run_finds(pair, tmp_path, capsys, case):
    _validate(capsys, pair, tmp_path)
    for side, statement in BLIND_SPOTS[case]:
        _db(pair[0] if side == "old" else pair[1], statement)
    code, document, table = _validate(capsys, pair, tmp_path)
    assert (code, table["coverage"]["mode"], _keys(table)) == (0, "incremental", [])
    code, document, table = _validate(capsys, pair, tmp_path, "--full")
    expected = {k for _, s in BLIND_SPOTS[case] for k in (9, 11, 12, 13) if f"id = {k}" in s}
    assert (code, set(_keys(table))) == (1, expected)


def test_the_history_keeps_mode_since_and_reached(pair, tmp_path, capsys):
    _validate(capsys, pair, tmp_path)
    _validate(capsys, pair, tmp_path)
    with duckdb.connect(str(tmp_path / "validation_history.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT t.mode, t.since, t.watermark, t.changed_keys FROM "
                           "validation_tables t JOIN validation_runs r USING (run_id) "
                           "ORDER BY r.finished_at").fetchall()  # fmt: skip
    reached = datetime.fromisoformat("2026-01-01T12:03:04.118+00:00")
    assert [(m, s, w.astimezone(reached.tzinfo), c) for m, s, w, c in rows] == [
        ("full", None, reached, 0),
        ("incremental", reached, reached, 0),
    ]


def test_soft_deleted_rows_are_left_out_of_the_incremental_counts(tmp_path, capsys):
    # The counts decide whether an incremental run may stand: a soft-deleted row is no row.
    create = (
        "CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR, __artie_delete BOOLEAN, "
        "__artie_updated_at TIMESTAMP)"
    )
    rows = (
        "INSERT INTO t SELECT i, 'v' || i, i < 5, TIMESTAMP '2026-01-01 12:00' FROM range(100) r(i)"
    )
    pair = _db(tmp_path / "old.duckdb", create, rows), _db(tmp_path / "new.duckdb", create, rows)
    code, document, table = _validate(capsys, pair, tmp_path)
    assert (code, table["old_rows"], table["new_rows"]) == (0, 95, 95)
    delete = (
        "UPDATE t SET __artie_delete = true, __artie_updated_at = '2026-01-01 13:00' WHERE id = "
    )
    _both(pair, delete + "7")
    _db(pair[0], delete + "8")
    code, document, table = _validate(capsys, pair, tmp_path)
    assert (code, document["summary"]["mode"]) == (1, "incremental")
    assert (table["old_rows"], table["new_rows"], table["extra_in_new"]) == (93, 94, [8])


@pytest.mark.parametrize("changed_on", [("old", "new"), ("old",), ()])
def test_an_incremental_run_reports_each_sides_latest_write_as_a_full_run_does(
    pair, tmp_path, capsys, changed_on
):
    # The latest write times set the in-flight watermark and the lag; an incremental run takes
    # them from the rows it read as changed, and scans a side where nothing changed.
    _validate(capsys, pair, tmp_path)
    update = "UPDATE t SET v = 'x', __artie_updated_at = TIMESTAMP '2026-01-01 {}:00' WHERE id = 1"
    for path, side, hour in ((pair[0], "old", "14"), (pair[1], "new", "13")):
        if side in changed_on:
            _db(path, update.format(hour))
    _, document, incremental = _validate(capsys, pair, tmp_path, "--max-lag", "1e9")
    assert document["summary"]["mode"] == "incremental"
    checked = "1 changed key" if changed_on else "0 changed keys"
    assert incremental["coverage"]["description"].endswith(f": {checked} checked, counts equal")
    _, _, full = _validate(capsys, pair, tmp_path, "--max-lag", "1e9", "--full")
    assert incremental["freshness"] == full["freshness"]
    assert incremental["freshness"]["old_max"] == (
        "2026-01-01T14:00:00+00:00" if changed_on else "2026-01-01T12:03:04.118000+00:00"
    )


def test_a_history_written_before_incremental_runs_existed_is_upgraded_in_place(
    pair, tmp_path, capsys
):
    """A state dir from a version whose history lacks the incremental columns keeps its runs."""
    from migration_pipeline.validation.history import _SCHEMA, history_path

    first_version = _SCHEMA.split("ALTER TABLE")[0]
    _db(
        history_path(tmp_path),
        first_version,
        "INSERT INTO validation_runs (run_id, old_destination, new_destination) "
        "VALUES ('earlier', 'a', 'b')",
    )
    code, document, table = _validate(capsys, pair, tmp_path)
    assert (code, document["summary"]["mode"]) == (0, "full")
    code, document, table = _validate(capsys, pair, tmp_path)
    assert (code, document["summary"]["mode"]) == (0, "incremental")
    with duckdb.connect(str(history_path(tmp_path)), read_only=True) as con:
        runs = con.execute("SELECT count(*) FROM validation_runs").fetchone()[0]
        modes = con.execute("SELECT mode FROM validation_tables ORDER BY mode").fetchall()
    assert (runs, modes) == (3, [("full",), ("incremental",)])

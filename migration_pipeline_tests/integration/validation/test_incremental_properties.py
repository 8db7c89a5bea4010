"""Random change sets with random faults: an incremental run finds exactly the faults among the
changed rows, and a full run finds those plus the ones made without a change time; changes new
has not reached yet are in flight in both (a change that wrote the same values, in the
incremental run only: it does not read the lagging side's row)."""

from datetime import UTC, datetime

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migration_pipeline.validation import ValidationOptions, validate
from migration_pipeline.validation.schedule import Baseline, IncrementalPolicy

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 13, tzinfo=UTC)
T2 = datetime(2026, 1, 1, 14, tzinfo=UTC)  # old only: new has not reached it yet
MARKER = -1  # changed on both sides at T1, so both sides have reached T1


@st.composite
def scenarios(draw):
    base = draw(st.lists(st.integers(0, 60), min_size=1, max_size=25, unique=True))
    inserted = draw(st.lists(st.integers(100, 140), max_size=8, unique=True))
    changes = {}  # key -> (kind, fault)
    for key in base:
        kind = draw(st.sampled_from(["none", "none", "update", "delete"]))
        if kind != "none":
            faults = ["ok", "ok", "drop"] + (["corrupt"] if kind == "update" else [])
            changes[key] = (kind, draw(st.sampled_from(faults)))
    for key in inserted:
        changes[key] = ("insert", draw(st.sampled_from(["ok", "ok", "drop", "corrupt"])))
    unchanged = [k for k in base if k not in changes]
    silent = (
        draw(st.lists(st.sampled_from(unchanged), unique=True, max_size=3)) if unchanged else []
    )
    # New lagging behind old (late changes) turns a lost delete into a pending one: not both.
    lost_delete = ("delete", "drop") in changes.values()
    rest = [] if lost_delete else [k for k in unchanged if k not in silent]
    late = {}  # key -> whether old's change wrote the value the row had
    for key in draw(st.lists(st.sampled_from(rest), unique=True, max_size=4)) if rest else []:
        late[key] = draw(st.booleans())
    return base, changes, silent, late


def _apply(path, base, changes, silent, late, side):
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER, __artie_updated_at TIMESTAMPTZ)"
        )
        con.executemany("INSERT INTO t VALUES (?, ?, ?)", [[k, k, T0] for k in [MARKER, *base]])
        con.execute("UPDATE t SET v = 0, __artie_updated_at = ? WHERE id = ?", [T1, MARKER])
        for key, (kind, fault) in changes.items():
            if side == "new" and fault == "drop":
                continue
            value = key + 1000 if side == "new" and fault == "corrupt" else key + 1
            if kind == "update":
                con.execute(
                    "UPDATE t SET v = ?, __artie_updated_at = ? WHERE id = ?", [value, T1, key]
                )
            elif kind == "insert":
                con.execute("INSERT INTO t VALUES (?, ?, ?)", [key, value, T1])
            else:
                con.execute("DELETE FROM t WHERE id = ?", [key])
        if side == "old":
            for key, same in late.items():
                con.execute(
                    "UPDATE t SET v = ?, __artie_updated_at = ? WHERE id = ?",
                    [key if same else key + 1, T2, key],
                )
        if side == "new":
            for key in silent:  # in place, the change time left as it was
                con.execute("UPDATE t SET v = -v - 1 WHERE id = ?", [key])
    return str(path)


def _found(table):
    return {
        **{k: "missing_in_new" for (k,) in table.missing_in_new.keys},
        **{k: "extra_in_new" for (k,) in table.extra_in_new.keys},
        **{row.key[0]: "changed" for row in table.changed},
    }


def _expected(changes, silent):
    kinds = {"insert": "missing_in_new", "delete": "extra_in_new", "update": "changed"}
    found = {k: "changed" if f == "corrupt" else kinds[kind]
             for k, (kind, f) in changes.items() if f != "ok"}  # fmt: skip
    return found, {**found, **{k: "changed" for k in silent}}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_incremental_finds_exactly_the_faults_among_changed_rows(tmp_path_factory, scenario):
    base, changes, silent, late = scenario
    directory = tmp_path_factory.mktemp("case")
    old = _apply(directory / "old.duckdb", base, changes, silent, late, "old")
    new = _apply(directory / "new.duckdb", base, changes, silent, late, "new")
    among_changed, everything = _expected(changes, silent)
    policy = IncrementalPolicy({"t": Baseline(T0, datetime.now(UTC))})
    (table,) = validate(old, new, None, ValidationOptions(incremental=policy)).tables
    lost_delete = any(kind == "delete" and f == "drop" for kind, f in changes.values())
    # A lost delete leaves no change time: only the counts show it, and the table goes full.
    assert table.coverage.mode == ("full" if lost_delete else "incremental")
    assert _found(table) == (everything if lost_delete else among_changed)
    assert table.pending_deletes.total == 0
    assert set(table.in_flight.keys) == {(k,) for k in late}  # without reading new's row
    if not lost_delete:
        # Every changed key but those deleted on both sides (no row left to read), and the marker.
        gone = {k for k, (kind, f) in changes.items() if kind == "delete" and f == "ok"}
        assert table.coverage.changed_keys == len(set(changes) - gone) + 1 + len(late)
    (full,) = validate(old, new, None, ValidationOptions()).tables
    assert _found(full) == everything
    assert set(full.in_flight.keys) == {(k,) for k, same in late.items() if not same}

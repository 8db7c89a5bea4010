"""Random tables with random injected differences: exactly the injected keys come back, nothing else."""

import math

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migration_pipeline.validation import ValidationOptions, validate
from migration_pipeline.validation.sql import Sql, compose, join

COLUMNS = {
    "a": st.none() | st.integers(-2, 2),
    "s": st.none() | st.sampled_from(["", "x", "X", " "]),
    "f": st.none()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0.0, -0.0, 0.1]),
    "b": st.none() | st.booleans(),
}
KINDS = ["same", "same", "same", "missing", "changed", "duplicate_old", "duplicate_new"]


def _same(x, y):
    """DuckDB's IS NOT DISTINCT FROM for these values: NULL = NULL, NaN = NaN, -0.0 = 0.0."""
    if x is None or y is None:
        return x is None and y is None
    if isinstance(x, float) and math.isnan(x):
        return isinstance(y, float) and math.isnan(y)
    return type(x) is type(y) and x == y


@st.composite
def scenarios(draw):
    composite = draw(st.booleans())
    key = (
        st.tuples(st.integers(-50, 50), st.sampled_from(["a", "b", "c d"]))
        if composite
        else st.tuples(st.integers(-1000, 1000))
    )
    keys = draw(st.lists(key, max_size=30, unique=True))
    extra_keys = draw(st.lists(key.filter(lambda k: k not in keys), max_size=3, unique=True))
    row = st.fixed_dictionaries(COLUMNS)
    old, new = [], []
    expected = {"missing": set(), "extra": set(extra_keys), "changed": {}, "duplicate": {}}
    for k in keys:
        values = draw(row)
        kind = draw(st.sampled_from(KINDS))
        old.append((k, values))
        if kind == "missing":
            expected["missing"].add(k)
            continue
        if kind == "changed":
            column = draw(st.sampled_from(sorted(COLUMNS)))
            value = draw(COLUMNS[column].filter(lambda v, c=column, vs=values: not _same(v, vs[c])))
            new.append((k, {**values, column: value}))
            expected["changed"][k] = column
            continue
        new.append((k, values))
        if kind.startswith("duplicate"):
            (old if kind == "duplicate_old" else new).append((k, values))
            expected["duplicate"][k] = (2, 1) if kind == "duplicate_old" else (1, 2)
    new += [(k, draw(row)) for k in extra_keys]
    return composite, old, new, expected, draw(st.sampled_from([1, 3, 256]))


def _write(path, composite, rows):
    keys = ["k1 INTEGER", "k2 VARCHAR"] if composite else ["k1 INTEGER"]
    with duckdb.connect(str(path)) as con:
        con.execute(
            f"CREATE TABLE t ({', '.join(keys)}, a INTEGER, s VARCHAR, f DOUBLE, b BOOLEAN)"
        )
        if rows:
            marks = join([Sql("?")] * (len(keys) + len(COLUMNS)))
            values = [[*k, *(v[c] for c in COLUMNS)] for k, v in rows]
            con.executemany(compose("INSERT INTO t VALUES ({m})", m=marks), values)
    return str(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_exactly_the_injected_keys_are_reported(tmp_path_factory, scenario):
    composite, old_rows, new_rows, expected, rows_per_bucket = scenario
    directory = tmp_path_factory.mktemp("case")
    old, new = (
        _write(directory / "old.duckdb", composite, old_rows),
        _write(directory / "new.duckdb", composite, new_rows),
    )
    keys = ("k1", "k2") if composite else ("k1",)
    (table,) = validate(
        old, new, None, ValidationOptions(keys=keys, rows_per_bucket=rows_per_bucket)
    ).tables
    assert set(table.missing_in_new.keys) == expected["missing"]
    assert set(table.extra_in_new.keys) == expected["extra"]
    assert {row.key: tuple(c.column for c in row.columns) for row in table.changed} == {
        k: (c,) for k, c in expected["changed"].items()
    }
    assert {d.key: (d.old_rows, d.new_rows) for d in table.duplicate_keys} == expected["duplicate"]
    assert table.in_flight.total == 0
    assert table.clean == (not any(expected.values()))
    assert (table.old_rows, table.new_rows) == (len(old_rows), len(new_rows))

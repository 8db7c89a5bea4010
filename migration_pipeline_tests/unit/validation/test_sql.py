"""Every name reaching validation SQL goes through one quoting function: prove it is airtight."""

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration_pipeline.validation.sql import Sql, compose, ident, join, literal, qualified

HOSTILE = [
    '"',
    'a"b',
    'x"; DROP TABLE t; --',
    "with space",
    "semi;colon",
    "it's",
    "ünï",
    "Mixed Case",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_ident_round_trips_a_hostile_name_as_one_identifier(name):
    con = duckdb.connect()
    con.execute(compose("CREATE TABLE {t} ({c} INTEGER)", t=ident(name), c=ident(name + "_c")))
    assert con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal"
    ).fetchall() == [(name, name + "_c")]


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
        min_size=1,
    )
)
def test_any_text_selects_as_exactly_that_alias(name):
    assert (
        duckdb.connect().execute(compose("SELECT 1 AS {a}", a=ident(name))).description[0][0]
        == name
    )


def test_ident_rejects_what_cannot_be_an_identifier():
    for bad in ("", "a\x00b"):
        with pytest.raises(ValueError, match="not a usable SQL identifier"):
            ident(bad)


def test_literal_quotes_strings_and_passes_integers():
    assert literal("it's") == "'it''s'"
    assert literal(42) == "42"
    with pytest.raises(TypeError, match="no SQL literal for bool"):
        literal(True)


def test_compose_refuses_raw_strings():
    with pytest.raises(TypeError, match="t must be built with ident"):
        compose("SELECT * FROM {t}", t="users; DROP TABLE x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="part must be built with ident"):
        join([ident("a"), "b"])  # type: ignore[list-item]


def test_qualified_quotes_every_part():
    assert qualified("old", "my schema", 'odd"name') == '"old"."my schema"."odd""name"'
    assert isinstance(qualified("a"), Sql)

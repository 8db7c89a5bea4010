"""Column pairing and type compatibility decide what is compared and what is a schema difference."""

import pytest

from migration_pipeline.errors import ValidationInputError
from migration_pipeline.validation.catalog import Column, Table
from migration_pipeline.validation.mapping import (
    PipelineSettings,
    TableSettings,
    map_pipelines,
    plain_mapping,
)
from migration_pipeline.validation.plan import common_type, plan_table
from migration_pipeline.validation.report import SchemaDifference


def _table(*columns, pk=("id",), catalog="old"):
    return Table(catalog, "main", "t", tuple(Column(n, t) for n, t in columns), pk, 0)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("INTEGER", "INTEGER", (None, False)),
        ("DOUBLE", "DOUBLE", (None, True)),
        ("INTEGER", "BIGINT", ("HUGEINT", False)),
        ("UBIGINT", "BIGINT", ("HUGEINT", False)),
        ("DECIMAL(10,2)", "DECIMAL(18,4)", ("DECIMAL(38,4)", False)),
        ("BIGINT", "DECIMAL(18,2)", ("DECIMAL(38,2)", False)),
        ("FLOAT", "DOUBLE", ("DOUBLE", True)),
        ("TIMESTAMP", "TIMESTAMP_NS", ("TIMESTAMP_NS", False)),
        ("TIMESTAMP_MS", "TIMESTAMP WITH TIME ZONE", ("TIMESTAMP WITH TIME ZONE", False)),
        ("VARCHAR", "JSON", ("JSON", False)),
        ("JSON", "JSON", ("JSON", False)),
        ("VARCHAR", "INTEGER", None),
        ("DATE", "TIMESTAMP", None),
        ("BOOLEAN", "INTEGER", None),
        ("BLOB", "VARCHAR", None),
    ],
)
def test_common_type(old, new, expected):
    assert common_type(old, new) == expected


def test_columns_pair_by_name_and_metadata_is_left_out():
    old = _table(
        ("id", "BIGINT"), ("a", "VARCHAR"), ("__artie_updated_at", "TIMESTAMP"), ("b", "INTEGER")
    )
    new = _table(
        ("B", "BIGINT"), ("__artie_updated_at", "TIMESTAMPTZ"), ("a", "VARCHAR"), ("id", "BIGINT")
    )
    plan = plan_table(plain_mapping("t"), old, new)
    assert [k.name for k in plan.keys] == ["id"]
    assert [c.name for c in plan.columns] == ["a", "b"]
    assert plan.columns[1].new_sql == 'CAST("B" AS HUGEINT)'
    assert plan.schema_differences == (  # listed, yet values compare: not a difference by itself
        SchemaDifference("type_changed", "b", "INTEGER", "BIGINT", values_compare=True),
    )
    assert plan.freshness == ("__artie_updated_at", "__artie_updated_at", "__artie_updated_at")


def test_missing_and_incompatible_columns_are_named():
    old = _table(("id", "BIGINT"), ("gone", "VARCHAR"), ("kind", "VARCHAR"))
    new = _table(("id", "BIGINT"), ("kind", "INTEGER"), ("added", "DATE"))
    plan = plan_table(plain_mapping("t"), old, new)
    assert plan.schema_differences == (
        SchemaDifference("missing_in_new", "gone", old_type="VARCHAR"),
        SchemaDifference("incompatible_type", "kind", "VARCHAR", "INTEGER"),
        SchemaDifference("missing_in_old", "added", new_type="DATE"),
    )
    assert plan.columns == ()


def test_a_column_excluded_by_the_new_pipeline_is_not_a_schema_difference():
    old_pipeline = PipelineSettings((TableSettings("t"),))
    new_pipeline = PipelineSettings((TableSettings("t", exclude_columns=frozenset({"ssn"})),))
    (mapping,) = map_pipelines(old_pipeline, new_pipeline)
    plan = plan_table(
        mapping, _table(("id", "INTEGER"), ("ssn", "VARCHAR")), _table(("id", "INTEGER"))
    )
    assert plan.schema_differences == () and plan.columns == ()


def test_keys_come_from_the_declared_primary_key_unless_given():
    old = _table(("tenant", "INTEGER"), ("id", "INTEGER"), ("v", "VARCHAR"), pk=("tenant", "id"))
    assert [k.name for k in plan_table(plain_mapping("t"), old, old).keys] == ["tenant", "id"]
    assert [k.name for k in plan_table(plain_mapping("t"), old, old, ("ID", "Tenant")).keys] == [
        "id",
        "tenant",
    ]


def test_no_primary_key_and_no_key_given_is_an_input_error():
    old = _table(("id", "INTEGER"), pk=())
    with pytest.raises(ValidationInputError) as error:
        plan_table(plain_mapping("t"), old, old)
    assert (
        str(error.value) == "table 't' has no primary key in the old destination: pass --key COLUMN"
    )


def test_an_unknown_key_column_is_an_input_error():
    old = _table(("id", "INTEGER"))
    with pytest.raises(ValidationInputError) as error:
        plan_table(plain_mapping("t"), old, old, ("nope",))
    assert str(error.value) == "key column 'nope' not found in table 't' of the old destination"


def test_a_key_missing_in_new_leaves_no_row_comparison_but_a_schema_difference():
    old = _table(("id", "INTEGER"), ("v", "VARCHAR"))
    new = _table(("v", "VARCHAR"), pk=())
    plan = plan_table(plain_mapping("t"), old, new)
    assert plan.keys == ()
    assert plan.schema_differences == (
        SchemaDifference("missing_in_new", "id", old_type="INTEGER"),
    )

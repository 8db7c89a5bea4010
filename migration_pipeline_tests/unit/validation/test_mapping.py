"""Table mapping from the two pipelines' settings: aliases, excluded columns, soft delete, history."""

from migration_pipeline.validation.mapping import (
    PipelineSettings,
    TableMapping,
    TableRef,
    TableSettings,
    TableSide,
    is_artie_column,
    map_pipelines,
    plain_mapping,
)


def _pipelines(old_tables, new_tables, **new):
    return PipelineSettings(tuple(old_tables)), PipelineSettings(tuple(new_tables), **new)


def test_alias_on_the_new_pipeline_names_the_new_table():
    old, new = _pipelines(
        [TableSettings("orders", schema="public")],
        [TableSettings("orders", schema="public", alias="orders_v2")],
    )
    (mapping,) = map_pipelines(old, new)
    assert mapping.old.ref == TableRef("orders")
    assert mapping.new is not None and mapping.new.ref == TableRef("orders_v2")


def test_tables_match_by_source_table_not_by_destination_name():
    old, new = _pipelines(
        [TableSettings("a", schema="public", alias="x"), TableSettings("b", schema="public")],
        [TableSettings("b", schema="public"), TableSettings("a", schema="public", alias="y")],
    )
    refs = [(m.old.ref.name, m.new.ref.name) for m in map_pipelines(old, new)]
    assert refs == [("x", "y"), ("b", "b")]


def test_a_table_the_new_pipeline_does_not_replicate_maps_to_none():
    old, new = _pipelines([TableSettings("a"), TableSettings("gone")], [TableSettings("a")])
    assert [m.new is None for m in map_pipelines(old, new)] == [False, True]


def test_excluded_columns_on_either_side_are_not_compared():
    old, new = _pipelines(
        [TableSettings("t", exclude_columns=frozenset({"SSN"}))],
        [TableSettings("t", exclude_columns=frozenset({"notes"}))],
    )
    (mapping,) = map_pipelines(old, new)
    assert not mapping.comparable("ssn")
    assert not mapping.comparable("Notes")
    assert mapping.comparable("amount")


def test_include_columns_limit_what_is_compared():
    old, new = _pipelines(
        [TableSettings("t")], [TableSettings("t", include_columns=frozenset({"id", "a"}))]
    )
    (mapping,) = map_pipelines(old, new)
    assert [mapping.comparable(c) for c in ("id", "a", "b")] == [True, True, False]


def test_a_column_hashed_on_one_side_only_is_not_comparable():
    old, new = _pipelines(
        [TableSettings("t", columns_to_hash=frozenset({"email", "phone"}))],
        [TableSettings("t", columns_to_hash=frozenset({"email"}))],
    )
    (mapping,) = map_pipelines(old, new)
    assert mapping.comparable("email")
    assert not mapping.comparable("phone")


def test_artie_metadata_columns_are_never_data():
    mapping = plain_mapping("t")
    for column in (
        "__artie_updated_at",
        "__artie_db_updated_at",
        "__artie_delete",
        "__ARTIE_operation",
    ):
        assert is_artie_column(column)
        assert not mapping.comparable(column)
    assert mapping.comparable("artie_id")


def test_soft_delete_history_mode_and_schema_come_from_the_pipeline():
    old, new = _pipelines(
        [TableSettings("t", history_mode=True)],
        [TableSettings("t", primary_keys_override=("tenant", "id"))],
        soft_delete=True,
        destination_schema="analytics",
    )
    (mapping,) = map_pipelines(old, new)
    assert mapping.old.history_mode and not mapping.old.soft_delete
    assert mapping.new.soft_delete and mapping.new.ref == TableRef("t", "analytics")
    assert mapping.old.history_ref == TableRef("t__history")
    assert mapping.key_columns == ("tenant", "id")


def test_plain_mapping_defaults_new_to_the_old_name():
    assert plain_mapping("a") == TableMapping(TableSide(TableRef("a")), TableSide(TableRef("a")))
    assert plain_mapping("a", "b", ("id",)).new.ref.name == "b"

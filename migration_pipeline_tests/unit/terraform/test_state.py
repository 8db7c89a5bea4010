"""The one Terraform state reader: addresses, uuids and attributes as steps, facts and
destination discovery all read them."""

from __future__ import annotations

from migration_pipeline.terraform.state import TerraformState

RAW = {
    "resources": [
        {
            "mode": "managed",
            "type": "artie_source_reader",
            "name": "shop",
            "instances": [{"attributes": {"uuid": "r-1", "is_shared": True}}],
        },
        {
            "mode": "managed",
            "type": "artie_connector",
            "name": "wh",
            "instances": [{"attributes": {"uuid": "c-1", "password": "hunter2"}}],
        },
        {
            "mode": "managed",
            "type": "artie_pipeline",
            "name": "many",
            "instances": [
                {"index_key": 0, "attributes": {"uuid": "p-0"}},
                {"index_key": 1, "attributes": {"uuid": "p-1"}},
            ],
        },
        {
            "mode": "managed",
            "type": "artie_pipeline",
            "name": "counted",
            "instances": [{"index_key": 0, "attributes": {"uuid": "p-c"}}],
        },
        {
            "mode": "data",
            "type": "artie_pipeline",
            "name": "looked_up",
            "instances": [{"attributes": {"uuid": "d-1"}}],
        },
        {
            "module": "module.child",
            "mode": "managed",
            "type": "artie_pipeline",
            "name": "inner",
            "instances": [{"attributes": {"uuid": "m-1"}}],
        },
    ]
}


def test_only_single_instance_root_managed_resources_have_an_address():
    state = TerraformState.parse(RAW)
    assert state.uuids() == {"artie_source_reader.shop": "r-1", "artie_connector.wh": "c-1"}
    assert state.attributes("artie_source_reader.shop")["is_shared"] is True
    assert state.attributes("artie_pipeline.counted") is None
    assert state.attributes("artie_pipeline.looked_up") is None


def test_any_managed_instance_is_found_by_its_uuid():
    state = TerraformState.parse(RAW)
    assert state.by_uuid("p-1") == {"uuid": "p-1"}
    assert state.by_uuid("m-1") is None
    assert state.by_uuid(None) is None


def test_an_empty_pull_is_an_empty_state_and_secrets_stay_out_of_the_repr():
    assert TerraformState.parse({}) == TerraformState()
    assert "hunter2" not in repr(TerraformState.parse(RAW))

"""The plan reader turns `show -json` into the changes the guard judges and the operator reads:
which attributes change and how they are shown, what is masked, and what a replace is blamed on.
"""

from __future__ import annotations

from migration_pipeline.terraform.plan import (
    MASK,
    AttributeChange,
    Redactor,
    ResourceChange,
    parse_plan,
    secrets_of,
)

NO_SECRETS = Redactor()


def one(
    change: dict, address: str = "artie_pipeline.p", redact: Redactor = NO_SECRETS, **extra
) -> ResourceChange:
    rc = {"address": address, "mode": "managed", "change": change, **extra}
    (parsed,) = parse_plan({"resource_changes": [rc]}, redact).changes
    return parsed


def shown(change: ResourceChange) -> dict[str, tuple[str, str]]:
    return {a.name: (a.before, a.after) for a in change.attributes}


def test_a_create_lists_every_attribute_set_and_each_computed_one_as_known_after_apply():
    change = one(
        {
            "actions": ["create"],
            "before": None,
            "after": {"name": "p", "n": 2},
            "after_unknown": {"uuid": True, "name": False},
        }
    )
    assert change.attributes == (
        AttributeChange("n", "null", "2"),
        AttributeChange("name", "null", '"p"'),
        AttributeChange("uuid", "null", "(known after apply)"),
    )


def test_a_delete_shows_every_attribute_going_to_null():
    change = one({"actions": ["delete"], "before": {"name": "p"}, "after": None})
    assert shown(change) == {"name": ('"p"', "null")}


def test_an_update_leaves_out_unchanged_and_recomputed_attributes_and_keeps_the_rest():
    change = one(
        {
            "actions": ["update"],
            "before": {"a_computed": "x", "name": "a", "same": 1, "z": None},
            "after": {"name": "b", "same": 1, "z": 5},
            "after_unknown": {"a_computed": True},
        }
    )
    assert shown(change) == {"name": ('"a"', '"b"'), "z": ("null", "5")}


def test_a_replace_shows_an_id_it_recomputes_and_names_the_paths_it_is_blamed_on():
    change = one(
        {
            "actions": ["delete", "create"],
            "before": {"uuid": "u1", "name": "a"},
            "after": {"name": "b"},
            "after_unknown": {"uuid": True},
            "replace_paths": [["destination_config", "database"], ["name"]],
        }
    )
    assert shown(change)["uuid"] == ('"u1"', "(known after apply)")
    assert change.replace_because == ("destination_config.database", "name")
    assert change.describe() == (
        "artie_pipeline.p would be replaced (destroyed, then created again) because "
        "destination_config.database, name cannot change in place"
    )


def test_describe_names_every_changed_attribute_and_blames_only_a_replace():
    update = ResourceChange(
        "r.x",
        "managed",
        ("update",),
        (AttributeChange("a", "1", "2"), AttributeChange("b", "1", "2")),
        replace_because=("a",),
    )
    assert update.describe() == "r.x would be updated in place (changes a, b)"
    replace = ResourceChange("r.x", "managed", ("create", "delete"), ())
    assert replace.describe() == "r.x would be replaced (created, then the old one destroyed)"
    odd = ResourceChange("r.x", "managed", ("forget",), ())
    assert odd.describe() == "r.x would be forget"


def test_a_resource_without_a_mode_is_managed():
    rc = {
        "address": "artie_pipeline.p",
        "change": {"actions": ["delete"], "before": {}, "after": None},
    }
    (change,) = parse_plan({"resource_changes": [rc]}, NO_SECRETS).changes
    assert change.mode == "managed"


def test_a_flag_on_either_side_masks_the_attribute_on_both_whole_or_in_part():
    change = one(
        {
            "actions": ["update"],
            "before": {"password": "old-pw", "config": {"user": "u", "key": "k1"}},
            "after": {"password": "new-pw", "config": {"user": "v", "key": "k2"}},
            "before_sensitive": {"password": True},
            "after_sensitive": {"config": {"key": True}},
        }
    )
    assert shown(change) == {
        "password": (f'"{MASK}"', f'"{MASK}"'),
        "config": (f'{{"key": "{MASK}", "user": "u"}}', f'{{"key": "{MASK}", "user": "v"}}'),
    }


def test_flags_inside_lists_mask_only_the_flagged_elements():
    change = one(
        {
            "actions": ["update"],
            "before": {"keys": ["a", "b", "x"]},
            "after": {"keys": ["a", "c"]},
            "after_sensitive": {"keys": [False, True]},
        }
    )
    assert shown(change) == {"keys": (f'["a", "{MASK}", "x"]', f'["a", "{MASK}"]')}


def test_values_are_shown_with_sorted_keys_unicode_and_no_null_fields():
    change = one(
        {
            "actions": ["create"],
            "before": None,
            "after": {"t": {"b": 1, "a": "é", "gone": None}, "l": [{"x": None, "y": 1}]},
        }
    )
    assert shown(change) == {"l": ("null", '[{"y": 1}]'), "t": ("null", '{"a": "é", "b": 1}')}


def test_long_values_are_cut_to_300_characters():
    exact, longer = "x" * 298, "y" * 299
    change = one({"actions": ["create"], "before": None, "after": {"a": exact, "b": longer}})
    a, b = shown(change)["a"][1], shown(change)["b"][1]
    assert a == f'"{exact}"' and len(a) == 300
    assert b == '"' + "y" * 296 + "..." and len(b) == 300


def test_secrets_are_every_scalar_of_a_sensitive_variable_and_of_flagged_paths():
    doc = {
        "configuration": {
            "root_module": {"variables": {"creds": {"sensitive": True}, "plain": {}}}
        },
        "variables": {
            "creds": {
                "value": {
                    "nested": {"key": "nested-secret"},
                    "list": ["listed-secret"],
                    "pin": 123456,
                    "on": True,
                    "none": None,
                }
            },
            "plain": {"value": "not-secret"},
        },
        "resource_changes": [
            {
                "address": "r.x",
                "change": {
                    "actions": ["update"],
                    "before": {"p": "before-flag"},
                    "after": {"p": "after-flag"},
                    "before_sensitive": {"p": True},
                    "after_sensitive": {"p": True},
                },
            }
        ],
    }
    assert secrets_of(doc).secrets == {
        "nested-secret",
        "listed-secret",
        "123456",
        "before-flag",
        "after-flag",
    }


def test_the_longest_secret_is_masked_first_and_short_ones_are_ignored():
    redact = Redactor({"zzz", "azzzb", "ab"})
    assert redact("azzzb and zzz and ab") == f"{MASK} and {MASK} and ab"
    merged = Redactor({"first-secret"})
    merged.add(Redactor({"second-secret"}))
    assert merged("first-secret second-secret") == f"{MASK} {MASK}"
    assert repr(merged) == "Redactor(2 values)"


def test_secrets_of_drift_and_state_values_with_partial_flags():
    flagged = {
        "actions": ["update"],
        "before": {"p": "drift-before"},
        "after": {"p": "drift-after"},
        "before_sensitive": {"p": True},
        "after_sensitive": {"p": True},
    }
    state = {
        "root_module": {
            "resources": [
                {
                    "values": {
                        "conf": {"k": "state-secret", "u": "visible"},
                        "l": ["x-visible", "list-secret", "tail-visible"],
                    },
                    "sensitive_values": {"conf": {"k": True}, "l": [False, True]},
                }
            ]
        }
    }
    doc = {
        "resource_drift": [{"address": "r.d", "change": flagged}],
        "prior_state": {"values": state},
    }
    assert secrets_of(doc).secrets == {"drift-before", "drift-after", "state-secret", "list-secret"}
    # A state document (`show -json` of a state) holds its values at the top.
    other = {
        "root_module": {
            "resources": [{"values": {"k": "top-secret"}, "sensitive_values": {"k": True}}]
        }
    }
    assert secrets_of({"values": other, "prior_state": {"values": state}}).secrets == {"top-secret"}


def test_a_plan_without_changes_or_outputs_and_an_unknown_output_action():
    assert parse_plan({}, NO_SECRETS).changes == ()
    doc = {"output_changes": {"o": {"actions": ["forget", "x"]}}}
    assert parse_plan(doc, NO_SECRETS).outputs == ("output o would be forget/x",)


def test_secrets_of_tolerates_undeclared_variables_missing_changes_and_null_values():
    doc = {
        "variables": {"undeclared": {"value": "not-secret"}},
        "resource_changes": [
            {"address": "r.no_change"},
            {
                "address": "r.x",
                "change": {
                    "actions": ["update"],
                    "before": {"l": None},
                    "after": {"l": "xyz-value"},
                    "before_sensitive": {"l": [True]},
                    "after_sensitive": {"l": [True]},
                },
            },
        ],
    }
    assert secrets_of(doc).secrets == set()
    doc["configuration"] = {"root_module": {"variables": {"other": {"sensitive": True}}}}
    assert secrets_of(doc).secrets == set()


def test_a_map_that_only_lost_entries_names_them_and_an_added_entry_is_named_apart():
    before = {"tables": {"a": {"name": "a"}, "b": {"name": "b"}, "c": {"name": "c"}}}
    lost = one({"actions": ["update"], "before": before, "after": {"tables": {"a": {"name": "a"}}}})
    assert (lost.attributes[0].removed_only, lost.attributes[0].added) == (("b", "c"), ())
    changed = {"tables": {"a": {"name": "x"}}}
    kept_changed = one({"actions": ["update"], "before": before, "after": changed})
    assert kept_changed.attributes[0].removed_only == ()
    grown = {"tables": {**before["tables"], "d": {"name": "d"}}}
    added = one({"actions": ["update"], "before": before, "after": grown})
    assert (added.attributes[0].removed_only, added.attributes[0].added) == ((), ("d",))
    scalar = one({"actions": ["update"], "before": {"name": "a"}, "after": {"name": "b"}})
    assert (scalar.attributes[0].removed_only, scalar.attributes[0].added) == ((), ())

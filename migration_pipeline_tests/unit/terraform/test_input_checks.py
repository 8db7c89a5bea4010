"""The checks run before anything is applied, each problem word for word, and where a destination
is located (found by mutation testing of inputs.py, which only integration tests reached)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from migration_pipeline.errors import ArtieApiError, InputCheckError, ModuleEditError, SpecError
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform import inputs
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline.terraform.state import TerraformState

READER = 'resource "artie_source_reader" "mysql" {}\n'
OLD = 'resource "artie_pipeline" "v1" {}\n'
CONNECTOR = 'resource "artie_connector" "duck" {}\n'


def state(**resources: dict) -> TerraformState:
    """A state holding each `type__name=attributes` resource."""
    return TerraformState.parse(
        {
            "resources": [
                {
                    "mode": "managed",
                    "type": key.split("__")[0],
                    "name": key.split("__")[1],
                    "instances": [{"attributes": attributes}],
                }
                for key, attributes in resources.items()
            ]
        }
    )


class Artie:
    """A hand-written stand-in for Artie's API: connectors by uuid, or an error status."""

    def __init__(self, connectors: dict | None = None, error: int | None = None):
        self.connectors, self.error, self.asked = connectors or {}, error, []

    def get_connector(self, uuid: str) -> dict:
        self.asked.append(uuid)
        if self.error:
            raise ArtieApiError("no", status_code=self.error)
        return self.connectors[uuid]


def spec(directory: Path, new: dict | None = None, **extra) -> MigrationSpec:
    return MigrationSpec.model_validate(
        {
            "name": "m",
            "terraform": {"dir": str(directory)},
            "reader": "artie_source_reader.mysql",
            "old_pipeline": "artie_pipeline.v1",
            "new_pipeline": {"address": "artie_pipeline.v2", **(new or {})},
            **extra,
        }
    )


def test_a_connector_comes_from_the_state_else_from_artie():
    duck = {"uuid": "c-1", "type": "duckdb", "duckdb_config": {"directory": "/d"}}
    held = state(artie_connector__duck=duck)
    artie = Artie({"c-2": {"type": "duckdb", "sharedConfig": {"directory": "/e"}}, "c-3": {}})
    assert inputs.connector_settings(held, "c-1", artie) == duck
    assert inputs.connector_settings(held, "c-2", artie) == {
        "type": "duckdb",
        "duckdb_config": {"directory": "/e"},
    }
    assert inputs.connector_settings(held, "c-3", artie) == {"type": None, "duckdb_config": {}}
    assert artie.asked == ["c-2", "c-3"]
    assert inputs.connector_settings(held, "c-2", None) == {}
    assert inputs.connector_settings(held, None, artie) == {}
    assert inputs.connector_settings(held, "", artie) == {}
    assert artie.asked == ["c-2", "c-3"]
    assert inputs.connector_settings(held, "c-9", Artie(error=404)) == {}
    with pytest.raises(ArtieApiError):
        inputs.connector_settings(held, "c-9", Artie(error=500))


def located(connector: dict | None, database: str | None, artie=None) -> str:
    resources = {
        "artie_pipeline__v1": {
            "uuid": "p-1",
            "destination_connector_uuid": "c-1",
            "destination_config": {"database": database} if database else None,
        }
    }
    if connector is not None:
        resources["artie_connector__duck"] = {"uuid": "c-1", **connector}
    return inputs.destination_location(state(**resources), "artie_pipeline.v1", "x", artie)


def test_a_destination_is_a_file_in_the_connectors_directory_or_a_motherduck_database():
    duck = {"type": "duckdb", "duckdb_config": {"directory": "/data/w"}}
    assert located(duck, "analytics") == "/data/w/analytics.duckdb"
    assert located(duck, "md:analytics") == "md:analytics"
    assert located(duck, "motherduck:analytics") == "motherduck:analytics"
    assert located({"type": "motherduck"}, "analytics") == "md:analytics"
    assert located(None, "a", Artie({"c-1": {"type": "motherduck"}})) == "md:a"


@pytest.mark.parametrize(
    ("connector", "database", "why"),
    [
        (None, "a", "its connector is neither in the Terraform state nor known to Artie's API"),
        (
            {"type": "duckdb", "duckdb_config": {"directory": "rel"}},
            "a",
            "it is not a DuckDB connector with an absolute directory",
        ),
        (
            {"type": "duckdb", "duckdb_config": None},
            "a",
            "it is not a DuckDB connector with an absolute directory",
        ),
        (
            {"type": "duckdb", "duckdb_config": {"directory": "/d"}},
            None,
            "it is not a DuckDB connector with an absolute directory",
        ),
        ({"type": "motherduck"}, None, "it is not a DuckDB connector with an absolute directory"),
    ],
)
def test_a_destination_that_cannot_be_located_says_why(connector, database, why):
    with pytest.raises(SpecError) as refused:
        located(connector, database)
    assert refused.value.field == "validation.x"
    assert str(refused.value) == (
        f"validation.x: the destination of artie_pipeline.v1 cannot be located: {why}; "
        "set validation.x explicitly"
    )


def test_a_pipeline_not_in_the_state_cannot_be_located():
    with pytest.raises(SpecError) as refused:
        inputs.destination_location(state(), "artie_pipeline.v1", "old_destination")
    assert str(refused.value) == (
        "validation.old_destination: artie_pipeline.v1 is not in the Terraform state, so its "
        "destination cannot be derived; set it explicitly"
    )


def problems(directory: Path, files: str, held: TerraformState, the_spec=None, artie=None):
    (directory / "main.tf").write_text(files)
    try:
        inputs.check_inputs(the_spec or spec(directory), held, artie)
    except InputCheckError as e:
        return e.problems
    return []


APPLIED = state(
    artie_source_reader__mysql={"uuid": "r-1"},
    artie_pipeline__v1={"uuid": "p-1", "destination_config": {"database": "md:old"}},
)


def test_addresses_not_declared_or_not_applied_are_named(tmp_path):
    assert problems(tmp_path, READER + OLD, APPLIED) == []
    near = 'resource "artie_source_reader" "mysq1" {}\nresource "artie_pipeline" "v1x" {}\n'
    assert problems(tmp_path, near, APPLIED) == [
        f"reader: artie_source_reader.mysql is not declared in {tmp_path}/*.tf "
        "(did you mean artie_source_reader.mysq1?).",
        f"old_pipeline: artie_pipeline.v1 is not declared in {tmp_path}/*.tf "
        "(did you mean artie_pipeline.v1x?).",
    ]
    far = 'resource "artie_connector" "mysql" {}\nresource "artie_pipeline" "a_completely_different_one" {}\n'
    assert problems(tmp_path, far, APPLIED) == [
        f"reader: artie_source_reader.mysql is not declared in {tmp_path}/*.tf.",
        f"old_pipeline: artie_pipeline.v1 is not declared in {tmp_path}/*.tf.",
    ]
    assert problems(tmp_path, READER + OLD, state()) == [
        "reader: artie_source_reader.mysql is declared but not in the Terraform state: apply "
        "the module (terraform apply) before migrating.",
        "old_pipeline: artie_pipeline.v1 is declared but not in the Terraform state: apply "
        "the module (terraform apply) before migrating.",
    ]


def test_after_cutover_only_the_reader_is_checked(tmp_path):
    new = 'resource "artie_pipeline" "v2" {}\n'
    assert problems(tmp_path, READER + new, APPLIED) == []
    assert problems(tmp_path, new, APPLIED) == [
        f"reader: artie_source_reader.mysql is not declared in {tmp_path}/*.tf."
    ]


@pytest.mark.parametrize(
    ("connector", "declared", "problem"),
    [
        ("var.dest_uuid", 'variable "dest_uuid" {\n}\n', None),
        ("var.dest_uuid", "variable dest_uuid {}\n", None),
        ("var.dest_uuid", 'variable "dest" {}\n', "a variable dest_uuid"),
        ("local.dest", "locals {\n  dest = 1\n}\n", None),
        ("local.dest", "locals {\n  other = 1\n}\n", "a locals dest"),
        ("data.artie_connector.d.uuid", 'data "artie_connector" "d" {}\n', None),
        (
            "data.artie_connector.d.uuid",
            'data "artie_connector" "e" {}\n',
            "a data artie_connector.d",
        ),
        ("data.artie_connector.d.uuid", 'data "other" "d" {}\n', "a data artie_connector.d"),
    ],
)
def test_a_connector_expression_must_be_declared(tmp_path, connector, declared, problem):
    the_spec = spec(tmp_path, {"destination_connector": connector})
    found = problems(tmp_path, READER + OLD + declared, APPLIED, the_spec)
    assert found == (
        []
        if problem is None
        else [
            f"new_pipeline.destination_connector: {connector} refers to {problem} that "
            f"{tmp_path}/*.tf does not declare."
        ]
    )


def test_a_connector_address_must_be_declared(tmp_path):
    the_spec = spec(tmp_path, {"destination_connector": "artie_connector.duck"})
    assert problems(tmp_path, READER + OLD + CONNECTOR, APPLIED, the_spec) == []
    near = 'resource "artie_connector" "duk" {}\n'
    assert problems(tmp_path, READER + OLD + near, APPLIED, the_spec) == [
        "new_pipeline.destination_connector: artie_connector.duck is not declared in "
        f"{tmp_path}/*.tf (did you mean artie_connector.duk?)."
    ]
    assert problems(tmp_path, READER + OLD, APPLIED, the_spec) == [
        "new_pipeline.destination_connector: artie_connector.duck is not declared in "
        f"{tmp_path}/*.tf."
    ]


def unreadable(path) -> str:
    return (
        f"validation.old_destination: the old destination {path} cannot be read (missing, not a "
        "DuckDB file, or no permission): fix the path or its permissions, or set "
        "validation.old_destination."
    )


def with_old(directory: Path, database: str) -> TerraformState:
    return state(
        artie_source_reader__mysql={"uuid": "r-1"},
        artie_pipeline__v1={
            "uuid": "p-1",
            "destination_connector_uuid": "c-1",
            "destination_config": {"database": database},
        },
        artie_connector__duck={
            "uuid": "c-1",
            "type": "duckdb",
            "duckdb_config": {"directory": str(directory)},
        },
    )


def test_the_old_destination_must_read_as_duckdb_when_it_is_there_or_named(tmp_path):
    module = tmp_path / "m"
    module.mkdir()
    files = READER + OLD + CONNECTOR
    held = with_old(tmp_path, "old")
    assert problems(module, files, held) == []  # derived, not written yet: fine
    (tmp_path / "old.duckdb").write_text("a CSV export\n")
    assert problems(module, files, held) == [unreadable(tmp_path / "old.duckdb")]
    (tmp_path / "old.duckdb").unlink()
    duckdb.connect(str(tmp_path / "old.duckdb")).close()
    assert problems(module, files, held) == []
    named = tmp_path / "named.duckdb"
    the_spec = spec(module, validation={"old_destination": str(named)})
    assert problems(module, files, held, the_spec) == [unreadable(named)]
    named.write_bytes(b"12345678DUCK")
    assert problems(module, files, held, the_spec) == []
    named.write_bytes(b"1234567DUCK")
    assert problems(module, files, held, the_spec) == [unreadable(named)]
    md = spec(module, validation={"old_destination": "md:old"})
    assert problems(module, files, held, md) == []
    assert problems(module, files, with_old(Path("relative"), "old")) == [
        "validation.old_destination: the destination of artie_pipeline.v1 cannot be located: "
        "it is not a DuckDB connector with an absolute directory; set "
        "validation.old_destination explicitly"
    ]


def test_a_destination_file_without_permission_does_not_read(tmp_path):
    path = tmp_path / "d.duckdb"
    assert not inputs._reads_as_duckdb(path)
    path.mkdir()
    assert not inputs._reads_as_duckdb(path)


def test_the_new_destination_must_be_locatable_before_the_new_pipeline_exists(tmp_path):
    module = tmp_path / "m"
    module.mkdir()
    files = READER + OLD + CONNECTOR
    held = with_old(tmp_path, "old")
    to_duck = spec(module, {"destination_connector": "artie_connector.duck"})
    assert problems(module, files, held, to_duck) == []
    elsewhere = spec(module, {"destination_connector_uuid": "c-9"})
    motherduck = Artie({"c-9": {"type": "motherduck"}})
    assert problems(module, files, held, elsewhere, motherduck) == []
    relative = Artie({"c-9": {"type": "duckdb", "sharedConfig": {"directory": "rel"}}})
    cannot = (
        "validation.new_destination: the new destination cannot be located: it is not a DuckDB "
        "connector with an absolute directory; set validation.new_destination explicitly"
    )
    assert problems(module, files, held, elsewhere, relative) == [cannot]
    given = spec(
        module,
        {"destination_connector_uuid": "c-9"},
        validation={"new_destination": "/x/new.duckdb"},
    )
    assert problems(module, files, held, given, relative) == []
    created = state(**{**_resources(held), "artie_pipeline__v2": {"uuid": "p-2"}})
    assert problems(module, files, created, elsewhere, relative) == []
    no_database = with_old(tmp_path, "")
    assert problems(module, files, no_database, to_duck) == [
        "validation.old_destination: the destination of artie_pipeline.v1 cannot be located: "
        "it is not a DuckDB connector with an absolute directory; set "
        "validation.old_destination explicitly",
        cannot,
    ]


def _resources(held: TerraformState) -> dict:
    return {f"{r.type}__{r.name}": dict(r.attributes) for r in held.resources}


def test_a_for_each_reader_is_refused_with_its_moved_blocks_once_the_rest_is_right(tmp_path):
    each = 'resource "artie_source_reader" "mysql" {\n  for_each = toset(["a"])\n}\n'
    with pytest.raises(ModuleEditError, match="uses for_each"):
        problems(tmp_path, each + OLD, APPLIED)


def test_a_connector_variables_attribute_names_the_variable(tmp_path):
    the_spec = spec(tmp_path, {"destination_connector": "var.cfg.uuid"})
    assert problems(tmp_path, READER + OLD, APPLIED, the_spec) == [
        "new_pipeline.destination_connector: var.cfg.uuid refers to a variable cfg that "
        f"{tmp_path}/*.tf does not declare."
    ]


def test_a_name_only_somewhat_alike_is_not_suggested(tmp_path):
    # difflib's ratio of artie_pipeline.v1 and artie_pipeline.abcdefghij is 0.71, under 0.75
    others = 'resource "artie_pipeline" "abcdefghij" {}\n'
    assert problems(tmp_path, READER + others, APPLIED) == [
        f"old_pipeline: artie_pipeline.v1 is not declared in {tmp_path}/*.tf."
    ]


def test_a_folder_to_be_created_is_enterable_through_its_nearest_existing_one(tmp_path):
    assert inputs._enterable(tmp_path / "not" / "yet")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    not_a_folder.chmod(0o644)
    assert not inputs._enterable(not_a_folder)


def test_every_problem_is_kept_with_an_undeclared_connector_expression(tmp_path):
    the_spec = spec(tmp_path, {"destination_connector": "var.nowhere"})
    assert problems(tmp_path, OLD, APPLIED, the_spec) == [
        f"reader: artie_source_reader.mysql is not declared in {tmp_path}/*.tf.",
        "new_pipeline.destination_connector: var.nowhere refers to a variable nowhere that "
        f"{tmp_path}/*.tf does not declare.",
    ]


def test_the_old_destination_is_located_through_artie_when_the_state_lacks_its_connector(
    tmp_path,
):
    module = tmp_path / "m"
    module.mkdir()
    held = state(
        artie_source_reader__mysql={"uuid": "r-1"},
        artie_pipeline__v1={
            "uuid": "p-1",
            "destination_connector_uuid": "c-7",
            "destination_config": {"database": "old"},
        },
    )
    (tmp_path / "old.duckdb").write_text("not duckdb")
    artie = Artie({"c-7": {"type": "duckdb", "sharedConfig": {"directory": str(tmp_path)}}})
    assert problems(module, READER + OLD, held, artie=artie) == [
        unreadable(tmp_path / "old.duckdb")
    ]


def test_the_new_destination_file_is_the_new_database_in_the_new_connectors_folder(tmp_path):
    module = tmp_path / "m"
    module.mkdir()
    new_dir = tmp_path / "new"
    new_dir.mkdir()
    held = state(
        **_resources(with_old(tmp_path, "old")),
        artie_connector__duck2={
            "uuid": "c-2",
            "type": "duckdb",
            "duckdb_config": {"directory": str(new_dir)},
        },
    )
    files = READER + OLD + CONNECTOR + 'resource "artie_connector" "duck2" {}\n'
    to_new = spec(
        module,
        {"destination_connector": "artie_connector.duck2", "destination_config": {"database": "n"}},
    )
    assert problems(module, files, held, to_new) == []  # not written yet: fine
    (new_dir / "n.duckdb").write_text("not duckdb")
    assert problems(module, files, held, to_new) == [
        f"validation.new_destination: the new destination {new_dir / 'n.duckdb'} cannot be "
        "read (not a DuckDB file, or no permission on it or its folder): fix the connector's "
        "directory or its permissions, or set validation.new_destination."
    ]
    (new_dir / "n.duckdb").unlink()
    duckdb.connect(str(new_dir / "n.duckdb")).close()
    assert problems(module, files, held, to_new) == []
    (new_dir / "old.duckdb").write_text("the old database's name: not looked at")
    assert problems(module, files, held, to_new) == []


VARIABLES = (
    'variable "known" {\n  default = "c-1"\n}\nvariable "empty" {\n  default = ""\n}\n'
    'variable "unset" {}\nvariable "nowhere" {\n  default = "c-9"\n}\nvariable "listed" {\n'
    '  default = ["c-1"]\n}\nvariable "cfg" {\n  default = { uuid = "c-1" }\n}\n'
)


@pytest.fixture
def console(tmp_path) -> TerraformRunner:
    """Real `terraform console` over a configuration of variables only (no provider to init)."""
    folder = tmp_path / "vars"
    folder.mkdir()
    (folder / "variables.tf").write_text(VARIABLES)
    return TerraformRunner(folder)


def evaluated(tmp_path: Path, console, variable: str, artie=None, extra="") -> list[str]:
    module = tmp_path / "m"
    module.mkdir(exist_ok=True)
    held = state(
        **_resources(APPLIED),
        artie_connector__duck={
            "uuid": "c-1",
            "type": "duckdb",
            "duckdb_config": {"directory": str(tmp_path)},
        },
    )
    the_spec = spec(
        module,
        {"destination_connector": f"var.{variable}", "destination_config": {"database": "n"}},
    )
    (module / "main.tf").write_text(READER + OLD + VARIABLES + extra)
    try:
        inputs.check_inputs(the_spec, held, artie, console.evaluate)
    except InputCheckError as e:
        return e.problems
    return []


def test_a_connector_variable_is_checked_by_the_value_terraform_console_gives(tmp_path, console):
    field = "new_pipeline.destination_connector"
    assert evaluated(tmp_path, console, "known") == []
    (tmp_path / "n.duckdb").write_text("not duckdb")
    assert evaluated(tmp_path, console, "known") == [
        f"validation.new_destination: the new destination {tmp_path / 'n.duckdb'} cannot be "
        "read (not a DuckDB file, or no permission on it or its folder): fix the connector's "
        "directory or its permissions, or set validation.new_destination."
    ]
    assert evaluated(tmp_path, console, "unset") == [
        f"{field}: var.unset has no value: set it in terraform.tfvars (or a file in "
        "terraform.var_files) or give the variable a default."
    ]
    for variable, value in (("empty", "''"), ("listed", "['c-1']")):
        assert evaluated(tmp_path, console, variable) == [
            f"{field}: var.{variable} is not a connector uuid (terraform console gives {value}): "
            "fix its value."
        ]
    assert evaluated(tmp_path, console, "nowhere", Artie(error=404)) == [
        f"{field}: var.nowhere is c-9 (terraform console), which is no connector in the "
        "Terraform state or at Artie: fix its value."
    ]
    assert evaluated(tmp_path, console, "nowhere") == [
        "validation.new_destination: the new destination cannot be located: its connector is "
        "neither in the Terraform state nor known to Artie's API; set "
        "validation.new_destination explicitly"
    ]
    assert evaluated(tmp_path, console, "nowhere", Artie({"c-9": {"type": "motherduck"}})) == []
    assert evaluated(tmp_path, console, "cfg.uuid") == [  # an attribute of a variable too
        f"validation.new_destination: the new destination {tmp_path / 'n.duckdb'} cannot be "
        "read (not a DuckDB file, or no permission on it or its folder): fix the connector's "
        "directory or its permissions, or set validation.new_destination."
    ]
    (failed,) = evaluated(tmp_path, console, "other", extra='variable "other" {}\n')
    assert failed.startswith(f"{field}: terraform console cannot evaluate var.other: ")

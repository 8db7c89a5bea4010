"""Rehearsal results print as markdown and as JSON; the CLI reports spec errors with exit 2."""

from __future__ import annotations

import json

from migration_pipeline.cli import build_parser, main
from migration_pipeline.cli import rehearse as rehearse_command
from migration_pipeline.terraform.plan import Plan, ResourceChange
from migration_pipeline.terraform.rehearse import Rehearsal, _with_delta
from migration_pipeline.terraform.results import StepResult

CREATED = ResourceChange("artie_pipeline.v2", "managed", ("create",), ())


def test_a_refused_step_makes_the_rehearsal_fail_and_shows_in_json():
    rehearsal = Rehearsal(
        "m",
        (
            StepResult("promote", "planned", "ok", plan=Plan((), ())),
            StepResult("create", "refused", "no", plan=Plan((CREATED,), ()), problems=("bad",)),
        ),
    )
    assert rehearsal.ok is False
    data = json.loads(json.dumps(rehearsal.to_json()))
    assert [(s["step"], s["status"], s["problems"]) for s in data["steps"]] == [
        ("promote", "planned", []),
        ("create", "refused", ["bad"]),
    ]
    assert data["steps"][1]["plan"]["changes"][0]["actions"] == ["create"]
    assert rehearsal.to_markdown().startswith("## Rehearsal of m (nothing applied)\n\n### promote")
    assert "**Unexpected changes:**\n\n- bad\n" in rehearsal.to_markdown()


def test_the_cli_reports_a_spec_error_with_exit_code_2(tmp_path, capsys):
    config = tmp_path / "migrations.yaml"
    config.write_text("migrations: {}\n")
    assert main(["rehearse", "--config", str(config), "--migration", "nope"]) == 2
    assert capsys.readouterr().err == (
        "migration-pipeline rehearse: error: --migration: no migration named 'nope' in "
        f"{config} (known: none)\n"
    )


def test_the_cli_parser_takes_config_and_migration():
    args = build_parser("rehearse").parse_args(["rehearse", "--migration", "m", "--json"])
    assert (args.config, args.migration, args.json, args.func) == (
        None,
        "m",
        True,
        rehearse_command.run,
    )


def test_each_rehearsed_step_names_what_it_adds_to_the_cumulative_plan():
    updated = ResourceChange("artie_source_reader.r", "managed", ("update",), ())
    first = _with_delta(StepResult("promote", "planned", "", plan=Plan((updated,), ())), None)
    second = _with_delta(
        StepResult("create", "planned", "", plan=Plan((CREATED, updated), ())), first.plan
    )
    third = _with_delta(
        StepResult("unshare", "planned", "", plan=Plan((CREATED,), ())), second.plan
    )
    assert first.notes == (
        "this step's own change: artie_source_reader.r would be updated in place",
    )
    assert second.notes == ("this step's own change: artie_pipeline.v2 would be created",)
    assert third.notes == (
        "this step's own change: artie_source_reader.r is back to its current settings",
    )

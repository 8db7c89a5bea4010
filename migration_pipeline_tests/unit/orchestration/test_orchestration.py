"""The Dagster layer's pieces without the sandbox: names, destinations, approvals, launch reasons."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from migration_pipeline.artie.models import PipelineDetail, TableStatus
from migration_pipeline.errors import ApprovalError, SpecError
from migration_pipeline.orchestration import build_definitions
from migration_pipeline.orchestration.approvals import record_approval, record_in_run, recorded_by
from migration_pipeline.orchestration.checks import checks
from migration_pipeline.orchestration.destinations import destinations, table_mappings
from migration_pipeline.orchestration.event_metadata import (
    approval_key,
    latest_approval,
    validation_key,
)
from migration_pipeline.orchestration.facts import Snapshot
from migration_pipeline.orchestration.resources import ArtieApiResource
from migration_pipeline.orchestration.sensors import launch_reason
from migration_pipeline.phases import (
    Assessment,
    Gate,
    MigrationFacts,
    ModuleFacts,
    ValidationRecord,
)
from migration_pipeline.spec import load_specs
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline.validation import TableReport, ValidationReport
from migration_pipeline.validation.report import KeyList
from migration_pipeline.validation.verdict import Limits
from migration_pipeline_tests.support.orchestration import SPEC_YAML, report_validation


@pytest.fixture
def spec(tmp_path):
    (tmp_path / "migrations.yaml").write_text(SPEC_YAML)
    return load_specs(tmp_path / "migrations.yaml")["shop_move"]


def state(*resources: tuple[str, str, dict]) -> TerraformState:
    return TerraformState.parse(
        {
            "resources": [
                {"mode": "managed", "type": t, "name": n, "instances": [{"attributes": a}]}
                for t, n, a in resources
            ]
        }
    )


STATE = state(
    (
        "artie_connector",
        "wh1",
        {"uuid": "c1", "type": "duckdb", "duckdb_config": {"directory": "/data/wh1"}},
    ),
    ("artie_connector", "md", {"uuid": "c2", "type": "motherduck"}),
    (
        "artie_pipeline",
        "v1",
        {
            "uuid": "p1",
            "destination_connector_uuid": "c1",
            "destination_config": {"database": "analytics", "schema": "main"},
            "tables": {"orders": {"name": "orders", "alias": "o"}, "items": {"name": "items"}},
        },
    ),
    (
        "artie_pipeline",
        "v2",
        {
            "uuid": "p2",
            "destination_connector_uuid": "c2",
            "destination_config": {"database": "analytics_v2"},
            "soft_delete_rows": True,
            "tables": {"orders": {"name": "orders", "columns_to_exclude": ["Note"]}},
        },
    ),
)


def test_definitions_name_a_job_sensor_assets_and_checks_per_migration(spec):
    defs = build_definitions({spec.name: spec})
    job = defs.resolve_job_def("shop_move_job")
    assert [n.name for n in job.graph.node_defs] == [
        "promote_reader",
        "create_pipeline",
        "validate_destinations",
        "check_approval",
        "cut_over",
        "unshare_reader",
    ]
    assert defs.resolve_sensor_def("shop_move_catch_up_sensor").job_name == "shop_move_job"
    graph = defs.resolve_asset_graph()
    assert {validation_key(spec), approval_key(spec)} <= set(graph.get_all_asset_keys())
    assert {k.name for k in graph.asset_check_keys} == {
        "row_counts_match",
        "content_matches",
        "schemas_match",
    }


def test_destinations_come_from_the_connector_directory_or_motherduck(spec):
    assert destinations(spec, STATE) == ("/data/wh1/analytics.duckdb", "md:analytics_v2")


def test_an_explicit_destination_wins_and_a_missing_pipeline_says_what_to_set(spec):
    explicit = spec.model_copy(
        update={
            "validation": spec.validation.model_copy(
                update={"new_destination": "/elsewhere/v2.duckdb"}
            )
        }
    )
    assert destinations(explicit, STATE)[1] == "/elsewhere/v2.duckdb"
    with pytest.raises(SpecError) as e:
        destinations(spec, state())
    assert str(e.value) == (
        "validation.old_destination: artie_pipeline.v1 is not in the "
        "Terraform state, so its destination cannot be derived; set it "
        "explicitly"
    )


def test_mappings_carry_aliases_exclusions_and_soft_delete(spec):
    by_table = {m.old.ref.name: m for m in table_mappings(spec, STATE)}
    assert by_table["items"].new is None
    orders = by_table["o"]
    assert orders.new.ref.name == "orders" and orders.new.soft_delete
    assert not orders.comparable("note") and orders.comparable("total")


def test_an_approval_records_the_latest_validation_and_is_read_back(spec, tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        with pytest.raises(ApprovalError) as e:
            record_approval(instance, spec, "ana", "approve")
        assert str(e.value) == (
            "nothing to approve: no validation has run yet. Approve once the job's "
            "validate_destinations step or the validation schedule has recorded a clean one."
        )
        report_validation(instance, spec, "v-1", True, 1.0e9)
        record_approval(instance, spec, "ana", "approve", "counts agree")
        approval = latest_approval(instance, spec)
    assert (approval.who, approval.decision, approval.validation_id, approval.comment) == (
        "ana",
        "approve",
        "v-1",
        "counts agree",
    )


def test_a_decision_a_run_recorded_is_recorded_again_only_by_a_new_launch(spec, tmp_path):
    """Dagster's retry of a crashed abort run (root run id: the first run) continues the decision
    the first run recorded; a run a person launches anew, or the CLI, records a new one."""

    @dg.op
    def decide_abort(context) -> None:
        record_in_run(context, spec, "ana", "abort", "wrong warehouse")

    @dg.job
    def abort_job():
        decide_abort()

    def recorded(instance) -> list[tuple[str, str]]:
        found = instance.fetch_materializations(approval_key(spec), limit=10).records
        return [(r.run_id, r.asset_materialization.metadata["who"].value) for r in found]

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        first = abort_job.execute_in_process(instance=instance).run_id
        assert recorded(instance) == [(first, "ana")]
        retries = [dg.DagsterRun("abort_job", "retry-1", parent_run_id=first, root_run_id=first)]
        retries.append(
            dg.DagsterRun("abort_job", "retry-2", parent_run_id="retry-1", root_run_id=first)
        )
        for run in retries:
            instance.add_run(run)
            assert recorded_by(instance, spec, run)
        relaunched = abort_job.execute_in_process(instance=instance).run_id
        assert recorded(instance) == [(relaunched, "ana"), (first, "ana")]
        assert not recorded_by(instance, spec, retries[0])  # not the latest decision any more
        record_approval(instance, spec, "bo", "abort")
        assert not recorded_by(instance, spec, instance.get_run_by_id(relaunched))


def test_an_unknown_decision_is_refused(spec, tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        with pytest.raises(ApprovalError, match="decision must be one of approve, reject, abort"):
            record_approval(instance, spec, "ana", "maybe")


def _snapshot(assessment: Assessment, streaming: bool = True) -> Snapshot:
    status = PipelineDetail(
        "p2",
        "v2",
        "r",
        "c",
        "running",
        tables=(TableStatus("orders", "", "streaming" if streaming else "backfilling"),),
    )
    module = ModuleFacts(True, (), True, True, None)
    facts = MigrationFacts(
        module, "r", "o", "n", status, (ValidationRecord("v", "clean", datetime.now(UTC)),)
    )
    return Snapshot(facts, TerraformState(), assessment)


@pytest.mark.parametrize(
    ("assessment", "streaming", "launch"),
    [
        (Assessment("planned", "promote", "not shared"), True, None),
        (Assessment("reader_shared", "create", "no v2"), True, "create is allowed: no v2"),
        (Assessment("backfilling", None, "", (Gate("catch_up", False, ""),)), False, None),
        (
            Assessment("caught_up", None, "", (Gate("catch_up", False, ""),)),
            True,
            "the new pipeline streams every table: validate again",
        ),
        (
            Assessment(
                "caught_up", None, "", (Gate("catch_up", True, ""), Gate("approval", False, ""))
            ),
            True,
            None,
        ),
        (Assessment("complete", None, "done"), True, None),
    ],
)
def test_the_sensor_launches_only_when_a_run_could_advance(assessment, streaming, launch):
    assert launch_reason(_snapshot(assessment, streaming)) == launch


@pytest.mark.parametrize(
    ("in_flight", "limit", "passed"), [(1, 1000, True), (1, 0, False), (0, 1000, False)]
)
def test_row_counts_may_differ_only_when_the_verdict_is_clean(in_flight, limit, passed):
    table = TableReport(
        "orders",
        "orders",
        old_rows=10,
        new_rows=9,
        in_flight=KeyList(((1,),) * in_flight, in_flight),
        missing_in_new=KeyList(((1,),) * (1 - in_flight), 1 - in_flight),
    )
    now = datetime.now(UTC)
    report = ValidationReport(
        "old", "new", now, now, (table,), limits=Limits(max_in_flight_keys=limit)
    )
    outcomes = {o.name: o for o in checks(report)}
    assert (
        outcomes["row_counts_match"].passed,
        outcomes["row_counts_match"].metadata["in_flight"],
        outcomes["content_matches"].passed,
    ) == (passed, in_flight, report.clean)
    assert report.clean == passed


def test_the_approval_asset_records_a_ui_decision_and_refuses_a_failed_validation(
    spec, tmp_path, monkeypatch
):
    monkeypatch.setenv("TEST_ARTIE_KEY", "unused")  # only an abort talks to Artie
    defs = build_definitions({spec.name: spec})
    approval_asset = defs.resolve_assets_def(approval_key(spec))
    config = {"ops": {"shop_move__approval": {"config": {"who": "ana", "comment": "ok"}}}}
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        report_validation(instance, spec, "v-1", False, 1.0e9)
        refused = dg.materialize(
            [approval_asset], instance=instance, run_config=config, raise_on_error=False
        )
        assert not refused.success
        failure = next(e for e in refused.all_events if e.is_step_failure)
        assert "nothing to approve: the latest validation (v-1) was mismatch" in (
            failure.step_failure_data.error.message
        )
        report_validation(instance, spec, "v-2", True, 1.1e9)
        assert dg.materialize([approval_asset], instance=instance, run_config=config).success
        approval = latest_approval(instance, spec)
    assert (approval.who, approval.decision, approval.validation_id) == ("ana", "approve", "v-2")


def test_the_artie_key_never_shows_in_the_resource_repr(monkeypatch):
    monkeypatch.setenv("SHOP_ARTIE_KEY", "arsk_do_not_print")
    resource = ArtieApiResource(api_url="http://127.0.0.1:1", api_key=dg.EnvVar("SHOP_ARTIE_KEY"))

    @dg.op
    def look(artie: ArtieApiResource) -> str:
        return repr(artie)

    @dg.job(resource_defs={"artie": resource})
    def job():
        look()

    result = job.execute_in_process()
    assert "arsk_do_not_print" not in result.output_for_node("look")
    assert "arsk_do_not_print" not in repr(resource)


def test_an_approval_for_a_validation_that_is_no_longer_the_latest_is_refused(spec, tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        for n in (1, 2):
            report_validation(instance, spec, f"v-{n}", True, 1.0e9 + n)
        with pytest.raises(ApprovalError) as e:
            record_approval(instance, spec, "ana", "approve", "looked at v-1", reviewed="v-1")
        assert str(e.value) == (
            "you reviewed validation v-1, but the latest is v-2: read the "
            "latest validation_report, then decide again"
        )
        record_approval(instance, spec, "ana", "approve", "looked at v-2", reviewed="v-2")
        assert latest_approval(instance, spec).validation_id == "v-2"

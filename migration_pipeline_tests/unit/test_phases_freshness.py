"""The freshness gate measures a validation's whole age: days, month ends and time zones count.

A gate that compared only part of the age (seconds within the day) would let a day-old
validation through after an idle night, and the old pipeline would be deleted on stale evidence.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from migration_pipeline.artie.models import PipelineDetail, TableStatus
from migration_pipeline.phases import (
    Approval,
    GateSettings,
    MigrationFacts,
    ModuleFacts,
    ValidationRecord,
    assess,
    freshness_gate,
)

READER, OLD, NEW = "artie_source_reader.shop", "artie_pipeline.v1", "artie_pipeline.v2"
UUIDS = {READER: "r-1", OLD: "p-1", NEW: "p-2"}
THIRTY_MINUTES = GateSettings(max_validation_age=timedelta(minutes=30))


def facts(
    finished_at: datetime, now: datetime, pending: str | None = None, old_declared: bool = True
) -> MigrationFacts:
    module = ModuleFacts(
        reader_shared=True,
        reader_tables=(),
        old_pipeline_declared=old_declared,
        new_pipeline_declared=True,
        pending_step=pending,
        uuids=dict(UUIDS),
    )
    return MigrationFacts(
        module,
        READER,
        OLD,
        NEW,
        now=now,
        validations=(ValidationRecord("v1", "clean", finished_at),),
        approval=Approval("ana", "approve", "v1"),
    )


def gate(
    age: timedelta,
    now: datetime = datetime(2026, 5, 10, 9, 0, tzinfo=UTC),
    settings: GateSettings = THIRTY_MINUTES,
):
    return freshness_gate(facts(now - age, now), settings)


@pytest.mark.parametrize(
    "age",
    (
        timedelta(days=1, minutes=5),
        timedelta(days=1),
        timedelta(days=1, seconds=1),
        timedelta(days=2, minutes=29),
        timedelta(days=31, seconds=59),
        timedelta(days=365),
        timedelta(minutes=30, seconds=1),
        timedelta(hours=23, minutes=59),
    ),
)
def test_a_validation_older_than_the_limit_closes_the_gate_however_the_age_is_made_up(age):
    result = gate(age)
    assert not result.open
    minutes, seconds = divmod(int(age.total_seconds()), 60)
    assert result.reason == (
        f"The latest passing validation is {minutes} min {seconds} s old; "
        "cutover needs one no older than 30 min 0 s. Run the job again to "
        "validate."
    )


def test_one_day_and_five_minutes_is_1445_minutes_old():
    assert gate(timedelta(days=1, minutes=5)).reason.startswith(
        "The latest passing validation is 1445 min 0 s old;"
    )


@pytest.mark.parametrize(
    "age, shown",
    (
        (timedelta(0), "0 s"),
        (timedelta(seconds=59), "59 s"),
        (timedelta(minutes=1), "1 min 0 s"),
        (timedelta(minutes=29, seconds=59), "29 min 59 s"),
        (timedelta(minutes=30), "30 min 0 s"),
    ),
)
def test_a_validation_within_the_limit_keeps_the_gate_open(age, shown):
    result = gate(age)
    assert (result.open, result.reason) == (True, f"The latest validation passed {shown} ago.")


def test_a_limit_longer_than_a_day_is_honoured_whole():
    two_days = GateSettings(max_validation_age=timedelta(days=2))
    assert gate(timedelta(days=1, hours=23), settings=two_days).open
    assert not gate(timedelta(days=2, seconds=1), settings=two_days).open
    # Less than a day's seconds over the limit, but more than a day old in total.
    assert not gate(timedelta(days=3, minutes=1), settings=two_days).open


@pytest.mark.parametrize(
    "finished, now, fresh",
    (
        # Across a month end and a year end.
        (datetime(2026, 1, 31, 23, 50, tzinfo=UTC), datetime(2026, 2, 1, 0, 10, tzinfo=UTC), True),
        (datetime(2026, 1, 31, 23, 50, tzinfo=UTC), datetime(2026, 3, 1, 0, 10, tzinfo=UTC), False),
        (datetime(2025, 12, 31, 23, 45, tzinfo=UTC), datetime(2026, 1, 1, 0, 5, tzinfo=UTC), True),
        (datetime(2025, 12, 31, 23, 45, tzinfo=UTC), datetime(2026, 1, 2, 0, 5, tzinfo=UTC), False),
        # February 29th of a leap year, a month later at the same time of day.
        (datetime(2028, 2, 29, 8, 0, tzinfo=UTC), datetime(2028, 3, 29, 8, 5, tzinfo=UTC), False),
    ),
)
def test_ages_across_day_month_and_year_boundaries(finished, now, fresh):
    assert freshness_gate(facts(finished, now), THIRTY_MINUTES).open is fresh


def test_time_zones_compare_instants_not_wall_clocks():
    now = datetime(2026, 2, 28, 23, 20, tzinfo=UTC)
    plus_two, plus_five = timezone(timedelta(hours=2)), timezone(timedelta(hours=5))
    minus_five = timezone(timedelta(hours=-5))
    # 01:00 on March 1st at +02:00 is 23:00 UTC the day before: 20 minutes old.
    assert (
        freshness_gate(
            facts(datetime(2026, 3, 1, 1, 0, tzinfo=plus_two), now), THIRTY_MINUTES
        ).reason
        == "The latest validation passed 20 min 0 s ago."
    )
    # 18:10 at -05:00 is 23:10 UTC: 10 minutes old.
    assert (
        freshness_gate(
            facts(datetime(2026, 2, 28, 18, 10, tzinfo=minus_five), now), THIRTY_MINUTES
        ).reason
        == "The latest validation passed 10 min 0 s ago."
    )
    # 23:10 at +05:00 reads 10 minutes old on a UTC wall clock but is 18:10 UTC: 5 h 10 min.
    stale = freshness_gate(
        facts(datetime(2026, 2, 28, 23, 10, tzinfo=plus_five), now), THIRTY_MINUTES
    )
    assert (stale.open, stale.reason[:52]) == (
        False,
        "The latest passing validation is 310 min 0 s old; cu",
    )
    # `now` in another zone than the validation: still the instants that count.
    assert (
        freshness_gate(
            facts(
                datetime(2026, 2, 28, 23, 0, tzinfo=UTC),
                now.astimezone(timezone(timedelta(hours=1))),
            ),
            THIRTY_MINUTES,
        ).reason
        == "The latest validation passed 20 min 0 s ago."
    )


def streaming_facts(module: ModuleFacts, ages: tuple[timedelta, ...], now: datetime):
    status = PipelineDetail(
        "p-2", "v2", "r-1", "c-2", "running", tables=(TableStatus("orders", "", "streaming"),)
    )
    validations = tuple(
        ValidationRecord(f"v{len(ages) - i}", "clean", now - age) for i, age in enumerate(ages)
    )
    return MigrationFacts(
        module,
        READER,
        OLD,
        NEW,
        new_status=status,
        validations=validations,
        approval=Approval("ana", "approve", "v1"),
        now=now,
    )


@pytest.mark.parametrize("pending, old_declared", ((None, True), ("cutover", True), (None, False)))
def test_every_path_to_cutover_closes_on_a_day_old_validation(pending, old_declared):
    now = datetime(2026, 5, 10, 9, 0, tzinfo=UTC)
    module = facts(now, now, pending, old_declared).module
    day_old = (timedelta(days=1, minutes=5), timedelta(days=1, minutes=6))
    result = assess(streaming_facts(module, day_old, now), THIRTY_MINUTES)
    assert (result.phase, result.next_step) == ("approved", None)
    assert result.closed_gate.name == "fresh_validation"
    assert "1445 min 0 s old" in result.reason
    recent = (timedelta(minutes=5), timedelta(minutes=6))
    fresh = assess(streaming_facts(module, recent, now), THIRTY_MINUTES)
    assert (fresh.phase, fresh.next_step) == ("approved", "cutover")

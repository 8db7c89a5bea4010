"""The one verdict (clean / inconclusive / mismatch) at each limit's edge, with the reasons the
operator reads: the gates, the asset checks and the CLI's exit code all rest on it.
"""

from __future__ import annotations

import pytest

from migration_pipeline.validation.report import Summary
from migration_pipeline.validation.verdict import (
    CLEAN,
    INCONCLUSIVE,
    MISMATCH,
    VERDICTS,
    Limits,
    Verdict,
    judge,
    side_name,
)

LIMITS = Limits()


def test_the_defaults_and_the_three_verdicts():
    assert (
        LIMITS.max_lag_seconds,
        LIMITS.max_in_flight_keys,
        LIMITS.max_in_flight_age_seconds,
    ) == (10.0, 1000, 30.0)
    assert VERDICTS == ("clean", "inconclusive", "mismatch") == (CLEAN, INCONCLUSIVE, MISMATCH)


def test_nothing_wrong_is_clean_with_no_reason():
    assert judge(Summary(), LIMITS) == Verdict("clean")
    assert judge(Summary(), LIMITS).reason == ""


@pytest.mark.parametrize(
    "summary",
    (
        Summary(new_behind_old_seconds=10.0),
        Summary(new_behind_old_seconds=-10.0),
        Summary(in_flight=1000),
        Summary(in_flight_age_seconds=30.0),
        Summary(new_behind_old_seconds=0.0, in_flight_age_seconds=0.0),
    ),
)
def test_exactly_at_a_limit_is_still_clean(summary):
    assert judge(summary, LIMITS).kind == CLEAN


def test_each_limit_crossed_is_inconclusive_with_its_reason():
    cases = [
        (
            Summary(new_behind_old_seconds=12.25, in_flight=1500),
            [
                "analytics_v2 is 12.2 s behind (limit 10 s); 1,500 keys in flight",
                "1,500 keys in flight (limit 1,000)",
            ],
        ),
        (
            Summary(new_behind_old_seconds=-10.5),
            ["analytics is 10.5 s behind (limit 10 s); 0 keys in flight"],
        ),
        (
            Summary(in_flight_age_seconds=30.5),
            ["the oldest change in flight is 30.5 s old (limit 30 s)"],
        ),
        (
            Summary(unconfirmed=2),
            [
                "2 mismatched keys seen in this validation only (confirmed if the next one sees "
                "them too)"
            ],
        ),
        (
            Summary(pending_deletes=1234),
            [
                "1,234 keys on one side only, absent from the side that is ahead: a delete not "
                "applied yet, or lost (re-checked every validation)"
            ],
        ),
    ]
    for summary, reasons in cases:
        verdict = judge(summary, LIMITS, old="/d/analytics.duckdb", new="/d/analytics_v2.duckdb")
        assert verdict == Verdict(INCONCLUSIVE, tuple(reasons))


def test_a_confirmed_mismatch_or_a_blocking_schema_is_a_mismatch_listed_first():
    verdict = judge(Summary(confirmed=1200, unconfirmed=3), LIMITS, ("orders", "items"))
    assert verdict == Verdict(
        MISMATCH,
        (
            "1,200 mismatched keys confirmed",
            "schema differs in orders, items",
            "3 mismatched keys seen in this validation only (confirmed if the next one sees them "
            "too)",
        ),
    )
    assert verdict.reason == "; ".join(verdict.reasons)
    assert judge(Summary(), LIMITS, ("orders",)) == Verdict(MISMATCH, ("schema differs in orders",))


def test_limits_from_the_spec_replace_the_defaults():
    strict = Limits(max_lag_seconds=1, max_in_flight_keys=0, max_in_flight_age_seconds=0.5)
    verdict = judge(
        Summary(new_behind_old_seconds=1.5, in_flight=1, in_flight_age_seconds=0.75), strict
    )
    assert verdict.reasons == (
        "new is 1.5 s behind (limit 1 s); 1 key in flight",
        "1 key in flight (limit 0)",
        "the oldest change in flight is 0.8 s old (limit 0.5 s)",
    )


@pytest.mark.parametrize(
    "location, name",
    (
        ("/data/analytics_v2.duckdb", "analytics_v2"),
        ("/data/analytics_v2.duckdb/", "analytics_v2"),
        ("relative.duckdb", "relative"),
        ("md:warehouse", "md:warehouse"),
        ("/data/.duckdb", "/data/.duckdb"),
        ("new", "new"),
    ),
)
def test_a_destination_is_named_as_the_operator_knows_it(location, name):
    assert side_name(location) == name


def test_the_side_behind_is_named_by_the_sign_of_the_lag_under_a_sub_second_limit():
    tight = Limits(max_lag_seconds=0.5)
    assert judge(Summary(new_behind_old_seconds=0.75), tight).reasons == (
        "new is 0.8 s behind (limit 0.5 s); 0 keys in flight",
    )
    assert judge(Summary(new_behind_old_seconds=-0.75), tight).reasons == (
        "old is 0.8 s behind (limit 0.5 s); 0 keys in flight",
    )


def test_only_trailing_slashes_are_stripped_from_a_name():
    assert side_name("/data/BOX") == "BOX"


def test_one_key_reads_in_the_singular():
    summary = Summary(confirmed=1, unconfirmed=1, pending_deletes=1, in_flight=1)
    assert judge(summary, Limits(max_in_flight_keys=0)).reasons == (
        "1 mismatched key confirmed",
        "1 key in flight (limit 0)",
        "1 mismatched key seen in this validation only (confirmed if the next one sees it too)",
        "1 key on one side only, absent from the side that is ahead: a delete not applied yet, "
        "or lost (re-checked every validation)",
    )

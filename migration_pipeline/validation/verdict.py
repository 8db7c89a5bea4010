"""The one verdict of a validation: clean, inconclusive or mismatch, and why.

*clean*: nothing mismatched (confirmed or not), no key waiting as a pending delete, the new side
no more than `max_lag_seconds` behind (or ahead of) the old one, and what is set aside as in
flight few (`max_in_flight_keys`) and young (`max_in_flight_age_seconds`). *mismatch*: a
confirmed mismatch or a schema difference that stops values from comparing. Anything else is
*inconclusive*. The gates, the asset checks and the CLI's exit code all read this verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migration_pipeline.validation.report import Summary

CLEAN, INCONCLUSIVE, MISMATCH = "clean", "inconclusive", "mismatch"
VERDICTS = (CLEAN, INCONCLUSIVE, MISMATCH)

DEFAULT_MAX_LAG_SECONDS = 10.0
DEFAULT_MAX_IN_FLIGHT_KEYS = 1000
DEFAULT_MAX_IN_FLIGHT_AGE_SECONDS = 30.0


@dataclass(frozen=True)
class Limits:
    """How far from caught up a validation may be and still be clean (the spec's `gates:`)."""

    max_lag_seconds: float = DEFAULT_MAX_LAG_SECONDS
    max_in_flight_keys: int = DEFAULT_MAX_IN_FLIGHT_KEYS
    max_in_flight_age_seconds: float = DEFAULT_MAX_IN_FLIGHT_AGE_SECONDS


@dataclass(frozen=True)
class Verdict:
    """`kind` is clean / inconclusive / mismatch; `reasons` say why it is not clean."""

    kind: str
    reasons: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def side_name(location: str) -> str:
    """A destination as the operator knows it: `analytics_v2` for `.../analytics_v2.duckdb`."""
    name = location.rstrip("/").rsplit("/", 1)[-1]
    return name.removesuffix(".duckdb") or location


def _n(value: int) -> str:
    return f"{value:,}"


def _keys(count: int, adjective: str = "") -> str:
    """`1 mismatched key`, `1,200 mismatched keys`, `0 keys`."""
    return " ".join(w for w in (_n(count), adjective, "key" if count == 1 else "keys") if w)


def judge(
    summary: Summary,
    limits: Limits,
    schema_blocking: tuple[str, ...] = (),
    old: str = "old",
    new: str = "new",
) -> Verdict:
    """The verdict of these counts under `limits` (see the module doc); `old` and `new` name
    the destinations in the reasons."""
    s = summary
    mismatch, inconclusive = [], []
    if s.confirmed:
        mismatch.append(f"{_keys(s.confirmed, 'mismatched')} confirmed")
    if schema_blocking:
        mismatch.append("schema differs in " + ", ".join(schema_blocking))
    lag = s.new_behind_old_seconds
    if lag is not None and abs(lag) > limits.max_lag_seconds:
        behind = side_name(new if lag > 0 else old)
        inconclusive.append(
            f"{behind} is {abs(lag):.1f} s behind (limit {limits.max_lag_seconds:g} s); "
            f"{_keys(s.in_flight)} in flight"
        )
    if s.in_flight > limits.max_in_flight_keys:
        inconclusive.append(
            f"{_keys(s.in_flight)} in flight (limit {_n(limits.max_in_flight_keys)})"
        )
    age = s.in_flight_age_seconds
    if age is not None and age > limits.max_in_flight_age_seconds:
        inconclusive.append(
            f"the oldest change in flight is {age:.1f} s old "
            f"(limit {limits.max_in_flight_age_seconds:g} s)"
        )
    if s.unconfirmed:
        inconclusive.append(
            f"{_keys(s.unconfirmed, 'mismatched')} seen in this validation only "
            f"(confirmed if the next one sees {'it' if s.unconfirmed == 1 else 'them'} too)"
        )
    if s.pending_deletes:
        inconclusive.append(
            f"{_keys(s.pending_deletes)} on one side only, absent from the side that is "
            "ahead: a delete not applied yet, or lost (re-checked every validation)"
        )
    if mismatch:
        return Verdict(MISMATCH, tuple(mismatch + inconclusive))
    if inconclusive:
        return Verdict(INCONCLUSIVE, tuple(inconclusive))
    return Verdict(CLEAN)

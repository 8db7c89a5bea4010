"""When a table may be validated incrementally: the policy, the history's starting points, the
defaults (plain data, no DuckDB: the spec and the CLI's `--help` read it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

DEFAULT_FULL_EVERY = 12  # validations: at least one in this many is full
DEFAULT_FULL_EVERY_HOURS = 6.0  # and at least one in this many hours


@dataclass(frozen=True)
class Baseline:
    """What the history holds for one table pair: the change time its last clean validation
    reached (since the latest full validation, which was clean), and when that full one ran."""

    since: datetime | None
    last_full_at: datetime | None
    runs_since_full: int = 0


@dataclass(frozen=True)
class IncrementalPolicy:
    """When a table may be compared incrementally. `baselines` and `change_time_columns` are
    keyed by the old table's name as reports show it."""

    baselines: Mapping[str, Baseline] = field(default_factory=dict)
    change_time_columns: Mapping[str, str] = field(default_factory=dict)
    change_time_column: str | None = None  # for every table not in `change_time_columns`
    full_every: int = DEFAULT_FULL_EVERY
    full_every_hours: float = DEFAULT_FULL_EVERY_HOURS
    force_full: bool = False

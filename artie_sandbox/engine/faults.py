"""Injected faults, kept in a table of the control-plane file so the engine and the API both see them.

Kinds: `drop_changes` (a pipeline skips its next N changes), `corrupt_rows` (N destination
rows get a wrong value), `stall` (a pipeline stops moving), `api_errors` (the API answers 5xx
or 429 for a time, or to its next N calls),
`slow_backfill` (backfill capped at rows per second). A fault with `until` expires then; one
with `remaining` ends when used up; `clear` removes them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass, field

from artie_sandbox.store import Store

KINDS = ("drop_changes", "corrupt_rows", "stall", "api_errors", "slow_backfill")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sandbox_faults (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    pipeline_uuid TEXT NOT NULL DEFAULT '',
    remaining INTEGER,
    until REAL,
    params TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class Fault:
    id: int
    kind: str
    pipeline_uuid: str = ""
    remaining: int | None = None
    until: float | None = None
    params: dict = field(default_factory=dict)
    created_at: float = 0.0

    def applies_to(self, pipeline_uuid: str) -> bool:
        return self.pipeline_uuid in ("", pipeline_uuid)

    def to_json(self) -> dict:
        return asdict(self)


class Faults:
    """The fault table inside the control-plane store (through its per-thread connections)."""

    def __init__(self, store: Store):
        self.store = store
        self.store.execute(_SCHEMA)

    def _execute(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        return self.store.execute(sql, args)

    def add(
        self,
        kind: str,
        pipeline_uuid: str = "",
        count: int | None = None,
        seconds: float | None = None,
        **params,
    ) -> Fault:
        """Record a fault; `count` for drop/corrupt (and api_errors: its next N calls), `seconds`
        bounds the others (None: until cleared)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; use one of {', '.join(KINDS)}")
        if kind in ("drop_changes", "corrupt_rows") and not (count and count > 0):
            raise ValueError(f"{kind} needs a positive count")
        if kind == "api_errors" and (count is None) == (seconds is None):
            raise ValueError("api_errors needs either seconds (how long) or count (how many calls)")
        if count is not None and count <= 0:
            raise ValueError(f"{kind} needs a positive count")
        now = time.time()
        until = now + seconds if seconds is not None else None
        cur = self._execute(
            "INSERT INTO sandbox_faults (kind, pipeline_uuid, remaining, until, params, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (kind, pipeline_uuid, count, until, json.dumps(params, sort_keys=True), now),
        )
        return Fault(cur.lastrowid, kind, pipeline_uuid, count, until, params, now)

    def active(self, kind: str | None = None) -> list[Fault]:
        """Faults still in force (not expired, not used up), oldest first."""
        rows = self._execute(
            "SELECT id, kind, pipeline_uuid, remaining, until, params, created_at FROM sandbox_faults "
            "WHERE (until IS NULL OR until > ?) AND (remaining IS NULL OR remaining > 0) "
            "AND (? IS NULL OR kind = ?) ORDER BY id",
            (time.time(), kind, kind),
        ).fetchall()
        return [Fault(*r[:5], json.loads(r[5]), r[6]) for r in rows]

    def next_expiry(self) -> float | None:
        """The soonest `until` of a fault in force, as a `time.monotonic()` value (None: none)."""
        untils = [f.until for f in self.active() if f.until is not None]
        return time.monotonic() + (min(untils) - time.time()) if untils else None

    def for_pipeline(self, kind: str, pipeline_uuid: str) -> list[Fault]:
        return [f for f in self.active(kind) if f.applies_to(pipeline_uuid)]

    def use(self, fault: Fault, n: int) -> None:
        """Count `n` units of a counted fault as done."""
        self._execute(
            "UPDATE sandbox_faults SET remaining = MAX(remaining - ?, 0) WHERE id = ?",
            (n, fault.id),
        )

    def take(self, fault: Fault) -> bool:
        """Use one unit of a counted fault; False when none was left (another caller took it)."""
        cur = self._execute(
            "UPDATE sandbox_faults SET remaining = remaining - 1 WHERE id = ? AND remaining > 0",
            (fault.id,),
        )
        return cur.rowcount == 1

    def clear(self, pipeline_uuid: str | None = None, kind: str | None = None) -> int:
        """Remove faults (all, or one pipeline's, or one kind); returns how many were removed."""
        cur = self._execute(
            "DELETE FROM sandbox_faults WHERE (? IS NULL OR pipeline_uuid = ?) AND (? IS NULL OR kind = ?)",
            (pipeline_uuid, pipeline_uuid, kind, kind),
        )
        return cur.rowcount

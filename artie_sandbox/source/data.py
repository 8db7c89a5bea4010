"""Deterministic column values for any declared table, from one `random.Random`."""

from __future__ import annotations

import random
import time

from artie_sandbox.source.capture import dumps
from artie_sandbox.source.schema import SourceColumn, SourceTable

_EPOCH_2024 = 1_704_067_200
_WORDS = ("alpha", "bravo", "delta", "echo", "gold", "jade", "nova", "onyx", "ruby", "zinc")


class Values:
    """Values per column kind. Floats keep 4 decimals so their JSON image round-trips exactly."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def value(self, column: SourceColumn):
        rng = self.rng
        if column.nullable and rng.random() < 0.1:
            return None
        kind = column.kind
        if kind == "integer":
            return rng.randrange(1, 100_000)
        if kind == "text":
            return f"{column.name}-{rng.choice(_WORDS)}-{rng.randrange(1_000_000)}"
        if kind == "decimal":
            return f"{rng.randrange(0, 10_000_000) / 100:.2f}"
        if kind == "double":
            return round(rng.uniform(0, 1000), 4)
        if kind == "timestamp":
            secs = _EPOCH_2024 + rng.randrange(0, 60_000_000)
            return (
                time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(secs))
                + f".{rng.randrange(1_000_000):06d}"
            )
        if kind == "boolean":
            return rng.randrange(2)
        return dumps(
            {"tier": rng.choice(_WORDS), "n": rng.randrange(100), "tags": [rng.choice(_WORDS)]}
        )

    def row(self, table: SourceTable, key: dict) -> tuple:
        """A full row in column order; key columns take their values from `key`."""
        return tuple(key[c.name] if c.name in key else self.value(c) for c in table.columns)

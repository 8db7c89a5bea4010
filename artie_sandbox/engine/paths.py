"""Where the sandbox keeps its files: the state directory and the control-plane store inside it."""

from __future__ import annotations

import os
from pathlib import Path

# Must equal artie_sandbox.api.app.CONTROL_PLANE_FILE (a unit test holds them together); not
# imported from there so the engine does not load the web stack.
STORE_FILE = "control-plane.db"


def default_state_dir() -> Path:
    """`$ARTIE_SANDBOX_HOME`, else `~/.artie-sandbox` (as `artie-sandbox up` uses)."""
    return Path(os.environ.get("ARTIE_SANDBOX_HOME") or Path.home() / ".artie-sandbox")


def store_path(state_dir: str | Path) -> Path:
    return Path(state_dir) / STORE_FILE

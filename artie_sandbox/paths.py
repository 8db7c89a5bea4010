"""Where the sandbox keeps its files: the one home of the state directory's layout (stdlib only).

Everything of one sandbox lives under its state directory (`$ARTIE_SANDBOX_HOME`, else
`~/.artie-sandbox`): the API key, the API's port, the control-plane store, the engine's change
logs, pid and log files of the services and the provider's mirror. The lifecycle, the API, the
engine and the provider all take these names from here.
"""

from __future__ import annotations

import os
from pathlib import Path

STORE_FILE = "control-plane.db"
API_KEY_FILE = "api-key"
API_PORT_FILE = "api.port"
HOME_VARIABLE = "ARTIE_SANDBOX_HOME"


def default_state_dir() -> Path:
    """`$ARTIE_SANDBOX_HOME`, else `~/.artie-sandbox`."""
    return Path(os.environ.get(HOME_VARIABLE) or Path.home() / ".artie-sandbox")


def store_path(state_dir: str | Path) -> Path:
    """The control-plane SQLite file (connectors, readers, pipelines, progress, faults)."""
    return Path(state_dir) / STORE_FILE


def api_key_path(state_dir: str | Path) -> Path:
    """The file `artie-sandbox init` writes the API key to (mode 0600)."""
    return Path(state_dir) / API_KEY_FILE


def api_port_path(state_dir: str | Path) -> Path:
    """The file the running API writes its port to, removed when it stops."""
    return Path(state_dir) / API_PORT_FILE


def change_log_path(state_dir: str | Path, reader_uuid: str) -> Path:
    """One source reader's change log (the engine's stand-in for a Kafka topic)."""
    return Path(state_dir) / "engine" / "logs" / f"{reader_uuid}.sqlite"


def api_endpoint(state_dir: str | Path) -> str | None:
    """`http://127.0.0.1:<port>` of the API serving `state_dir`, or None when none is running."""
    try:
        port = api_port_path(state_dir).read_text().strip()
    except OSError:
        return None
    return f"http://127.0.0.1:{port}" if port.isdigit() else None

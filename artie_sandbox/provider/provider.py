"""The provider block (`endpoint`, `api_key`) and the list of resources.

`api_key` falls back to ARTIE_API_KEY, `endpoint` to ARTIE_ENDPOINT and then to the running
sandbox (`<ARTIE_SANDBOX_HOME or ~/.artie-sandbox>/api.port`). The key is never logged.
"""

from __future__ import annotations

import os

from tf import schema, types
from tf.iface import Provider
from tf.types import Unknown
from tf.utils import Diagnostics

from artie_sandbox.paths import api_endpoint, default_state_dir
from artie_sandbox.provider import FULL_NAME
from artie_sandbox.provider.client import Client
from artie_sandbox.provider.connector import ConnectorResource
from artie_sandbox.provider.pipeline import PipelineResource
from artie_sandbox.provider.source_reader import SourceReaderResource

KEY_PREFIX = "arsk_"
MALFORMED_KEY = "The Artie API key is malformed: it should start with arsk_."
MISSING_KEY = (
    "Set `api_key` in the provider block or the ARTIE_API_KEY environment variable. "
    "For the sandbox: export ARTIE_API_KEY=$(cat <state dir>/api-key)."
)
MISSING_ENDPOINT = (
    "Set `endpoint` in the provider block or ARTIE_ENDPOINT, or start the sandbox with "
    "`artie-sandbox up` (it records its port in <state dir>/api.port)."
)


def sandbox_endpoint() -> str | None:
    """The local sandbox's URL, if one has recorded its port."""
    return api_endpoint(default_state_dir())


def _known(value: object) -> str | None:
    """A configured string; None when unset or not known yet (Unknown during a plan)."""
    return value if isinstance(value, str) and value else None


class ArtieProvider(Provider):
    def __init__(self):
        self.client: Client | None = None

    def get_model_prefix(self) -> str:
        return "artie_"

    def full_name(self) -> str:
        return FULL_NAME

    def get_provider_schema(self, diags: Diagnostics) -> schema.Schema:
        return schema.Schema(
            version=0,
            attributes=[
                schema.Attribute(
                    "endpoint",
                    types.String(),
                    optional=True,
                    description="Artie API endpoint. Defaults to ARTIE_ENDPOINT, then to the local "
                    "sandbox started by `artie-sandbox up`.",
                ),
                schema.Attribute(
                    "api_key",
                    types.String(),
                    optional=True,
                    sensitive=True,
                    description="Artie API key (`arsk_...`). Defaults to ARTIE_API_KEY.",
                ),
            ],
        )

    def validate_config(self, diags: Diagnostics, config: dict):
        key = config.get("api_key")
        if isinstance(key, str) and key is not Unknown and not key.startswith(KEY_PREFIX):
            diags.add_error("Invalid api_key", MALFORMED_KEY, path=["api_key"])

    def configure_provider(self, diags: Diagnostics, config: dict):
        key = _known(config.get("api_key")) or os.environ.get("ARTIE_API_KEY")
        endpoint = (
            _known(config.get("endpoint")) or os.environ.get("ARTIE_ENDPOINT") or sandbox_endpoint()
        )
        if not key:
            diags.add_error("Missing Artie API key", MISSING_KEY, path=["api_key"])
        elif not key.startswith(KEY_PREFIX):
            diags.add_error("Invalid api_key", MALFORMED_KEY, path=["api_key"])
        if not endpoint:
            diags.add_error("Missing Artie endpoint", MISSING_ENDPOINT, path=["endpoint"])
        if not diags.has_errors():
            self.client = Client(endpoint=endpoint, api_key=key)

    def get_data_sources(self):
        return []

    def get_resources(self):
        return [ConnectorResource, SourceReaderResource, PipelineResource]

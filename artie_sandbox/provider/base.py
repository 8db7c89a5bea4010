"""What every artie_* resource shares: the API client, errors as Terraform diagnostics, reads.

An expected failure (the API refused, the sandbox is down, the key is wrong) becomes a diagnostic
on the attribute it concerns; an exception would surface as an opaque "Plugin error".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from tf import schema, types
from tf.iface import ImportContext, ReadContext, Resource, UpgradeContext

from artie_sandbox.provider.client import ApiError, ArtieError, AuthError, Client, UnreachableError

FAILED = object()


class ArtieResource(Resource):
    """Base of the three resources; subclasses set `label`, `path` and `error_paths`."""

    name: ClassVar[str]  # without the provider prefix: "connector" -> artie_connector
    description: ClassVar[str]
    label: ClassVar[str]  # as Artie's provider names it in messages: "Connector", "Pipeline"
    path: ClassVar[str]  # API collection: "connectors", "source-readers", "pipelines"
    # (words in an API error message, attribute the diagnostic points at), first match wins
    error_paths: ClassVar[tuple[tuple[tuple[str, ...], str], ...]] = ()

    def __init__(self, provider):
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return cls.name

    @classmethod
    def get_schema(cls) -> schema.Schema:
        return schema.Schema(version=0, description=cls.description, attributes=cls.attributes())

    @classmethod
    def attributes(cls) -> list[schema.Attribute]:
        raise NotImplementedError

    @property
    def client(self) -> Client:
        return self.provider.client

    def attribute_for(self, message: str) -> list[str] | None:
        lowered = message.lower()
        for words, attribute in self.error_paths:
            if any(w in lowered for w in words):
                return [attribute]
        return None

    def call(self, ctx, action: str, fn: Callable[[], Any]) -> Any:
        """Run one API interaction; on failure add the diagnostic and return FAILED."""
        if self.provider.client is None:
            ctx.diagnostics.add_error(
                f"Unable to {action} {self.label}",
                "The artie provider is not configured (see the provider errors above).",
            )
            return FAILED
        try:
            return fn()
        except UnreachableError as e:
            ctx.diagnostics.add_error("Cannot reach the Artie API", e.detail)
        except AuthError as e:
            ctx.diagnostics.add_error("Artie API key rejected", e.detail)
        except ArtieError as e:
            path = self.attribute_for(e.detail) if action != "delete" else None
            ctx.diagnostics.add_error(f"Unable to {action} {self.label}", e.detail, path=path)
        return FAILED

    def read(self, ctx: ReadContext, current: dict) -> dict | None:
        def fetch():
            try:
                return self.client.get(f"{self.path}/{current['uuid']}")
            except ApiError as e:
                if e.status == 404:
                    return None  # gone outside Terraform: drop from state, plan a create
                raise

        api = self.call(ctx, "read", fetch)
        if api is FAILED:
            return current
        return None if api is None else self.to_state(api, current)

    def to_state(self, api: dict, prior: dict) -> dict:
        raise NotImplementedError

    def import_(self, ctx: ImportContext, id: str) -> dict | None:
        """`terraform import <address> <uuid>`, as Artie's provider supports."""
        api = self.call(ctx, "import", lambda: self.client.get(f"{self.path}/{id}"))
        return None if api is FAILED else self.to_state(api, {})

    def delete(self, ctx, current: dict):
        def remove():
            try:
                self.client.delete(f"{self.path}/{current['uuid']}")
            except ApiError as e:
                if e.status != 404:
                    raise

        # A refused delete keeps the resource in state; a null state would make Terraform forget it.
        return current if self.call(ctx, "delete", remove) is FAILED else None

    def upgrade(self, ctx: UpgradeContext, version: int, old: dict) -> dict:
        return old  # schema version 0 only; tf's default adds a warning on every refresh


def uuid_attribute() -> schema.Attribute:
    return schema.Attribute("uuid", types.String(), computed=True)


def required(name: str, tf_type, description: str) -> schema.Attribute:
    return schema.Attribute(name, tf_type, required=True, description=description)


def optional(name: str, tf_type, description: str, **flags) -> schema.Attribute:
    return schema.Attribute(name, tf_type, optional=True, description=description, **flags)

"""What every artie_* resource shares: the API client, errors as Terraform diagnostics, reads.

An expected failure (the API refused, the sandbox is down, the key is wrong) becomes a diagnostic
on the attribute it concerns; an exception would surface as an opaque "Plugin error".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from tf import schema, types
from tf.iface import ImportContext, PlanContext, ReadContext, Resource, UpgradeContext
from tf.types import Unknown

from artie_sandbox.provider.client import ArtieError, AuthError, Client, UnreachableError
from artie_sandbox.provider.planning import CONFIG

FAILED = object()


class ArtieResource(Resource):
    """Base of the three resources; subclasses set `label`, `path` and `error_paths`."""

    name: ClassVar[str]  # without the provider prefix: "connector" -> artie_connector
    description: ClassVar[str]
    label: ClassVar[str]  # as Artie's provider names it in messages: "Connector", "Pipeline"
    path: ClassVar[str]  # API collection: "connectors", "source-readers", "pipelines"
    # (words in an API error message, attribute the diagnostic points at), first match wins
    error_paths: ClassVar[tuple[tuple[tuple[str, ...], str], ...]] = ()
    # Optional + Computed attributes without a plan modifier in Artie's provider: left out of
    # the configuration, they become "known after apply" when the resource changes.
    unknown_when_unset: ClassVar[tuple[str, ...]] = ()
    # Attributes with a framework `Default`: left out of the configuration, they take it.
    defaults: ClassVar[dict[str, Any]] = {}

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
        # As Artie's provider: any error, a 404 included, is an error (the object is not
        # silently dropped from state; `terraform state rm` is the operator's call).
        api = self.call(ctx, "read", lambda: self.client.get(f"{self.path}/{current['uuid']}"))
        return current if api is FAILED else self.to_state(api, current)

    def to_state(self, api: dict, prior: dict) -> dict:
        raise NotImplementedError

    def plan(self, ctx: PlanContext, current: dict | None, planned: dict) -> dict:
        """An update's plan as terraform-plugin-framework makes it for Artie's provider."""
        config = CONFIG.get()
        if current is None or config is None:
            return planned
        for name, default in self.defaults.items():
            if config.get(name) is None:
                planned[name] = default
        if any(planned.get(k) != v for k, v in current.items()):
            for name in self.unknown_when_unset:
                if config.get(name) is None:
                    planned[name] = Unknown
        return planned

    def import_(self, ctx: ImportContext, id: str) -> dict | None:
        """`terraform import <address> <uuid>`, as Artie's provider supports."""
        api = self.call(ctx, "import", lambda: self.client.get(f"{self.path}/{id}"))
        return None if api is FAILED else self.to_state(api, {})

    def delete(self, ctx, current: dict):
        # As Artie's provider: every error refuses the delete, whatever its code (a delete of an
        # object already gone fails, as it does against Artie). A refused delete keeps the
        # resource in state; a null state would make Terraform forget it.
        removed = self.call(
            ctx, "delete", lambda: self.client.delete(f"{self.path}/{current['uuid']}")
        )
        return current if removed is FAILED else None

    def upgrade(self, ctx: UpgradeContext, version: int, old: dict) -> dict:
        return old  # schema version 0 only; tf's default adds a warning on every refresh


def uuid_attribute() -> schema.Attribute:
    return schema.Attribute("uuid", types.String(), computed=True)


def required(name: str, tf_type, description: str) -> schema.Attribute:
    return schema.Attribute(name, tf_type, required=True, description=description)


def optional(name: str, tf_type, description: str, **flags) -> schema.Attribute:
    return schema.Attribute(name, tf_type, optional=True, description=description, **flags)

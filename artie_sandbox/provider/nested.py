"""Protocol-6 nested attributes (`tables = { ... }`, `destination_config = { ... }`) for PyPI `tf`.

`tf` only knows plain attributes and nested blocks. The real Artie provider declares `tables` as a
map-nested attribute and the per-type configs as single-nested attributes, so users write
`tables = { "orders" = { name = "orders" } }`, not blocks. `NestedAttribute.to_pb()` emits the
protobuf attribute with `nested_type` instead of `type`; values travel as plain dicts.
"""

from __future__ import annotations

from typing import Any

from tf import schema
from tf.gen import tfplugin_pb2 as pb
from tf.types import TfType, Unknown

_NESTING = {
    "single": pb.Schema.Object.NestingMode.SINGLE,
    "map": pb.Schema.Object.NestingMode.MAP,
}


class NestedObject(TfType):
    """The value of a nested attribute: one object (`single`) or a map of objects (`map`).

    Objects are dicts keyed by attribute name; every attribute is present (null when unset),
    which is how Terraform sends them and how it expects them back.
    """

    def __init__(self, attributes: list[schema.Attribute], nesting: str):
        self.attributes = attributes
        self.nesting = nesting

    def _object(self, value: Any, convert: str) -> Any:
        if value in (None, Unknown):
            return value
        return {
            a.name: getattr(a.type, convert)(value.get(a.name))
            if value.get(a.name) is not Unknown
            else Unknown
            for a in self.attributes
        }

    def encode(self, value: Any) -> Any:
        return self._map(value, "encode")

    def decode(self, value: Any) -> Any:
        return self._map(value, "decode")

    def _map(self, value: Any, convert: str) -> Any:
        if self.nesting == "single" or value in (None, Unknown):
            return self._object(value, convert)
        return {key: self._object(obj, convert) for key, obj in value.items()}

    def tf_type(self) -> bytes:
        raise NotImplementedError("nested attributes have a nested_type, not a type")


class NestedAttribute(schema.Attribute):
    """A `schema.Attribute` whose value is a nested object or a map of nested objects."""

    def __init__(self, name: str, attributes: list[schema.Attribute], nesting: str, **kwargs):
        super().__init__(name, NestedObject(attributes, nesting), **kwargs)
        self.nested_attributes = attributes
        self.nesting = nesting

    def to_pb(self) -> pb.Schema.Attribute:
        return pb.Schema.Attribute(
            name=self.name,
            nested_type=pb.Schema.Object(
                attributes=[a.to_pb() for a in self.nested_attributes],
                nesting=_NESTING[self.nesting],
            ),
            description=self.description,
            description_kind=pb.StringKind.MARKDOWN,
            required=bool(self.required),
            optional=bool(self.optional),
            computed=bool(self.computed),
            sensitive=bool(self.sensitive),
        )

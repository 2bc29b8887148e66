"""Values in the shape a recorded schema gives: whether a value fits a schema (`fits`), a value
made to fit by keeping what fits and filling the rest (`conform`), and the least value that fits
(`least`).

Recording uses them to turn Stripe's example objects (`fixtures3.json`, newer than the 2023
schemas) into objects of the recorded shape; the generic resources use them to put a request's
values into an object, field by field. The schemas are those of a recorded document (nullable
already rewritten as `anyOf [..., {enum: [null]}]`), whose `$ref`s point into the same document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_REF_PREFIX = "#/components/schemas/"
# A schema `$ref`s itself through its fields (a charge's refunds hold charges): past this depth
# `least` answers the null or the id branch every such field offers.
_MAX_DEPTH = 12


class Shapes:
    """The component schemas of one recorded document, for `fits`, `conform` and `least`."""

    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self.schemas = schemas

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """`schema`, or what its `$ref` names (followed until it names no other)."""
        seen = 0
        while "$ref" in schema and seen < _MAX_DEPTH:
            ref = str(schema["$ref"])
            if not ref.startswith(_REF_PREFIX):
                raise ValueError(f"cannot follow $ref {ref!r}")
            schema = self.schemas[ref[len(_REF_PREFIX) :]]
            seen += 1
        return schema

    def fits(self, value: Any, schema: Mapping[str, Any], depth: int = 0) -> bool:
        """Whether `value` satisfies `schema` (types, enums, required fields, nested shapes)."""
        schema = self.resolve(schema)
        if depth > _MAX_DEPTH:
            return True
        if "anyOf" in schema:
            return any(self.fits(value, branch, depth + 1) for branch in schema["anyOf"])
        if "enum" in schema and value not in schema["enum"]:
            return False
        kind = schema.get("type")
        if kind is None:
            return True
        if kind == "string":
            return isinstance(value, str)
        if kind == "boolean":
            return isinstance(value, bool)
        if kind == "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if kind == "number":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind == "array":
            items = schema.get("items", {})
            return isinstance(value, list) and all(self.fits(v, items, depth + 1) for v in value)
        if kind == "object":
            return isinstance(value, dict) and self._fits_object(value, schema, depth)
        return False

    def _fits_object(self, value: dict[str, Any], schema: Mapping[str, Any], depth: int) -> bool:
        properties = schema.get("properties", {})
        if any(name not in value for name in schema.get("required", ())):
            return False
        extra = schema.get("additionalProperties")
        for name, sub in value.items():
            if name in properties:
                if not self.fits(sub, properties[name], depth + 1):
                    return False
            elif isinstance(extra, Mapping) and not self.fits(sub, extra, depth + 1):
                return False
        return True

    def conform(self, value: Any, schema: Mapping[str, Any], depth: int = 0) -> Any:
        """`value` in the shape of `schema`: the fields the schema names, each kept where it fits
        and conformed (or, if required, filled with `least`) where it does not; fields the schema
        does not name are dropped."""
        schema = self.resolve(schema)
        if depth > _MAX_DEPTH:
            return value if self.fits(value, schema, depth) else self.least(schema, depth)
        if "anyOf" in schema:
            branches = [self.resolve(b) for b in schema["anyOf"]]
            for branch in branches:
                if self.fits(value, branch, depth + 1) and not _has_properties(branch):
                    return value
            if isinstance(value, dict):
                objects = [b for b in branches if _has_properties(b)]
                # The branch the value says it is (`"object": "card"`), else one it fits.
                chosen = next((b for b in objects if _names(b, value.get("object"))), None)
                chosen = chosen or next(
                    (b for b in objects if self.fits(value, b, depth + 1)), None
                )
                if chosen is not None or objects:
                    return self.conform(value, chosen or objects[0], depth + 1)
            return self.least(schema, depth)
        if isinstance(value, dict) and _has_properties(schema):
            properties = schema["properties"]
            out = {
                name: self.conform(value[name], sub, depth + 1)
                for name, sub in properties.items()
                if name in value
            }
            for name in schema.get("required", ()):
                if name not in out and name in properties:
                    out[name] = self.least(properties[name], depth + 1)
            return out
        if isinstance(value, list) and schema.get("type") == "array":
            items = schema.get("items", {})
            return [self.conform(v, items, depth + 1) for v in value]
        return value if self.fits(value, schema, depth) else self.least(schema, depth)

    def least(self, schema: Mapping[str, Any], depth: int = 0) -> Any:
        """The simplest value `schema` accepts: null where allowed, else the first enum value,
        an empty string, zero, false, an empty list, or an object of its required fields."""
        schema = self.resolve(schema)
        if "anyOf" in schema:
            branches = [self.resolve(b) for b in schema["anyOf"]]
            if any(b.get("enum") == [None] for b in branches):
                return None
            # The id branch of an expandable field, before the object it names.
            scalars = [b for b in branches if b.get("type") not in ("object", None)]
            return self.least(scalars[0] if scalars else branches[0], depth + 1)
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "string":
            return ""
        if kind in ("integer", "number"):
            return 0
        if kind == "boolean":
            return False
        if kind == "array":
            return []
        properties = schema.get("properties", {})
        return {
            name: self.least(properties[name], depth + 1)
            for name in schema.get("required", ())
            if name in properties
        }


def _has_properties(schema: Mapping[str, Any]) -> bool:
    return isinstance(schema.get("properties"), Mapping)


def _names(schema: Mapping[str, Any], kind: Any) -> bool:
    """Whether `schema` is the object whose `object` string is `kind`."""
    return kind is not None and schema["properties"].get("object", {}).get("enum") == [kind]

"""Generic objects from the spec: a new one from its resource's example object, a request's
values put into the fields of the same name and type, the `deleted` answer, and Stripe's
metadata merge.

GUESS (docs/guesses.md): a parameter whose value does not fit the field of the same name
(`line_items` given as an array, shown as a list object) leaves the field as the example has
it: the spec does not say how Stripe derives such fields.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..core.context import Ctx
from ..core.params import UNSET, clean, merge_metadata
from ..core.raw import INTERNAL
from . import defaults
from .catalog import Catalog, Operation


class Builder:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.shapes = catalog.spec.shapes

    def properties(self, schema_name: str) -> Mapping[str, Any]:
        props: Mapping[str, Any] = self.catalog.schemas[schema_name].get("properties", {})
        return props

    def new(self, ctx: Ctx, op: Operation, params: Mapping[str, Any]) -> dict[str, Any]:
        """A new object of `op`'s resource: the example, a fresh id, now, the parent it was
        made under, then the request's values."""
        schema = op.build or (op.resource.build if op.resource else "")
        example = copy.deepcopy(self.catalog.example(schema))
        data = defaults.cleared(self.shapes, self.catalog.schemas[schema], example)
        props = self.properties(schema)
        old_id = data.get("id")
        if "id" in props:
            given = params.get("id")
            data["id"] = given if isinstance(given, str) else self.new_id(ctx, schema)
        _empty_lists(data, old_id, data.get("id"))
        if "created" in props:
            data["created"] = ctx.now()
        if "livemode" in props:
            data["livemode"] = False
        if "metadata" in props and isinstance(data.get("metadata"), dict):
            data["metadata"] = {}
        self.apply(data, params, schema, example)
        if op.parents and op.link is not None:
            # After the request's values: the path decides the parent.
            data[op.link] = ctx.path[op.parents[-1].param]
        defaults.derive(ctx, data, params)
        return data

    def new_id(self, ctx: Ctx, schema: str) -> str:
        prefix, length = self.catalog.prefix(schema)
        if prefix:
            return ctx.tenant.new_id(prefix, length)
        # No prefix (coupons, country specs): the id stream's characters alone.
        return ctx.tenant.new_id("x", length)[2:]

    def apply(
        self,
        data: dict[str, Any],
        params: Mapping[str, Any],
        schema: str,
        example: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Put each parameter that names a field of `schema`, where its value fits the field
        (a hash merged into the hash already there, or into the example's, filled out to the
        field's shape), into `data`. Returns the previous values of the fields that changed."""
        props = self.properties(schema)
        previous: dict[str, Any] = {}
        for name, value in params.items():
            if name in ("id", "expand") or name.startswith(INTERNAL) or name not in props:
                continue
            current = data.get(name)
            if name == "metadata" and (isinstance(value, dict) or value is UNSET):
                candidate: Any = merge_metadata(current if isinstance(current, dict) else {}, value)
            elif isinstance(value, dict) and isinstance(current, dict):
                candidate = _merged(current, value)
            elif isinstance(value, dict):
                # A hash where there was none (a price's `recurring`): the example's parts
                # Stripe defaults (`interval_count: 1`) under the request's, the rest least.
                base = (example or {}).get(name)
                merged = _merged(base if isinstance(base, dict) else {}, value)
                candidate = self.shapes.conform(merged, props[name])
            else:
                candidate = clean(value)
            if candidate != current and self.shapes.fits(candidate, props[name]):
                previous[name] = current
                data[name] = candidate
        return previous

    def touch(self, ctx: Ctx, data: dict[str, Any], previous: dict[str, Any]) -> None:
        """A changed object's `updated` (a product's) is now."""
        if previous and isinstance(data.get("updated"), int) and "updated" not in previous:
            previous["updated"] = data["updated"]
            data["updated"] = ctx.now()

    def deleted(self, op: Operation, data: Mapping[str, Any]) -> dict[str, Any]:
        """What a DELETE answers: `{id, object, deleted: true}` in the spec's deleted shape."""
        name = self.catalog.deleted_schema(op.method, op.template)
        answer = {"id": data.get("id"), "object": data.get("object"), "deleted": True}
        if name is None:
            return answer
        schema = self.catalog.schemas[name]
        kept = {k: v for k, v in data.items() if not k.startswith(INTERNAL)}
        conformed: dict[str, Any] = self.shapes.conform({**kept, **answer}, schema)
        return conformed

    def example_of(self, ctx: Ctx, op: Operation, obj_id: str | None) -> dict[str, Any]:
        """The resource's example as the answer to a miss (`--fixtures-on-miss`), with the id
        asked for, and the parent it was asked under."""
        schema = op.build or (op.resource.build if op.resource else "")
        data = copy.deepcopy(self.catalog.example(schema))
        old_id = data.get("id")
        if obj_id is not None and "id" in data:
            data["id"] = obj_id
        _empty_lists(data, old_id, data.get("id"))
        if op.parents and op.link is not None and not op.link.startswith(INTERNAL):
            data[op.link] = ctx.path[op.parents[-1].param]
        return data


def _merged(current: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    out = dict(current)
    for key, sub in value.items():
        if sub is UNSET:
            out[key] = None
        elif isinstance(sub, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], sub)
        else:
            out[key] = clean(sub)
    return out


def _empty_lists(data: dict[str, Any], old_id: Any, new_id: Any) -> None:
    """A new object's embedded lists (an invoice's `lines`) start empty, at its own URL."""
    for value in data.values():
        if isinstance(value, dict) and value.get("object") == "list":
            value["data"] = []
            value["has_more"] = False
            url = value.get("url")
            if isinstance(url, str) and isinstance(old_id, str) and isinstance(new_id, str):
                value["url"] = url.replace(old_id, new_id) if old_id else url
            if "total_count" in value:
                value["total_count"] = 0

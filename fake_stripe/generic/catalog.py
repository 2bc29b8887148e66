"""What each operation of the whole API does, read from the recorded spec on first use: its
kind (create, retrieve, update, delete, list, search, an action, a singleton), the resource it
answers with, the path parameters that scope it to a parent and the field naming that parent,
the list filters that are plain field equality, and what an action changes.

Stripe's GA spec has no machine-readable resource metadata, so the kinds come from the shape of
each path (`/v1/<collection>/{id}/<verb>`), its method and its response schema.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..spec.coverage import param_of, segments, shape
from ..spec.rest import WholeSpec
from .schemas import Resource, Schemas

CREATE = "create"
RETRIEVE = "retrieve"
UPDATE = "update"
DELETE = "delete"
LIST = "list"
SEARCH = "search"
ACTION = "action"
SINGLETON = "singleton"
# What answers a file instead of JSON (`GET /v1/quotes/{quote}/pdf`).
BINARY = "binary"

# GUESS (docs/guesses.md): the status an action leads to, applied only where the resource's
# `status` enum has it. The spec says it in prose only ("finalizes the invoice ... open").
VERB_STATUS = {
    "accept": "accepted",
    "activate": "active",
    "cancel": "canceled",
    "close": "closed",
    "deactivate": "inactive",
    "delete": "canceled",
    "expire": "expired",
    "fail": "failed",
    "finalize": "open",
    "mark_uncollectible": "uncollectible",
    "pay": "paid",
    "post": "posted",
    "reject": "rejected",
    "release": "released",
    "return": "returned",
    "succeed": "succeeded",
    "void": "void",
}

# Query parameters every list has, handled by pagination itself.
_PAGING = frozenset({"limit", "starting_after", "ending_before", "expand"})


@dataclass(frozen=True)
class Parent:
    param: str
    objects: frozenset[str] | None  # None: the spec has no way to read the parent


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    kind: str
    resource: Resource | None
    id_param: str | None = None
    parents: tuple[Parent, ...] = ()
    verb: str | None = None
    status: str | None = None  # what an action sets `status` to
    link: str | None = None  # the field naming the innermost parent
    build: str | None = None  # the schema a created object is built from
    filters: tuple[str, ...] = ()  # equality filters of a list
    ranges: tuple[str, ...] = ()  # range filters of a list (`created[gte]`)
    # An action's parameters that it puts into the object: those naming a field that the
    # object's own update takes too (`auto_advance` of finalize; not the `amount` of a refund).
    fields: tuple[str, ...] = ()


class Catalog(Schemas):
    """The operations of one whole-API spec, each analysed on first use and kept."""

    def __init__(self, spec: WholeSpec) -> None:
        super().__init__(spec)
        self._operations: dict[tuple[str, str], Operation] = {}

    def operation(self, method: str, template: str) -> Operation:
        key = (method, template)
        found = self._operations.get(key)
        if found is None:
            found = self._operations[key] = self._analyse(method, template)
        return found

    def _analyse(self, method: str, template: str) -> Operation:
        parts = segments(template)
        params = [p for s in parts if (p := param_of(s)) is not None]
        last = param_of(parts[-1])
        name = self.response_schema(method, template)
        resource = self.resource(name) if name is not None else None
        if resource is not None and name is not None and name.startswith("deleted_"):
            resource = self.resource(self._undeleted(template, name))
        if name is None:
            # A file about the object the path names (a quote's PDF).
            target = params[-1] if params else None
            owner = self._schema_at(template, target) if target is not None else None
            owned = self.resource(owner) if owner is not None else None
            return self._scoped(method, template, BINARY, owned, params[:-1], target)
        if last is not None:
            kind = {"GET": RETRIEVE, "POST": UPDATE, "DELETE": DELETE}[method]
            if method == "DELETE" and self.deleted_schema(method, template) is None:
                # A DELETE that answers the object itself: a subscription canceled, a key
                # expired. It stays stored.
                return self._scoped(
                    method, template, ACTION, resource, params[:-1], last, verb="delete"
                )
            return self._scoped(method, template, kind, resource, params[:-1], last)
        listed = self._is_list(method, template)
        if listed is not None:
            kind = SEARCH if listed == "search_result" else LIST
            return self._scoped(method, template, kind, resource, params, None)
        if method == "POST" and self._is_list("GET", template):
            return self._scoped(method, template, CREATE, resource, params, None)
        target = params[-1] if params else None
        if method == "POST" and target is not None and self._names(template, target, resource):
            verb = parts[-1]
            return self._scoped(method, template, ACTION, resource, params[:-1], target, verb=verb)
        above = "/" + "/".join(parts[:-1])
        if method == "POST" and not self._answers(template, name) and self._answers(above, name):
            # A verb on a singleton (`/v1/charges/{charge}/dispute/close`).
            verb = parts[-1]
            return self._scoped(method, template, SINGLETON, resource, params, None, verb=verb)
        if method != "POST" or self._answers(template, name):
            return self._scoped(method, template, SINGLETON, resource, params, None)
        if self._is_list("GET", above):
            # A verb on a whole collection (`/v1/apps/secrets/delete`).
            return self._scoped(method, template, SINGLETON, resource, params, None)
        return self._scoped(method, template, CREATE, resource, params, None)

    def _scoped(
        self,
        method: str,
        template: str,
        kind: str,
        resource: Resource | None,
        outer: list[str],
        id_param: str | None,
        verb: str | None = None,
    ) -> Operation:
        parents = tuple(Parent(p, self._objects_at(template, p)) for p in outer)
        link = None
        if parents and resource is not None:
            link = self._link(resource, parents[-1])
        filters: tuple[str, ...] = ()
        ranges: tuple[str, ...] = ()
        if kind == LIST and resource is not None:
            filters, ranges = self._filters(method, template, resource)
        status = None
        if verb is not None and resource is not None:
            target = VERB_STATUS.get(verb)
            if target is not None and target in self._status_enum(resource):
                status = target
        build = None if resource is None else self._build(template, resource)
        fields: tuple[str, ...] = ()
        if kind == ACTION and resource is not None and id_param is not None:
            fields = self._updatable(method, template, id_param, build or resource.build)
        return Operation(
            method,
            template,
            kind,
            resource,
            id_param,
            parents,
            verb,
            status,
            link,
            build,
            filters,
            ranges,
            fields,
        )

    def _updatable(self, method: str, template: str, id_param: str, schema: str) -> tuple[str, ...]:
        """The action's parameters that name a field its object's update also takes."""
        parts = segments(template)
        at = parts.index("{" + id_param + "}")
        update = self.by_shape.get(shape("/" + "/".join(parts[: at + 1])), "")
        if "post" not in self.paths.get(update, {}):
            return ()
        own = set((self.spec.request_schema(method, template) or {}).get("properties", {}))
        takes = set((self.spec.request_schema("POST", update) or {}).get("properties", {}))
        fields = set(self.schemas[schema].get("properties", {})) - {"id", "object"}
        return tuple(sorted(own & takes & fields))

    def _build(self, template: str, resource: Resource) -> str:
        """What a union's collection makes: what its path names (`/cards`, `/bank_accounts`).
        GUESS (docs/guesses.md): else a bank account for a Connect account's external
        accounts, a card for a customer's sources (what Stripe's own examples create)."""
        if len(resource.objects) == 1:
            return resource.build
        named = segments(template)[-1].removesuffix("s")
        if named in resource.objects and named in self.schemas and named != "source":
            return named
        if "external_account" in template and "bank_account" in resource.objects:
            return "bank_account"
        return resource.build

    def _undeleted(self, template: str, deleted: str) -> str:
        retrieve = self.response_schema("GET", template)
        if retrieve is not None and not retrieve.startswith("deleted_"):
            return retrieve
        plain = deleted.removeprefix("deleted_")
        return plain if plain in self.schemas else deleted

    def _names(self, template: str, param: str, resource: Resource | None) -> bool:
        """Whether `{param}` in `template` names an object `resource` may be."""
        objects = self._objects_at(template, param)
        return resource is not None and objects is not None and bool(objects & resource.objects)

    def _link(self, resource: Resource, parent: Parent) -> str:
        """The field of a nested object that names its parent: the field called like the
        path's parameter, else one that expands to the parent's kind, else the fake's own."""
        properties = self.schemas[resource.build].get("properties", {})
        takes_id = {k for k, v in properties.items() if self.spec.shapes.fits("id_1", v)}
        if parent.param != "id" and parent.param in takes_id:
            return parent.param
        for name, schema in properties.items():
            if name in takes_id and parent.objects and self._expands_to(schema) & parent.objects:
                return str(name)
        return "_parent"

    def _filters(
        self, method: str, template: str, resource: Resource
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """A list's query parameters that are equality on a top-level field, and ranges."""
        query = self.spec.request_schema(method, template) or {}
        properties = self.schemas[resource.build].get("properties", {})
        equal: list[str] = []
        ranges: list[str] = []
        for name, schema in query.get("properties", {}).items():
            if name in _PAGING or name not in properties:
                continue
            branches = schema.get("anyOf", [schema])
            types = {b.get("type") for b in branches}
            if "object" in types and properties[name].get("type") == "integer":
                ranges.append(name)
            elif types <= {"string", "boolean", "integer"}:
                equal.append(name)
        return tuple(equal), tuple(ranges)

    @functools.cached_property
    def indexed(self) -> dict[str, tuple[str, ...]]:
        """Per store kind, the fields lists read through the store's index: the equality
        filters of its lists and the fields naming a parent."""
        found: dict[str, set[str]] = {}
        for method, template in self.spec.operations():
            operation = self.operation(method, template)
            if operation.resource is None or operation.kind not in (LIST, CREATE):
                continue
            fields = found.setdefault(operation.resource.store, set())
            fields.update(operation.filters)
            if operation.link is not None:
                fields.add(operation.link)
        return {kind: tuple(sorted(fields)) for kind, fields in found.items()}

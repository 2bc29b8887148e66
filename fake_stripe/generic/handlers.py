"""The handlers of the generic operations: create, retrieve, update, delete, list, search,
actions and singletons, on objects stored per tenant as JSON dicts (or, for the operations
Stripe's spec has on a resource the fake models by hand, on its model: read, and updated field
by field; never made).

An object a nested path makes (`/v1/customers/{customer}/tax_ids`) belongs to that parent and is
found only under it. A singleton (`/v1/customers/{customer}/cash_balance`, `/v1/balance`) is
kept per concrete path in the tenant's metadata, starting as its example.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..core.context import Ctx, Handler
from ..core.errors import InvalidRequestError, resource_missing
from ..core.kinds import model_for
from ..core.objects import StripeObject
from ..core.params import in_range
from ..core.raw import File, RawKind, RawObject
from ..core.render import Page, paginate
from . import filters, items, references
from .build import Builder
from .catalog import (
    ACTION,
    BINARY,
    CREATE,
    DELETE,
    LIST,
    RETRIEVE,
    SEARCH,
    SINGLETON,
    UPDATE,
    Catalog,
    Operation,
)
from .events import emit
from .search import search

Found = StripeObject | RawObject


def modelled(kind: str) -> type[StripeObject] | None:
    try:
        return model_for(kind)
    except KeyError:
        return None


class Handlers:
    """The handler of each generic operation; `fixtures_on_miss` answers a retrieve, update or
    action of an unknown id with the resource's example (stripe-mock's way)."""

    def __init__(self, catalog: Catalog, fixtures_on_miss: bool = False) -> None:
        self.catalog = catalog
        self.build = Builder(catalog)
        self.fixtures_on_miss = fixtures_on_miss

    def handler(self, op: Operation) -> Handler:
        kinds: dict[str, Callable[[Operation, Ctx, dict[str, Any]], Any]] = {
            CREATE: self.create,
            RETRIEVE: self.retrieve,
            UPDATE: self.update,
            DELETE: self.delete,
            LIST: self.list_,
            SEARCH: self.search,
            ACTION: self.action,
            SINGLETON: self.singleton,
            BINARY: self.file,
        }
        run: Callable[[Operation, Ctx, dict[str, Any]], Any] = kinds.get(op.kind, self.singleton)

        def handle(ctx: Ctx, p: dict[str, Any]) -> Any:
            return run(op, ctx, p)

        return handle

    # -- reading -----------------------------------------------------------------------------
    def raw_kind(self, op: Operation) -> RawKind:
        assert op.resource is not None
        store = op.resource.store
        objects = op.resource.objects
        noun = sorted(objects)[0] if len(objects) == 1 else (op.build or store)
        return RawKind(store, noun, self.catalog.indexed.get(store, ()))

    def _parents(self, op: Operation, ctx: Ctx) -> None:
        """Each parent the path names must exist (unless misses answer examples)."""
        if self.fixtures_on_miss:
            return
        for parent in op.parents:
            if parent.objects is None:
                continue
            value = ctx.path[parent.param]
            found = ctx.tenant.get_any(value)
            if found is None or _object(found) not in parent.objects:
                raise resource_missing(sorted(parent.objects)[0], value, parent.param, 404)

    def load(self, op: Operation, ctx: Ctx) -> Found | None:
        """The object the path names, under its parents; None for a miss."""
        assert op.resource is not None and op.id_param is not None
        self._parents(op, ctx)
        obj_id = ctx.path[op.id_param]
        found = ctx.tenant.get_any(obj_id)
        if found is None or _object(found) not in op.resource.objects:
            return None
        if isinstance(found, RawObject):
            if found.data.get("deleted") is True and op.kind != RETRIEVE:
                return None
            found.indexed = self.catalog.indexed.get(found.kind, ())
        if op.parents and op.link is not None:
            if _field(found, op.link) != ctx.path[op.parents[-1].param]:
                return None
        return found

    def need(self, op: Operation, ctx: Ctx) -> tuple[Found, bool]:
        """The object the path names and True, or (with `fixtures_on_miss`) the example in its
        place and False; else Stripe's resource_missing."""
        found = self.load(op, ctx)
        if found is not None:
            return found, True
        assert op.resource is not None and op.id_param is not None
        obj_id = ctx.path[op.id_param]
        if self.fixtures_on_miss:
            return RawObject(op.resource.store, self.build.example_of(ctx, op, obj_id)), False
        raise resource_missing(self.raw_kind(op).noun, obj_id, "id", 404)

    # -- operations --------------------------------------------------------------------------
    def create(self, op: Operation, ctx: Ctx, p: dict[str, Any]) -> Found:
        assert op.resource is not None
        self._parents(op, ctx)
        references.require(op, p)
        schema = op.build or op.resource.build
        p = references.resolve(ctx, self.catalog, schema, p)
        wanted = items.checked(ctx, self.catalog, p) if schema == "subscription" else []
        data = self.build.new(ctx, op, p)
        obj = self.raw_kind(op).of(data)
        if modelled(op.resource.store) is None and op.resource.has_id:
            if "id" in p and ctx.tenant.get_any(obj.id) is not None:
                # An id of the caller's choosing (a coupon's) names no other object.
                # GUESS (docs/guesses.md): Stripe's code; the wording is ours.
                raise InvalidRequestError(
                    f"A {self.raw_kind(op).noun} with id {obj.id!r} already exists.",
                    code="resource_already_exists",
                    param="id",
                )
            ctx.tenant.put(obj)
            if wanted:
                made = [self._make(ctx, items.ITEMS, {**i, "subscription": obj.id}) for i in wanted]
                items.show(obj.data, [item.to_api(ctx.version) for item in made])
                ctx.tenant.put(obj)
            items.follow(ctx, obj)
            emit(self.catalog, ctx, op, obj, "created")
            price_data = p.get("default_price_data") if schema == "product" else None
            if isinstance(price_data, dict):
                # Stripe makes a price of it and makes that the product's default.
                price = self._make(ctx, "/v1/prices", {**price_data, "product": obj.id}, emits=True)
                obj.data["default_price"] = price.id
                ctx.tenant.put(obj)
        return obj

    def _make(self, ctx: Ctx, template: str, p: dict[str, Any], emits: bool = False) -> RawObject:
        """A new object another create makes (a subscription's items, a product's default
        price), stored; with its own `.created` event where Stripe's spec names one."""
        op = self.catalog.operation("POST", template)
        obj = self.raw_kind(op).of(self.build.new(ctx, op, p))
        ctx.tenant.put(obj)
        if emits:
            emit(self.catalog, ctx, op, obj, "created")
        return obj

    def retrieve(self, op: Operation, ctx: Ctx, p: dict[str, Any]) -> Found:
        return self.need(op, ctx)[0]

    def update(self, op: Operation, ctx: Ctx, p: dict[str, Any]) -> Found:
        found, stored = self.need(op, ctx)
        if isinstance(found, StripeObject):
            return self._update_model(op, ctx, found, p)
        schema = _schema_of(self.catalog, found)
        given = references.resolve(ctx, self.catalog, schema, p)
        previous = self.build.apply(found.data, given, schema)
        self.build.touch(ctx, found.data, previous)
        if stored:
            ctx.tenant.put(found)
            items.follow(ctx, found)
            if previous:
                emit(self.catalog, ctx, op, found, "updated", previous)
        return found

    def _update_model(
        self, op: Operation, ctx: Ctx, obj: StripeObject, p: dict[str, Any]
    ) -> StripeObject:
        """A modelled object updated by an operation the fake does not model: each parameter
        that names a field of the spec's schema and of the model, where the model takes it."""
        data = obj.model_dump(mode="json")
        fields = {k: v for k, v in p.items() if k in data}
        previous = self.build.apply(data, fields, _schema_of(self.catalog, obj))
        for name in list(previous):
            try:
                obj = type(obj).model_validate({**obj.model_dump(mode="json"), name: data[name]})
            except ValueError:
                del previous[name]
        if previous:
            ctx.tenant.put(obj)
            emit(self.catalog, ctx, op, obj, "updated", previous)
        return obj

    def delete(self, op: Operation, ctx: Ctx, p: dict[str, Any]) -> RawObject:
        assert op.resource is not None
        found, stored = self.need(op, ctx)
        data = found.data if isinstance(found, RawObject) else found.to_api(ctx.version)
        answer = RawObject(op.resource.store, self.build.deleted(op, data))
        if stored:
            if isinstance(found, RawObject):
                references.deletable(ctx, self.catalog, found)
            if self.catalog.deleted_schema("GET", op.template) is not None:
                # Stripe's retrieve answers the deleted shape (Terminal locations, readers,
                # configurations): kept as that, left out of lists and searches.
                ctx.tenant.put(answer)
            else:
                ctx.tenant.delete(found)
            if isinstance(found, RawObject):
                items.follow(ctx, found, gone=True)
            emit(self.catalog, ctx, op, found, "deleted")
        return answer

    def action(self, op: Operation, ctx: Ctx, p: dict[str, Any]) -> Found:
        """An action answers the object; it takes the parameters that name its fields and, where
        the catalog says which, the status the action leads to. On a modelled object it changes
        nothing (the fake's own handlers own those transitions)."""
        found, stored = self.need(op, ctx)
        if isinstance(found, StripeObject) or not stored:
            return found
        schema = _schema_of(self.catalog, found)
        taken = {k: v for k, v in p.items() if k in op.fields}
        taken = references.resolve(ctx, self.catalog, schema, taken)
        previous = self.build.apply(found.data, taken, schema)
        if op.status is not None and found.data.get("status") != op.status:
            previous["status"] = found.data.get("status")
            found.data["status"] = op.status
        ctx.tenant.put(found)
        emit(self.catalog, ctx, op, found, op.verb or "updated", previous)
        return found

    def list_(self, op: Operation, ctx: Ctx, p: dict[str, Any]) -> Page:
        assert op.resource is not None
        self._parents(op, ctx)
        objects = op.resource.objects
        own = filters.consumed(op)
        equal = {name: p[name] for name in op.filters if name in p and name not in own}
        ranges = {name: p[name] for name in (*op.ranges, "created") if name in p}
        owner = ctx.path[op.parents[-1].param] if op.parents else None
        properties = self.catalog.schemas[op.build or op.resource.build].get("properties", {})
        tests = filters.tests(ctx, op, properties, p)

        def where(obj: Any) -> bool:
            if _object(obj) not in objects or _field(obj, "deleted") is True:
                return False
            if owner is not None and op.link is not None and _field(obj, op.link) != owner:
                return False
            if any(_id_of(_field(obj, k)) != v for k, v in equal.items()):
                return False
            if not all(
                isinstance(f := _field(obj, k), int) and in_range(f, r) for k, r in ranges.items()
            ):
                return False
            if not tests:
                return True
            data = obj.data if isinstance(obj, RawObject) else obj.to_api(ctx.version)
            return all(test(data) for test in tests)

        model = modelled(op.resource.store)
        source: Any = model if model is not None else self.raw_kind(op)
        match = None
        indexed = () if model is not None else self.raw_kind(op).indexed
        if owner is not None and op.link in indexed:
            match = (op.link, owner)
        else:
            match = next(
                ((k, v) for k, v in equal.items() if k in indexed and isinstance(v, str)), None
            )
        url = self.catalog.list_url(op.method, op.template, _url(ctx, op))
        return paginate(ctx, source, p, url, where, match)

    def search(self, op: Operation, ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
        assert op.resource is not None
        model = modelled(op.resource.store)
        source: Any = model if model is not None else self.raw_kind(op)
        return search(ctx, source, p, _url(ctx, op))

    def file(self, op: Operation, ctx: Ctx, p: dict[str, Any]) -> File:
        """A file about the object (a quote's PDF): a one-page PDF naming it. GUESS
        (docs/guesses.md): Stripe's PDF has the quote's content; this one only its id."""
        found, _ = self.need(op, ctx)
        return File("application/pdf", _pdf(found.id))

    def singleton(self, op: Operation, ctx: Ctx, p: dict[str, Any]) -> RawObject:
        """One object per path, kept in the tenant's metadata: read, changed by a POST (a verb
        under it, `/dispute/close`, changes the same one), removed by a DELETE."""
        self._parents(op, ctx)
        assert op.resource is not None
        path = _url(ctx, op)
        if op.verb is not None:
            path = path.rsplit("/", 1)[0]
        key = "generic:" + path
        stored = ctx.tenant.meta_get(key)
        data = json.loads(stored) if stored else self.build.example_of(ctx, op, None)
        if "created" in data and not stored:
            data["created"] = ctx.now()
        schema = op.build or op.resource.build
        kind = op.resource.store
        if op.method == "DELETE":
            ctx.tenant.meta_set(key, "")
            return RawObject(kind, self.build.deleted(op, data))
        self.build.apply(data, p, schema)
        if op.status is not None:
            data["status"] = op.status
        if op.method == "POST":
            ctx.tenant.meta_set(key, json.dumps(data))
        return RawObject(kind, data)


def _object(found: Any) -> Any:
    if isinstance(found, RawObject):
        return found.data.get("object")
    return getattr(found, "kind", None)


def _field(found: Any, name: str) -> Any:
    if isinstance(found, RawObject):
        return found.data.get(name)
    return getattr(found, name, None)


def _id_of(value: Any) -> Any:
    """A field's value as a filter compares it: an object shown whole by its id."""
    return value.get("id") if isinstance(value, dict) else value


def _schema_of(catalog: Catalog, found: Found) -> str:
    kind = _object(found)
    return catalog.by_object.get(str(kind), str(kind))


def _url(ctx: Ctx, op: Operation) -> str:
    url = op.template
    for name, value in ctx.path.items():
        url = url.replace("{" + name + "}", value)
    return url


def _pdf(text: str) -> bytes:
    """The smallest PDF a reader opens: one page that says `text`."""
    safe = "".join(ch for ch in text if ch.isalnum() or ch in "_-")
    stream = f"BT /F1 12 Tf 72 720 Td ({safe}) Tj ET".encode()
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>stream\n" % len(stream) + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out

"""Models to JSON: preview gating, list objects, pagination and `expand[]`."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

from . import kinds
from .encode import json_string
from .encode import to_json as encode
from .errors import ParamError, resource_missing
from .kinds import Written, model_for, model_for_id
from .raw import Kind, RawObject
from .store.base import Match
from .turns import checkpoint
from .views import Rendering, Renders, View, ViewKind

if TYPE_CHECKING:
    from .context import Ctx

M = TypeVar("M")

MAX_EXPAND_DEPTH = 4
_LISTS = ("list", "search_result")


@dataclass
class Page:
    """A list result: Stripe's list object once rendered."""

    data: list[Any]
    has_more: bool
    url: str


def paginate(
    ctx: Ctx,
    cls: Kind[M],
    params: dict[str, Any],
    url: str,
    where: Callable[[M], bool] | None = None,
    match: Match | None = None,
    among: Collection[str] | None = None,
) -> Page:
    """One page of a list; `match=(field, value)` reads only objects whose indexed field holds
    the value, `among` only the objects with these ids (see `Tenant.iterate`), `where` filters
    further."""
    limit = params.get("limit", 10)
    after = params.get("starting_after")
    before = params.get("ending_before")
    if after is not None and before is not None:
        raise ParamError(
            "Received both starting_after and ending_before parameters. Please pass in only one."
        )
    for name, cursor in (("starting_after", after), ("ending_before", before)):
        if cursor is not None and ctx.tenant.get(cls, cursor) is None:
            raise resource_missing(cls.noun, cursor, param=name, status=404)
    # Each item is rendered from its stored JSON (`core.views`); a model is built for `where`.
    items: list[View] = []
    has_more = False
    viewed = cast(ViewKind, cls)
    # A page and one more (to know whether there is more): what the store reads first.
    for data in ctx.tenant.stored_json(cls, after, before, match, among, limit + 1):
        built = None
        if where is not None:
            built = cls.model_validate_json(data)
            if not where(built):
                continue
        if len(items) == limit:
            has_more = True
            break
        items.append(View(viewed, data, cast(Renders, built)))
    if before is not None:
        items.reverse()
    return Page(items, has_more, url)


def to_json(ctx: Ctx, result: Any) -> Any:
    if isinstance(result, (RawObject, View)):
        return result.to_api(ctx.version)
    if isinstance(result, Page):
        data = []
        for x in result.data:
            checkpoint()  # a rendering may build its model
            data.append(to_json(ctx, x))
        return {
            "object": "list",
            "data": data,
            "has_more": result.has_more,
            "url": result.url,
        }
    if kinds.base() is not None:  # else pydantic is not imported, and nothing is a model
        from pydantic import BaseModel

        from .objects import StripeObject

        if isinstance(result, StripeObject):
            return result.to_api(ctx.version)
        if isinstance(result, BaseModel):
            return result.model_dump(mode="json")
    return result


class Encoded(NamedTuple):
    """A body already encoded as JSON (a rendering, an idempotency record): sent as it is."""

    json: bytes


def _page_json(ctx: Ctx, page: Page) -> bytes:
    """A list object's JSON, as `to_json` writes its rendering, from its items' own: a kept
    rendering is sent as it was encoded (`core.views`)."""
    items = []
    for x in page.data:
        checkpoint()  # a rendering may build its model
        rendered = to_json(ctx, x)
        items.append(rendered.encoded() if type(rendered) is Rendering else encode(rendered))
    return b'{"object":"list","data":[%s],"has_more":%s,"url":%s}' % (
        b",".join(items),
        b"true" if page.has_more else b"false",
        json_string(page.url).encode(),
    )


def render(ctx: Ctx, result: Any, expand: list[str]) -> Any:
    if not expand:
        if type(result) is View:  # a retrieve
            return result.to_api(ctx.version)
        if type(result) is Page:
            return Encoded(_page_json(ctx, result))
    if type(result) is Written:
        if not expand:
            cut = result.obj.api_json_from(result.stored, ctx.version)
            if cut is not None:
                return Encoded(cut)
        result = result.obj
    model = kinds.base()
    if not expand and model is not None and isinstance(result, model):
        # Most writes answer one object: its JSON straight from its model, when it can be.
        encoded = result.api_json(ctx.version)
        if encoded is not None:
            return Encoded(encoded)
    # Expanding changes a rendering: each object gets a copy of its own, from its model.
    if expand and isinstance(result, View):
        result = result.model()
    elif expand and isinstance(result, Page):
        data = [x.model() if isinstance(x, View) else x for x in result.data]
        result = Page(data, result.has_more, result.url)
    body = to_json(ctx, result)
    for path in expand:
        parts = path.split(".")
        if len(parts) > MAX_EXPAND_DEPTH:
            raise ParamError(
                "You cannot expand more than 4 levels of a property. Property: " + path,
                code="property_expansion_max_depth",
            )
        if any(not p for p in parts):
            raise _not_expandable(path, isinstance(result, Page) or _is_search_result(result))
        listed = isinstance(result, Page) or _is_search_result(result)
        if listed and parts[0] != "data":
            raise _not_expandable(parts[0], True)
        _expand(ctx, body, parts, path, None, "")
    return body


def _is_search_result(result: Any) -> bool:
    return isinstance(result, dict) and result.get("object") == "search_result"


def _not_expandable(name: str, on_list: bool) -> ParamError:
    # A validation failure: not saved for idempotency, so a corrected retry may reuse the key.
    hint = f" You may want to try expanding 'data.{name}' instead." if on_list else ""
    return ParamError(f"This property cannot be expanded ({name}).{hint}")


def _expandable(ctx: Ctx, kind: str | None, rel: str, value: Any) -> frozenset[str] | None:
    """The kinds the field `rel` of a `kind` object may expand to: the model's own
    declaration first; then what the server knows of the spec (a modelled object asks only
    when the field holds the id of an object no model has, so the spec is read only then).
    """
    if kind is None:
        return None
    modelled = _modelled(kind)
    declared = model_for(kind).expandable.get(rel) if modelled else None
    if declared is not None:
        return frozenset((declared,))
    if ctx.expansions is None or (modelled and not _unmodelled_id(value)):
        return None
    return ctx.expansions.targets(kind, rel)


def _declared(kind: str | None, rel: str) -> bool:
    """Whether the model of `kind` declares field `rel` expandable."""
    return kind is not None and _modelled(kind) and rel in model_for(kind).expandable


def _unmodelled_id(value: Any) -> bool:
    """Whether `value` looks like the id of an object no model has (`in_...`)."""
    return isinstance(value, str) and "_" in value and model_for_id(value) is None


def _modelled(kind: str) -> bool:
    try:
        model_for(kind)
    except KeyError:
        return False
    return True


def _fetch(ctx: Ctx, value: str, expected: frozenset[str]) -> dict[str, Any] | None:
    """The object `value` names, rendered, if it is of an expected kind."""
    target = model_for_id(value)
    if target is not None and target.kind in expected:
        obj = target.fetch(ctx.tenant, value)
        return None if obj is None else obj.to_api(ctx.version)
    if ctx.expansions is None:
        return None
    found = ctx.tenant.get_any(value)
    if isinstance(found, RawObject) and found.data.get("object") in expected:
        return found.to_api(ctx.version)
    model = kinds.base()
    if model is not None and isinstance(found, model) and found.kind in expected:
        return found.to_api(ctx.version)
    return None


def _expand(
    ctx: Ctx,
    node: Any,
    parts: list[str],
    full: str,
    owner: str | None,
    rel: str,
) -> None:
    if not parts:
        return
    # A search answer's `data` expands as a list's does (Stripe's `search_result` names
    # `data` its expandable field).
    if isinstance(node, dict) and node.get("object") in _LISTS and parts[0] == "data":
        for item in node.get("data", []):
            _expand(ctx, item, parts[1:], full, None, "")
        return
    if not isinstance(node, dict):
        raise _not_expandable(parts[0], False)
    obj_kind = node.get("object")
    if isinstance(obj_kind, str) and "id" in node and (_modelled(obj_kind) or ctx.expansions):
        owner, rel = obj_kind, ""
    name = parts[0]
    rel_name = f"{rel}.{name}" if rel else name
    if name not in node:
        if _declared(owner, rel_name):
            return  # an expandable field the object shows only when set (a charge's `transfer`)
        raise _not_expandable(name, False)
    value = node[name]
    if isinstance(value, dict) and value.get("object") == "list" and len(parts) > 1:
        _expand(ctx, value, parts[1:], full, None, "")  # e.g. session `accounts.data.ownership`
        return
    if isinstance(value, dict) and value.get("object") is None:
        # a plain hash on the owner (e.g. account_holder): keep the owner's relative path
        if len(parts) == 1:
            raise _not_expandable(name, False)
        _expand(ctx, value, parts[1:], full, owner, rel_name)
        return
    expected = _expandable(ctx, owner, rel_name, value)
    if expected is None:
        raise _not_expandable(name, False)
    if isinstance(value, str):
        # Only an object of a declared kind replaces the id.
        rendered = _fetch(ctx, value, expected)
        if rendered is None:
            return
        node[name] = value = rendered
    if value is None:
        return
    _expand(ctx, value, parts[1:], full, None, "")

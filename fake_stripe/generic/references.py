"""Ids in a generic write's body that name other objects: each must name a stored object of the
kind its field holds (else Stripe's 400 `resource_missing`, naming the parameter:
`No such customer: 'cus_nope'`, `param: customer`), and where the field shows the object itself
rather than its id (a subscription item's `price`, a promotion code's `coupon`), the stored
object takes the id's place. Also the creates Stripe refuses without one of two parameters
(a refund names a charge or a PaymentIntent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.context import Ctx
from ..core.errors import InvalidRequestError, resource_missing
from ..core.raw import RawKind, RawObject
from .catalog import Catalog, Operation

# Stripe's test conventions make these from an id no one stored (`pm_card_visa`, `tok_visa`):
# the hand-modelled endpoints answer them; a generic write takes them as they come.
_TEST_IDS = frozenset({"payment_method", "card", "source", "bank_account", "token"})

# Creates that need one of their parameters, with Stripe's wording. The message is Stripe's
# (quoted by public tests of integrations that called test mode); GUESS (docs/guesses.md): it
# has no code and no param.
_ONE_OF = {
    ("POST", "/v1/refunds"): (
        ("payment_intent", "charge"),
        "One of the following params should be provided for this request: "
        "payment_intent or charge.",
    ),
}


# What Stripe refuses to delete while other objects name it, with Stripe's wording (quoted in
# public issues of Stripe's SDKs' users); GUESS (docs/guesses.md): no code, no param.
_HELD_BY = {
    "product": (
        (("price", "product"), ("plan", "product")),
        "This product cannot be deleted because it has one or more user-created prices.",
    ),
}


def deletable(ctx: Ctx, catalog: Catalog, found: RawObject) -> None:
    """Refuse to delete an object others still name (a product with prices)."""
    held = _HELD_BY.get(str(found.data.get("object")))
    if held is None:
        return
    for kind, field in held[0]:
        indexed = catalog.indexed.get(kind, ())
        match = (field, found.id) if field in indexed else None
        others = ctx.tenant.iterate(RawKind(kind, kind, indexed), match=match)
        if any(other.data.get(field) == found.id for other in others):
            raise InvalidRequestError(held[1])


def require(op: Operation, p: Mapping[str, Any]) -> None:
    """A create Stripe refuses without one of its parameters is refused here too."""
    needed = _ONE_OF.get((op.method, op.template))
    if needed is not None and not any(p.get(name) for name in needed[0]):
        raise InvalidRequestError(needed[1])


def resolve(
    ctx: Ctx, catalog: Catalog, schema: str, p: Mapping[str, Any], at: str = ""
) -> dict[str, Any]:
    """`p` with each id that names an object checked, and the stored object in place of the id
    where the field of `schema` shows the object. `at` prefixes the parameters' names in errors
    (`items[0]` for an item of a subscription's create)."""
    properties = catalog.schemas[schema].get("properties", {})
    kind = properties.get("object", {}).get("enum", [schema])[0]
    out = dict(p)
    for name, value in p.items():
        if name in ("id", "object") or name not in properties or not isinstance(value, str):
            continue
        expands = catalog.expansion_targets(str(kind), name)
        embedded = None if expands else _embedded(catalog, properties[name])
        targets = expands or embedded
        if not targets or targets & _TEST_IDS:
            continue
        found = ctx.tenant.get_any(value)
        if isinstance(found, RawObject) and found.data.get("deleted") is True:
            found = None  # a deleted Terminal object is still read, never named anew
        found_kind = found.data.get("object") if isinstance(found, RawObject) else None
        if found is not None and found_kind is None:
            found_kind = getattr(found, "kind", None)
        if found is None or found_kind not in targets:
            param = f"{at}[{name}]" if at else name
            noun = min(t.removeprefix("deleted_") for t in targets)
            raise resource_missing(noun, value, param)
        if embedded:
            out[name] = found.to_api(ctx.version)
    return out


def _embedded(catalog: Catalog, schema: Mapping[str, Any]) -> frozenset[str] | None:
    """The object strings a field that shows another resource whole (never its id) holds."""
    shapes = catalog.spec.shapes
    if shapes.fits("id_1", schema):
        return None
    resolved = shapes.resolve(schema)
    found: set[str] = set()
    for branch in resolved.get("anyOf", [resolved]):
        branch = shapes.resolve(branch)
        enum = branch.get("properties", {}).get("object", {}).get("enum")
        if "id" in branch.get("properties", {}) and isinstance(enum, list) and len(enum) == 1:
            found.add(str(enum[0]))
    return frozenset(found) or None

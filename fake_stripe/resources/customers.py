"""Customers: create, retrieve, update, list (with `email`), delete.

The customer's model (`customer_object`) is imported by the first request that builds one: a
list that finds no customer, or a retrieve whose rendering is kept (`core.views`), needs none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.context import Ctx
from ..core.errors import InvalidRequestError, resource_missing
from ..core.kinds import Lazy, Written
from ..core.params import (
    PAGINATION,
    RANGE,
    UNSET,
    Arr,
    Enum,
    Hash,
    Int,
    Metadata,
    Spec,
    Str,
    clean,
    in_range,
    merge_metadata,
)
from ..core.render import Page, paginate
from ..core.views import View

if TYPE_CHECKING:
    from ..core.objects import StripeObject
    from .customer_object import Customer

CUSTOMER: Lazy[Customer] = Lazy("customer", "customer")
# Named by kind: the PaymentMethod's module imports this one, and is loaded only by an update
# that names a default PaymentMethod.
PAYMENT_METHOD: Lazy[StripeObject] = Lazy("payment_method", "payment_method")
DEFAULT_PM = "invoice_settings[default_payment_method]"


ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
_ADDRESS = Hash({k: Str(emptyable=True) for k in ADDRESS_FIELDS}, emptyable=True)
_FIELDS = {
    "address": _ADDRESS,
    "balance": Int(),
    "description": Str(emptyable=True),
    "email": Str(max_length=512, emptyable=True),
    "invoice_prefix": Str(emptyable=True),
    "invoice_settings": Hash(
        {"default_payment_method": Str(emptyable=True), "footer": Str(emptyable=True)}
    ),
    "metadata": Metadata(),
    "name": Str(max_length=256, emptyable=True),
    "next_invoice_sequence": Int(1),
    "phone": Str(max_length=20, emptyable=True),
    "preferred_locales": Arr(Str()),
    "shipping": Hash(
        # Inside shipping the address cannot be emptied: it is required there.
        {
            "address": Hash({k: Str() for k in ADDRESS_FIELDS}),
            "name": Str(),
            "phone": Str(emptyable=True),
        },
        required=("address", "name"),
        emptyable=True,
    ),
    "tax_exempt": Enum(("exempt", "none", "reverse"), emptyable=True),
}
CREATE = Spec(_FIELDS)
UPDATE = Spec(_FIELDS)
LIST = Spec({**PAGINATION, "email": Str(max_length=512), "created": RANGE})


def _changes(p: dict[str, Any], current: Customer | None = None) -> dict[str, Any]:
    """The fields `p` sets, as plain values: metadata and invoice settings merged into
    `current`'s (a new customer's defaults without it), emptied fields unset."""
    out: dict[str, Any] = {}
    for name, value in p.items():
        if name == "expand":
            continue
        if name == "metadata":
            out[name] = merge_metadata(current.metadata if current else {}, value)
        elif name == "invoice_settings":
            before = current.invoice_settings.model_dump() if current else {}
            # An emptied setting is unset (null), not left as it was.
            out[name] = {**before, **{k: clean(v) for k, v in value.items()}}
        elif name == "tax_exempt":
            out[name] = "none" if value is UNSET else value
        else:
            out[name] = clean(value)
    return out


def _check_default_payment_method(ctx: Ctx, p: dict[str, Any], c: Customer | None) -> None:
    """Stripe takes as the default only a PaymentMethod the customer holds; a new customer
    holds none, so a create is refused without a read."""
    settings = p.get("invoice_settings")
    pm_id = settings.get("default_payment_method") if isinstance(settings, dict) else None
    if not pm_id:
        return  # not given, or emptied
    pm = None if c is None else ctx.tenant.get(PAYMENT_METHOD, pm_id)
    if c is None or pm is None or getattr(pm, "customer", None) != c.id:
        raise InvalidRequestError(
            f"The customer does not have a payment method with the ID {pm_id}. The payment "
            "method must be attached to the customer.",
            param=DEFAULT_PM,
        )


def _apply(c: Customer, p: dict[str, Any]) -> None:
    from .customer_object import Address, InvoiceSettings, Shipping

    for name, value in _changes(p, c).items():
        setattr(c, name, value)
    # pydantic does not re-validate on setattr; rebuild nested models from plain dicts
    if isinstance(c.invoice_settings, dict):
        c.invoice_settings = InvoiceSettings.model_validate(c.invoice_settings)
    if isinstance(c.address, dict):
        c.address = Address.model_validate(c.address)
    if isinstance(c.shipping, dict):
        c.shipping = Shipping.model_validate(c.shipping)


def load(ctx: Ctx, customer_id: str, param: str = "id") -> Customer:
    c = ctx.tenant.get(CUSTOMER, customer_id)
    if c is None or (c.deleted and param != "id"):
        raise resource_missing("customer", customer_id, param)
    return c


def create(ctx: Ctx, p: dict[str, Any]) -> Written:
    _check_default_payment_method(ctx, p, None)
    # Validated as one model, nested hashes included (an update sets its fields one by one).
    c = CUSTOMER.model().model_validate(
        {"id": ctx.tenant.new_id("cus"), "created": ctx.now(), **_changes(p)}
    )
    stored = ctx.tenant.put(c)
    ctx.emit("customer.created", c, stored=stored)
    return Written(c, stored)


def retrieve(ctx: Ctx, p: dict[str, Any]) -> View:
    return ctx.tenant.view(CUSTOMER, ctx.path["customer"])


def update(ctx: Ctx, p: dict[str, Any]) -> Customer:
    c = load(ctx, ctx.path["customer"])
    if c.deleted:
        raise resource_missing("customer", c.id)
    _check_default_payment_method(ctx, p, c)
    before = c.to_api(ctx.version)
    _apply(c, p)
    stored = ctx.tenant.put(c)
    after = c.to_api(ctx.version)
    changed = {k: v for k, v in before.items() if after.get(k) != v}
    ctx.emit("customer.updated", c, previous_attributes=changed, stored=stored)
    return c


def delete(ctx: Ctx, p: dict[str, Any]) -> Customer:
    c = load(ctx, ctx.path["customer"])
    if c.deleted:
        raise resource_missing("customer", c.id)
    c.deleted = True
    ctx.tenant.put(c)
    ctx.emit("customer.deleted", c.model_copy(update={"deleted": False}))
    return c


def list_(ctx: Ctx, p: dict[str, Any]) -> Page:
    email = p.get("email")
    created = p.get("created")

    def where(c: Customer) -> bool:
        if c.deleted:
            return False
        if email is not None and c.email != email:
            return False
        return in_range(c.created, created)

    match = None if email is None else ("email", email)
    return paginate(ctx, CUSTOMER, p, "/v1/customers", where, match)

"""The `payment_method` object and what is done to one once it exists: retrieve, list, attach,
detach. (PaymentMethods are made in `payments/us_bank_account.py` and `payments/p24.py`.)"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from ..core.context import Ctx
from ..core.errors import InvalidRequestError, invalid_param
from ..core.objects import Model, StripeObject
from ..core.params import (
    PAGINATION,
    Enum,
    Hash,
    Metadata,
    Spec,
    Str,
    clean,
    merge,
    merge_metadata,
)
from ..core.render import Page, paginate
from ..core.views import View
from . import bank_tokens, cards, customers
from .cards import Card
from .customer_object import Address


class BillingDetails(Model):
    # Stripe gives an address of nulls, never null, when none was given (fixtures3.json).
    address: Address = Address()
    email: str | None = None
    name: str | None = None
    phone: str | None = None
    tax_id: str | None = None

    @field_validator("address", mode="before")
    @classmethod
    def _address_of_nulls(cls, value: Any) -> Any:
        return Address() if value is None else value


class UsBankAccount(Model):
    account_holder_type: str | None = "individual"
    account_type: str | None = None
    bank_name: str | None = None
    financial_connections_account: str | None = None
    fingerprint: str | None = None
    last4: str | None = None
    networks: dict[str, Any] | None = None
    routing_number: str | None = None
    status_details: dict[str, Any] | None = None


class P24(Model):
    bank: str | None = None


class PaymentMethod(StripeObject):
    kind: ClassVar[str] = "payment_method"
    prefix: ClassVar[str] = "pm"
    noun: ClassVar[str] = "payment_method"
    expandable: ClassVar[dict[str, str]] = {"customer": "customer"}
    omit_if_none: ClassVar[frozenset[str]] = frozenset({"card", "p24"})
    indexed: ClassVar[tuple[str, ...]] = ("customer", "type")
    internal: ClassVar[frozenset[str]] = frozenset({"microdeposits_verified", "consumed"})

    object: str = "payment_method"
    allow_redisplay: str = "unspecified"
    billing_details: BillingDetails = BillingDetails()
    created: int
    customer: str | None = None
    livemode: bool = False
    metadata: dict[str, str] = {}
    type: str = "us_bank_account"
    card: Card | None = None
    p24: P24 | None = None
    # A card PaymentMethod keeps an empty one, never shown: a PaymentMethod shows the hash of
    # its type only.
    us_bank_account: UsBankAccount = UsBankAccount()
    # A typed-in account whose microdeposits were verified once: later intents debit it at once.
    microdeposits_verified: bool = False
    # Paid with while no customer held it, or detached: Stripe refuses it from then on.
    consumed: bool = False

    def adjust(self, data: dict[str, Any], version: str) -> dict[str, Any]:
        if self.type != "us_bank_account":
            data.pop("us_bank_account", None)
        return data


_ADDRESS = Hash({k: Str(emptyable=True) for k in customers.ADDRESS_FIELDS}, emptyable=True)
BILLING = Hash(
    {
        "address": _ADDRESS,
        "email": Str(emptyable=True),
        "name": Str(emptyable=True),
        "phone": Str(emptyable=True),
        "tax_id": Str(emptyable=True),
    }
)
US_BANK_ACCOUNT = Hash(
    {
        "financial_connections_account": Str(),
        "account_holder_type": Enum(("company", "individual")),
        "account_number": Str(),
        "routing_number": Str(),
        "account_type": Enum(("checking", "savings")),
    }
)
# Every type Stripe lists by (the recorded spec's enum); the fake holds only us_bank_account.
TYPES = (
    "acss_debit",
    "affirm",
    "afterpay_clearpay",
    "alipay",
    "au_becs_debit",
    "bacs_debit",
    "bancontact",
    "blik",
    "boleto",
    "card",
    "cashapp",
    "customer_balance",
    "eps",
    "fpx",
    "giropay",
    "grabpay",
    "ideal",
    "klarna",
    "konbini",
    "link",
    "oxxo",
    "p24",
    "paynow",
    "paypal",
    "pix",
    "promptpay",
    "sepa_debit",
    "sofort",
    "us_bank_account",
    "wechat_pay",
    "zip",
)
LIST = Spec({**PAGINATION, "customer": Str(), "type": Enum(TYPES)})
ATTACH = Spec({"customer": Str()}, required=("customer",))


UPDATE = Spec(
    {
        "billing_details": BILLING,
        "metadata": Metadata(),
        "allow_redisplay": Enum(("always", "limited", "unspecified")),
        "card": cards.CARD_UPDATE,
        "us_bank_account": Hash({"account_holder_type": Enum(("company", "individual"))}),
        "link": Hash({}),
    }
)


CONSUMED = (
    "This PaymentMethod was previously used without being attached to a Customer or was "
    "detached from a Customer, and may not be used again."
)


def check_reusable(pm: PaymentMethod, param: str) -> None:
    """Stripe's refusal of a PaymentMethod that was paid with unattached, or detached."""
    if pm.consumed:
        raise InvalidRequestError(CONSUMED, param=param)


def load(ctx: Ctx, pm_id: str, param: str = "id") -> PaymentMethod:
    """A stored PaymentMethod, or a new stored one for a test id (`pm_card_visa`,
    `pm_usBankAccount_success`): Stripe makes a PaymentMethod of its own id each time a test id
    is used."""
    if _is_test_id(pm_id):
        pm = _from_test_id(ctx, pm_id, param)
        ctx.tenant.put(pm)
        return pm
    return ctx.tenant.load(PaymentMethod, pm_id, param)


def _is_test_id(pm_id: str) -> bool:
    return cards.is_test_id(pm_id) or bank_tokens.is_test_id(pm_id)


def _from_test_id(ctx: Ctx, pm_id: str, param: str) -> PaymentMethod:
    if cards.is_test_id(pm_id):
        card = cards.from_test_id(ctx, pm_id, param)
        return PaymentMethod(id=ctx.tenant.new_id("pm"), created=ctx.now(), type="card", card=card)
    number = bank_tokens.number_of(pm_id, param)
    routing = bank_tokens.TEST_ROUTING
    return PaymentMethod(
        id=ctx.tenant.new_id("pm"),
        created=ctx.now(),
        us_bank_account=UsBankAccount(
            account_type="checking",
            bank_name="STRIPE TEST BANK",
            fingerprint=bank_tokens.fingerprint(routing, number),
            last4=number[-4:],
            networks={"preferred": "ach", "supported": ["ach"]},
            routing_number=routing,
        ),
        # GUESS (docs/guesses.md, ACH test PaymentMethods): Stripe's test ids need no
        # microdeposits; a debit from one starts at confirm.
        microdeposits_verified=True,
    )


def retrieve(ctx: Ctx, p: dict[str, Any]) -> PaymentMethod | View:
    pm_id = ctx.path["payment_method"]
    if _is_test_id(pm_id):
        # GUESS (docs/guesses.md, card PaymentMethods): a test id read is a new card each time,
        # not stored (a read changes nothing).
        return _from_test_id(ctx, pm_id, "id")
    return ctx.tenant.view(PaymentMethod, pm_id)


def list_(ctx: Ctx, p: dict[str, Any]) -> Page:
    customer, type_ = p.get("customer"), p.get("type")
    if customer is not None:
        customers.load(ctx, customer, "customer")

    def where(pm: PaymentMethod) -> bool:
        return (customer is None or pm.customer == customer) and (type_ is None or pm.type == type_)

    match = ("customer", customer) if customer is not None else ("type", type_) if type_ else None
    # One filter, read from the index, keeps every object read: no model is built to check it.
    exact = type_ is None or (customer is None and bool(type_))
    return paginate(ctx, PaymentMethod, p, "/v1/payment_methods", None if exact else where, match)


def update(ctx: Ctx, p: dict[str, Any]) -> PaymentMethod:
    pm = load(ctx, ctx.path["payment_method"])
    # GUESS (docs/guesses.md, card PaymentMethods): Stripe's wording for updating a PaymentMethod
    # no customer holds.
    if pm.customer is None:
        raise InvalidRequestError(
            "You must save this PaymentMethod to a customer before you can update it.",
            code="payment_method_unexpected_state",
        )
    for kind in ("card", "us_bank_account"):
        if p.get(kind) and pm.type != kind:
            raise invalid_param(
                kind,
                f"You cannot update {kind} details on a PaymentMethod of type {pm.type}.",
                code="payment_method_invalid_parameter",
            )
    before = pm.model_dump(mode="json")
    if "billing_details" in p:
        current = pm.billing_details.model_dump(mode="json")
        given = dict(p["billing_details"])
        if isinstance(given.get("address"), dict):
            given["address"] = merge(current["address"], given["address"])
        pm.billing_details = BillingDetails.model_validate(clean(merge(current, given)))
    if "metadata" in p:
        pm.metadata = merge_metadata(pm.metadata, p["metadata"])
    if p.get("allow_redisplay"):
        pm.allow_redisplay = p["allow_redisplay"]
    if p.get("us_bank_account"):
        holder = p["us_bank_account"].get("account_holder_type")
        if holder is not None:
            pm.us_bank_account.account_holder_type = holder
    if p.get("card") and pm.card is not None:
        month = p["card"].get("exp_month", pm.card.exp_month)
        year = p["card"].get("exp_year", pm.card.exp_year)
        cards.check_expiry(ctx, month, year, "card")
        pm.card.exp_month, pm.card.exp_year = month, year
    after = pm.model_dump(mode="json")
    changed = {k: v for k, v in before.items() if after.get(k) != v}
    if changed:
        ctx.tenant.put(pm)
        ctx.emit("payment_method.updated", pm, previous_attributes=changed)
    return pm


def attach(ctx: Ctx, p: dict[str, Any]) -> PaymentMethod:
    pm = load(ctx, ctx.path["payment_method"])
    cus = customers.load(ctx, p["customer"], "customer")
    check_reusable(pm, "payment_method")
    if pm.customer is not None and pm.customer != cus.id:
        raise InvalidRequestError(
            "The payment method you provided has already been attached to a customer.",
            param="payment_method",
        )
    attach_to(ctx, pm, cus.id)
    return pm


def attach_to(ctx: Ctx, pm: PaymentMethod, customer: str | None) -> None:
    """`customer` takes `pm`, if no customer holds it yet (the attach endpoint, and an intent
    whose setup is complete)."""
    if customer is not None and pm.customer is None:
        pm.customer = customer
        ctx.tenant.put(pm)
        ctx.emit("payment_method.attached", pm)


def detach(ctx: Ctx, p: dict[str, Any]) -> PaymentMethod:
    pm = load(ctx, ctx.path["payment_method"])
    if pm.customer is None:
        raise InvalidRequestError(
            "The payment method you provided is not attached to a customer so detachment is "
            "impossible.",
            param="payment_method",
        )
    previous = pm.customer
    pm.customer = None
    pm.consumed = True  # Stripe: "Detachment is permanent and irreversible"
    ctx.tenant.put(pm)
    ctx.emit("payment_method.detached", pm, previous_attributes={"customer": previous})
    return pm

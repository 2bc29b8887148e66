"""The `payment_method` object and what is done to one once it exists: retrieve, list, attach,
detach. (PaymentMethods are made in `payments/us_bank_account.py`.)"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from ..core.context import Ctx
from ..core.errors import InvalidRequestError
from ..core.objects import Model, StripeObject
from ..core.params import PAGINATION, Enum, Hash, Spec, Str
from ..core.render import Page, paginate
from ..core.views import View
from . import customers


class BillingDetails(Model):
    # Stripe gives an address of nulls, never null, when none was given (fixtures3.json).
    address: customers.Address = customers.Address()
    email: str | None = None
    name: str | None = None
    phone: str | None = None
    tax_id: str | None = None

    @field_validator("address", mode="before")
    @classmethod
    def _address_of_nulls(cls, value: Any) -> Any:
        return customers.Address() if value is None else value


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


class PaymentMethod(StripeObject):
    kind: ClassVar[str] = "payment_method"
    prefix: ClassVar[str] = "pm"
    noun: ClassVar[str] = "payment_method"
    expandable: ClassVar[dict[str, str]] = {"customer": "customer"}
    indexed: ClassVar[tuple[str, ...]] = ("customer", "type")

    object: str = "payment_method"
    allow_redisplay: str = "unspecified"
    billing_details: BillingDetails = BillingDetails()
    created: int
    customer: str | None = None
    livemode: bool = False
    metadata: dict[str, str] = {}
    type: str = "us_bank_account"
    us_bank_account: UsBankAccount


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


def load(ctx: Ctx, pm_id: str, param: str = "id") -> PaymentMethod:
    return ctx.tenant.load(PaymentMethod, pm_id, param)


def retrieve(ctx: Ctx, p: dict[str, Any]) -> View:
    return ctx.tenant.view(PaymentMethod, ctx.path["payment_method"])


def list_(ctx: Ctx, p: dict[str, Any]) -> Page:
    customer, type_ = p.get("customer"), p.get("type")
    if customer is not None:
        customers.load(ctx, customer, "customer")

    def where(pm: PaymentMethod) -> bool:
        return (customer is None or pm.customer == customer) and (type_ is None or pm.type == type_)

    match = ("customer", customer) if customer is not None else ("type", type_) if type_ else None
    return paginate(ctx, PaymentMethod, p, "/v1/payment_methods", where, match)


def attach(ctx: Ctx, p: dict[str, Any]) -> PaymentMethod:
    pm = load(ctx, ctx.path["payment_method"])
    cus = customers.load(ctx, p["customer"], "customer")
    if pm.customer is not None and pm.customer != cus.id:
        raise InvalidRequestError(
            "The payment method you provided has already been attached to a customer.",
            param="payment_method",
        )
    if pm.customer is None:
        pm.customer = cus.id
        ctx.tenant.put(pm)
        ctx.emit("payment_method.attached", pm)
    return pm


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
    ctx.tenant.put(pm)
    ctx.emit("payment_method.detached", pm, previous_attributes={"customer": previous})
    return pm

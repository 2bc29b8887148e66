"""Payment methods of type `us_bank_account`, made from Financial Connections accounts.

A PaymentMethod made from an account stays linked to it: when a tokenized-account-number
institution issues new numbers on relink, the same `pm_` gets the new `last4`/`fingerprint`;
when the numbers are deactivated, it is blocked (`tokenized_account_number_deactivated`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from . import customers
from .errors import InvalidRequestError, ParamError, resource_missing
from .fc_objects import Account
from .objects import Model, StripeObject
from .params import PAGINATION, Enum, Hash, Metadata, Spec, Str, clean
from .render import Page, paginate
from .wire import Ctx


class BillingDetails(Model):
    address: customers.Address | None = None
    email: str | None = None
    name: str | None = None
    phone: str | None = None


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
CREATE = Spec(
    {
        "type": Enum(("us_bank_account",)),
        "us_bank_account": US_BANK_ACCOUNT,
        "billing_details": BILLING,
        "customer": Str(),
        "metadata": Metadata(),
        "allow_redisplay": Enum(("always", "limited", "unspecified")),
    },
    required=("type",),
)
# Every type Stripe lists by (the recorded spec's enum); the fake holds only us_bank_account.
TYPES = (
    "acss_debit", "affirm", "afterpay_clearpay", "alipay", "au_becs_debit", "bacs_debit",
    "bancontact", "blik", "boleto", "card", "cashapp", "customer_balance", "eps", "fpx",
    "giropay", "grabpay", "ideal", "klarna", "konbini", "link", "oxxo", "p24", "paynow", "paypal",
    "pix", "promptpay", "sepa_debit", "sofort", "us_bank_account", "wechat_pay", "zip",
)
LIST = Spec({**PAGINATION, "customer": Str(), "type": Enum(TYPES)})
ATTACH = Spec({"customer": Str()}, required=("customer",))
NONE = Spec({})



def fingerprint(routing: str, number: str) -> str:
    import hashlib

    return hashlib.sha256(f"{routing}:{number}".encode()).hexdigest()[:16]


def account_number(account: Account) -> str:
    """The account's current number: a fresh one for each TAN generation."""
    import hashlib

    digest = hashlib.sha256(f"{account.id}:{account.tan_generation}".encode()).hexdigest()
    return str(int(digest[:15], 16))[-12:].rjust(12, "0")


def bank_details(account: Account) -> UsBankAccount:
    number = account_number(account)
    blocked = any(n.status == "deactivated" for n in account.account_numbers or [])
    return UsBankAccount(
        account_type="savings" if account.subcategory == "savings" else "checking",
        bank_name=account.institution_name,
        financial_connections_account=account.id,
        fingerprint=fingerprint(account.routing_number, number),
        last4=number[-4:],
        networks={"preferred": "ach", "supported": ["ach"]},
        routing_number=account.routing_number,
        status_details={
            "blocked": {"network_code": None, "reason": "tokenized_account_number_deactivated"}
        }
        if blocked
        else None,
    )


def check_usable(account: Account, param: str) -> None:
    """The checks Stripe makes before a Financial Connections account can back a PaymentMethod."""
    if "payment_method" not in (account.permissions or []):
        raise InvalidRequestError(
            f"The Financial Connections account {account.id} was not collected with the "
            "`payment_method` permission, so it cannot be used to create a PaymentMethod.",
            param=param,
        )
    if account.status != "active":
        raise InvalidRequestError(
            f"The Financial Connections account {account.id} is {account.status}; relink it "
            "before using it to create a PaymentMethod.",
            code="financial_connections_account_inactive",
            param=param,
        )
    if account.subcategory not in ("checking", "savings"):
        raise InvalidRequestError(
            f"The Financial Connections account {account.id} is a {account.subcategory} "
            "account; only checking and savings accounts can be used for ACH Direct Debit.",
            code="bank_account_unusable",
            param=param,
        )
    if any(n.status != "transactable" for n in account.account_numbers or []):
        raise InvalidRequestError(
            f"The account numbers of Financial Connections account {account.id} are no "
            "longer available; relink the account to get new ones.",
            code="financial_connections_account_unavailable_account_numbers",
            param=param,
        )


def _under(hash_name: str, param: str) -> str:
    """`param` inside the hash `hash_name` ("" at the top), in Stripe's bracket form: e.g.
    `payment_method_data[billing_details][name]`."""
    if not hash_name:
        return param
    head, bracket, rest = param.partition("[")
    return f"{hash_name}[{head}]{bracket}{rest}"


def from_params(ctx: Ctx, p: dict[str, Any], hash_name: str) -> PaymentMethod:
    """Build (not store) a PaymentMethod from `type`/`us_bank_account`/`billing_details`.

    `hash_name` is the parameter these arrive in (`payment_method_data`), or "" at the top.
    """
    uba = p.get("us_bank_account")
    if not isinstance(uba, dict):
        param = _under(hash_name, "us_bank_account")
        raise ParamError(
            f"Missing required param: {param}.", code="parameter_missing", param=param
        )
    fca_id = uba.get("financial_connections_account")
    pm = PaymentMethod(
        id=ctx.tenant.new_id("pm"),
        created=ctx.now(),
        billing_details=BillingDetails.model_validate(clean(p.get("billing_details") or {})),
        metadata=clean(p.get("metadata") or {}),
        allow_redisplay=p.get("allow_redisplay", "unspecified"),
        us_bank_account=UsBankAccount(),
    )
    # GUESS: Stripe requires the holder name for us_bank_account (reference 3.2).
    if not pm.billing_details.name:
        raise ParamError(
            "Missing required param: billing_details[name]. A us_bank_account PaymentMethod "
            "needs the account holder's name.",
            code="parameter_missing",
            param=_under(hash_name, "billing_details[name]"),
        )
    if fca_id is not None:
        param = _under(hash_name, "us_bank_account[financial_connections_account]")
        account = ctx.tenant.get(Account, fca_id)
        if account is None:
            raise resource_missing("financial_connections.account", fca_id, param)
        check_usable(account, param)
        pm.us_bank_account = bank_details(account)
        account.payment_methods = [*account.payment_methods, pm.id]
        ctx.tenant.put(account)
    else:
        for req in ("account_number", "routing_number"):
            if not uba.get(req):
                param = _under(hash_name, f"us_bank_account[{req}]")
                raise ParamError(
                    f"Missing required param: {param}.", code="parameter_missing", param=param
                )
        number, routing = uba["account_number"], uba["routing_number"]
        pm.us_bank_account = UsBankAccount(
            account_holder_type=uba.get("account_holder_type", "individual"),
            account_type=uba.get("account_type", "checking"),
            bank_name="STRIPE TEST BANK",
            fingerprint=fingerprint(routing, number),
            last4=number[-4:],
            networks={"preferred": "ach", "supported": ["ach"]},
            routing_number=routing,
        )
    return pm


def load(ctx: Ctx, pm_id: str, param: str = "id") -> PaymentMethod:
    return ctx.tenant.load(PaymentMethod, pm_id, param)


def create(ctx: Ctx, p: dict[str, Any]) -> PaymentMethod:
    pm = from_params(ctx, p, "")
    if p.get("customer"):
        pm.customer = customers.load(ctx, p["customer"], "customer").id
    ctx.tenant.put(pm)
    if pm.customer:
        ctx.app.events.emit(ctx, "payment_method.attached", pm)
    return pm


def retrieve(ctx: Ctx, p: dict[str, Any]) -> PaymentMethod:
    return load(ctx, ctx.path["payment_method"])


def list_(ctx: Ctx, p: dict[str, Any]) -> Page:
    customer, type_ = p.get("customer"), p.get("type")
    if customer is not None:
        customers.load(ctx, customer, "customer")

    def where(pm: PaymentMethod) -> bool:
        return (customer is None or pm.customer == customer) and (
            type_ is None or pm.type == type_
        )

    return paginate(ctx, PaymentMethod, p, "/v1/payment_methods", where)


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
        ctx.app.events.emit(ctx, "payment_method.attached", pm)
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
    ctx.app.events.emit(
        ctx, "payment_method.detached", pm, previous_attributes={"customer": previous}
    )
    return pm

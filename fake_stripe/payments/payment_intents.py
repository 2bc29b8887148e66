"""PaymentIntents for ACH Direct Debit (`us_bank_account`): create, retrieve (also with a
publishable key and the client secret, as Stripe.js does), update, confirm, cancel, list, and
the `settle` test helper. What the bank does with the debit is `ach.py`'s."""

from __future__ import annotations

from typing import Any

from ..core.context import Ctx, Failed
from ..core.errors import (
    InvalidRequestError,
    StripeError,
    exclusive,
    invalid_param,
)
from ..core.params import (
    PAGINATION,
    RANGE,
    UNSET,
    Arr,
    Bool,
    Enum,
    Hash,
    Int,
    Metadata,
    Spec,
    Str,
    clean,
    in_range,
    merge,
    merge_metadata,
)
from ..core.render import Page, paginate
from ..resources import customers
from ..resources.payment_methods import PaymentMethod
from . import ach, intent_types, microdeposits
from .intents import (
    carries_intent,
    check_client_secret,
    check_owner,
    customer_acceptance,
    payment_method_to_confirm,
    set_payment_method,
)
from .objects import ClientPaymentIntent, Mandate, PaymentIntent
from .params import (
    MANDATE_DATA,
    MANDATE_DATA_CONFIRM,
    OFF_SESSION,
    PAYMENT_OPTIONS,
    PAYMENT_PM_DATA,
)

MINIMUM_AMOUNT = 50  # Stripe's minimum charge in usd: $0.50
MAXIMUM_AMOUNT = 99_999_999
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
UPDATABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
# What an update may no longer change once the intent has left UPDATABLE (processing, succeeded,
# canceled): what the payment was made with. Metadata, `description` and `receipt_email` stay
# open, as enriching a paid intent from its webhook is common.
PAYMENT_FIELDS = (
    "amount",
    "currency",
    "customer",
    "payment_method",
    "payment_method_data",
    "payment_method_types",
    "payment_method_options",
    "setup_future_usage",
    "statement_descriptor",
)

_PAYMENT = {
    "payment_method": Str(),
    "payment_method_data": PAYMENT_PM_DATA,
    "payment_method_options": PAYMENT_OPTIONS,
    "payment_method_types": Arr(Str()),
    "mandate": Str(),
    "off_session": OFF_SESSION,
    "return_url": Str(),
    "use_stripe_sdk": Bool(),
    "error_on_requires_action": Bool(),
}
CREATE = Spec(
    {
        **_PAYMENT,
        "amount": Int(),
        "automatic_payment_methods": Hash(
            {"enabled": Bool(), "allow_redirects": Enum(("always", "never"))}, required=("enabled",)
        ),
        "currency": Str(),
        "customer": Str(),
        "description": Str(max_length=1000),
        "metadata": Metadata(),
        "confirm": Bool(),
        "mandate_data": MANDATE_DATA,
        "receipt_email": Str(),
        "setup_future_usage": Enum(("off_session", "on_session")),
        "statement_descriptor": Str(max_length=22),
    },
    required=("amount", "currency"),
)
CONFIRM = Spec(
    {
        **_PAYMENT,
        "client_secret": Str(),
        "mandate_data": MANDATE_DATA_CONFIRM,
        "receipt_email": Str(emptyable=True),
        "setup_future_usage": Enum(("off_session", "on_session"), emptyable=True),
    }
)
UPDATE = Spec(
    {
        "amount": Int(),
        "currency": Str(),
        "customer": Str(),
        "description": Str(max_length=1000, emptyable=True),
        "metadata": Metadata(),
        "payment_method": Str(),
        "payment_method_data": PAYMENT_PM_DATA,
        "payment_method_options": PAYMENT_OPTIONS,
        "payment_method_types": Arr(Str()),
        "receipt_email": Str(emptyable=True),
        "setup_future_usage": Enum(("off_session", "on_session"), emptyable=True),
        "statement_descriptor": Str(max_length=22, emptyable=True),
    }
)
RETRIEVE = Spec({"client_secret": Str()})
CANCEL = Spec(
    {"cancellation_reason": Enum(("abandoned", "duplicate", "fraudulent", "requested_by_customer"))}
)
LIST = Spec({**PAGINATION, "customer": Str(), "created": RANGE})
SETTLE = Spec({"outcome": Enum(("succeeded", *ach.FAILURES))})


# ---- checks ------------------------------------------------------------------------------------


def _amount(amount: int) -> int:
    if amount < MINIMUM_AMOUNT:
        raise invalid_param("amount", "Amount must be at least $0.50 usd", code="amount_too_small")
    if amount > MAXIMUM_AMOUNT:
        raise invalid_param(
            "amount", "Amount must be no more than $999,999.99 usd", code="amount_too_large"
        )
    return amount


def _options(pi: PaymentIntent, given: Any) -> None:
    options: dict[str, Any] = dict(pi.payment_method_options or {})
    uba: dict[str, Any] = dict(options.get("us_bank_account") or {})
    if isinstance(given, dict) and "us_bank_account" in given:
        new = given["us_bank_account"]
        uba = clean(merge(uba, new))
    # GUESS: the defaults Stripe shows (its docs say `verification_method` defaults to automatic).
    fc = {"permissions": ["payment_method"], **uba.get("financial_connections", {})}
    uba = {**uba, "financial_connections": fc}
    uba.setdefault("verification_method", "automatic")
    options["us_bank_account"] = uba
    pi.payment_method_options = options


def _for_key(ctx: Ctx, pi: PaymentIntent) -> PaymentIntent | ClientPaymentIntent:
    return ClientPaymentIntent.of(pi) if ctx.publishable else pi


def _not_updatable(pi: PaymentIntent, field: str) -> StripeError:
    # Stripe's wording for `amount` and `payment_method` (quoted from its answers in public
    # projects); GUESS: the other payment fields answer the same way.
    return InvalidRequestError(
        f"This PaymentIntent's {field} could not be updated because it has a status of "
        f"{pi.status}. You may only update the {field} of a PaymentIntent with one of the "
        f"following statuses: {', '.join(UPDATABLE)}.",
        code="payment_intent_unexpected_state",
        param=field,
    )


def _unexpected(pi: PaymentIntent, action: str, allowed: tuple[str, ...] = ()) -> StripeError:
    tail = (
        " Only a PaymentIntent with one of the following statuses may be "
        f"{action}ed: {', '.join(allowed)}."
        if allowed
        else ""
    )
    return InvalidRequestError(
        f"You cannot {action} this PaymentIntent because it has a status of {pi.status}.{tail}",
        code="payment_intent_unexpected_state",
    )


# ---- mandates -----------------------------------------------------------------------------------

NO_MANDATE = (
    "This PaymentIntent requires a mandate, but no existing mandate was found. Collect mandate "
    "acceptance from the customer and try again, providing acceptance data in the mandate_data "
    "parameter."
)


def _mandate(ctx: Ctx, pi: PaymentIntent, pm: PaymentMethod, p: dict[str, Any]) -> None:
    """The mandate the debit runs under: accepted now (`mandate_data`), named (`mandate`), or the
    PaymentMethod's active one (from a SetupIntent or an earlier payment)."""
    data = p.get("mandate_data")
    if isinstance(data, dict) and p.get("mandate"):
        raise exclusive("mandate", "mandate_data")
    if isinstance(data, dict):
        multi = pi.setup_future_usage in ("off_session", "on_session")
        mandate = Mandate(
            id=ctx.tenant.new_id("mandate"),
            customer_acceptance=customer_acceptance(ctx, data["customer_acceptance"]),
            payment_method=pm.id,
            multi_use={} if multi else None,
            single_use=None if multi else {"amount": pi.amount, "currency": pi.currency},
            type="multi_use" if multi else "single_use",
        )
        ctx.tenant.put(mandate)
        ctx.emit("mandate.updated", mandate)
        pi.mandate = mandate.id
        return
    if p.get("mandate"):
        found = ctx.tenant.load(Mandate, p["mandate"], "mandate")
        if found.payment_method != pm.id or found.status != "active":
            raise invalid_param(
                "mandate",
                "The provided mandate is invalid and can not be used for the payment intent.",
                code="payment_intent_mandate_invalid",
            )
        pi.mandate = found.id
        return
    for m in ctx.tenant.iterate(Mandate, match=("payment_method", pm.id)):
        if m.status == "active" and m.type == "multi_use":
            pi.mandate = m.id
            return
    raise InvalidRequestError(NO_MANDATE, param="mandate_data")


# ---- confirm ------------------------------------------------------------------------------------


def _confirm(ctx: Ctx, pi: PaymentIntent, p: dict[str, Any]) -> Failed | None:
    """Confirm the intent: the debit starts, or the bank refuses it at once (`Failed`: the
    failed charge and the intent's new state stand)."""
    if pi.status == "succeeded":
        raise InvalidRequestError(
            "You cannot confirm this PaymentIntent because it has already succeeded after being "
            "previously confirmed.",
            code="payment_intent_unexpected_state",
        )
    if pi.status not in ("requires_payment_method", "requires_confirmation"):
        raise _unexpected(pi, "confirm")
    intent_types.join(pi, p)
    set_payment_method(ctx, pi, p)
    pm = payment_method_to_confirm(ctx, pi)
    intent_types.currency(pi.currency, ["us_bank_account"])  # the only debit the fake makes
    check_owner(pm, pi.customer)
    if "setup_future_usage" in p:
        sfu = p["setup_future_usage"]
        pi.setup_future_usage = None if sfu is UNSET else sfu
    _mandate(ctx, pi, pm, p)
    if microdeposits.required(pi, pm):
        microdeposits.send(ctx, pi)
        return None
    return ach.debit(ctx, pi, pm)


def load(ctx: Ctx, pi_id: str, param: str = "id") -> PaymentIntent:
    return ctx.tenant.load(PaymentIntent, pi_id, param)


# ---- handlers -----------------------------------------------------------------------------------


def create(ctx: Ctx, p: dict[str, Any]) -> PaymentIntent | Failed:
    pid = ctx.tenant.new_id("pi")
    automatic = intent_types.automatic(p)
    types = intent_types.on_create(p, automatic)
    pi = PaymentIntent(
        id=pid,
        amount=_amount(p["amount"]),
        automatic_payment_methods=automatic,
        client_secret=ctx.tenant.client_secret(pid, 25),
        created=ctx.now(),
        currency=intent_types.currency(p["currency"], types),
        description=p.get("description"),
        metadata=clean(p.get("metadata") or {}),
        payment_method_types=types,
        receipt_email=p.get("receipt_email"),
        setup_future_usage=p.get("setup_future_usage"),
        statement_descriptor=p.get("statement_descriptor"),
    )
    if p.get("customer"):
        pi.customer = customers.load(ctx, p["customer"], "customer").id
    _options(pi, p.get("payment_method_options"))
    if not p.get("confirm"):
        for name in ("mandate_data", "mandate", "off_session"):
            if name in p and p[name] is not UNSET:
                raise invalid_param(
                    name,
                    f"{name} can only be passed when confirming the PaymentIntent (confirm=true).",
                )
    intent_types.join(pi, p)
    set_payment_method(ctx, pi, p)
    ctx.tenant.put(pi)
    ctx.emit("payment_intent.created", pi)
    if p.get("confirm"):
        rest = {k: v for k, v in p.items() if k not in ("payment_method", "payment_method_data")}
        return _confirm(ctx, pi, rest) or pi
    return pi


def retrieve(ctx: Ctx, p: dict[str, Any]) -> PaymentIntent | ClientPaymentIntent:
    pi = load(ctx, ctx.path["intent"])
    check_client_secret(ctx, pi, p.get("client_secret"))
    return _for_key(ctx, pi)


@carries_intent(PaymentIntent)
def update(ctx: Ctx, p: dict[str, Any]) -> PaymentIntent:
    pi = load(ctx, ctx.path["intent"])
    if pi.status not in UPDATABLE:
        for name in PAYMENT_FIELDS:
            if name in p:
                raise _not_updatable(pi, name)
    if "amount" in p:
        pi.amount = _amount(p["amount"])
    if "customer" in p:
        pi.customer = customers.load(ctx, p["customer"], "customer").id
    if "payment_method_types" in p:
        pi.payment_method_types = intent_types.types(p["payment_method_types"])
    if "currency" in p or "payment_method_types" in p:
        pi.currency = intent_types.currency(p.get("currency", pi.currency), pi.payment_method_types)
    for name in ("description", "receipt_email", "setup_future_usage", "statement_descriptor"):
        if name in p:
            setattr(pi, name, None if p[name] is UNSET else p[name])
    if "metadata" in p:
        pi.metadata = merge_metadata(pi.metadata, p["metadata"])
    if "payment_method_options" in p:
        _options(pi, p["payment_method_options"])
    intent_types.join(pi, p)
    set_payment_method(ctx, pi, p)
    pi.last_payment_error = None  # Stripe: cleared when the intent is later updated
    ctx.tenant.put(pi)
    return pi


@carries_intent(PaymentIntent)
def confirm(ctx: Ctx, p: dict[str, Any]) -> PaymentIntent | ClientPaymentIntent | Failed:
    pi = load(ctx, ctx.path["intent"])
    check_client_secret(ctx, pi, p.get("client_secret"))
    if "payment_method_types" in p:
        pi.payment_method_types = intent_types.types(p["payment_method_types"])
    if "receipt_email" in p:
        pi.receipt_email = None if p["receipt_email"] is UNSET else p["receipt_email"]
    if "payment_method_options" in p:
        _options(pi, p["payment_method_options"])
    return _confirm(ctx, pi, p) or _for_key(ctx, pi)


@carries_intent(PaymentIntent)
def cancel(ctx: Ctx, p: dict[str, Any]) -> PaymentIntent:
    pi = load(ctx, ctx.path["intent"])
    if pi.status not in CANCELABLE:
        raise _unexpected(pi, "cancel", CANCELABLE)
    ach.cancel(ctx, pi, p.get("cancellation_reason"))
    return pi


def list_(ctx: Ctx, p: dict[str, Any]) -> Page:
    customer, created = p.get("customer"), p.get("created")

    def where(pi: PaymentIntent) -> bool:
        return (customer is None or pi.customer == customer) and in_range(pi.created, created)

    match = None if customer is None else ("customer", customer)
    return paginate(ctx, PaymentIntent, p, "/v1/payment_intents", where, match)


def settle(ctx: Ctx, p: dict[str, Any]) -> PaymentIntent:
    """Test helper (ours, in Stripe's naming style): the bank answers a processing debit now."""
    pi = load(ctx, ctx.path["intent"])
    if pi.status != "processing":
        raise InvalidRequestError(
            f"Only a processing PaymentIntent can be settled; {pi.id} has a status of {pi.status}.",
            code="payment_intent_unexpected_state",
        )
    with ctx.acting_alone():
        ach.settle(ctx, pi, p.get("outcome"))
    settled = load(ctx, pi.id)
    if settled.status == "processing":
        raise InvalidRequestError(
            f"{pi.id} uses a test account that stays processing; settle it with an outcome.",
            param="outcome",
        )
    return settled

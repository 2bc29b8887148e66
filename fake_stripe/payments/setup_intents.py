"""Setup intents for `us_bank_account` and the mandates their confirmation creates.

The new-account path of Stripe's relink guide: surface the mandate, then confirm a SetupIntent
with the new PaymentMethod and `mandate_data`; the intent succeeds, a multi-use mandate is
created and the PaymentMethod is attached to the customer.
"""

from __future__ import annotations

from typing import Any

from ..core.context import Ctx
from ..core.errors import InvalidRequestError, ParamError
from ..core.params import (
    PAGINATION,
    RANGE,
    UNSET,
    Arr,
    Bool,
    Enum,
    Metadata,
    Spec,
    Str,
    clean,
    in_range,
    merge,
    merge_metadata,
)
from ..core.render import Page, paginate
from ..core.views import View
from ..financial_connections.bank_accounts import check_usable
from ..financial_connections.objects import Account
from ..resources import customers
from ..resources.payment_methods import PaymentMethod, attach_to
from . import microdeposits
from .intents import (
    carries_intent,
    check_client_secret,
    check_owner,
    customer_acceptance,
    payment_method_to_confirm,
    set_payment_method,
)
from .objects import Mandate, SetupAttempt, SetupIntent
from .params import MANDATE_DATA, MANDATE_DATA_CONFIRM, PM_DATA, SETUP_OPTIONS

_COMMON = {
    "payment_method": Str(),
    "payment_method_data": PM_DATA,
    "payment_method_options": SETUP_OPTIONS,
    "mandate_data": MANDATE_DATA,
    "return_url": Str(),
    "allowed_payment_method_types": Arr(Str()),
}
CREATE = Spec(
    {
        **_COMMON,
        "customer": Str(),
        "description": Str(max_length=1000, emptyable=True),
        "metadata": Metadata(),
        "payment_method_types": Arr(Str()),
        "usage": Enum(("off_session", "on_session")),
        "confirm": Bool(),
        "flow_directions": Arr(Enum(("inbound", "outbound"))),
        "attach_to_self": Bool(),
        "use_stripe_sdk": Bool(),
    }
)
UPDATE = Spec(
    {
        "allowed_payment_method_types": Arr(Str()),
        "customer": Str(),
        "description": Str(max_length=1000, emptyable=True),
        "flow_directions": Arr(Enum(("inbound", "outbound"))),
        "metadata": Metadata(),
        "payment_method": Str(),
        "payment_method_data": PM_DATA,
        "payment_method_options": SETUP_OPTIONS,
        "payment_method_types": Arr(Str()),
    }
)
CONFIRM = Spec(
    {
        **_COMMON,
        "mandate_data": MANDATE_DATA_CONFIRM,
        "client_secret": Str(),
        "use_stripe_sdk": Bool(),
    }
)
RETRIEVE = Spec({"client_secret": Str()})
CANCEL = Spec({"cancellation_reason": Enum(("abandoned", "duplicate", "requested_by_customer"))})
LIST = Spec(
    {
        **PAGINATION,
        "customer": Str(),
        "payment_method": Str(),
        "created": RANGE,
        "attach_to_self": Bool(),
    }
)
# The statuses Stripe lets a SetupIntent be canceled from (API reference, cancel a SetupIntent).
CANCELABLE = ("requires_payment_method", "requires_confirmation", "requires_action")


def _us_bank_account_defaults() -> dict[str, Any]:
    # GUESS (docs/guesses.md): what Stripe fills in for a us_bank_account SetupIntent given no
    # options; the keys are those of the GA SDKs' SetupIntent.PaymentMethodOptions.UsBankAccount.
    return {
        "financial_connections": {"permissions": ["payment_method"], "prefetch": None},
        "mandate_options": {},
        "verification_method": "automatic",
    }


def _options(p: dict[str, Any], si: SetupIntent) -> None:
    opts = p.get("payment_method_options")
    if opts:
        merged = dict(si.payment_method_options or {})
        for kind, given in opts.items():
            if kind == "us_bank_account" and isinstance(given, dict):
                current = dict(merged.get(kind) or _us_bank_account_defaults())
                for name, value in given.items():
                    if isinstance(value, dict) and isinstance(current.get(name), dict):
                        # `mandate_options[collection_method]=` removes what was set
                        current[name] = clean(merge(current[name], value))
                    else:
                        current[name] = clean(value)
                merged[kind] = current
            else:
                merged[kind] = clean(given)
        si.payment_method_options = merged
    if "us_bank_account" in si.payment_method_types:
        _fill_us_bank_account(si)


def _fill_us_bank_account(si: SetupIntent) -> None:
    options = dict(si.payment_method_options or {})
    options.setdefault("us_bank_account", _us_bank_account_defaults())
    si.payment_method_options = options


def _types(p: dict[str, Any], si: SetupIntent) -> None:
    allowed = p.get("allowed_payment_method_types")
    if allowed:
        si.allowed_payment_method_types = list(allowed)
    if p.get("payment_method_types"):
        si.payment_method_types = list(p["payment_method_types"])
        si.types_given = True
    elif allowed:
        si.payment_method_types = list(allowed)
        si.types_given = True


def _check_type(si: SetupIntent, pm: PaymentMethod) -> None:
    """A PaymentMethod of a type the intent was told to set up. GUESS (docs/guesses.md): an
    intent given no types takes any, as Stripe's automatic payment methods would; the wording
    is Stripe's for a PaymentIntent."""
    if si.types_given and pm.type not in si.payment_method_types:
        raise InvalidRequestError(
            f"The PaymentMethod provided ({pm.type}) is not allowed for this SetupIntent. "
            "Please attach a PaymentMethod of one of the following types: "
            f"{', '.join(si.payment_method_types)}. Alternatively, update the allowed "
            f'payment_method_types for this SetupIntent to include "{pm.type}".',
            param="payment_method",
        )


def _confirm(ctx: Ctx, si: SetupIntent, p: dict[str, Any]) -> bool:
    """Confirm the intent; True when it is to verify its account with microdeposits (the caller
    sends them once the intent is stored)."""
    if si.status in ("succeeded", "canceled"):
        raise InvalidRequestError(
            f"You cannot confirm this SetupIntent because it has a status of {si.status}.",
            code="setup_intent_unexpected_state",
        )
    pm = payment_method_to_confirm(ctx, si)
    check_owner(pm, si.customer)
    _check_type(si, pm)
    fca = pm.us_bank_account.financial_connections_account
    if fca is not None:
        account = ctx.tenant.get(Account, fca)
        if account is not None:
            check_usable(account, "payment_method")
    mandate_data = p.get("mandate_data")
    if not isinstance(mandate_data, dict):
        mandate_data = {}  # `mandate_data=""` (UNSET) is the same as leaving it out
    acceptance = mandate_data.get("customer_acceptance")
    if pm.type == "us_bank_account" and acceptance is None:
        raise ParamError(
            "Missing required param: mandate_data. A us_bank_account SetupIntent needs the "
            "customer's acceptance of the mandate.",
            code="parameter_missing",
            param="mandate_data",
        )
    if pm.type == "us_bank_account":
        _fill_us_bank_account(si)
    verify = microdeposits.required(si, pm)
    mandate = Mandate(
        id=ctx.tenant.new_id("mandate"),
        customer_acceptance=customer_acceptance(ctx, acceptance or {}),
        payment_method=pm.id,
    )
    ctx.tenant.put(mandate)
    si.mandate = mandate.id
    attempt = SetupAttempt(
        id=ctx.tenant.new_id("setatt"),
        created=ctx.now(),
        customer=si.customer,
        flow_directions=si.flow_directions,
        payment_method=pm.id,
        payment_method_details={"type": pm.type, pm.type: {}},
        setup_intent=si.id,
        # Until the microdeposits are verified the setup is not done, nor the PaymentMethod
        # attached (Stripe: "attached to the Customer on successful setup").
        status="requires_action" if verify else "succeeded",
        usage=si.usage,
    )
    ctx.tenant.put(attempt)
    si.latest_attempt = attempt.id
    if not verify:
        si.status = "succeeded"
        attach_to(ctx, pm, si.customer)
    ctx.emit("mandate.updated", mandate)
    return verify


def load(ctx: Ctx, si_id: str) -> SetupIntent:
    return ctx.tenant.load(SetupIntent, si_id)


def create(ctx: Ctx, p: dict[str, Any]) -> SetupIntent:
    sid = ctx.tenant.new_id("seti")
    si = SetupIntent(
        id=sid,
        client_secret=ctx.tenant.client_secret(sid),
        created=ctx.now(),
        description=p.get("description") if p.get("description") is not UNSET else None,
        metadata=clean(p.get("metadata")) or {},
        payment_method_types=p.get("payment_method_types") or ["card"],
        usage=p.get("usage", "off_session"),
        flow_directions=p.get("flow_directions"),
    )
    if p.get("customer"):
        si.customer = customers.load(ctx, p["customer"], "customer").id
    _types(p, si)
    _options(p, si)
    set_payment_method(ctx, si, p)
    verify = False
    if p.get("confirm"):
        verify = _confirm(ctx, si, p)
    elif isinstance(p.get("mandate_data"), dict):
        raise ParamError(
            "mandate_data can only be passed when confirming the SetupIntent (confirm=true).",
            param="mandate_data",
        )
    ctx.tenant.put(si)
    ctx.emit("setup_intent.created", si)
    if verify:
        microdeposits.send(ctx, si)
    if si.status == "succeeded":
        ctx.emit("setup_intent.succeeded", si)
    return si


def retrieve(ctx: Ctx, p: dict[str, Any]) -> SetupIntent:
    return load(ctx, ctx.path["intent"])


@carries_intent(SetupIntent)
def update(ctx: Ctx, p: dict[str, Any]) -> SetupIntent:
    si = load(ctx, ctx.path["intent"])
    if si.status in ("succeeded", "canceled"):
        raise InvalidRequestError(
            f"You cannot update this SetupIntent because it has a status of {si.status}.",
            code="setup_intent_unexpected_state",
        )
    if p.get("customer"):
        si.customer = customers.load(ctx, p["customer"], "customer").id
    if "description" in p:
        si.description = p["description"] if p["description"] is not UNSET else None
    if "metadata" in p:
        si.metadata = merge_metadata(si.metadata, p["metadata"])
    if p.get("flow_directions"):
        si.flow_directions = p["flow_directions"]
    _types(p, si)
    _options(p, si)
    set_payment_method(ctx, si, p)
    ctx.tenant.put(si)
    return si


@carries_intent(SetupIntent)
def confirm(ctx: Ctx, p: dict[str, Any]) -> SetupIntent:
    si = load(ctx, ctx.path["intent"])
    check_client_secret(ctx, si, p.get("client_secret"))
    _types(p, si)
    _options(p, si)
    set_payment_method(ctx, si, p)
    verify = _confirm(ctx, si, p)
    ctx.tenant.put(si)
    if verify:
        microdeposits.send(ctx, si)
    else:
        ctx.emit("setup_intent.succeeded", si)
    return si


@carries_intent(SetupIntent)
def cancel(ctx: Ctx, p: dict[str, Any]) -> SetupIntent:
    si = load(ctx, ctx.path["intent"])
    if si.status not in CANCELABLE:
        raise InvalidRequestError(
            f"You cannot cancel this SetupIntent because it has a status of {si.status}. Only a "
            f"SetupIntent with one of the following statuses may be canceled: "
            f"{', '.join(CANCELABLE)}.",
            code="setup_intent_unexpected_state",
        )
    si.status = "canceled"
    si.cancellation_reason = p.get("cancellation_reason")
    si.next_action = None
    si.microdeposits = None  # canceled is final: no verification timeout fails it later
    microdeposits.end_attempt(ctx, si, "abandoned")
    ctx.tenant.put(si)
    ctx.emit("setup_intent.canceled", si)
    return si


def list_(ctx: Ctx, p: dict[str, Any]) -> Page:
    customer, pm, created = p.get("customer"), p.get("payment_method"), p.get("created")
    # GUESS: `attach_to_self` filters nothing here, as the fake makes no such intents.

    def where(si: SetupIntent) -> bool:
        return (
            (customer is None or si.customer == customer)
            and (pm is None or si.payment_method == pm)
            and in_range(si.created, created)
        )

    match = ("customer", customer) if customer else ("payment_method", pm) if pm else None
    return paginate(ctx, SetupIntent, p, "/v1/setup_intents", where, match)


def retrieve_mandate(ctx: Ctx, p: dict[str, Any]) -> View:
    return ctx.tenant.view(Mandate, ctx.path["mandate"])

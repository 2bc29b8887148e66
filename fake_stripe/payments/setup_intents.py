"""Setup intents for `us_bank_account` and the mandates their confirmation creates.

The new-account path of Stripe's relink guide: surface the mandate, then confirm a SetupIntent
with the new PaymentMethod and `mandate_data`; the intent succeeds, a multi-use mandate is
created and the PaymentMethod is attached to the customer.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..core.context import Ctx
from ..core.errors import InvalidRequestError, ParamError, exclusive, missing_param
from ..core.objects import StripeObject
from ..core.params import (
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
    merge,
    merge_metadata,
)
from ..financial_connections.bank_accounts import check_usable
from ..resources import customers, payment_methods
from ..resources.payment_methods import BILLING, US_BANK_ACCOUNT
from . import us_bank_account


class Mandate(StripeObject):
    kind: ClassVar[str] = "mandate"
    prefix: ClassVar[str] = "mandate"
    noun: ClassVar[str] = "mandate"
    expandable: ClassVar[dict[str, str]] = {"payment_method": "payment_method"}
    omit_if_none: ClassVar[frozenset[str]] = frozenset({"multi_use", "single_use"})

    object: str = "mandate"
    customer_acceptance: dict[str, Any]
    livemode: bool = False
    multi_use: dict[str, Any] | None = {}
    payment_method: str
    payment_method_details: dict[str, Any] = {"type": "us_bank_account", "us_bank_account": {}}
    # A PaymentIntent's mandate for one payment: {amount, currency}.
    single_use: dict[str, Any] | None = None
    status: str = "active"
    type: str = "multi_use"


class SetupAttempt(StripeObject):
    """One confirmation of a SetupIntent (`latest_attempt`). The fake makes one per successful
    confirmation; it has no list route."""

    kind: ClassVar[str] = "setup_attempt"
    prefix: ClassVar[str] = "setatt"
    noun: ClassVar[str] = "setup_attempt"
    omit_if_none: ClassVar[frozenset[str]] = frozenset({"attach_to_self"})
    expandable: ClassVar[dict[str, str]] = {
        "customer": "customer",
        "payment_method": "payment_method",
        "setup_intent": "setup_intent",
    }

    object: str = "setup_attempt"
    application: str | None = None
    attach_to_self: bool | None = None
    created: int
    customer: str | None = None
    flow_directions: list[str] | None = None
    livemode: bool = False
    on_behalf_of: str | None = None
    payment_method: str
    payment_method_details: dict[str, Any]
    setup_error: dict[str, Any] | None = None
    setup_intent: str
    status: str = "succeeded"
    usage: str = "off_session"


# GA `allowed_payment_method_types` (stripe-node 22.4.0, API `2026-07-29.dahlia`); every preview.
ALLOWED_TYPES_GA = "2026-07-29"


class SetupIntent(StripeObject):
    kind: ClassVar[str] = "setup_intent"
    prefix: ClassVar[str] = "seti"
    noun: ClassVar[str] = "setupintent"
    preview: ClassVar[frozenset[str]] = frozenset({"allowed_payment_method_types"})
    ga_since: ClassVar[dict[str, str]] = {"allowed_payment_method_types": ALLOWED_TYPES_GA}
    expandable: ClassVar[dict[str, str]] = {
        "customer": "customer",
        "payment_method": "payment_method",
        "mandate": "mandate",
        "latest_attempt": "setup_attempt",
    }

    object: str = "setup_intent"
    allowed_payment_method_types: list[str] | None = None
    application: str | None = None
    automatic_payment_methods: None = None
    cancellation_reason: str | None = None
    client_secret: str
    created: int
    customer: str | None = None
    description: str | None = None
    flow_directions: list[str] | None = None
    last_setup_error: dict[str, Any] | None = None
    latest_attempt: str | None = None
    livemode: bool = False
    mandate: str | None = None
    metadata: dict[str, str] = {}
    next_action: dict[str, Any] | None = None
    on_behalf_of: str | None = None
    payment_method: str | None = None
    payment_method_options: dict[str, Any] | None = None
    payment_method_types: list[str]
    single_use_mandate: str | None = None
    status: str = "requires_payment_method"
    usage: str = "off_session"


def _mandate_data(online_required: tuple[str, ...]) -> Hash:
    return Hash(
        {
            "customer_acceptance": Hash(
                {
                    "type": Enum(("offline", "online")),
                    "accepted_at": Int(),
                    "offline": Hash({}, emptyable=True),
                    "online": Hash(
                        {"ip_address": Str(), "user_agent": Str()}, required=online_required
                    ),
                },
                required=("type",),
            )
        },
        required=("customer_acceptance",),
        emptyable=True,
    )


MANDATE_DATA = _mandate_data(("ip_address", "user_agent"))
# Confirm also takes the client-side shape (Stripe.js confirms with the publishable key, and
# Stripe fills in the browser's address and agent), where both are optional.
MANDATE_DATA_CONFIRM = _mandate_data(())
PM_DATA = Hash(
    {
        "type": Enum(("us_bank_account",)),
        "us_bank_account": US_BANK_ACCOUNT,
        "billing_details": BILLING,
        "metadata": Metadata(),
    },
    required=("type",),
)
PM_OPTIONS = Hash(
    {
        "us_bank_account": Hash(
            {
                "financial_connections": Hash(
                    {
                        "permissions": Arr(
                            Enum(("balances", "ownership", "payment_method", "transactions"))
                        ),
                        "prefetch": Arr(Enum(("balances", "ownership", "transactions"))),
                        "return_url": Str(),
                        "filters": Hash(
                            {"account_subcategories": Arr(Enum(("checking", "savings")))}
                        ),
                    }
                ),
                "verification_method": Enum(("automatic", "instant", "microdeposits")),
                "mandate_options": Hash({"collection_method": Enum(("paper",), emptyable=True)}),
                "networks": Hash({"requested": Arr(Enum(("ach", "us_domestic_wire")))}),
            }
        )
    }
)
_COMMON = {
    "payment_method": Str(),
    "payment_method_data": PM_DATA,
    "payment_method_options": PM_OPTIONS,
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
        "payment_method_options": PM_OPTIONS,
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


def _set_payment_method(ctx: Ctx, si: SetupIntent, p: dict[str, Any]) -> None:
    if p.get("payment_method") and p.get("payment_method_data"):
        raise exclusive("payment_method", "payment_method_data")
    if p.get("payment_method"):
        pm = payment_methods.load(ctx, p["payment_method"], "payment_method")
        si.payment_method = pm.id
    elif p.get("payment_method_data"):
        pm = us_bank_account.from_params(ctx, p["payment_method_data"], "payment_method_data")
        ctx.tenant.put(pm)
        si.payment_method = pm.id
    else:
        return
    if si.status == "requires_payment_method":
        si.status = "requires_confirmation"


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
    elif allowed:
        si.payment_method_types = list(allowed)


def customer_acceptance(ctx: Ctx, acceptance: dict[str, Any]) -> dict[str, Any]:
    """A mandate's `customer_acceptance` from the checked `mandate_data[customer_acceptance]`."""
    accepted: dict[str, Any] = clean(acceptance)
    accepted.setdefault("accepted_at", ctx.now())
    if accepted["type"] == "online":
        if "online" not in accepted:
            raise missing_param("mandate_data[customer_acceptance][online]")
        online = accepted["online"]
        online.setdefault("ip_address", None)
        online.setdefault("user_agent", None)
    return accepted


def _confirm(ctx: Ctx, si: SetupIntent, p: dict[str, Any]) -> None:
    if si.status in ("succeeded", "canceled"):
        raise InvalidRequestError(
            f"You cannot confirm this SetupIntent because it has a status of {si.status}.",
            code="setup_intent_unexpected_state",
        )
    if si.payment_method is None:
        raise InvalidRequestError(
            "You cannot confirm this SetupIntent because it's missing a payment method. "
            "Update the SetupIntent with a payment method and then confirm it again.",
            code="setup_intent_unexpected_state",
        )
    pm = payment_methods.load(ctx, si.payment_method, "payment_method")
    fca = pm.us_bank_account.financial_connections_account
    if fca is not None:
        from ..financial_connections.objects import Account

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
    mandate = Mandate(
        id=ctx.tenant.new_id("mandate"),
        customer_acceptance=customer_acceptance(ctx, acceptance or {}),
        payment_method=pm.id,
    )
    ctx.tenant.put(mandate)
    si.mandate = mandate.id
    si.status = "succeeded"
    if pm.type == "us_bank_account":
        _fill_us_bank_account(si)
    attempt = SetupAttempt(
        id=ctx.tenant.new_id("setatt"),
        created=ctx.now(),
        customer=si.customer,
        flow_directions=si.flow_directions,
        payment_method=pm.id,
        payment_method_details={"type": pm.type, pm.type: {}},
        setup_intent=si.id,
        usage=si.usage,
    )
    ctx.tenant.put(attempt)
    si.latest_attempt = attempt.id
    if si.customer and pm.customer is None:
        pm.customer = si.customer
        ctx.tenant.put(pm)
        ctx.emit("payment_method.attached", pm)
    ctx.emit("mandate.updated", mandate)


def load(ctx: Ctx, si_id: str) -> SetupIntent:
    return ctx.tenant.load(SetupIntent, si_id)


def create(ctx: Ctx, p: dict[str, Any]) -> SetupIntent:
    sid = ctx.tenant.new_id("seti")
    si = SetupIntent(
        id=sid,
        client_secret=f"{sid}_secret_{ctx.tenant.new_id('x', 24)[2:]}",
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
    _set_payment_method(ctx, si, p)
    if p.get("confirm"):
        _confirm(ctx, si, p)
    elif isinstance(p.get("mandate_data"), dict):
        raise ParamError(
            "mandate_data can only be passed when confirming the SetupIntent (confirm=true).",
            param="mandate_data",
        )
    ctx.tenant.put(si)
    ctx.emit("setup_intent.created", si)
    if si.status == "succeeded":
        ctx.emit("setup_intent.succeeded", si)
    return si


def retrieve(ctx: Ctx, p: dict[str, Any]) -> SetupIntent:
    return load(ctx, ctx.path["intent"])


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
    _set_payment_method(ctx, si, p)
    ctx.tenant.put(si)
    return si


def confirm(ctx: Ctx, p: dict[str, Any]) -> SetupIntent:
    si = load(ctx, ctx.path["intent"])
    if p.get("client_secret") is not None and p["client_secret"] != si.client_secret:
        raise InvalidRequestError(
            "The client_secret provided does not match the client_secret associated with the "
            "SetupIntent.",
            param="client_secret",
        )
    _types(p, si)
    _options(p, si)
    _set_payment_method(ctx, si, p)
    _confirm(ctx, si, p)
    ctx.tenant.put(si)
    ctx.emit("setup_intent.succeeded", si)
    return si


def retrieve_mandate(ctx: Ctx, p: dict[str, Any]) -> Mandate:
    return ctx.tenant.load(Mandate, ctx.path["mandate"])

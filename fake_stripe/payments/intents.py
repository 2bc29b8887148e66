"""What SetupIntents and PaymentIntents do alike: take their PaymentMethod (an existing one, or
one made from `payment_method_data`), check a client secret, and read a mandate's acceptance."""

from __future__ import annotations

from typing import Any

from ..core.context import Ctx
from ..core.errors import InvalidRequestError, exclusive, invalid_param, missing_param
from ..core.params import clean
from ..core.tenant import secret_matches
from ..resources import payment_methods
from ..resources.payment_methods import PaymentMethod
from . import p24, us_bank_account
from .objects import PaymentIntent, SetupIntent

Intent = SetupIntent | PaymentIntent


def _noun(intent: Intent) -> str:
    return "SetupIntent" if isinstance(intent, SetupIntent) else "PaymentIntent"


def set_payment_method(ctx: Ctx, intent: Intent, p: dict[str, Any]) -> None:
    """`payment_method` or `payment_method_data` (exclusive), if given: the intent's
    PaymentMethod from now on, and the intent ready to confirm."""
    if p.get("payment_method") and p.get("payment_method_data"):
        raise exclusive("payment_method", "payment_method_data")
    if p.get("payment_method"):
        pm = payment_methods.load(ctx, p["payment_method"], "payment_method")
        payment_methods.check_reusable(pm, "payment_method")
    elif p.get("payment_method_data"):
        data = p["payment_method_data"]
        if data["type"] == "p24":
            pm = p24.from_params(ctx, data)
        else:
            pm = us_bank_account.from_params(ctx, data, "payment_method_data")
        ctx.tenant.put(pm)
    else:
        return
    intent.payment_method = pm.id
    if intent.status == "requires_payment_method":
        intent.status = "requires_confirmation"


def payment_method_to_confirm(ctx: Ctx, intent: Intent) -> PaymentMethod:
    """The PaymentMethod a confirmation uses: the intent must have one by then."""
    if intent.payment_method is None:
        noun = _noun(intent)
        raise InvalidRequestError(
            f"You cannot confirm this {noun} because it's missing a payment method. "
            f"Update the {noun} with a payment method and then confirm it again.",
            code=f"{intent.object}_unexpected_state",
        )
    pm = payment_methods.load(ctx, intent.payment_method, "payment_method")
    # Set before another payment spent it, or before it was detached.
    payment_methods.check_reusable(pm, "payment_method")
    if pm.type != "us_bank_account":
        # Cards are stored, attached and updated, but charging them is outside the fake.
        raise InvalidRequestError(
            f"This fake confirms {_noun(intent)}s with us_bank_account PaymentMethods only; "
            f"{pm.id} is a {pm.type} PaymentMethod.",
            code="payment_method_unsupported_type",
            param="payment_method",
        )
    return pm


def check_owner(pm: PaymentMethod, customer: str | None) -> None:
    """A PaymentMethod a customer holds serves only an intent of that customer (Stripe: "Payment
    methods attached to other Customers cannot be used with this SetupIntent")."""
    if pm.customer is not None and customer is None:
        raise invalid_param(
            "payment_method",
            "The provided PaymentMethod belongs to a Customer, but you did not provide the "
            "Customer to which it belongs. Provide the customer and try again.",
        )
    if pm.customer is not None and pm.customer != customer:
        raise invalid_param(
            "payment_method",
            f"The provided PaymentMethod is attached to another customer than {customer}.",
        )


def check_client_secret(ctx: Ctx, intent: Intent, secret: str | None) -> None:
    """A publishable key must show the client secret; any key that shows one must match."""
    noun = _noun(intent)
    if secret is None and ctx.publishable:
        # GUESS: the wording; Stripe requires the client secret with a publishable key.
        raise invalid_param(
            "client_secret",
            f"A publishable key can only use this {noun} together with its client_secret.",
        )
    if secret is not None and not secret_matches(secret, intent.client_secret):
        raise InvalidRequestError(
            "The client_secret provided does not match the client_secret associated with the "
            f"{noun}.",
            param="client_secret",
        )


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

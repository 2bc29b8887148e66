"""What SetupIntents and PaymentIntents do alike: take their PaymentMethod (an existing one, or
one made from `payment_method_data`), check a client secret, and read a mandate's acceptance."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ..core.context import Ctx
from ..core.errors import (
    InvalidRequestError,
    StripeError,
    exclusive,
    invalid_param,
    missing_param,
)
from ..core.params import clean
from ..core.tenant import secret_matches
from ..resources import payment_methods
from ..resources.payment_methods import PaymentMethod
from . import p24, us_bank_account
from .objects import ClientPaymentIntent, ClientSetupIntent, PaymentIntent, SetupIntent

Intent = SetupIntent | PaymentIntent


def shown_in_error(ctx: Ctx, intent: Intent) -> dict[str, Any]:
    """The intent as an error about it carries it (`error.payment_intent` or
    `error.setup_intent`, as Stripe's errors and Stripe.js's `StripeError` do): what the
    request's key may see of it."""
    if isinstance(intent, SetupIntent):
        if ctx.publishable:
            return {"setup_intent": ClientSetupIntent.of(intent).model_dump(mode="json")}
        return {"setup_intent": intent.to_api(ctx.version)}
    if ctx.publishable:
        return {"payment_intent": ClientPaymentIntent.of(intent).model_dump(mode="json")}
    return {"payment_intent": intent.to_api(ctx.version)}


Handler = TypeVar("Handler", bound=Callable[[Ctx, dict[str, Any]], Any])


def carries_intent(cls: type[Intent]) -> Callable[[Handler], Handler]:
    """A handler of the intent at `ctx.path["intent"]` whose raised errors carry the intent as
    it is stored (a raised error changes nothing, whatever the handler had changed of it):
    not to a publishable key without the intent's client secret, nor when there is none."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def carrying(ctx: Ctx, p: dict[str, Any]) -> Any:
            try:
                return handler(ctx, p)
            except StripeError as err:
                if "payment_intent" not in err.extra and "setup_intent" not in err.extra:
                    stored = ctx.tenant.base.get(cls, ctx.path.get("intent", ""))
                    if isinstance(stored, (PaymentIntent, SetupIntent)) and _may_see(
                        ctx, p, stored
                    ):
                        err.extra.update(shown_in_error(ctx, stored))
                raise

        return cast(Handler, carrying)

    return decorate


def _may_see(ctx: Ctx, p: dict[str, Any], intent: Intent) -> bool:
    """Whether the request's key may see the intent: a secret key, or a publishable key with
    the intent's client secret."""
    secret = p.get("client_secret")
    if not ctx.publishable:
        return True
    return isinstance(secret, str) and secret_matches(secret, intent.client_secret)


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

"""Making `us_bank_account` PaymentMethods: from a linked Financial Connections account, or from
account and routing numbers entered by hand (`POST /v1/payment_methods`, and the
`payment_method_data` of intents)."""

from __future__ import annotations

from typing import Any

from ..core.context import Ctx
from ..core.errors import ParamError, invalid_param, resource_missing
from ..core.params import Enum, Metadata, Spec, Str, clean
from ..financial_connections.bank_accounts import bank_details, check_usable
from ..financial_connections.objects import Account
from ..resources import cards, customers
from ..resources.bank_tokens import fingerprint
from ..resources.payment_methods import (
    BILLING,
    US_BANK_ACCOUNT,
    BillingDetails,
    PaymentMethod,
    UsBankAccount,
)

CREATE = Spec(
    {
        "type": Enum(("us_bank_account", "card")),
        "us_bank_account": US_BANK_ACCOUNT,
        "card": cards.CARD,
        "billing_details": BILLING,
        "customer": Str(),
        "metadata": Metadata(),
        "allow_redisplay": Enum(("always", "limited", "unspecified")),
    },
    required=("type",),
)


def _under(hash_name: str, param: str) -> str:
    """`param` inside the hash `hash_name` ("" at the top), in Stripe's bracket form: e.g.
    `payment_method_data[billing_details][name]`."""
    if not hash_name:
        return param
    head, bracket, rest = param.partition("[")
    return f"{hash_name}[{head}]{bracket}{rest}"


def _check_numbers(routing: str, number: str, hash_name: str) -> None:
    """A US routing number has 9 digits, an account number 4 to 17."""
    if not (len(routing) == 9 and routing.isascii() and routing.isdigit()):
        # Stripe's wording for a bank account token's routing number.
        raise invalid_param(
            _under(hash_name, "us_bank_account[routing_number]"),
            "Routing number must have 9 digits",
        )
    if not (4 <= len(number) <= 17 and number.isascii() and number.isdigit()):
        # GUESS (docs/guesses.md, typed-in account numbers): the wording.
        raise invalid_param(
            _under(hash_name, "us_bank_account[account_number]"),
            "Account number must have 4 to 17 digits",
        )


def from_params(ctx: Ctx, p: dict[str, Any], hash_name: str) -> PaymentMethod:
    """Build (not store) a PaymentMethod from `type`/`us_bank_account`/`billing_details`.

    `hash_name` is the parameter these arrive in (`payment_method_data`), or "" at the top.
    """
    uba = p.get("us_bank_account")
    if not isinstance(uba, dict):
        param = _under(hash_name, "us_bank_account")
        raise ParamError(f"Missing required param: {param}.", code="parameter_missing", param=param)
    fca_id = uba.get("financial_connections_account")
    pm = PaymentMethod(
        id=ctx.tenant.new_id("pm"),
        created=ctx.now(),
        billing_details=BillingDetails.model_validate(clean(p.get("billing_details")) or {}),
        metadata=clean(p.get("metadata")) or {},
        allow_redisplay=p.get("allow_redisplay", "unspecified"),
        us_bank_account=UsBankAccount(),
    )
    # GUESS (docs/guesses.md, PaymentMethods from accounts): Stripe requires the holder's name
    # for us_bank_account.
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
        _check_numbers(routing, number, hash_name)
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


def _card(ctx: Ctx, p: dict[str, Any]) -> PaymentMethod:
    given = p.get("card")
    if not isinstance(given, dict):
        raise ParamError("Missing required param: card.", code="parameter_missing", param="card")
    return PaymentMethod(
        id=ctx.tenant.new_id("pm"),
        created=ctx.now(),
        type="card",
        card=cards.from_card_params(ctx, given, "card"),
        billing_details=BillingDetails.model_validate(clean(p.get("billing_details")) or {}),
        metadata=clean(p.get("metadata")) or {},
        allow_redisplay=p.get("allow_redisplay", "unspecified"),
    )


def create(ctx: Ctx, p: dict[str, Any]) -> PaymentMethod:
    pm = _card(ctx, p) if p["type"] == "card" else from_params(ctx, p, "")
    if p.get("customer"):
        pm.customer = customers.load(ctx, p["customer"], "customer").id
    ctx.tenant.put(pm)
    if pm.customer:
        ctx.emit("payment_method.attached", pm)
    return pm

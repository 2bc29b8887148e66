"""A PaymentIntent's payment method types and its currency: which types the fake takes, which
currencies each type takes, the types an intent gets from `payment_method_types`,
`automatic_payment_methods` or `payment_method_data`, and Stripe's error when the currency
does not suit them."""

from __future__ import annotations

import re
from typing import Any

from ..core.errors import exclusive, invalid_param
from . import p24
from .objects import PaymentIntent

TYPES = ("us_bank_account", "p24")
# GUESS: with no types given, the type the fake debits (Stripe's default is `card`, or the
# Dashboard's automatic payment methods).
DEFAULT = ("us_bank_account",)
# The currencies each type takes (a type not listed, such as `card`, takes any).
CURRENCIES = {"us_bank_account": ("usd",), "p24": p24.CURRENCIES}
_CURRENCY = re.compile(r"[a-z]{3}")


def currency(given: str, types: list[str]) -> str:
    """`given` in lower case, once every one of `types` takes it."""
    cur = given.lower()
    refusing = [t for t in types if cur not in CURRENCIES.get(t, (cur,))]
    if refusing:
        # Stripe's wording with one type (stripe-ios's functional tests: bancontact in usd) and
        # with several (active_merchant's remote tests). GUESS: the code and the param.
        detail = (
            f". Payments with {refusing[0]} support the following currencies: "
            f"{', '.join(CURRENCIES[refusing[0]])}."
            if len(types) == 1
            else " for one or more payment method types on this PaymentIntent."
        )
        raise invalid_param(
            "currency",
            f"The currency provided ({cur[:10]}) is invalid{detail}",
            code="payment_intent_invalid_parameter",
        )
    if not _CURRENCY.fullmatch(cur):
        # GUESS: the fake does not hold Stripe's list of currencies; any ISO-style code passes.
        raise invalid_param("currency", f"Invalid currency: {cur[:10]}.")
    return cur


def types(given: list[str] | None) -> list[str]:
    """`payment_method_types` as given, each one a type the fake takes, or the default."""
    for i, t in enumerate(given or []):
        if t not in TYPES:
            raise invalid_param(
                f"payment_method_types[{i}]",
                f"The payment method type provided: {t[:40]} is invalid. This fake Stripe "
                f"server supports only {' and '.join(TYPES)} PaymentIntents.",
                code="payment_intent_invalid_parameter",
            )
    return list(dict.fromkeys(given or DEFAULT))


def automatic(p: dict[str, Any]) -> dict[str, Any] | None:
    """`automatic_payment_methods` as the intent shows it. GUESS: with it enabled, the types are
    those the fake has (us_bank_account); Stripe takes them from the Dashboard's settings."""
    given = p.get("automatic_payment_methods")
    if not given:
        return None
    if not given["enabled"]:
        return {"enabled": False}
    if p.get("payment_method_types"):
        raise exclusive("automatic_payment_methods", "payment_method_types")
    return {"allow_redirects": given.get("allow_redirects") or "always", "enabled": True}


def on_create(p: dict[str, Any], auto: dict[str, Any] | None) -> list[str]:
    """A new intent's types: with automatic payment methods in a currency other than usd,
    `card` (GUESS: Stripe takes them from the Dashboard, where cards are on by default; the fake
    stores such an intent but confirms only ACH Direct Debit in usd). With neither those nor
    `payment_method_types`, the type of the PaymentMethod `payment_method_data` makes (GUESS);
    otherwise `join` adds that type."""
    enabled = bool(auto and auto["enabled"])
    if enabled and str(p["currency"]).lower() != "usd":
        return ["card"]
    data = p.get("payment_method_data")
    if not p.get("payment_method_types") and not enabled and isinstance(data, dict):
        return [data["type"]]
    return types(p.get("payment_method_types"))


def join(pi: PaymentIntent, p: dict[str, Any]) -> None:
    """The type of the PaymentMethod `payment_method_data` makes joins the intent's types, once
    the intent's currency is one it takes (GUESS: Stripe lets an intent use a PaymentMethod of
    a type its Dashboard settings enable, in a currency that type supports)."""
    data = p.get("payment_method_data")
    kind = data["type"] if isinstance(data, dict) else None
    if kind is not None and kind not in pi.payment_method_types:
        joined = [*pi.payment_method_types, kind]
        currency(pi.currency, joined)
        pi.payment_method_types = joined

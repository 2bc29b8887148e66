"""Przelewy24 (`p24`) PaymentMethods made from a PaymentIntent's `payment_method_data`: the
banks a customer may name and the currencies P24 takes. The fake stores such a PaymentMethod
and its intent but never confirms one: P24 is a redirect to the customer's bank."""

from __future__ import annotations

from typing import Any

from ..core.context import Ctx
from ..core.params import Enum, Hash, clean
from ..resources.payment_methods import P24, BillingDetails, PaymentMethod

# Stripe's docs: "Przelewy24 payments must be in either Euros or Polish Zloty".
CURRENCIES = ("eur", "pln")
# The recorded spec's enum of `payment_method_data[p24][bank]` (tests/test_param_drift.py holds
# the two together). GUESS: a bank outside it is refused; the spec marks the enum
# x-stripeBypassValidation, so Stripe may take banks added since.
BANKS = (
    "alior_bank",
    "bank_millennium",
    "bank_nowy_bfg_sa",
    "bank_pekao_sa",
    "banki_spbdzielcze",
    "blik",
    "bnp_paribas",
    "boz",
    "citi_handlowy",
    "credit_agricole",
    "envelobank",
    "etransfer_pocztowy24",
    "getin_bank",
    "ideabank",
    "ing",
    "inteligo",
    "mbank_mtransfer",
    "nest_przelew",
    "noble_pay",
    "pbac_z_ipko",
    "plus_bank",
    "santander_przelew24",
    "tmobile_usbugi_bankowe",
    "toyota_bank",
    "volkswagen_bank",
)
P24_DATA = Hash({"bank": Enum(BANKS)})


def from_params(ctx: Ctx, p: dict[str, Any]) -> PaymentMethod:
    """Build (not store) a `p24` PaymentMethod from `payment_method_data`. The bank is optional,
    as in Stripe's spec: without it the customer picks one at Przelewy24."""
    given = p.get("p24")
    bank = given.get("bank") if isinstance(given, dict) else None
    return PaymentMethod(
        id=ctx.tenant.new_id("pm"),
        created=ctx.now(),
        type="p24",
        p24=P24(bank=bank),
        billing_details=BillingDetails.model_validate(clean(p.get("billing_details")) or {}),
        metadata=clean(p.get("metadata")) or {},
    )

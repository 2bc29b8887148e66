"""Card PaymentMethods as stored objects, made from Stripe's test cards: a test PaymentMethod id
(`pm_card_visa`), a test token (`tok_visa`) or a test card number with its expiry.

Cards are stored, retrieved, attached, listed and updated like any PaymentMethod; charging
them is outside the fake (an intent refuses to confirm with one). The test data is Stripe's
testing page ("Cards by brand"): the number, brand and funding of each test card.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, NamedTuple

from ..core.context import Ctx
from ..core.errors import PaymentError, invalid_param, resource_missing
from ..core.objects import Model
from ..core.params import Hash, Int, Str


class Card(Model):
    brand: str
    checks: dict[str, Any] | None = None
    country: str | None = None
    exp_month: int
    exp_year: int
    fingerprint: str | None = None
    funding: str
    generated_from: dict[str, Any] | None = None
    last4: str
    networks: dict[str, Any] | None = None
    three_d_secure_usage: dict[str, Any] | None = {"supported": True}
    wallet: dict[str, Any] | None = None


class TestCard(NamedTuple):
    number: str
    brand: str
    funding: str


# `pm_card_<name>` and `tok_<name>` name these (Stripe's testing page, cards by brand).
BY_NAME = {
    "visa": TestCard("4242424242424242", "visa", "credit"),
    "visa_debit": TestCard("4000056655665556", "visa", "debit"),
    "mastercard": TestCard("5555555555554444", "mastercard", "credit"),
    "mastercard_debit": TestCard("5200828282828210", "mastercard", "debit"),
    "mastercard_prepaid": TestCard("5105105105105100", "mastercard", "prepaid"),
    "amex": TestCard("378282246310005", "amex", "credit"),
    "discover": TestCard("6011111111111117", "discover", "credit"),
    "diners": TestCard("3056930009020004", "diners", "credit"),
    "jcb": TestCard("3566002020360505", "jcb", "credit"),
    "unionpay": TestCard("6200000000000005", "unionpay", "credit"),
}
# Every test number of that page's brand table, including those no id or token names.
BY_NUMBER = {c.number: c for c in BY_NAME.values()} | {
    c.number: c
    for c in (
        TestCard("2223003122003222", "mastercard", "credit"),
        TestCard("371449635398431", "amex", "credit"),
        TestCard("6011000990139424", "discover", "credit"),
        TestCard("6011981111111113", "discover", "debit"),
        TestCard("36227206271667", "diners", "credit"),
        TestCard("6200000000000047", "unionpay", "debit"),
        TestCard("6205500000000000004", "unionpay", "credit"),
    )
}
TEST_ID_PREFIX = "pm_card_"
TOKEN_PREFIX = "tok_"

CARD = Hash(
    {
        "number": Str(),
        "exp_month": Int(),
        "exp_year": Int(),
        "cvc": Str(),
        "token": Str(),
    }
)
CARD_UPDATE = Hash({"exp_month": Int(), "exp_year": Int()})


def is_test_id(pm_id: str) -> bool:
    return pm_id.startswith(TEST_ID_PREFIX)


def _luhn(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def _fingerprint(number: str) -> str:
    # One per card number, as Stripe's fingerprint is one per card on an account.
    digest = hashlib.sha256(f"card:{number}".encode()).digest()
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:16])


def check_expiry(ctx: Ctx, month: int, year: int, at: str) -> None:
    """Stripe's card errors for an expiry outside 1-12 or already past (402 `card_error`)."""
    if not 1 <= month <= 12:
        raise PaymentError(
            "Your card's expiration month is invalid.",
            code="invalid_expiry_month",
            param=f"{at}[exp_month]",
        )
    today = datetime.fromtimestamp(ctx.now(), UTC)
    if year < today.year or (year == today.year and month < today.month) or year > 9999:
        raise PaymentError(
            "Your card's expiration year is invalid.",
            code="invalid_expiry_year",
            param=f"{at}[exp_year]",
        )


def _card(ctx: Ctx, test: TestCard, month: int, year: int, cvc: bool) -> Card:
    return Card(
        brand=test.brand,
        # GUESS (docs/guesses.md, card PaymentMethods): every card of the brand table is a US card.
        country="US",
        exp_month=month,
        exp_year=year,
        fingerprint=_fingerprint(test.number),
        funding=test.funding,
        last4=test.number[-4:],
        checks={
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "unchecked" if cvc else None,
        },
        networks={"available": [test.brand], "preferred": None},
    )


def _named(ctx: Ctx, name: str, param: str, given: str) -> Card:
    test = BY_NAME.get(name)
    if test is None:
        noun = "payment_method" if given.startswith(TEST_ID_PREFIX) else "token"
        raise resource_missing(noun, given, param)
    # GUESS (docs/guesses.md, card PaymentMethods): a test id or token expires a year after
    # the tenant clock's month.
    today = datetime.fromtimestamp(ctx.now(), UTC)
    return _card(ctx, test, today.month, today.year + 1, cvc=True)


def from_card_params(ctx: Ctx, card: dict[str, Any], at: str) -> Card:
    """The `card` hash of a create: `token` (`tok_visa`), or `number` with `exp_month` and
    `exp_year` (Stripe's test numbers only, as in test mode)."""
    token = card.get("token")
    if token is not None:
        if len(card) > 1:
            raise invalid_param(
                f"{at}[token]",
                "You cannot pass card details together with a token.",
                code="parameters_exclusive",
            )
        return _named(ctx, token.removeprefix(TOKEN_PREFIX), f"{at}[token]", token)
    for name in ("number", "exp_month", "exp_year"):
        if name not in card:
            raise invalid_param(
                f"{at}[{name}]",
                f"Missing required param: {at}[{name}].",
                code="parameter_missing",
            )
    number = "".join(str(card["number"]).split())
    if not number.isascii() or not number.isdigit() or not 12 <= len(number) <= 19:
        raise PaymentError(
            "Your card number is incorrect.", code="incorrect_number", param=f"{at}[number]"
        )
    if not _luhn(number):
        raise PaymentError(
            "Your card number is incorrect.", code="incorrect_number", param=f"{at}[number]"
        )
    test = BY_NUMBER.get(number)
    if test is None:
        raise PaymentError(
            "Your card was declined. Your request was in test mode, but used a non test (live) "
            "card. For a list of valid test cards, visit: https://stripe.com/docs/testing.",
            code="card_declined",
            param=f"{at}[number]",
            decline_code="test_mode_live_card",
        )
    check_expiry(ctx, card["exp_month"], card["exp_year"], at)
    return _card(ctx, test, card["exp_month"], card["exp_year"], cvc="cvc" in card)


def from_test_id(ctx: Ctx, pm_id: str, param: str) -> Card:
    """The card of a test PaymentMethod id (`pm_card_visa`)."""
    return _named(ctx, pm_id.removeprefix(TEST_ID_PREFIX), param, pm_id)

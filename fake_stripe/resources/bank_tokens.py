"""Stripe's test `us_bank_account` PaymentMethods (`pm_usBankAccount_success`, ...): each stands
for one of the test account numbers of Stripe's ACH Direct Debit docs at the test routing
number, as an account typed in by hand and already verified. What a debit from each number does
is `payments/ach.py`'s (`TEST_NUMBERS`); this module only names them, so a PaymentMethod can be
made from a test id wherever an id goes, as a card's (`cards.py`).
"""

from __future__ import annotations

import hashlib

from ..core.errors import resource_missing

TEST_ROUTING = "110000000"
TEST_ID_PREFIX = "pm_usBankAccount_"
# Stripe's "Test account numbers" table: the token of each number. Its `failMicrodeposits`
# (000666666661) and `dispute` (000555555559) are not modelled, so they are unknown ids.
NUMBERS = {
    "success": "000123456789",
    "accountClosed": "000111111113",
    "noAccount": "000111111116",
    "insufficientFunds": "000222222227",
    "debitNotAuthorized": "000333333335",
    "invalidCurrency": "000444444440",
    "processing": "000000000009",
}


def fingerprint(routing: str, number: str) -> str:
    """One per bank account, as Stripe's is: the same routing and account number, the same
    fingerprint (so a PaymentMethod keeps no number and its outcome can still be looked up)."""
    return hashlib.sha256(f"{routing}:{number}".encode()).hexdigest()[:16]


def is_test_id(pm_id: str) -> bool:
    return pm_id.startswith(TEST_ID_PREFIX)


def number_of(pm_id: str, param: str) -> str:
    """The account number a test id stands for; an id Stripe's table lacks does not exist."""
    number = NUMBERS.get(pm_id.removeprefix(TEST_ID_PREFIX))
    if number is None:
        raise resource_missing("payment_method", pm_id, param)
    return number

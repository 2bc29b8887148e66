"""A linked account as ACH sees it: its current account number, the `us_bank_account` details a
PaymentMethod made from it carries, and whether it can back one.

A PaymentMethod made from an account stays linked to it: when a tokenized-account-number
institution issues new numbers on relink, the same `pm_` gets the new `last4`/`fingerprint`;
when the numbers are deactivated, it is blocked (`tokenized_account_number_deactivated`).
"""

from __future__ import annotations

import hashlib

from ..core.errors import InvalidRequestError
from ..resources.bank_tokens import fingerprint
from ..resources.payment_methods import UsBankAccount
from .objects import Account


def _digits(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return str(int(digest[:15], 16))[-12:].rjust(12, "0")


def account_number(account: Account) -> str:
    """The account's current number. At a plain-number bank it is the account's own number, so
    it ends in the account's `last4`; at a tokenized-number bank (Chase, PNC) it is a token,
    a fresh one for each TAN generation, whose last digits are not the account's. A new token
    never ends in the same four digits as the one it replaces (GUESS: Stripe does not say; a
    PaymentMethod updated for a new token shows a new `last4`)."""
    tokenized = any(
        n.identifier_type == "tokenized_account_number" for n in account.account_numbers or []
    )
    if not tokenized:
        number = _digits(f"{account.id}:{account.tan_generation}")
        return number[:-4] + account.last4 if account.last4 else number
    number = _digits(f"{account.id}:0")
    for generation in range(1, account.tan_generation + 1):
        previous, salt = number, 0
        number = _digits(f"{account.id}:{generation}")
        while number[-4:] == previous[-4:]:
            salt += 1
            number = _digits(f"{account.id}:{generation}:{salt}")
    return number


def bank_details(account: Account) -> UsBankAccount:
    number = account_number(account)
    blocked = any(n.status == "deactivated" for n in account.account_numbers or [])
    return UsBankAccount(
        account_type="savings" if account.subcategory == "savings" else "checking",
        bank_name=account.institution_name,
        financial_connections_account=account.id,
        fingerprint=fingerprint(account.routing_number, number),
        last4=number[-4:],
        networks={"preferred": "ach", "supported": ["ach"]},
        routing_number=account.routing_number,
        status_details={
            "blocked": {"network_code": None, "reason": "tokenized_account_number_deactivated"}
        }
        if blocked
        else None,
    )


def check_usable(account: Account, param: str) -> None:
    """The checks Stripe makes before a Financial Connections account can back a PaymentMethod."""
    if "payment_method" not in (account.permissions or []):
        raise InvalidRequestError(
            f"The Financial Connections account {account.id} was not collected with the "
            "`payment_method` permission, so it cannot be used to create a PaymentMethod.",
            param=param,
        )
    if account.status != "active":
        raise InvalidRequestError(
            f"The Financial Connections account {account.id} is {account.status}; relink it "
            "before using it to create a PaymentMethod.",
            code="financial_connections_account_inactive",
            param=param,
        )
    if account.subcategory not in ("checking", "savings"):
        raise InvalidRequestError(
            f"The Financial Connections account {account.id} is a {account.subcategory} "
            "account; only checking and savings accounts can be used for ACH Direct Debit.",
            code="bank_account_unusable",
            param=param,
        )
    if any(n.status != "transactable" for n in account.account_numbers or []):
        raise InvalidRequestError(
            f"The account numbers of Financial Connections account {account.id} are no "
            "longer available; relink the account to get new ones.",
            code="financial_connections_account_unavailable_account_numbers",
            param=param,
        )

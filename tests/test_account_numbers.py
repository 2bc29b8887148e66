"""The account numbers a linked account shows ACH: a tokenized number is new at each TAN
generation and never ends in the digits of the one it replaces."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from fake_stripe.financial_connections.bank_accounts import account_number
from fake_stripe.financial_connections.objects import Account


def _account(oid: str, generation: int, tokenized: bool, last4: str | None = "6789") -> Account:
    kind = "tokenized_account_number" if tokenized else "account_number"
    numbers: list[Any] = [SimpleNamespace(identifier_type=kind, status="transactable")]
    fields = {"id": oid, "tan_generation": generation, "account_numbers": numbers}
    return cast(Account, SimpleNamespace(**fields, last4=last4))


def test_each_new_token_ends_in_other_digits_than_the_one_before() -> None:
    # 2,000 accounts, 6 generations each: 10,000 replacements. Drawn from the digest alone,
    # fca_1196's second token and fca_1720's third would end as the one before did.
    for n in range(2000):
        numbers = [account_number(_account(f"fca_{n}", g, True)) for g in range(6)]
        assert all(len(x) == 12 and x.isdigit() for x in numbers)
        assert all(a[-4:] != b[-4:] for a, b in zip(numbers, numbers[1:], strict=False))
        # The same account and generation: the same number, every time.
        assert account_number(_account(f"fca_{n}", 5, True)) == numbers[5]


def test_a_plain_number_ends_in_the_accounts_last4() -> None:
    assert account_number(_account("fca_plain", 0, False))[-4:] == "6789"
    assert account_number(_account("fca_plain", 3, False))[-4:] == "6789"

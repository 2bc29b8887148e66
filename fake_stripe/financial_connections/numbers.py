"""Account numbers, and the tokenized ones (TANs) that Chase and PNC Bank issue: a new number at
every consent, an expiry on the tenant clock (with a warning 30 days before), and the
PaymentMethods made from the account following its number (updated in place, or blocked once
the number is deactivated)."""

from __future__ import annotations

from ..core.context import Ctx
from ..core.errors import InvalidRequestError
from ..resources.payment_methods import PaymentMethod
from .bank_accounts import bank_details
from .common import CLOCK, DAY
from .institutions import BY_ID, Bank
from .objects import Account, AccountNumber

TAN_LIFETIME = 180 * DAY  # GUESS: banks do not publish TAN lifetimes
TAN_WARNING = 30 * DAY  # Stripe's hosted relink treats "expiring within 30 days" as due


def account_numbers(ctx: Ctx, bank: Bank) -> list[AccountNumber]:
    if bank.tokenized:
        return [
            AccountNumber(
                expected_expiry_date=ctx.now() + TAN_LIFETIME,
                identifier_type="tokenized_account_number",
                status="transactable",
            )
        ]
    return [
        AccountNumber(
            expected_expiry_date=None, identifier_type="account_number", status="transactable"
        )
    ]


def schedule_expiry(ctx: Ctx, account: Account) -> None:
    """The warning and the expiry of the account's tokenized number, on the tenant clock. Each
    item names the number's generation: a number renewed since makes it stale."""
    for n in account.account_numbers or []:
        if n.identifier_type == "tokenized_account_number" and n.expected_expiry_date:
            due = n.expected_expiry_date
            ctx.clock.add(
                CLOCK, due - TAN_WARNING, "tan_warning", account.id, account.tan_generation
            )
            ctx.clock.add(CLOCK, due, "tan_expiry", account.id, account.tan_generation)


def _update_payment_methods(ctx: Ctx, account: Account) -> None:
    for pm_id in account.payment_methods:
        pm = ctx.tenant.get(PaymentMethod, pm_id)
        if pm is None:
            continue
        before = pm.us_bank_account.model_dump(mode="json")
        pm.us_bank_account = bank_details(account)
        if pm.us_bank_account.model_dump(mode="json") != before:
            ctx.tenant.put(pm)
            # GUESS (D5): the event Stripe sends for an in-place PaymentMethod update.
            # The hash before, whole: an event shows a changed hash as it was.
            ctx.emit("payment_method.automatically_updated", pm, {"us_bank_account": before})


def expire_account_numbers(ctx: Ctx, account: Account) -> Account:
    if not any(
        n.identifier_type == "tokenized_account_number" for n in account.account_numbers or []
    ):
        raise InvalidRequestError(
            f"The account {account.id} has plain account numbers; only tokenized account "
            "numbers (Chase, PNC Bank) expire.",
            param="account",
        )
    previous = [n.model_dump() for n in account.account_numbers or []]
    account.account_numbers = [
        n.model_copy(update={"status": "deactivated"}) for n in account.account_numbers or []
    ]
    ctx.tenant.put(account)
    ctx.emit(
        "financial_connections.account.account_numbers_updated",
        account,
        {"account_numbers": previous},
    )
    _update_payment_methods(ctx, account)
    return account


def issue_new_numbers(ctx: Ctx, account: Account) -> None:
    """A TAN institution issues a new number at every consent (docs/api.md, institutions)."""
    previous = [n.model_dump() for n in account.account_numbers or []]
    account.tan_generation += 1
    bank = BY_ID[account.institution_id]
    account.account_numbers = account_numbers(ctx, bank)
    ctx.tenant.put(account)
    schedule_expiry(ctx, account)
    ctx.emit(
        "financial_connections.account.account_numbers_updated",
        account,
        {"account_numbers": previous},
    )
    _update_payment_methods(ctx, account)

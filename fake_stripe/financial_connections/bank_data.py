"""What an institution shows and reports, made up per tenant and seed (`generated.Generator`):
the accounts it offers a user to link, and a linked account's balance, owners and transactions.
The same `--seed` and the same requests give the same data."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.context import Ctx
from .common import DAY
from .generated import Generator
from .institutions import Bank
from .objects import (
    Account,
    AccountHolder,
    AccountOwner,
    AccountOwnership,
    Balance,
    Refresh,
    StatusTransitions,
    Subcategory,
    Transaction,
    TransactionRefresh,
)


@dataclass(frozen=True)
class NewAccount:
    """An account the end user can pick at an institution that is not linked yet."""

    display_name: str
    subcategory: Subcategory
    last4: str


_LABELS = {
    "checking": "Checking",
    "savings": "Savings",
    "credit_card": "Credit Card",
    "line_of_credit": "Line of Credit",
    "mortgage": "Mortgage",
}
_STYLES = ("Everyday", "Premier", "Advantage", "Total", "Essential", "Select", "Classic")


def generator_for(ctx: Ctx, label: str) -> Generator:
    return Generator(ctx.tenant.random_int(label, 2**31))


def offers(ctx: Ctx, bank: Bank, holder: AccountHolder | None) -> list[NewAccount]:
    """The accounts an institution shows this account holder: seed-deterministic."""
    who = (holder.customer or holder.account or "") if holder else ""
    gen = generator_for(ctx, f"offers:{bank.id}:{who}")
    out = []
    for o in bank.offers:
        style = gen.random_element(_STYLES)
        out.append(
            NewAccount(f"{style} {_LABELS[o.subcategory]}", o.subcategory, gen.numerify("####"))
        )
    return out


def refresh_balance(ctx: Ctx, account: Account) -> None:
    gen = generator_for(ctx, f"balance:{account.id}:{ctx.now() // DAY}")
    now = ctx.now()
    amount = gen.random_int(1_000, 2_500_000)
    if account.category == "credit":
        account.balance = Balance(
            as_of=now, credit={"used": {"usd": amount}}, current={"usd": -amount}, type="credit"
        )
    else:
        account.balance = Balance(
            as_of=now, cash={"available": {"usd": amount}}, current={"usd": amount}, type="cash"
        )
    account.balance_refresh = Refresh(
        last_attempted_at=now, next_refresh_available_at=now, status="succeeded"
    )


def make_ownership(ctx: Ctx, account: Account) -> AccountOwnership:
    gen = generator_for(ctx, f"owners:{account.id}")
    oid = ctx.tenant.new_id("fcaowns")
    owners = [
        AccountOwner(
            id=ctx.tenant.new_id("fcaown"),
            email=gen.email(),
            name=gen.name(),
            ownership=oid,
            phone=gen.phone(),
            raw_address=gen.address(),
            refreshed_at=ctx.now(),
        )
        for _ in range(1 + gen.random_int(0, 1))
    ]
    ownership = AccountOwnership(
        id=oid,
        created=ctx.now(),
        owners={
            "object": "list",
            "data": [o.model_dump() for o in owners],
            "has_more": False,
            "url": f"/v1/financial_connections/accounts/{account.id}/owners",
        },
        owner_list=owners,
    )
    ctx.tenant.put(ownership)
    return ownership


def make_transactions(ctx: Ctx, account: Account) -> TransactionRefresh:
    now = ctx.now()
    ref = TransactionRefresh(
        id=ctx.tenant.new_id("fctxnref"),
        last_attempted_at=now,
        next_refresh_available_at=now,
        status="succeeded",
    )
    ctx.tenant.meta_set(f"txnref:{ref.id}", str(now))
    gen = generator_for(ctx, f"transactions:{account.id}:{ref.id}")
    for i in range(gen.random_int(3, 8)):
        when = now - gen.random_int(0, 30) * DAY - i
        posted = gen.random_int(0, 4) > 0
        txn = Transaction(
            id=ctx.tenant.new_id("fctxn"),
            account=account.id,
            amount=gen.random_int(-250_000, 50_000),
            description=gen.company(),
            status="posted" if posted else "pending",
            status_transitions=StatusTransitions(posted_at=when if posted else None, void_at=None),
            transacted_at=when,
            transaction_refresh=ref.id,
            updated=now,
        )
        ctx.tenant.put(txn)
    return ref

"""Financial Connections accounts, authorizations, owners and transactions endpoints."""

from __future__ import annotations

from typing import Any

from ..core.context import Ctx
from ..core.errors import InvalidRequestError, exclusive, missing_param, resource_missing
from ..core.params import PAGINATION, RANGE, Arr, Enum, Hash, Spec, Str, in_range
from ..core.render import Page, paginate
from ..core.views import View
from .bank_data import make_ownership, make_transactions, refresh_balance
from .common import load_account, load_authorization
from .deactivation import disconnect as disconnect_account
from .objects import (
    Account,
    AccountOwnership,
    Authorization,
    Refresh,
    Transaction,
)

LIST = Spec(
    {
        **PAGINATION,
        "account_holder": Hash({"customer": Str(), "account": Str(), "customer_account": Str()}),
        "session": Str(),
    }
)
# GUESS (docs/guesses.md): a feature named twice is refreshed once, as Stripe's `features` is a
# set of 4 values.
FEATURES_REFRESH = Spec(
    {
        "features": Arr(
            Enum(("balance", "inferred_balances", "ownership", "transactions")), unique=True
        )
    },
    required=("features",),
)
FEATURES_SUBSCRIBE = Spec(
    {"features": Arr(Enum(("balance", "inferred_balances", "transactions")), unique=True)},
    required=("features",),
)
OWNERS = Spec({**PAGINATION, "ownership": Str()}, required=("ownership",))
TRANSACTIONS = Spec(
    {
        **PAGINATION,
        "account": Str(),
        "transacted_at": RANGE,
        "transaction_refresh": Hash({"after": Str()}, required=("after",)),
    },
    required=("account",),
)


def list_(ctx: Ctx, p: dict[str, Any]) -> Page:
    holder = p.get("account_holder") or {}
    if "customer" in holder and "account" in holder:
        raise exclusive(
            "account_holder[customer]", "account_holder[account]", param="account_holder[customer]"
        )
    customer, connected = holder.get("customer"), holder.get("account")
    session_id = p.get("session")
    only: set[str] | None = None
    if session_id is not None:
        from .objects import Session

        session = ctx.tenant.get(Session, session_id)
        if session is None:
            raise resource_missing("financial_connections.session", session_id, "session")
        only = set(session.account_ids)

    def where(a: Account) -> bool:
        h = a.account_holder
        if customer is not None and (h is None or h.customer != customer):
            return False
        return connected is None or (h is not None and h.account == connected)

    # A session's accounts are read by id; otherwise the holder is read from the index.
    match = None
    if only is None and customer is not None:
        match = ("account_holder.customer", customer)
    elif only is None and connected is not None:
        match = ("account_holder.account", connected)
    url = "/v1/financial_connections/accounts"
    # With no holder asked for, or one the index reads, every account read is kept.
    exact = (customer is None and connected is None) or match is not None
    return paginate(ctx, Account, p, url, None if exact else where, match, among=only)


def retrieve(ctx: Ctx, p: dict[str, Any]) -> View:
    return ctx.tenant.view(Account, ctx.path["account"])


def disconnect(ctx: Ctx, p: dict[str, Any]) -> Account:
    return disconnect_account(ctx, load_account(ctx, ctx.path["account"]))


def _require_active(account: Account, what: str) -> None:
    if account.status != "active":
        raise InvalidRequestError(
            f"Cannot {what} account {account.id} because it is {account.status}. Relink the "
            "account to restore data access.",
            code="financial_connections_account_inactive",
            param="account",
        )


def _require_permission(account: Account, permission: str, feature: str) -> None:
    if permission not in (account.permissions or []):
        raise InvalidRequestError(
            f"The account {account.id} was not collected with the `{permission}` permission, "
            f"so `{feature}` is not available.",
            param="features",
        )


_PERMISSION = {
    "balance": "balances",
    "inferred_balances": "balances",
    "ownership": "ownership",
    "transactions": "transactions",
}


def refresh(ctx: Ctx, p: dict[str, Any]) -> Account:
    if not p["features"]:
        raise missing_param("features")
    return refresh_features(ctx, load_account(ctx, ctx.path["account"]), p["features"])


def refresh_features(ctx: Ctx, account: Account, features: list[str]) -> Account:
    # GUESS: refreshing an inactive account is refused rather than failing asynchronously.
    _require_active(account, "refresh")
    for f in features:
        _require_permission(account, _PERMISSION[f], f)
    now = ctx.now()
    done = Refresh(last_attempted_at=now, next_refresh_available_at=now, status="succeeded")
    for f in features:
        if f == "balance":
            refresh_balance(ctx, account)
        elif f == "inferred_balances":
            account.inferred_balances_refresh = done
        elif f == "ownership":
            account.ownership = make_ownership(ctx, account).id
            account.ownership_refresh = done
        elif f == "transactions":
            account.transaction_refresh = make_transactions(ctx, account)
    ctx.tenant.put(account)
    for f in features:
        ctx.emit(f"financial_connections.account.refreshed_{f}", account)
    return account


def subscribe(ctx: Ctx, p: dict[str, Any]) -> Account:
    account = load_account(ctx, ctx.path["account"])
    _require_active(account, "subscribe to")
    for f in p["features"]:
        _require_permission(account, _PERMISSION[f], f)
    subs = list(account.subscriptions or [])
    for f in p["features"]:
        if f not in subs:
            subs.append(f)
    account.subscriptions = subs
    ctx.tenant.put(account)
    return account


def unsubscribe(ctx: Ctx, p: dict[str, Any]) -> Account:
    account = load_account(ctx, ctx.path["account"])
    account.subscriptions = [s for s in account.subscriptions or [] if s not in p["features"]]
    ctx.tenant.put(account)
    return account


def owners(ctx: Ctx, p: dict[str, Any]) -> Page:
    account = load_account(ctx, ctx.path["account"])
    ownership = ctx.tenant.get(AccountOwnership, p["ownership"])
    if ownership is None or account.ownership != ownership.id:
        raise resource_missing(
            "financial_connections.account_ownership", p["ownership"], "ownership"
        )
    items = ownership.owner_list
    limit = p.get("limit", 10)
    return Page(
        list(items[:limit]),
        len(items) > limit,
        f"/v1/financial_connections/accounts/{account.id}/owners",
    )


def retrieve_authorization(ctx: Ctx, p: dict[str, Any]) -> Authorization:
    if not ctx.preview:
        # The authorizations endpoint exists only in the preview (reference section 0).
        from ..wire import unrecognized

        raise unrecognized(
            "GET", f"/v1/financial_connections/authorizations/{ctx.path['authorization']}"
        )
    return load_authorization(ctx, ctx.path["authorization"])


def list_transactions(ctx: Ctx, p: dict[str, Any]) -> Page:
    account = load_account(ctx, p["account"], "account")
    after = (p.get("transaction_refresh") or {}).get("after")
    at = p.get("transacted_at")
    since: int | None = None
    if after is not None:
        # Refreshes are ordered by time: keep what later refreshes collected.
        mark = ctx.tenant.meta_get(f"txnref:{after}")
        since = int(mark) if mark is not None else None

    def where(t: Transaction) -> bool:
        if t.account != account.id:
            return False
        if after is not None and (
            t.transaction_refresh == after or (since is not None and t.updated < since)
        ):
            return False
        return in_range(t.transacted_at, at)

    url = "/v1/financial_connections/transactions"
    return paginate(ctx, Transaction, p, url, where, ("account", account.id))


def retrieve_transaction(ctx: Ctx, p: dict[str, Any]) -> View:
    return ctx.tenant.view(Transaction, ctx.path["transaction"])

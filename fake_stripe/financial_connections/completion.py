"""A session's end: what the end user did in the authentication flow (`FlowResult`) turned into
linked accounts, a relinked authorization, or a failed or cancelled session.

The public API, the `complete` test helper and the fake Stripe.js flow all end a session here,
so the state and the events are the same whichever way it ended.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.context import Ctx
from ..core.errors import InvalidRequestError
from ..core.versions import NEWEST_PREVIEW
from .bank_data import NewAccount, make_ownership, make_transactions, refresh_balance
from .common import load_account, load_authorization
from .deactivation import scope_of, unschedule
from .institutions import BY_ID, Bank
from .numbers import account_numbers, issue_new_numbers, schedule_expiry
from .objects import (
    Account,
    AccountHolder,
    AccountStatusDetails,
    Authorization,
    AuthorizationInactiveDetails,
    AuthorizationStatusDetails,
    Category,
    Refresh,
    RelinkResult,
    Session,
    SessionAccounts,
    Subcategory,
)


@dataclass
class FlowResult:
    """What the end user did in the authentication flow."""

    existing: list[str]  # fca_ ids of the authorization's accounts the user re-authorized
    new: list[NewAccount]  # accounts picked at the institution that were not linked yet
    failure: str | None = None  # an error message: the flow failed
    cancelled: bool = False
    institution: str | None = None  # for a new (non-relink) session


# ---- new accounts ----------------------------------------------------------------------------


def _category(subcategory: Subcategory) -> Category:
    if subcategory in ("credit_card", "line_of_credit"):
        return "credit"
    return "other" if subcategory == "mortgage" else "cash"


def create_account(
    ctx: Ctx, auth: Authorization, bank: Bank, spec: NewAccount, permissions: list[str]
) -> Account:
    account = Account(
        id=ctx.tenant.new_id("fca"),
        account_holder=auth.account_holder,
        account_numbers=account_numbers(ctx, bank),
        authorization=auth.id,
        category=_category(spec.subcategory),
        created=ctx.now(),
        display_name=spec.display_name,
        institution=bank.id,
        institution_name=bank.institution.name,
        last4=spec.last4,
        permissions=sorted(set(permissions)),
        subcategory=spec.subcategory,
        supported_payment_method_types=["us_bank_account"]
        if spec.subcategory in ("checking", "savings")
        else [],
        institution_id=bank.id,
        routing_number=bank.institution.routing_numbers[0],
    )
    ctx.tenant.put(account)
    auth.account_ids = [*auth.account_ids, account.id]
    ctx.tenant.put(auth)
    schedule_expiry(ctx, account)
    ctx.emit("financial_connections.account.created", account)
    return account


def create_authorization(ctx: Ctx, bank: Bank, holder: AccountHolder | None) -> Authorization:
    auth = Authorization(
        id=ctx.tenant.new_id("fcauth"),
        account_holder=holder,
        institution=bank.id,
        institution_name=bank.institution.name,
        created=ctx.now(),
    )
    ctx.tenant.put(auth)
    return auth


# ---- relink ----------------------------------------------------------------------------------


def relinkable(ctx: Ctx, auth: Authorization) -> list[Account]:
    """The authorization's accounts a relink can restore (not closed, not disconnected)."""
    out = []
    for account_id in auth.account_ids:
        a = ctx.tenant.get(Account, account_id)
        if a is None or a.status == "disconnected":
            continue
        if a.status_details.inactive is not None and a.status_details.inactive.action == "none":
            continue
        out.append(a)
    return out


def default_relink_selection(ctx: Ctx, session: Session, auth: Authorization) -> list[Account]:
    """What a relink reconnects when the user changes nothing: the account the session names
    (`relink_options[account]`), else what is broken (a proactive relink, with nothing broken
    yet, re-consents to every account), within the session's filter and limit. The `complete`
    helper's `relink_same` and the Stripe.js account picker both start from this."""
    candidates = relinkable(ctx, auth)
    wanted = session.relink_options.account if session.relink_options else None
    if wanted is not None:
        chosen = [a for a in candidates if a.id == wanted]
    else:
        broken = [a for a in candidates if a.status == "inactive"]
        chosen = [a for a in (broken or candidates) if session.allows(a.subcategory)]
    limit = session.account_limit
    return chosen if limit is None else chosen[:limit]


def _check_selection(session: Session, count: int, subcategories: list[Subcategory]) -> None:
    limit = session.account_limit
    if limit is not None and count > limit:
        raise InvalidRequestError(
            f"This session allows at most {limit} account(s) (limits[accounts]); "
            f"{count} were selected.",
            param="accounts",
        )
    allowed = session.allowed_subcategories
    for sub in subcategories:
        if allowed and sub not in allowed:
            raise InvalidRequestError(
                f"This session only collects {', '.join(allowed)} accounts "
                f"(filters[account_subcategories]); a {sub} account was selected.",
                param="accounts",
            )


# ---- the session's end -----------------------------------------------------------------------


def complete(ctx: Ctx, session: Session, result: FlowResult) -> Session:
    if session.status != "pending":
        raise InvalidRequestError(
            f"The session {session.id} is already {session.status}; create a new session.",
            param="session",
        )
    if result.cancelled:
        session.status = "cancelled"
        session.status_details = {"cancelled": {"reason": "other"}}
        if session.is_relink:
            session.relink_result = RelinkResult(failure_reason="no_authorization")
    elif result.failure is not None:
        session.status = "failed"
        session.error_message = result.failure
        if session.is_relink:
            session.relink_result = RelinkResult(failure_reason="other")
    elif session.is_relink:
        _complete_relink(ctx, session, result)
    else:
        _complete_link(ctx, session, result)
    ctx.tenant.put(session)
    ctx.emit("financial_connections.session.updated", session)
    return session


def _complete_link(ctx: Ctx, session: Session, result: FlowResult) -> None:
    if not result.new:
        session.status = "failed"
        session.error_message = "No accounts were linked."
        return
    bank = BY_ID[result.institution or session.institution_id or ""]
    _check_selection(session, len(result.new), [n.subcategory for n in result.new])
    auth = create_authorization(ctx, bank, session.account_holder)
    accounts = [create_account(ctx, auth, bank, n, session.permissions) for n in result.new]
    _prefetch(ctx, session, accounts)
    session.account_ids = [a.id for a in accounts]
    session.institution_id = bank.id
    session.status = "succeeded"


def _complete_relink(ctx: Ctx, session: Session, result: FlowResult) -> None:
    assert session.relink_options is not None
    auth = load_authorization(ctx, session.relink_options.authorization)
    if auth.status == "disconnected":
        # Disconnected since the session was created: nothing can be relinked any more.
        session.status = "failed"
        session.relink_result = RelinkResult(failure_reason="other")
        return
    allowed = {a.id for a in relinkable(ctx, auth)}
    for account_id in result.existing:
        if account_id not in allowed:
            raise InvalidRequestError(
                f"The account {account_id} cannot be relinked: it is not an open account of "
                f"the authorization {auth.id} (closed and disconnected accounts stay so).",
                param="relink_accounts",
            )
    chosen = [load_account(ctx, a) for a in result.existing]
    _check_selection(
        session,
        len(chosen) + len(result.new),
        [a.subcategory for a in chosen] + [n.subcategory for n in result.new],
    )
    required = session.relink_options.account
    if not chosen and not result.new:
        session.status = "failed"
        session.relink_result = RelinkResult(failure_reason="no_authorization")
        return
    if required is not None and required not in result.existing:
        # GUESS (D9): nothing is linked, and the authorization is not reported.
        session.status = "failed"
        session.relink_result = RelinkResult(failure_reason="no_account")
        return
    bank = BY_ID[auth.institution or ""]
    unschedule(ctx, auth.id)
    chosen_ids = {a.id for a in chosen}
    # Stripe: a relink of the authorization relinks all of its accounts. Those the login's
    # outage took down come back with it, chosen or not; one inactive for a cause of its own
    # (locked) only if chosen; a closed one never. The renewed login also ends any announced
    # deactivation of the others.
    restored = chosen + [
        a for a in relinkable(ctx, auth) if a.id not in chosen_ids and _lost_with_login(a)
    ]
    linked: list[Account] = []
    for account in restored:
        was_inactive = account.status == "inactive"
        before = account.to_api(NEWEST_PREVIEW).get("status_details", {})
        account.status = "active"
        account.status_details = AccountStatusDetails()
        if account.id in chosen_ids:
            # GUESS: relink can widen the data permissions (the docs say it can update them).
            account.permissions = sorted(set(account.permissions or []) | set(session.permissions))
        ctx.tenant.put(account)
        if was_inactive:
            ctx.emit(
                "financial_connections.account.reactivated",
                account,
                {"status": "inactive", "status_details": before},
            )
        if bank.tokenized:
            issue_new_numbers(ctx, account)
        if account.id in chosen_ids:
            linked.append(load_account(ctx, account.id))
    still_broken = False
    for account in relinkable(ctx, auth):
        if account.status == "inactive":
            still_broken = True  # locked, and not chosen: the authorization still asks for it
        elif account.status_details.active is not None:
            account.status_details = AccountStatusDetails()
            ctx.tenant.put(account)
    auth = load_authorization(ctx, auth.id)
    if still_broken:
        auth.status = "inactive"
        auth.status_details = AuthorizationStatusDetails(
            inactive=AuthorizationInactiveDetails(action="relink_required")
        )
    else:
        auth.status = "active"
        auth.status_details = AuthorizationStatusDetails()
    ctx.tenant.put(auth)
    auth = load_authorization(ctx, auth.id)
    for spec in result.new:
        linked.append(create_account(ctx, auth, bank, spec, session.permissions))
        auth = load_authorization(ctx, auth.id)
    _prefetch(ctx, session, linked)
    session.account_ids = [a.id for a in linked]
    session.status = "succeeded"
    session.relink_result = RelinkResult(account=required, authorization=auth.id)


def _lost_with_login(account: Account) -> bool:
    """Inactive for a cause of the whole authorization (its login), not of the account."""
    inactive = account.status_details.inactive
    return (
        account.status == "inactive"
        and inactive is not None
        and inactive.action == "relink_required"
        and scope_of(inactive.cause) == "authorization"
    )


def _prefetch(ctx: Ctx, session: Session, accounts: list[Account]) -> None:
    """`prefetch[]`: the data the session asked for is fetched as the accounts link, as a
    refresh would fetch it (balance, ownership, transactions)."""
    wanted = session.prefetch or []
    if not wanted:
        return
    now = ctx.now()
    for a in accounts:
        a = load_account(ctx, a.id)
        if "balances" in wanted:
            refresh_balance(ctx, a)
        if "ownership" in wanted:
            a.ownership = make_ownership(ctx, a).id
            a.ownership_refresh = Refresh(
                last_attempted_at=now, next_refresh_available_at=now, status="succeeded"
            )
        if "transactions" in wanted:
            a.transaction_refresh = make_transactions(ctx, a)
        ctx.tenant.put(a)


def with_accounts(ctx: Ctx, session: Session) -> Session:
    """The session with its accounts as they are now (for rendering)."""
    data = [a for a in (ctx.tenant.get(Account, i) for i in session.account_ids) if a]
    session.accounts = SessionAccounts(data=data)
    return session

"""The Financial Connections state machine: linking, deactivation, relink, TANs, schedules.

Every transition lives here. The public API, the test helpers and the fake Stripe.js flow all
call these functions, so a state change and the events it records are the same whichever way
it was caused. `REASONS` maps the ways Stripe's relink guide says an account goes inactive to
causes, scopes and actions (docs/api.md tabulates it); where Stripe is silent the choice is
marked GUESS (see docs/guesses.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.context import Ctx
from ..core.errors import InvalidRequestError
from ..core.objects import NEWEST_PREVIEW
from ..resources.payment_methods import PaymentMethod
from .bank_accounts import bank_details
from .generated import Generator
from .institutions import BY_ID, Bank
from .objects import (
    Account,
    AccountActiveDetails,
    AccountHolder,
    AccountNumber,
    AccountOwner,
    AccountOwnership,
    AccountStatusDetails,
    Authorization,
    AuthorizationActiveDetails,
    AuthorizationInactiveDetails,
    AuthorizationStatusDetails,
    Balance,
    InactiveDetails,
    Refresh,
    RelinkResult,
    Session,
    SessionAccounts,
    StatusTransitions,
    Transaction,
    TransactionRefresh,
)

if TYPE_CHECKING:
    from ..core.tenant import Tenant

DAY = 86_400
TAN_LIFETIME = 180 * DAY  # GUESS: banks do not publish TAN lifetimes
TAN_WARNING = 30 * DAY  # Stripe's hosted relink treats "expiring within 30 days" as due

# reason (the `deactivate` helper's) -> (cause, scope, action)
REASONS: dict[str, tuple[str, str, str]] = {
    "token_expired": ("access_expired", "authorization", "relink_required"),
    "mfa_changed": ("institution_requirement", "authorization", "relink_required"),
    "account_locked": ("account_unavailable", "account", "relink_required"),
    "account_closed": ("account_closed", "account", "none"),
    "credentials_changed": ("access_expired", "authorization", "relink_required"),
    "access_revoked": ("access_denied", "authorization", "relink_required"),
    "permanent": ("unspecified", "authorization", "none"),
}
ACCOUNT_SCOPED = ("account_closed", "account_unavailable")


def default_action(cause: str) -> str:
    # GUESS (D7): only a closed account cannot be relinked.
    return "none" if cause == "account_closed" else "relink_required"


def scope_of(cause: str) -> str:
    return "account" if cause in ACCOUNT_SCOPED else "authorization"


# ---- new accounts --------------------------------------------------------------------------


@dataclass(frozen=True)
class NewAccount:
    """An account the end user can pick at an institution that is not linked yet."""

    display_name: str
    subcategory: str
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


def _account_numbers(ctx: Ctx, bank: Bank) -> list[AccountNumber]:
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


def create_account(
    ctx: Ctx, auth: Authorization, bank: Bank, spec: NewAccount, permissions: list[str]
) -> Account:
    category = (
        "credit"
        if spec.subcategory in ("credit_card", "line_of_credit")
        else ("other" if spec.subcategory == "mortgage" else "cash")
    )
    account = Account(
        id=ctx.tenant.new_id("fca"),
        account_holder=auth.account_holder,
        account_numbers=_account_numbers(ctx, bank),
        authorization=auth.id,
        category=category,  # type: ignore[arg-type]
        created=ctx.now(),
        display_name=spec.display_name,
        institution=bank.id,
        institution_name=bank.institution.name,
        last4=spec.last4,
        permissions=sorted(set(permissions)),
        subcategory=spec.subcategory,  # type: ignore[arg-type]
        supported_payment_method_types=["us_bank_account"]
        if spec.subcategory in ("checking", "savings")
        else [],
        institution_id=bank.id,
        routing_number=bank.institution.routing_numbers[0],
    )
    ctx.tenant.put(account)
    auth.account_ids = [*auth.account_ids, account.id]
    ctx.tenant.put(auth)
    _schedule_tan(ctx, account)
    emit(ctx, "financial_connections.account.created", account)
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


# ---- events --------------------------------------------------------------------------------


def emit(ctx: Ctx, type_: str, obj: Any, previous: dict[str, Any] | None = None) -> None:
    # Deactivations and schedules happen at the institution: their callers act alone
    # (`ctx.acting_alone`), so the events carry no request.
    ctx.emit(type_, obj, previous_attributes=previous)


# ---- deactivation --------------------------------------------------------------------------


def _inactivate(ctx: Ctx, account: Account, cause: str, action: str) -> None:
    if account.status == "disconnected":
        return
    closed = account.status_details.inactive
    if closed is not None and closed.cause == "account_closed":
        return  # a closed account stays closed whatever happens to the login
    was = account.status
    previous = account.to_api(NEWEST_PREVIEW)
    account.status = "inactive"
    account.status_details = AccountStatusDetails(
        inactive=InactiveDetails(action=action, cause=cause)  # type: ignore[arg-type]
    )
    ctx.tenant.put(account)
    if was == "active":
        emit(
            ctx,
            "financial_connections.account.deactivated",
            account,
            {"status": "active", "status_details": previous.get("status_details", {})},
        )


def deactivate_authorization(ctx: Ctx, auth: Authorization, cause: str, action: str) -> None:
    if auth.status == "disconnected":
        raise InvalidRequestError(
            f"The authorization {auth.id} is disconnected and cannot change state.",
            param="authorization",
        )
    auth.status = "inactive"
    auth.status_details = AuthorizationStatusDetails(
        inactive=AuthorizationInactiveDetails(action=action)  # type: ignore[arg-type]
    )
    ctx.tenant.put(auth)
    for account_id in auth.account_ids:
        account = ctx.tenant.get(Account, account_id)
        if account is not None:
            _inactivate(ctx, account, cause, action)
    _unschedule(ctx, "deactivate", auth.id)


def deactivate_account(ctx: Ctx, account: Account, cause: str, action: str) -> Account:
    if account.status == "disconnected":
        raise InvalidRequestError(
            f"The account {account.id} is disconnected and cannot change state.",
            param="account",
        )
    auth = load_authorization(ctx, account.authorization)
    if scope_of(cause) == "authorization" or (action == "none" and cause != "account_closed"):
        # An outage of the login, or a permanent loss: every account of the authorization.
        deactivate_authorization(ctx, auth, cause, action)
    else:
        _inactivate(ctx, account, cause, action)
        if cause != "account_closed" and action == "relink_required":
            # GUESS: a locked account is relinkable only through its authorization (the relink
            # guide relinks authorizations), so the authorization asks for a relink too while the
            # other accounts keep working.
            auth.status = "inactive"
            auth.status_details = AuthorizationStatusDetails(
                inactive=AuthorizationInactiveDetails(action="relink_required")
            )
            ctx.tenant.put(auth)
    return load_account(ctx, account.id)


def disconnect(ctx: Ctx, account: Account) -> Account:
    if account.status == "disconnected":
        return account
    account.status = "disconnected"
    account.status_details = AccountStatusDetails()
    ctx.tenant.put(account)
    emit(ctx, "financial_connections.account.disconnected", account)
    auth = ctx.tenant.get(Authorization, account.authorization)
    if auth is not None and auth.status != "disconnected":
        others = [ctx.tenant.get(Account, a) for a in auth.account_ids]
        if all(a is None or a.status == "disconnected" for a in others):
            # GUESS (D8): an authorization with no connected account left is disconnected.
            auth.status = "disconnected"
            auth.status_details = AuthorizationStatusDetails()
            ctx.tenant.put(auth)
    return account


# ---- schedules (the tenant clock) ------------------------------------------------------------


def _schedule(ctx: Ctx, due: int, what: str, target: str, extra: Any = None) -> None:
    items = json.loads(ctx.tenant.meta_get("schedule") or "[]")
    items.append([due, what, target, extra])
    items.sort(key=lambda i: i[0])
    ctx.tenant.meta_set("schedule", json.dumps(items))
    ctx.tenant.meta_set("schedule_next", str(items[0][0]))


def _unschedule(ctx: Ctx, what: str, target: str) -> None:
    raw = ctx.tenant.meta_get("schedule")
    if not raw:
        return
    items = [i for i in json.loads(raw) if not (i[1] == what and i[2] == target)]
    ctx.tenant.meta_set("schedule", json.dumps(items))
    ctx.tenant.meta_set("schedule_next", str(items[0][0]) if items else "")


def next_due(tenant: Tenant) -> int | None:
    """When the tenant's next scheduled change is due (tenant time), if any."""
    nxt = tenant.meta_get("schedule_next")
    return int(nxt) if nxt else None


def run_due(ctx: Ctx) -> None:
    """Fire what the tenant clock has passed. Cheap when nothing is due (one meta read)."""
    nxt = next_due(ctx.tenant)
    if nxt is None or nxt > ctx.now():
        return
    items = json.loads(ctx.tenant.meta_get("schedule") or "[]")
    now = ctx.now()
    due = [i for i in items if i[0] <= now]
    rest = [i for i in items if i[0] > now]
    ctx.tenant.meta_set("schedule", json.dumps(rest))
    ctx.tenant.meta_set("schedule_next", str(rest[0][0]) if rest else "")
    with ctx.acting_alone():
        for _when, what, target, extra in due:
            _fire(ctx, what, target, extra)


def _fire(ctx: Ctx, what: str, target: str, extra: Any) -> None:
    if what == "deactivate":
        auth = ctx.tenant.get(Authorization, target)
        if auth is None or auth.status != "active" or auth.status_details.active is None:
            return
        # Deactivation replaces every status_details, the announced `active` one included.
        deactivate_authorization(ctx, auth, extra["cause"], extra.get("action", "relink_required"))
        return
    account = ctx.tenant.get(Account, target)
    if account is None or account.tan_generation != extra or account.status == "disconnected":
        return  # numbers were renewed since: this item is stale
    if what == "tan_warning":
        emit(ctx, "financial_connections.account.upcoming_account_number_expiry", account)
    elif what == "tan_expiry":
        expire_account_numbers(ctx, account)


def schedule_deactivation(
    ctx: Ctx, account: Account, when: int, cause: str, action: str
) -> Account:
    if account.status != "active":
        raise InvalidRequestError(
            f"Only an active account can have an upcoming deactivation; {account.id} is "
            f"{account.status}.",
            param="account",
        )
    if when <= ctx.now():
        raise InvalidRequestError(
            "expected_deactivation_date must be in the future (tenant clock).",
            param="expected_deactivation_date",
        )
    auth = load_authorization(ctx, account.authorization)
    if auth.status != "active":
        raise InvalidRequestError(
            f"The authorization {auth.id} is {auth.status}; only an active authorization can "
            "have an upcoming deactivation.",
            param="account",
        )
    moved = auth.status_details.active is not None
    auth.status_details = AuthorizationStatusDetails(
        active=AuthorizationActiveDetails(action=action, expected_deactivation_date=when)  # type: ignore[arg-type]
    )
    ctx.tenant.put(auth)
    suffix = "expected_deactivation_date_updated" if moved else "upcoming_deactivation"
    for account_id in auth.account_ids:
        acc = ctx.tenant.get(Account, account_id)
        if acc is None or acc.status != "active":
            continue
        acc.status_details = AccountStatusDetails(
            active=AccountActiveDetails(
                action=action,  # type: ignore[arg-type]
                cause=cause,  # type: ignore[arg-type]
                expected_deactivation_date=when,
            )
        )
        ctx.tenant.put(acc)
        emit(ctx, f"financial_connections.account.{suffix}", acc)
    emit(ctx, f"financial_connections.authorization.{suffix}", auth)
    _unschedule(ctx, "deactivate", auth.id)
    _schedule(ctx, when, "deactivate", auth.id, {"cause": cause, "action": action})
    return load_account(ctx, account.id)


# ---- tokenized account numbers --------------------------------------------------------------


def _schedule_tan(ctx: Ctx, account: Account) -> None:
    for n in account.account_numbers or []:
        if n.identifier_type == "tokenized_account_number" and n.expected_expiry_date:
            _schedule(
                ctx,
                n.expected_expiry_date - TAN_WARNING,
                "tan_warning",
                account.id,
                account.tan_generation,
            )
            _schedule(ctx, n.expected_expiry_date, "tan_expiry", account.id, account.tan_generation)


def _update_payment_methods(ctx: Ctx, account: Account) -> None:
    for pm_id in account.payment_methods:
        pm = ctx.tenant.get(PaymentMethod, pm_id)
        if pm is None:
            continue
        before = pm.us_bank_account.model_dump()
        pm.us_bank_account = bank_details(account)
        if pm.us_bank_account.model_dump() != before:
            ctx.tenant.put(pm)
            # GUESS (D5): the event Stripe sends for an in-place PaymentMethod update.
            emit(
                ctx,
                "payment_method.automatically_updated",
                pm,
                {
                    "us_bank_account": {
                        k: v for k, v in before.items() if getattr(pm.us_bank_account, k) != v
                    }
                },
            )


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
    emit(
        ctx,
        "financial_connections.account.account_numbers_updated",
        account,
        {"account_numbers": previous},
    )
    _update_payment_methods(ctx, account)
    return account


def issue_new_numbers(ctx: Ctx, account: Account) -> None:
    """A TAN institution issues a new number at every consent (reference section 9)."""
    previous = [n.model_dump() for n in account.account_numbers or []]
    account.tan_generation += 1
    bank = BY_ID[account.institution_id]
    account.account_numbers = _account_numbers(ctx, bank)
    ctx.tenant.put(account)
    _schedule_tan(ctx, account)
    emit(
        ctx,
        "financial_connections.account.account_numbers_updated",
        account,
        {"account_numbers": previous},
    )
    _update_payment_methods(ctx, account)


# ---- sessions ------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the end user did in the authentication flow."""

    existing: list[str]  # fca_ ids of the authorization's accounts the user re-authorized
    new: list[NewAccount]  # accounts picked at the institution that were not linked yet
    failure: str | None = None  # an error message: the flow failed
    cancelled: bool = False
    institution: str | None = None  # for a new (non-relink) session


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


def _check_selection(session: Session, count: int, subcategories: list[str]) -> None:
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


def complete(ctx: Ctx, session: Session, outcome: Outcome) -> Session:
    if session.status != "pending":
        raise InvalidRequestError(
            f"The session {session.id} is already {session.status}; create a new session.",
            param="session",
        )
    if outcome.cancelled:
        session.status = "cancelled"
        session.status_details = {"cancelled": {"reason": "other"}}
        if session.is_relink:
            session.relink_result = RelinkResult(failure_reason="no_authorization")
    elif outcome.failure is not None:
        session.status = "failed"
        session.error_message = outcome.failure
        if session.is_relink:
            session.relink_result = RelinkResult(failure_reason="other")
    elif session.is_relink:
        _complete_relink(ctx, session, outcome)
    else:
        _complete_link(ctx, session, outcome)
    ctx.tenant.put(session)
    emit(ctx, "financial_connections.session.updated", session)
    return session


def _complete_link(ctx: Ctx, session: Session, outcome: Outcome) -> None:
    if not outcome.new:
        session.status = "failed"
        session.error_message = "No accounts were linked."
        return
    bank = BY_ID[outcome.institution or session.institution_id or ""]
    _check_selection(session, len(outcome.new), [n.subcategory for n in outcome.new])
    auth = create_authorization(ctx, bank, session.account_holder)
    accounts = [create_account(ctx, auth, bank, n, session.permissions) for n in outcome.new]
    _prefetch(ctx, session, accounts)
    session.account_ids = [a.id for a in accounts]
    session.institution_id = bank.id
    session.status = "succeeded"


def _complete_relink(ctx: Ctx, session: Session, outcome: Outcome) -> None:
    assert session.relink_options is not None
    auth = load_authorization(ctx, session.relink_options.authorization)
    if auth.status == "disconnected":
        # Disconnected since the session was created: nothing can be relinked any more.
        session.status = "failed"
        session.relink_result = RelinkResult(failure_reason="other")
        return
    allowed = {a.id for a in relinkable(ctx, auth)}
    for account_id in outcome.existing:
        if account_id not in allowed:
            raise InvalidRequestError(
                f"The account {account_id} cannot be relinked: it is not an open account of "
                f"the authorization {auth.id} (closed and disconnected accounts stay so).",
                param="relink_accounts",
            )
    chosen = [load_account(ctx, a) for a in outcome.existing]
    _check_selection(
        session,
        len(chosen) + len(outcome.new),
        [a.subcategory for a in chosen] + [n.subcategory for n in outcome.new],
    )
    required = session.relink_options.account
    if not chosen and not outcome.new:
        session.status = "failed"
        session.relink_result = RelinkResult(failure_reason="no_authorization")
        return
    if required is not None and required not in outcome.existing:
        # GUESS (D9): nothing is linked, and the authorization is not reported.
        session.status = "failed"
        session.relink_result = RelinkResult(failure_reason="no_account")
        return
    bank = BY_ID[auth.institution or ""]
    auth.status = "active"
    auth.status_details = AuthorizationStatusDetails()
    ctx.tenant.put(auth)
    _unschedule(ctx, "deactivate", auth.id)
    linked: list[Account] = []
    for account in chosen:
        was_inactive = account.status == "inactive"
        account.status = "active"
        account.status_details = AccountStatusDetails()
        # GUESS: relink can widen the data permissions (the docs say it can update them).
        account.permissions = sorted(set(account.permissions or []) | set(session.permissions))
        ctx.tenant.put(account)
        if was_inactive:
            emit(ctx, "financial_connections.account.reactivated", account, {"status": "inactive"})
        if bank.tokenized:
            issue_new_numbers(ctx, account)
        linked.append(load_account(ctx, account.id))
    auth = load_authorization(ctx, auth.id)
    for spec in outcome.new:
        linked.append(create_account(ctx, auth, bank, spec, session.permissions))
        auth = load_authorization(ctx, auth.id)
    _prefetch(ctx, session, linked)
    session.account_ids = [a.id for a in linked]
    session.status = "succeeded"
    session.relink_result = RelinkResult(account=required, authorization=auth.id)


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


# ---- lookups -------------------------------------------------------------------------------


def load_account(ctx: Ctx, account_id: str, param: str = "id") -> Account:
    return ctx.tenant.load(Account, account_id, param)


def load_authorization(ctx: Ctx, auth_id: str, param: str = "id") -> Authorization:
    # GUESS: an unknown authorization is a 404 `resource_missing` naming the parameter, even
    # inside a body (`relink_options[authorization]`), where Stripe answers most unknown ids
    # with a 400.
    return ctx.tenant.load(Authorization, auth_id, param, 404)

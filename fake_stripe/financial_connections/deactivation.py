"""How linked accounts stop working and how that is announced: deactivation (of an account or
of a whole authorization, now or at a date on the tenant clock) and disconnection.

`REASONS` maps the ways Stripe's relink guide says an account goes inactive to causes, scopes
and actions (docs/api.md tabulates it); where Stripe is silent the choice is marked GUESS (see
docs/guesses.md).
"""

from __future__ import annotations

from ..core.context import Ctx
from ..core.errors import InvalidRequestError
from ..core.versions import NEWEST_PREVIEW
from .common import CLOCK, load_account, load_authorization
from .objects import (
    Account,
    AccountActiveDetails,
    AccountStatusDetails,
    Action,
    ActiveCause,
    Authorization,
    AuthorizationActiveDetails,
    AuthorizationInactiveDetails,
    AuthorizationStatusDetails,
    InactiveCause,
    InactiveDetails,
)

# reason (the `deactivate` helper's) -> (cause, scope, action)
REASONS: dict[str, tuple[InactiveCause, str, Action]] = {
    "token_expired": ("access_expired", "authorization", "relink_required"),
    "mfa_changed": ("institution_requirement", "authorization", "relink_required"),
    "account_locked": ("account_unavailable", "account", "relink_required"),
    "account_closed": ("account_closed", "account", "none"),
    "credentials_changed": ("access_expired", "authorization", "relink_required"),
    "access_revoked": ("access_denied", "authorization", "relink_required"),
    "permanent": ("unspecified", "authorization", "none"),
}
ACCOUNT_SCOPED = ("account_closed", "account_unavailable")


def default_action(cause: str) -> Action:
    # GUESS (D7): only a closed account cannot be relinked.
    return "none" if cause == "account_closed" else "relink_required"


def scope_of(cause: str) -> str:
    return "account" if cause in ACCOUNT_SCOPED else "authorization"


def _inactivate(ctx: Ctx, account: Account, cause: InactiveCause, action: Action) -> None:
    if account.status == "disconnected":
        return
    closed = account.status_details.inactive
    if closed is not None and closed.cause == "account_closed":
        return  # a closed account stays closed whatever happens to the login
    was = account.status
    previous = account.to_api(NEWEST_PREVIEW)
    account.status = "inactive"
    account.status_details = AccountStatusDetails(
        inactive=InactiveDetails(action=action, cause=cause)
    )
    ctx.tenant.put(account)
    if was == "active":
        ctx.emit(
            "financial_connections.account.deactivated",
            account,
            {"status": "active", "status_details": previous.get("status_details", {})},
        )


def deactivate_authorization(
    ctx: Ctx, auth: Authorization, cause: InactiveCause, action: Action
) -> None:
    if auth.status == "disconnected":
        raise InvalidRequestError(
            f"The authorization {auth.id} is disconnected and cannot change state.",
            param="authorization",
        )
    auth.status = "inactive"
    auth.status_details = AuthorizationStatusDetails(
        inactive=AuthorizationInactiveDetails(action=action)
    )
    ctx.tenant.put(auth)
    for account_id in auth.account_ids:
        account = ctx.tenant.get(Account, account_id)
        if account is not None:
            _inactivate(ctx, account, cause, action)
    unschedule(ctx, auth.id)


def deactivate_account(ctx: Ctx, account: Account, cause: InactiveCause, action: Action) -> Account:
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
    ctx.emit("financial_connections.account.disconnected", account)
    auth = ctx.tenant.get(Authorization, account.authorization)
    if auth is not None and auth.status != "disconnected":
        others = [ctx.tenant.get(Account, a) for a in auth.account_ids]
        if all(a is None or a.status == "disconnected" for a in others):
            # GUESS (D8): an authorization with no connected account left is disconnected.
            auth.status = "disconnected"
            auth.status_details = AuthorizationStatusDetails()
            ctx.tenant.put(auth)
    return account


# ---- announced deactivations (the tenant clock) ---------------------------------------------


def unschedule(ctx: Ctx, auth_id: str) -> None:
    """Forget the authorization's announced deactivation, if any."""
    ctx.clock.remove(CLOCK, lambda item: item[1] == "deactivate" and item[2] == auth_id)


def schedule_deactivation(
    ctx: Ctx, account: Account, when: int, cause: ActiveCause, action: Action
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
        active=AuthorizationActiveDetails(action=action, expected_deactivation_date=when)
    )
    ctx.tenant.put(auth)
    suffix = "expected_deactivation_date_updated" if moved else "upcoming_deactivation"
    for account_id in auth.account_ids:
        acc = ctx.tenant.get(Account, account_id)
        if acc is None or acc.status != "active":
            continue
        acc.status_details = AccountStatusDetails(
            active=AccountActiveDetails(action=action, cause=cause, expected_deactivation_date=when)
        )
        ctx.tenant.put(acc)
        ctx.emit(f"financial_connections.account.{suffix}", acc)
    ctx.emit(f"financial_connections.authorization.{suffix}", auth)
    unschedule(ctx, auth.id)
    ctx.clock.add(CLOCK, when, "deactivate", auth.id, {"cause": cause, "action": action})
    return load_account(ctx, account.id)

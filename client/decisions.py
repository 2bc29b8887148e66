"""The relink decisions, as pure functions of Stripe objects (no I/O).

Every rule here is a sentence of Stripe's relink guide ("Relink data access to a Financial
Connections account with your user's permission", see docs/api.md) turned into code: when to relink,
when to start from scratch, how to read a finished session. The objects are plain mappings (a
`stripe.StripeObject` is one), so the rules can be tested with dictionaries and no server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# The relink surface (`relink_options`, `authorization`, `status_details`) is in preview: every
# request of the client sends this version.
from fake_stripe.core.versions import PREVIEW_VERSION as PREVIEW_VERSION

# Stripe's hosted relink offers accounts "with TANs expected to expire within the next 30 days".
TAN_RELINK_WINDOW = 30 * 86_400


class Decision(StrEnum):
    HEALTHY = "healthy"
    RELINK = "relink"
    CONNECT_FROM_SCRATCH = "connect_from_scratch"


class UseCase(StrEnum):
    PAYMENTS = "payments"  # the account backs ACH Direct Debit (a us_bank_account PaymentMethod)
    DATA = "data"  # every other use: balances, ownership, transactions


@dataclass(frozen=True)
class Assessment:
    """What to do about one linked account."""

    account: str
    decision: Decision
    reason: str
    authorization: str | None = None  # the authorization to relink, when a relink is possible
    cause: str | None = None
    proactive: bool = False  # active today, but relinking now avoids an announced outage
    expected_deactivation_date: int | None = None

    @property
    def offer_relink(self) -> bool:
        """Show the "Re-link your bank account" button."""
        return self.decision is Decision.RELINK or self.proactive


def _get(obj: Mapping[str, Any] | None, *path: str) -> Any:
    cur: Any = obj
    for key in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur


def _tan_numbers(account: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    numbers = account.get("account_numbers") or []
    return [n for n in numbers if n.get("identifier_type") == "tokenized_account_number"]


def assess(
    account: Mapping[str, Any], authorization: Mapping[str, Any] | None, now: int
) -> Assessment:
    """Decide healthy / relink / connect from scratch for `account` under `authorization`.

    `authorization` is the object named by `account.authorization` (None if it could not be
    read). `now` is Stripe's clock, used for announced deadlines.
    """
    account_id = str(account.get("id"))
    auth_id = account.get("authorization")
    if "status_details" not in account or auth_id is None:
        raise ValueError(
            f"{account_id} has no `authorization`/`status_details`: it was read without a "
            "`.preview` Stripe-Version, so relink information is not available."
        )
    status = account.get("status")
    inactive = _get(account, "status_details", "inactive")
    cause = _get(inactive, "cause")

    if status == "disconnected":
        return Assessment(
            account_id,
            Decision.CONNECT_FROM_SCRATCH,
            "the account was disconnected; it can never be relinked",
        )
    if authorization is None or authorization.get("status") == "disconnected":
        return Assessment(
            account_id,
            Decision.CONNECT_FROM_SCRATCH,
            "the account's authorization is disconnected",
            cause=cause,
        )
    auth_status = authorization.get("status")
    auth_action = _get(authorization, "status_details", "inactive", "action")

    if status == "inactive":
        if _get(inactive, "action") == "none":
            return Assessment(
                account_id,
                Decision.CONNECT_FROM_SCRATCH,
                f"the account is inactive ({cause}) and cannot be relinked "
                "(status_details.inactive.action is none)",
                cause=cause,
            )
        if auth_status == "inactive" and auth_action == "relink_required":
            return Assessment(
                account_id,
                Decision.RELINK,
                f"the account is inactive ({cause}); its authorization asks for a relink",
                authorization=str(auth_id),
                cause=cause,
            )
        if auth_status == "inactive":
            return Assessment(
                account_id,
                Decision.CONNECT_FROM_SCRATCH,
                "the authorization is inactive and cannot be relinked "
                "(status_details.inactive.action is none)",
                cause=cause,
            )
        # The seed: an inactive account under an active authorization (a closed account) cannot
        # be relinked for data access.
        return Assessment(
            account_id,
            Decision.CONNECT_FROM_SCRATCH,
            f"the account is inactive ({cause}) while its authorization is "
            "active; it cannot be relinked",
            cause=cause,
        )

    if auth_status == "inactive" and auth_action == "none":
        # The login is gone for good, but this account still answers (for now).
        return Assessment(
            account_id,
            Decision.HEALTHY,
            "the account is active, but its authorization cannot be relinked",
        )

    tans = _tan_numbers(account)
    if any(n.get("status") != "transactable" for n in tans):
        return Assessment(
            account_id,
            Decision.RELINK,
            "the tokenized account number is no longer transactable; a relink issues a new one",
            authorization=str(auth_id),
        )

    upcoming = _get(account, "status_details", "active")
    auth_upcoming = _get(authorization, "status_details", "active")
    for details in (upcoming, auth_upcoming):
        if _get(details, "action") == "relink_required":
            date = _get(details, "expected_deactivation_date")
            return Assessment(
                account_id,
                Decision.HEALTHY,
                "the account is active but will be deactivated; relink before the expected date",
                authorization=str(auth_id),
                cause=_get(upcoming, "cause"),
                proactive=True,
                expected_deactivation_date=date,
            )
    expiring = [int(n["expected_expiry_date"]) for n in tans if n.get("expected_expiry_date")]
    if expiring and min(expiring) - now <= TAN_RELINK_WINDOW:
        return Assessment(
            account_id,
            Decision.HEALTHY,
            "the tokenized account number expires within 30 days; relink to renew it",
            authorization=str(auth_id),
            proactive=True,
            expected_deactivation_date=min(expiring),
        )
    return Assessment(account_id, Decision.HEALTHY, "the account is active")


# ---- the session -------------------------------------------------------------------------


DATA_PERMISSIONS = ("balances", "ownership", "transactions")


def session_params(
    customer: str,
    use_case: UseCase,
    *,
    authorization: str | None = None,
    account: str | None = None,
    permissions: Sequence[str] = ("balances",),
) -> dict[str, Any]:
    """`POST /v1/financial_connections/sessions` parameters, as the relink guide lists them.

    With `authorization`, a relink session; without, a session to connect from scratch.
    """
    unknown = [p for p in permissions if p not in DATA_PERMISSIONS]
    if unknown:
        raise ValueError(
            f"not a data permission: {', '.join(unknown)} "
            f"(choose from {', '.join(DATA_PERMISSIONS)})"
        )
    params: dict[str, Any] = {"account_holder": {"type": "customer", "customer": customer}}
    if use_case is UseCase.PAYMENTS:
        params["permissions"] = ["payment_method", *permissions]
        # Only one debitable account can back ACH Direct Debit.
        params["filters"] = {"account_subcategories": ["checking", "savings"]}
        params["limits"] = {"accounts": 1}
    else:
        if not permissions:
            raise ValueError("the data use case needs at least one data permission")
        params["permissions"] = list(permissions)
    if authorization is not None:
        relink: dict[str, str] = {"authorization": authorization}
        if account is not None:
            relink["account"] = account
        params["relink_options"] = relink
    elif account is not None:
        raise ValueError("relink_options[account] needs relink_options[authorization]")
    return params


class Outcome(StrEnum):
    REAUTHORIZED = "reauthorized"  # the same account(s) are back: reload them
    NOT_REPAIRED = "not_repaired"  # other existing accounts came back, not the one to repair
    NEW_ACCOUNT = "new_account"  # a different account was linked on the authorization
    NO_ACCOUNTS = "no_accounts"  # the flow ended with zero accounts
    WRONG_ACCOUNT = "wrong_account"  # relink_options[account] was not the one relinked
    ERROR = "error"  # the flow failed
    CANCELLED = "cancelled"  # the user abandoned the flow
    PENDING = "pending"  # the user has not finished yet


@dataclass(frozen=True)
class Resolution:
    """How a finished session ends, and what the merchant must do next."""

    session: str
    outcome: Outcome
    message: str
    accounts: tuple[str, ...] = ()  # the session's accounts
    new_accounts: tuple[str, ...] = ()  # those not on the authorization before the flow
    mandate_required: bool = False  # surface the ACH mandate, then make a PaymentMethod
    failure_reason: str | None = None  # relink_result.failure_reason

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.REAUTHORIZED, Outcome.NEW_ACCOUNT, Outcome.NOT_REPAIRED)


_FAILURES = {
    "no_account": "the relink did not complete with the required account",
    "no_authorization": "the account holder did not authorize any account",
    "other": "the relink failed for an unknown reason",
}


def _account_ids(session: Mapping[str, Any]) -> tuple[str, ...]:
    accounts = session.get("accounts")
    # The server returns a list object; Stripe.js returns a plain array.
    data = accounts.get("data") if isinstance(accounts, Mapping) else accounts
    return tuple(str(a["id"] if isinstance(a, Mapping) else a) for a in data or [])


def resolve(
    session: Mapping[str, Any],
    existing_account_ids: Sequence[str],
    use_case: UseCase,
    browser_error: str | None = None,
    repairing: str | None = None,
) -> Resolution:
    """Read a session after the authentication flow (the relink guide's `.then(...)` handler).

    `existing_account_ids` are the authorization's accounts fetched before the flow (the guide's
    `fetch_existing_accounts()`); `browser_error` is the `error.message` Stripe.js resolved with;
    `repairing` is the account the relink was started for, if any.
    """
    sid = str(session.get("id"))
    result = session.get("relink_result") or {}
    reason = result.get("failure_reason")
    status = session.get("status")
    accounts = _account_ids(session)
    if browser_error is not None:
        return Resolution(sid, Outcome.ERROR, browser_error, accounts, failure_reason=reason)
    if status == "pending":
        return Resolution(sid, Outcome.PENDING, "the user has not finished the flow")
    if status == "cancelled":
        return Resolution(
            sid,
            Outcome.CANCELLED,
            "the user left the flow without relinking",
            failure_reason=reason,
        )
    if reason == "no_account":
        return Resolution(
            sid, Outcome.WRONG_ACCOUNT, _FAILURES[reason], accounts, failure_reason=reason
        )
    if status == "failed" and reason == "other":
        return Resolution(sid, Outcome.ERROR, _FAILURES[reason], accounts, failure_reason=reason)
    if not accounts:
        # The seed: "If the user has no debitable accounts, length of accounts is 0."
        return Resolution(
            sid,
            Outcome.NO_ACCOUNTS,
            _FAILURES["no_authorization"]
            if reason == "no_authorization"
            else "no account was linked",
            failure_reason=reason,
        )
    if status == "failed":
        return Resolution(
            sid,
            Outcome.ERROR,
            _FAILURES.get(str(reason), "the session failed"),
            accounts,
            failure_reason=reason,
        )
    new = tuple(a for a in accounts if a not in existing_account_ids)
    if not new and repairing is not None and repairing not in accounts:
        # The user re-authorized a sibling on the same login: success for Stripe, but the
        # account the relink was for is still inactive.
        return Resolution(
            sid,
            Outcome.NOT_REPAIRED,
            f"the user re-authorized {', '.join(accounts)}, not {repairing}, "
            "which is still unusable",
            accounts,
        )
    if not new:
        return Resolution(sid, Outcome.REAUTHORIZED, "the account was reauthorized", accounts)
    if use_case is UseCase.PAYMENTS:
        return Resolution(
            sid,
            Outcome.NEW_ACCOUNT,
            "a different account was linked: surface the mandate before it can be debited",
            accounts,
            new,
            mandate_required=True,
        )
    return Resolution(sid, Outcome.NEW_ACCOUNT, "a different account was linked", accounts, new)


# ---- payments: a debit's outcome read into the relink decision -----------------------------


class DebitDecision(StrEnum):
    PAID = "paid"
    PROCESSING = "processing"  # the bank has not answered yet (ACH settles in days)
    RETRY = "retry"  # not the account's fault (insufficient funds): retry later, no relink
    RELINK = "relink"  # the account's numbers are unusable until the user relinks it
    CONNECT_FROM_SCRATCH = "connect_from_scratch"  # the account is gone: link another one
    CONTACT_CUSTOMER = "contact_customer"  # the customer disputed the debit with the bank


# Return codes for an account that no longer exists: relinking it cannot help.
GONE = ("account_closed", "no_account")


@dataclass(frozen=True)
class DebitReading:
    decision: DebitDecision
    reason: str
    failure_code: str | None = None
    account: str | None = None  # the Financial Connections account behind the payment method


def read_debit(payment_intent: Mapping[str, Any]) -> DebitReading:
    """What a PaymentIntent's state means for the linked account behind it.

    A blocked PaymentMethod refused at confirm (`bank_account_unusable`) whose block is an
    expired tokenized account number: relink (the institution issues a new number; the same
    `pm_` works again). A return for a closed or missing account: connect from scratch.
    Insufficient funds: not a relink case.
    """
    status = payment_intent.get("status")
    if status == "succeeded":
        return DebitReading(DebitDecision.PAID, "the debit settled")
    if status == "processing":
        return DebitReading(DebitDecision.PROCESSING, "the bank has not answered yet")
    error = payment_intent.get("last_payment_error") or {}
    code = error.get("code")
    pm = error.get("payment_method") or {}
    account = _get(pm, "us_bank_account", "financial_connections_account")
    blocked = _get(pm, "us_bank_account", "status_details", "blocked", "reason")
    if code is None:
        return DebitReading(DebitDecision.RETRY, f"the intent is {status}", account=account)
    if code == "bank_account_unusable" and blocked == "tokenized_account_number_deactivated":
        return DebitReading(
            DebitDecision.RELINK,
            "the tokenized account number expired: relinking issues a new one",
            code,
            account,
        )
    if code in GONE or code == "bank_account_unusable":
        return DebitReading(
            DebitDecision.CONNECT_FROM_SCRATCH,
            f"the bank returned the debit ({code}): link another account",
            code,
            account,
        )
    if code == "debit_not_authorized":
        return DebitReading(
            DebitDecision.CONTACT_CUSTOMER,
            "the customer told the bank the debit was unauthorized",
            code,
            account,
        )
    return DebitReading(
        DebitDecision.RETRY, f"the debit failed ({code}); the account is fine", code, account
    )


# ---- webhooks ----------------------------------------------------------------------------


class Flag(StrEnum):
    NEEDS_RELINK = "needs_relink"  # inactive, relinkable: ask the user to relink
    NEEDS_NEW_LINK = "needs_new_link"  # cannot be relinked: connect an account from scratch
    RELINK_SOON = "relink_soon"  # active, but an outage or a TAN expiry is announced
    OK = "ok"


@dataclass(frozen=True)
class Mark:
    """What an event says about one account."""

    account: str
    flag: Flag
    until: int | None = None  # the announced date, for RELINK_SOON
    detail: str = ""


@dataclass
class Watchlist:
    """The merchant's own record of accounts that need attention, kept from webhooks."""

    flags: dict[str, Mark] = field(default_factory=dict)
    seen_events: set[str] = field(default_factory=set)
    # the `created` of the newest event applied per account: retries can arrive out of order
    latest: dict[str, int] = field(default_factory=dict)

    def accounts(self, flag: Flag) -> list[str]:
        return sorted(a for a, m in self.flags.items() if m.flag is flag)


ACCOUNT_EVENTS = "financial_connections.account."


def needs_preview_read(event: Mapping[str, Any]) -> str | None:
    """The account to read with the preview version before `apply_event`, or None.

    Stripe fixes an event's `data` at the version of the account (or of the webhook endpoint)
    when the event happens: on an account whose default version is GA, an account event shows
    no `authorization` and no `status_details.inactive`. The relink decisions need both, so the
    account is read again, as a preview integration must.
    """
    if not str(event.get("type")).startswith(ACCOUNT_EVENTS):
        return None
    obj = _get(event, "data", "object")
    if not isinstance(obj, Mapping) or "authorization" in obj:
        return None
    return str(obj.get("id"))


def with_object(event: Mapping[str, Any], obj: Mapping[str, Any]) -> dict[str, Any]:
    """`event` with `data.object` replaced by `obj` (a fresh read of the same object)."""
    data = dict(_get(event, "data") or {})
    return {**event, "data": {**data, "object": dict(obj)}}


def mark_for_event(event_type: str, obj: Mapping[str, Any]) -> Mark | None:
    """The account flag an event implies, or None for events that change nothing here."""
    if event_type == "payment_intent.payment_failed":
        reading = read_debit(obj)
        if reading.account is None:
            return None
        if reading.decision is DebitDecision.RELINK:
            return Mark(reading.account, Flag.NEEDS_RELINK, detail=str(reading.failure_code))
        if reading.decision is DebitDecision.CONNECT_FROM_SCRATCH:
            return Mark(reading.account, Flag.NEEDS_NEW_LINK, detail=str(reading.failure_code))
        return None
    if not event_type.startswith(ACCOUNT_EVENTS):
        return None
    kind = event_type.removeprefix(ACCOUNT_EVENTS)
    account = str(obj.get("id"))
    if kind == "deactivated":
        if obj.get("status") == "active":
            return None  # read after the event: reactivated since (its own event follows)
        action = _get(obj, "status_details", "inactive", "action")
        cause = _get(obj, "status_details", "inactive", "cause")
        if action == "relink_required":
            return Mark(account, Flag.NEEDS_RELINK, detail=str(cause))
        return Mark(account, Flag.NEEDS_NEW_LINK, detail=str(cause))
    if kind == "disconnected":
        return Mark(account, Flag.NEEDS_NEW_LINK, detail="disconnected")
    if kind == "reactivated":
        return Mark(account, Flag.OK)
    if kind in ("upcoming_deactivation", "expected_deactivation_date_updated"):
        details = _get(obj, "status_details", "active") or {}
        if details.get("action") == "relink_required":
            return Mark(
                account,
                Flag.RELINK_SOON,
                details.get("expected_deactivation_date"),
                str(details.get("cause")),
            )
        return None
    if kind == "upcoming_account_number_expiry":
        dates = [
            int(n["expected_expiry_date"])
            for n in _tan_numbers(obj)
            if n.get("expected_expiry_date")
        ]
        return Mark(
            account, Flag.RELINK_SOON, min(dates, default=None), "tokenized account number expiring"
        )
    if kind == "account_numbers_updated":
        if obj.get("status") != "active":
            return None  # the deactivation event already said what to do
        if any(n.get("status") != "transactable" for n in _tan_numbers(obj)):
            return Mark(account, Flag.NEEDS_RELINK, detail="tokenized account number deactivated")
        return Mark(account, Flag.OK)
    return None


def apply_event(watchlist: Watchlist, event: Mapping[str, Any]) -> Mark | None:
    """Record one event (deliveries are at least once: a repeated id changes nothing)."""
    event_id = str(event.get("id"))
    if event_id in watchlist.seen_events:
        return None
    watchlist.seen_events.add(event_id)
    obj = _get(event, "data", "object")
    if not isinstance(obj, Mapping):
        return None
    mark = mark_for_event(str(event.get("type")), obj)
    if mark is None:
        return None
    created = int(event.get("created") or 0)
    if created < watchlist.latest.get(mark.account, 0):
        return None  # older than what is recorded: a late retry
    watchlist.latest[mark.account] = created
    if mark.flag is Flag.OK:
        watchlist.flags.pop(mark.account, None)
    else:
        current = watchlist.flags.get(mark.account)
        # A warning never downgrades an outage already recorded.
        if not (
            mark.flag is Flag.RELINK_SOON
            and current is not None
            and current.flag in (Flag.NEEDS_RELINK, Flag.NEEDS_NEW_LINK)
        ):
            watchlist.flags[mark.account] = mark
    return mark

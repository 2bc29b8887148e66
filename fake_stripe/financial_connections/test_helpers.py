"""Test helpers under `/v1/test_helpers/...`: what Stripe's test mode cannot do.

Per tenant, same key, form-encoded, Stripe-shaped errors. Each helper calls the same
functions as the API and the fake Stripe.js flow, so the state and events it produces are the
ones a real deactivation or relink would produce.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel

from ..core.context import Ctx
from ..core.errors import InvalidRequestError, exclusive, missing_param
from ..core.params import Arr, Enum, Hash, Int, Spec, Str
from . import deactivation, numbers
from . import sessions as fc_sessions
from .bank_data import NewAccount, offers
from .common import CLOCK, DAY, load_account, load_authorization
from .completion import FlowResult, complete, default_relink_selection, with_accounts
from .deactivation import REASONS, default_action
from .institutions import DEFAULT, bank
from .objects import SUBCATEGORIES, Action, ActiveCause, InactiveCause
from .triggers import TRIGGERS

CAUSES: tuple[str, ...] = get_args(InactiveCause)
ACTIONS: tuple[str, ...] = get_args(Action)
OUTCOMES = ("link", "relink_same", "relink_new", "no_accounts", "failure", "cancel")

COMPLETE = Spec(
    {
        "outcome": Enum(OUTCOMES),
        "institution": Str(),
        "accounts": Arr(
            Hash({"subcategory": Enum(SUBCATEGORIES), "display_name": Str(), "last4": Str(4)})
        ),
        "relink_accounts": Arr(Str()),
        "failure_message": Str(),
    },
    required=("outcome",),
)
DEACTIVATE_ACCOUNT = Spec(
    {"cause": Enum(CAUSES), "reason": Enum(tuple(REASONS)), "action": Enum(ACTIONS)}
)
DEACTIVATE_AUTHORIZATION = Spec(
    {"cause": Enum(CAUSES), "action": Enum(ACTIONS)}, required=("cause",)
)
SCHEDULE = Spec(
    {
        "expected_deactivation_date": Int(0),
        "days": Int(1, 3650),
        "cause": Enum(get_args(ActiveCause)),
        "action": Enum(ACTIONS),
    }
)


def complete_session(ctx: Ctx, p: dict[str, Any]) -> Any:
    session = fc_sessions.load(ctx, ctx.path["session"])
    outcome = p["outcome"]
    relink = session.is_relink
    if outcome in ("relink_same", "relink_new") and not relink:
        raise InvalidRequestError(
            f"outcome={outcome} needs a relink session (one created with relink_options).",
            param="outcome",
        )
    if outcome == "link" and relink:
        raise InvalidRequestError(
            "outcome=link is for a new session; use relink_same or relink_new for a relink "
            "session.",
            param="outcome",
        )
    if session.status != "pending":
        raise InvalidRequestError(
            f"The session {session.id} is already {session.status}.", param="session"
        )
    result: FlowResult
    if outcome == "cancel":
        result = FlowResult([], [], cancelled=True)
    elif outcome == "failure":
        result = FlowResult(
            [], [], failure=p.get("failure_message", "The institution returned an error.")
        )
    elif outcome == "no_accounts":
        result = FlowResult([], [])
    elif outcome == "link":
        inst_id = p.get("institution") or session.institution_id or DEFAULT
        b = bank(inst_id, "institution")
        if b.fails:
            result = FlowResult([], [], failure=f"{b.institution.name} could not be reached.")
        else:
            specs = _new_accounts(ctx, p, b, session)
            result = FlowResult([], specs, institution=b.id)
    else:
        assert session.relink_options is not None
        auth = load_authorization(ctx, session.relink_options.authorization)
        b = bank(auth.institution or "", "institution")
        if outcome == "relink_same":
            chosen = p.get("relink_accounts")
            if chosen is None:
                chosen = [a.id for a in default_relink_selection(ctx, session, auth)]
            for a in chosen:
                if a not in auth.account_ids:
                    raise InvalidRequestError(
                        f"The account {a} does not belong to the authorization {auth.id}.",
                        param="relink_accounts",
                    )
            result = FlowResult(chosen, [])
        else:
            specs = _new_accounts(ctx, p, b, session, exclude_auth=auth.id)
            result = FlowResult([], specs[:1])
    return with_accounts(ctx, complete(ctx, session, result))


def _new_accounts(
    ctx: Ctx, p: dict[str, Any], b: Any, session: Any, exclude_auth: str | None = None
) -> list[NewAccount]:
    given = p.get("accounts")
    menu = offers(ctx, b, session.account_holder)
    if exclude_auth is not None:
        auth = load_authorization(ctx, exclude_auth)
        taken = {load_account(ctx, a).last4 for a in auth.account_ids}
        menu = [o for o in menu if o.last4 not in taken]
    if given:
        out = []
        for i, spec in enumerate(given):
            sub = spec.get("subcategory", "checking")
            base = next((o for o in menu if o.subcategory == sub), None)
            out.append(
                NewAccount(
                    spec.get("display_name") or (base.display_name if base else sub.title()),
                    sub,
                    spec.get("last4") or (base.last4 if base else f"{1000 + i}"),
                )
            )
        return out
    menu = [o for o in menu if session.allows(o.subcategory)]
    if not menu:
        raise InvalidRequestError(
            "The institution has no other account that this session may collect.",
            param="outcome",
        )
    checking = [o for o in menu if o.subcategory == "checking"]
    return [(checking or menu)[0]]


def deactivate_account(ctx: Ctx, p: dict[str, Any]) -> Any:
    account = load_account(ctx, ctx.path["account"])
    if "cause" in p and "reason" in p:
        raise exclusive("cause", "reason")
    if "reason" in p:
        cause, _scope, action = REASONS[p["reason"]]
    elif "cause" in p:
        cause, action = p["cause"], default_action(p["cause"])
    else:
        raise missing_param("cause")
    action = p.get("action", action)
    with ctx.acting_alone():
        return deactivation.deactivate_account(ctx, account, cause, action)


def deactivate_authorization(ctx: Ctx, p: dict[str, Any]) -> Any:
    auth = load_authorization(ctx, ctx.path["authorization"])
    with ctx.acting_alone():
        deactivation.deactivate_authorization(
            ctx, auth, p["cause"], p.get("action", default_action(p["cause"]))
        )
    return load_authorization(ctx, auth.id)


def schedule_deactivation(ctx: Ctx, p: dict[str, Any]) -> Any:
    account = load_account(ctx, ctx.path["account"])
    if "expected_deactivation_date" in p and "days" in p:
        raise exclusive("days", "expected_deactivation_date", "days")
    if "expected_deactivation_date" in p:
        when = p["expected_deactivation_date"]
    elif "days" in p:
        when = ctx.now() + p["days"] * DAY
    else:
        raise missing_param("expected_deactivation_date")
    with ctx.acting_alone():
        return deactivation.schedule_deactivation(
            ctx, account, when, p.get("cause", "access_expired"), p.get("action", "relink_required")
        )


def expire_account_numbers(ctx: Ctx, p: dict[str, Any]) -> Any:
    with ctx.acting_alone():
        return numbers.expire_account_numbers(ctx, load_account(ctx, ctx.path["account"]))


# ---- trigger: a real state change for each event type, like `stripe trigger` ----------------

TRIGGER = Spec({"event": Enum(TRIGGERS)}, required=("event",))


class Triggered(BaseModel):
    object: str = "test_helpers.trigger"
    event: str
    events: list[str]
    customer: str
    account: str | None = None


# Stripe CLI's trigger fixtures (`pkg/fixtures/triggers/*.json` in stripe/stripe-cli) make each
# customer with a description and nothing else; `customer.created` is that one request.
TRIGGER_DESCRIPTION = "(created by fake-stripe trigger)"


def _customer(ctx: Ctx) -> Any:
    from ..resources.customer_object import Customer

    cus = Customer(id=ctx.tenant.new_id("cus"), created=ctx.now(), description=TRIGGER_DESCRIPTION)
    ctx.tenant.put(cus)
    ctx.emit("customer.created", cus)
    return cus


def _linked(ctx: Ctx, institution: str, permissions: list[str]) -> tuple[Any, Any]:
    """A fresh customer with one account linked through a completed session."""
    from .objects import AccountHolder, Session

    cus = _customer(ctx)
    sid = ctx.tenant.new_id("fcsess")
    session = Session(
        id=sid,
        account_holder=AccountHolder(type="customer", customer=cus.id),
        client_secret=ctx.tenant.client_secret(sid),
        permissions=permissions,
        created=ctx.now(),
    )
    ctx.tenant.put(session)
    b = bank(institution)
    spec = next(o for o in offers(ctx, b, session.account_holder) if o.subcategory == "checking")
    done = complete(ctx, session, FlowResult([], [spec], institution=b.id))
    return cus, load_account(ctx, done.account_ids[0])


def trigger(ctx: Ctx, p: dict[str, Any]) -> Triggered:
    from ..core.events import Event
    from . import accounts as fc_accounts

    event = p["event"]
    if event.endswith("reactivated") and not ctx.preview:
        raise InvalidRequestError(
            "Triggering a reactivation needs a preview Stripe-Version (relink is in preview).",
            param="event",
        )
    newest_before = next(ctx.tenant.iterate(Event), None)
    if event == "customer.created":
        cus = _customer(ctx)
        return Triggered(event=event, events=_since(ctx, newest_before, event), customer=cus.id)
    institution = "fcinst_Chase" if "account_number" in event else DEFAULT
    cus, account = _linked(
        ctx, institution, ["payment_method", "balances", "ownership", "transactions"]
    )
    with ctx.acting_alone():  # the institution (or time) changes the account
        if event.endswith(("deactivated", "reactivated")):
            deactivation.deactivate_account(ctx, account, "access_expired", "relink_required")
        if event.endswith("reactivated"):
            with ctx.acting_alone(False):  # the user relinks, through the API
                relink = fc_sessions.new_session(
                    ctx,
                    {
                        "permissions": ["payment_method"],
                        "relink_options": {"authorization": account.authorization},
                    },
                )
                complete(ctx, relink, FlowResult([account.id], []))
        elif event.endswith("disconnected"):
            deactivation.disconnect(ctx, account)
        elif ".refreshed_" in event:
            feature = event.rsplit(".refreshed_", 1)[1]
            fc_accounts.refresh_features(ctx, account, [feature])
        elif event.endswith("account_numbers_updated"):
            numbers.expire_account_numbers(ctx, account)
        elif event.endswith("upcoming_account_number_expiry"):
            expiry = (account.account_numbers or [])[0].expected_expiry_date or ctx.now()
            # Time passes until 30 days before the TAN expires: the tenant clock moves.
            ctx.clock.advance(expiry - numbers.TAN_WARNING - ctx.now(), "event")
            ctx.clock.run_due(ctx, [CLOCK])
        elif "deactivation" in event:
            deactivation.schedule_deactivation(
                ctx, account, ctx.now() + 7 * DAY, "access_expired", "relink_required"
            )
            if event.endswith("expected_deactivation_date_updated"):
                deactivation.schedule_deactivation(
                    ctx,
                    load_account(ctx, account.id),
                    ctx.now() + 14 * DAY,
                    "access_expired",
                    "relink_required",
                )
    return Triggered(
        event=event, events=_since(ctx, newest_before, event), customer=cus.id, account=account.id
    )


def _since(ctx: Ctx, newest_before: Any, event: str) -> list[str]:
    """The ids of the events of type `event` recorded after `newest_before`, oldest first."""
    from ..core.events import Event

    emitted = []
    for e in ctx.tenant.iterate(Event):  # newest first, down to what existed before
        if newest_before is not None and e.id == newest_before.id:
            break
        emitted.append(e)
    return [e.id for e in reversed(emitted) if e.type == event]

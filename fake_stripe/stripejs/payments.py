"""What the fake Stripe.js calls for ACH payments: `collectBankAccountForPayment` (a Financial
Connections session for a PaymentIntent, then the linked account attached to the intent as a
PaymentMethod), `confirmUsBankAccountPayment` (retrieve and confirm with the publishable key
and the client secret) and `verifyMicrodepositsForPayment` / `verifyMicrodepositsForSetup`. The
paths follow Stripe's own (`/v1/payment_intents/{id}/link_account_sessions`, `…/{session}/attach`,
`…/verify_microdeposits`), under `/_stripejs/` like the flow's."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..core.context import Ctx, Endpoint
from ..core.errors import InvalidRequestError, resource_missing
from ..core.params import Metadata, Spec, Str
from ..core.tenant import secret_matches
from ..financial_connections.objects import AccountHolder, Session, SessionFilters
from ..payments import microdeposits, payment_intents, us_bank_account
from ..payments.intents import carries_intent
from ..payments.objects import ClientPaymentIntent, PaymentIntent
from ..resources.payment_methods import BILLING

SESSION = Spec({"client_secret": Str()}, required=("client_secret",))
ATTACH = Spec(
    {"client_secret": Str(), "billing_details": BILLING, "metadata": Metadata()},
    required=("client_secret",),
)


class LinkAccountSession(BaseModel):
    """The Financial Connections session the modal runs for a PaymentIntent."""

    object: str = "link_account_session"
    id: str
    client_secret: str


def _intent(ctx: Ctx, secret: str) -> PaymentIntent:
    pi = ctx.tenant.get(PaymentIntent, ctx.path["intent"])
    if pi is None or not secret_matches(secret, pi.client_secret):
        raise resource_missing("payment_intent", ctx.path["intent"], "client_secret", 400)
    return pi


@carries_intent(PaymentIntent)
def link_account_session(ctx: Ctx, p: dict[str, Any]) -> LinkAccountSession:
    pi = _intent(ctx, p["client_secret"])
    if pi.status not in ("requires_payment_method", "requires_confirmation"):
        raise InvalidRequestError(
            f"You cannot collect a bank account for this PaymentIntent because it has a status "
            f"of {pi.status}.",
            code="payment_intent_unexpected_state",
        )
    fc = ((pi.payment_method_options or {}).get("us_bank_account") or {}).get(
        "financial_connections"
    ) or {}
    sid = ctx.tenant.new_id("fcsess")
    # GUESS: the session Stripe makes for an intent: its options' permissions, checking and
    # savings only, the intent's customer as the holder (none without a customer), and one
    # account to select (the intent takes one PaymentMethod; Stripe's docs speak of "the
    # customer's bank account").
    session = Session(
        id=sid,
        account_holder=AccountHolder(type="customer", customer=pi.customer)
        if pi.customer
        else None,
        client_secret=ctx.tenant.client_secret(sid),
        filters=SessionFilters(account_subcategories=["checking", "savings"]),
        permissions=list(fc.get("permissions") or ["payment_method"]),
        prefetch=fc.get("prefetch") or None,
        limits={"accounts": 1},
        created=ctx.now(),
    )
    ctx.tenant.put(session)
    ctx.tenant.meta_set(f"stripejs:intent_session:{sid}", pi.id)
    return LinkAccountSession(id=sid, client_secret=session.client_secret or "")


@carries_intent(PaymentIntent)
def attach(ctx: Ctx, p: dict[str, Any]) -> ClientPaymentIntent:
    """The first account the user linked becomes the intent's PaymentMethod."""
    pi = _intent(ctx, p["client_secret"])
    sid = ctx.path["session"]
    session = ctx.tenant.get(Session, sid)
    if session is None or ctx.tenant.meta_get(f"stripejs:intent_session:{sid}") != pi.id:
        raise resource_missing("financial_connections.session", sid, "id", 404)
    if session.status == "succeeded" and session.account_ids:
        data = {
            "us_bank_account": {"financial_connections_account": session.account_ids[0]},
            "billing_details": p.get("billing_details") or {},
            "metadata": p.get("metadata") or {},
        }
        pm = us_bank_account.from_params(ctx, data, "payment_method_data")
        ctx.tenant.put(pm)
        pi.payment_method = pm.id
        pi.status = "requires_confirmation"
        pi.last_payment_error = None
        ctx.tenant.put(pi)
    return ClientPaymentIntent.of(pi)


def endpoints(api: str) -> list[Endpoint]:
    pk = ("pk",)
    pi = f"{api}/payment_intents/{{intent}}"
    return [
        Endpoint("GET", pi, payment_intents.retrieve, payment_intents.RETRIEVE, keys=pk),
        Endpoint(
            "POST", f"{pi}/confirm", payment_intents.confirm, payment_intents.CONFIRM, keys=pk
        ),
        Endpoint("POST", f"{pi}/link_account_sessions", link_account_session, SESSION, keys=pk),
        Endpoint("POST", f"{pi}/link_account_sessions/{{session}}/attach", attach, ATTACH, keys=pk),
        Endpoint(
            "POST",
            f"{pi}/verify_microdeposits",
            microdeposits.verify_payment,
            microdeposits.VERIFY,
            keys=pk,
        ),
        Endpoint(
            "POST",
            f"{api}/setup_intents/{{intent}}/verify_microdeposits",
            microdeposits.verify_setup,
            microdeposits.VERIFY,
            keys=pk,
        ),
    ]

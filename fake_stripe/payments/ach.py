"""ACH Direct Debit: what happens to a debit, and when. Every payment transition lives here.

The one rule, `debit_outcome`: the outcome follows the bank account's state. A PaymentMethod
blocked (an expired tokenized account number, an earlier blocking return) is refused at
confirm; a linked account closed at its bank is returned as closed when the debit settles;
Stripe's test account numbers (routing 110000000, typed by hand) and the test-institution
accounts named after them behave as Stripe documents; anything else succeeds. A relinked
Chase or PNC account carries new numbers, so the same `pm_` charges again, with the new last4.

Settlement runs on the tenant clock: a confirmed debit is `processing` until its settlement
time (about 4 business days, the tenant setting `ach_settlement_business_days`), then
succeeds or fails by the same rule, evaluated again at that moment. Where Stripe is silent the
choice is marked GUESS (docs/guesses.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ..core.clock import Item, Schedule
from ..core.context import Ctx, Failed
from ..core.errors import PaymentError
from ..financial_connections.objects import Account
from ..resources.bank_tokens import TEST_ROUTING, fingerprint
from ..resources.payment_methods import PaymentMethod, attach_to
from .intents import shown_in_error
from .objects import (
    Charge,
    ChargeOutcome,
    ChargePaymentMethodDetails,
    Mandate,
    PaymentIntent,
    UsBankAccountDetails,
)

DAY = 86_400
DEFAULT_SETTLEMENT_DAYS = 4  # Stripe: "up to 4 business days" (standard settlement)
SETTINGS_KEY = "ach_settlement_business_days"

# Failure codes and messages: Stripe's error-code list. GUESS: `invalid_currency` has no entry
# there; its message is ours.
FAILURES: dict[str, str] = {
    "account_closed": "The customer’s bank account has been closed.",
    "no_account": "The bank account could not be located.",
    "insufficient_funds": "The customer’s account has insufficient funds to cover this payment.",
    "debit_not_authorized": "The customer has notified their bank that this payment was "
    "unauthorized.",
    "invalid_currency": "The bank account cannot accept payments in this currency.",
    "bank_account_unusable": "The bank account provided cannot be used. A different bank "
    "account must be used.",
}
# Returns after which Stripe blocks the PaymentMethod (`status_details.blocked`), with the ACH
# return code. GUESS: which codes block; Stripe says only that it never blocks for
# insufficient funds.
BLOCKING: dict[str, tuple[str, str]] = {
    "account_closed": ("R02", "bank_account_closed"),
    "no_account": ("R03", "bank_account_invalid_details"),
    "debit_not_authorized": ("R10", "debit_not_authorized"),
}

Decision = Literal["succeed", "fail", "refuse", "stay"]


@dataclass(frozen=True)
class DebitOutcome:
    """What the bank does with a debit: `succeed` or `fail` (with a code) when it settles,
    `refuse` at confirm (a blocked PaymentMethod: 402 `bank_account_unusable`), or `stay`
    processing until a test helper decides."""

    decision: Decision
    code: str | None = None

    @property
    def message(self) -> str | None:
        return FAILURES.get(self.code or "")


SUCCEED = DebitOutcome("succeed")

# Stripe's manual-entry test account numbers (docs: ACH Direct Debit, "Test account numbers").
TEST_NUMBERS: dict[str, DebitOutcome] = {
    "000123456789": SUCCEED,
    "000111111113": DebitOutcome("fail", "account_closed"),
    "000111111116": DebitOutcome("fail", "no_account"),
    "000222222227": DebitOutcome("fail", "insufficient_funds"),
    "000333333335": DebitOutcome("fail", "debit_not_authorized"),
    "000444444440": DebitOutcome("fail", "invalid_currency"),
    "000000000009": DebitOutcome("stay"),
}
# A PaymentMethod keeps only the last4 and the fingerprint of its number.
_BY_FINGERPRINT = {fingerprint(TEST_ROUTING, n): o for n, o in TEST_NUMBERS.items()}
# GUESS: test-institution accounts named after the behaviours behave as the numbers do (Stripe's
# testing docs do not list the Test Institution's account names).
TEST_ACCOUNT_NAMES: dict[str, DebitOutcome] = {
    "Success": SUCCEED,
    "Account Closed": DebitOutcome("fail", "account_closed"),
    "No Account": DebitOutcome("fail", "no_account"),
    "Insufficient Funds": DebitOutcome("fail", "insufficient_funds"),
    "Debit Not Authorized": DebitOutcome("fail", "debit_not_authorized"),
    "Invalid Currency": DebitOutcome("fail", "invalid_currency"),
    "Processing": DebitOutcome("stay"),
}


def debit_outcome(ctx: Ctx, pm: PaymentMethod) -> DebitOutcome:
    """The one rule: what the bank does with a debit from `pm`, given its state right now."""
    uba = pm.us_bank_account
    if (uba.status_details or {}).get("blocked"):
        return DebitOutcome("refuse", "bank_account_unusable")
    if uba.financial_connections_account is not None:
        account = ctx.tenant.get(Account, uba.financial_connections_account)
        if account is None:
            return SUCCEED
        inactive = account.status_details.inactive
        if account.status == "inactive" and inactive is not None:
            if inactive.cause == "account_closed":
                return DebitOutcome("fail", "account_closed")
        # GUESS: a login that needs a relink (expired token, MFA, revoked access) or a
        # disconnected account does not stop a debit: ACH uses the account number, not the
        # data connection. Only the number (TAN expiry, a block) or the account itself counts.
        return TEST_ACCOUNT_NAMES.get(account.display_name or "", SUCCEED)
    if uba.routing_number == TEST_ROUTING:
        return _BY_FINGERPRINT.get(uba.fingerprint or "", SUCCEED)
    return SUCCEED


# ---- the settlement clock ----------------------------------------------------------------------


def settlement_days(ctx: Ctx) -> int:
    raw = ctx.tenant.meta_get(SETTINGS_KEY)
    return DEFAULT_SETTLEMENT_DAYS if not raw else int(raw)


def settlement_time(start: int, business_days: int) -> int:
    """`business_days` weekdays (UTC) after `start`; 0 settles at the next request."""
    when, added = start, 0
    while added < business_days:
        when += DAY
        if datetime.fromtimestamp(when, UTC).weekday() < 5:
            added += 1
    return when


def settle_due(ctx: Ctx, items: list[Item]) -> None:
    """The tenant clock reached these debits' settlement times: the bank answers each."""
    for when, pi_id in items:
        pi = ctx.tenant.get(PaymentIntent, pi_id)
        # Stale items (canceled, settled by the helper) are skipped.
        if pi is not None and pi.status == "processing" and pi.settle_at == when:
            settle(ctx, pi, None)


# Items `[settlement time, payment intent id]`, stored under `ach_schedule` (the name they had
# before the tenant clock's schedules were named), so stores keep their pending debits.
SCHEDULE: Schedule[Ctx] = Schedule("ach", "ach_schedule", settle_due)


# ---- transitions -------------------------------------------------------------------------------


def _day(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


def _details(pm: PaymentMethod, mandate: str | None, debit_date: int) -> ChargePaymentMethodDetails:
    uba = pm.us_bank_account
    return ChargePaymentMethodDetails(
        us_bank_account=UsBankAccountDetails(
            account_holder_type=uba.account_holder_type,
            account_type=uba.account_type,
            bank_name=uba.bank_name,
            expected_debit_date=_day(debit_date),
            fingerprint=uba.fingerprint,
            last4=uba.last4,
            mandate=mandate,
            routing_number=uba.routing_number,
        )
    )


def _payment_error(ctx: Ctx, charge: Charge, pm: PaymentMethod, code: str) -> dict[str, Any]:
    # GUESS: `card_error`, the type Stripe gives payment failures (a 402 maps to it in the
    # SDKs); Stripe documents only that the code is in `last_payment_error.code`.
    return {
        "type": "card_error",
        "code": code,
        "message": FAILURES[code],
        "doc_url": "https://stripe.com/docs/error-codes/" + code.replace("_", "-"),
        "charge": charge.id,
        "payment_method": pm.to_api(ctx.version),
    }


def start_debit(ctx: Ctx, pi: PaymentIntent, pm: PaymentMethod) -> DebitOutcome:
    """Confirm: a pending charge and `processing` until settlement, or, for a blocked
    PaymentMethod, a failed charge and `requires_payment_method` right away."""
    outcome = debit_outcome(ctx, pm)
    now = ctx.now()
    due = settlement_time(now, settlement_days(ctx))
    charge = Charge(
        id=ctx.tenant.new_id("ch"),
        amount=pi.amount,
        billing_details=pm.billing_details,
        created=now,
        currency=pi.currency,
        customer=pi.customer,
        description=pi.description,
        outcome=ChargeOutcome(
            network_status="approved_by_network",
            seller_message="Payment complete.",
            type="authorized",
        ),
        payment_intent=pi.id,
        payment_method=pm.id,
        payment_method_details=_details(pm, pi.mandate, due),
        receipt_email=pi.receipt_email,
    )
    pi.latest_charge = charge.id
    pi.last_payment_error = None
    if pi.setup_future_usage and outcome.decision != "refuse":
        # Stripe attaches "after the PaymentIntent is confirmed and any required actions from
        # the user are complete": here, once a typed-in account's microdeposits are verified.
        attach_to(ctx, pm, pi.customer)
    if pm.customer is None:
        # Stripe: a PaymentMethod no customer holds pays once.
        pm.consumed = True
        ctx.tenant.put(pm)
    if outcome.decision == "refuse":
        # GUESS: a blocked PaymentMethod never reaches the network.
        charge.outcome = ChargeOutcome(
            network_status="not_sent_to_network",
            reason="bank_account_unusable",
            seller_message="The bank account provided cannot be used.",
            type="invalid",
        )
        _fail(ctx, pi, charge, pm, outcome.code or "bank_account_unusable")
        return outcome
    pi.status = "processing"
    pi.settle_at = due
    ctx.clock.add(SCHEDULE.name, due, pi.id)
    ctx.tenant.put(charge)
    ctx.tenant.put(pi)
    ctx.emit("charge.pending", charge)
    ctx.emit("payment_intent.processing", pi)
    return outcome


def debit(ctx: Ctx, pi: PaymentIntent, pm: PaymentMethod) -> Failed | None:
    """Start the debit; the bank's refusal at once is the 402 to answer with (the failed charge
    and the intent's new state stand)."""
    outcome = start_debit(ctx, pi, pm)
    if outcome.decision != "refuse":
        return None
    code = outcome.code or "bank_account_unusable"
    return Failed(
        PaymentError(
            FAILURES[code],
            code=code,
            charge=pi.latest_charge,
            **shown_in_error(ctx, pi),
            payment_method=pm.to_api(ctx.version),
        )
    )


def settle(ctx: Ctx, pi: PaymentIntent, forced: str | None) -> None:
    """The bank's answer for a processing debit: `forced` (`succeeded` or a failure code, from
    the test helper), else the rule at this moment. A `stay` debit stays processing."""
    pm = ctx.tenant.get(PaymentMethod, _charge_pm(ctx, pi))
    charge = ctx.tenant.get(Charge, pi.latest_charge or "")
    if pm is None or charge is None:
        return
    if forced is None:
        outcome = debit_outcome(ctx, pm)
        if outcome.decision == "stay":
            return
    else:
        outcome = SUCCEED if forced == "succeeded" else DebitOutcome("fail", forced)
    pi.settle_at = None
    if outcome.decision == "succeed":
        charge.status = "succeeded"
        charge.paid = True
        charge.amount_captured = charge.amount
        if charge.payment_method_details is not None:
            digest = hashlib.sha256(charge.id.encode()).hexdigest()
            charge.payment_method_details.us_bank_account.payment_reference = str(
                int(digest[:13], 16)
            )[:15]
        pi.status = "succeeded"
        pi.amount_received = pi.amount
        ctx.tenant.put(charge)
        ctx.tenant.put(pi)
        ctx.emit("charge.succeeded", charge)
        ctx.emit("payment_intent.succeeded", pi)
        return
    charge.outcome = ChargeOutcome(
        network_status="declined_by_network",
        reason=None,
        seller_message="The bank returned the debit.",
        type="issuer_declined",
    )
    _fail(ctx, pi, charge, pm, outcome.code or "bank_account_unusable")
    _after_return(ctx, pi, pm, outcome.code or "")


def _charge_pm(ctx: Ctx, pi: PaymentIntent) -> str:
    charge = ctx.tenant.get(Charge, pi.latest_charge or "")
    return (charge.payment_method if charge else None) or pi.payment_method or ""


def _fail(ctx: Ctx, pi: PaymentIntent, charge: Charge, pm: PaymentMethod, code: str) -> None:
    charge.status = "failed"
    charge.failure_code = code
    charge.failure_message = FAILURES[code]
    # GUESS (as for a declined card): the intent goes back for a new payment method and keeps
    # the failed one only in `last_payment_error`.
    pi.status = "requires_payment_method"
    pi.payment_method = None
    pi.settle_at = None
    pi.last_payment_error = _payment_error(ctx, charge, pm, code)
    ctx.tenant.put(charge)
    ctx.tenant.put(pi)
    ctx.emit("charge.failed", charge)
    ctx.emit("payment_intent.payment_failed", pi)


def _after_return(ctx: Ctx, pi: PaymentIntent, pm: PaymentMethod, code: str) -> None:
    """What a return does beyond the payment: some block the PaymentMethod (Stripe sends
    `payment_method.automatically_updated`); an unauthorized debit revokes the mandate."""
    if code in BLOCKING:
        network_code, reason = BLOCKING[code]
        before = pm.us_bank_account.status_details
        pm.us_bank_account.status_details = {
            "blocked": {"network_code": network_code, "reason": reason}
        }
        ctx.tenant.put(pm)
        ctx.emit(
            "payment_method.automatically_updated",
            pm,
            {"us_bank_account": {"status_details": before}},
        )
    if code == "debit_not_authorized" and pi.mandate is not None:
        mandate = ctx.tenant.get(Mandate, pi.mandate)
        if mandate is not None and mandate.status == "active":
            mandate.status = "inactive"
            ctx.tenant.put(mandate)
            ctx.emit("mandate.updated", mandate, {"status": "active"})


def cancel(ctx: Ctx, pi: PaymentIntent, reason: str | None) -> None:
    if pi.status == "processing":
        charge = ctx.tenant.get(Charge, pi.latest_charge or "")
        if charge is not None and charge.status == "pending":
            # GUESS: the pending debit is withdrawn; the charge fails without a failure code.
            charge.status = "failed"
            charge.failure_message = "The payment was canceled before it settled."
            ctx.tenant.put(charge)
            ctx.emit("charge.failed", charge)
    pi.status = "canceled"
    pi.canceled_at = ctx.now()
    pi.cancellation_reason = reason
    pi.settle_at = None
    # Canceled is final: microdeposits still awaited no longer expire into a failure, and
    # there is nothing left to verify.
    pi.microdeposits = None
    pi.next_action = None
    ctx.tenant.put(pi)
    ctx.emit("payment_intent.canceled", pi)

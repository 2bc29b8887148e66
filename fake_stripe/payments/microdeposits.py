"""Verifying a bank account typed in by hand with microdeposits: what a SetupIntent or a
PaymentIntent does when its `us_bank_account` PaymentMethod has no linked account and was never
verified, under `payment_method_options[us_bank_account][verification_method]` `automatic` (the
default) or `microdeposits` (the ACH fallback when the customer cannot link through Financial
Connections).

Confirming sends the microdeposits: the intent is `requires_action` with
`next_action.verify_with_microdeposits`. `POST .../{id}/verify_microdeposits` checks Stripe's
test values (amounts 32 and 45, descriptor code SM11AA): a SetupIntent then succeeds, a
PaymentIntent's debit starts (`processing`), and the PaymentMethod stays verified. Wrong values
count attempts; the third wrong one, or 10 days on the tenant clock without verification, fails
the intent back to `requires_payment_method`. Where Stripe is silent the choice is marked
GUESS (docs/guesses.md).
"""

from __future__ import annotations

from typing import Any

from ..core.clock import Item, Schedule
from ..core.context import Ctx, Failed
from ..core.errors import InvalidRequestError, exclusive, missing_param
from ..core.params import Arr, Int, Spec, Str
from ..resources import payment_methods
from ..resources.payment_methods import PaymentMethod
from . import ach, verification_links
from .intents import Intent, carries_intent, check_client_secret, shown_in_error
from .objects import (
    ClientPaymentIntent,
    ClientSetupIntent,
    PaymentIntent,
    SetupAttempt,
    SetupIntent,
)

VERIFY = Spec({"amounts": Arr(Int()), "descriptor_code": Str(), "client_secret": Str()})
# Stripe: the customer has 10 days to verify, and three tries.
EXPIRY = 10 * ach.DAY
MAX_ATTEMPTS = 3
# Stripe's test values (ACH Direct Debit testing): each pair of amounts or descriptor code.
VERIFIES = ((32, 45), "SM11AA")
# GUESS (docs/guesses.md, microdeposits): the test values that simulate too many attempts and
# a timeout, as Stripe's testing table lists them.
EXCEEDS = ((10, 11), "SM33CC")
TIMES_OUT = ((40, 41), "SM44DD")

INSTANT_PARAM = "payment_method_options[us_bank_account][verification_method]"

MESSAGES = {
    "payment_method_microdeposit_verification_amounts_invalid": "You must provide exactly two "
    "microdeposit amounts.",
    "payment_method_microdeposit_verification_amounts_mismatch": "The amounts provided do not "
    "match the amounts that were sent to the bank account.",
    "payment_method_microdeposit_verification_descriptor_code_mismatch": "The verification code "
    "provided does not match the one sent to the bank account.",
    "payment_method_microdeposit_verification_attempts_exceeded": "You have exceeded the number "
    "of allowed verification attempts.",
    "payment_method_microdeposit_verification_timeout": "Payment method should be verified with "
    "microdeposits within the required period.",
}


def required(intent: Intent, pm: PaymentMethod) -> bool:
    """A PaymentMethod typed in by hand and never verified: confirm sends microdeposits.

    `automatic` (the default) tries instant verification, which needs a linked account, and
    falls back to microdeposits; `microdeposits` asks for them; `instant` cannot verify a
    typed-in account and is refused.
    """
    if pm.type != "us_bank_account" or pm.us_bank_account.financial_connections_account:
        return False
    if pm.microdeposits_verified:
        return False
    options = (intent.payment_method_options or {}).get("us_bank_account") or {}
    if options.get("verification_method") == "instant":
        # GUESS (docs/guesses.md, microdeposits): Stripe documents `instant` as "instant
        # verification only" but not its refusal of a typed-in account; the code, the param
        # and the wording are ours.
        raise InvalidRequestError(
            f"The PaymentMethod {pm.id} was not created from a Financial Connections account, "
            "so it cannot be verified instantly. Use `verification_method` `automatic` or "
            "`microdeposits`, or link the account with Financial Connections.",
            code="payment_method_invalid_parameter",
            param=INSTANT_PARAM,
        )
    return True


def send(ctx: Ctx, intent: Intent) -> None:
    """Confirm sent the microdeposits: the intent waits for the customer's values."""
    now = ctx.now()
    expires = now + EXPIRY
    # GUESS: one descriptor-code deposit (Stripe's default), arriving in 2 business days.
    intent.microdeposits = {"attempts": 0, "expires_at": expires}
    intent.status = "requires_action"
    intent.next_action = {
        "type": "verify_with_microdeposits",
        "verify_with_microdeposits": {
            "arrival_date": ach.settlement_time(now, 2),
            "hosted_verification_url": verification_links.issue(ctx, intent.id),
            "microdeposit_type": "descriptor_code",
        },
    }
    ctx.clock.add(SCHEDULE.name, expires, intent.id)
    ctx.tenant.put(intent)
    ctx.emit(f"{intent.object}.requires_action", intent)


def end_attempt(
    ctx: Ctx, si: SetupIntent, status: str, error: dict[str, Any] | None = None
) -> None:
    """The SetupAttempt that waited for the microdeposits ends: `succeeded`, `failed` (with
    its `setup_error`) or `abandoned` (the intent canceled)."""
    attempt = ctx.tenant.get(SetupAttempt, si.latest_attempt or "")
    if attempt is None or attempt.status != "requires_action":
        return
    attempt.status = status
    attempt.setup_error = error
    ctx.tenant.put(attempt)


def _fail(ctx: Ctx, intent: Intent, code: str) -> None:
    """Verification failed for good: the intent needs another PaymentMethod."""
    error = {
        "type": "invalid_request_error",
        "code": code,
        "message": MESSAGES[code],
        "payment_method": payment_methods.load(ctx, intent.payment_method or "").to_api(
            ctx.version
        ),
    }
    intent.microdeposits = None
    intent.next_action = None
    intent.status = "requires_payment_method"
    if isinstance(intent, SetupIntent):
        intent.last_setup_error = error
        end_attempt(ctx, intent, "failed", error)
        ctx.tenant.put(intent)
        ctx.emit("setup_intent.setup_failed", intent)
    else:
        intent.last_payment_error = error
        ctx.tenant.put(intent)
        ctx.emit("payment_intent.payment_failed", intent)


def expire_due(ctx: Ctx, items: list[Item]) -> None:
    """The tenant clock reached these intents' 10 days: unverified ones fail."""
    for when, intent_id in items:
        intent: Intent | None = (
            ctx.tenant.get(SetupIntent, intent_id)
            if intent_id.startswith("seti_")
            else ctx.tenant.get(PaymentIntent, intent_id)
        )
        if intent is None or intent.status != "requires_action":
            continue  # verified, failed or canceled since: nothing left to expire
        pending = intent.microdeposits
        if pending and pending.get("expires_at") == when:
            _fail(ctx, intent, "payment_method_microdeposit_verification_timeout")


SCHEDULE: Schedule[Ctx] = Schedule("microdeposits", "microdeposit_schedule", expire_due)


def _error(code: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(MESSAGES[code], code=code, param=param)


def _given(p: dict[str, Any]) -> tuple[str, Any]:
    amounts, code = p.get("amounts"), p.get("descriptor_code")
    if amounts is not None and code is not None:
        raise exclusive("amounts", "descriptor_code")
    if code is not None:
        return "descriptor_code", code
    if amounts is None:
        raise missing_param("amounts")
    if len(amounts) != 2 or any(a <= 0 for a in amounts):
        raise _error("payment_method_microdeposit_verification_amounts_invalid", "amounts")
    return "amounts", tuple(amounts)


def verify(ctx: Ctx, intent: Intent, p: dict[str, Any]) -> Failed | None:
    """Check the customer's values: None when they match (the caller moves the intent on), or
    the error to answer with, the attempt (and a failed intent) recorded."""
    check_client_secret(ctx, intent, p.get("client_secret"))
    noun = "SetupIntent" if isinstance(intent, SetupIntent) else "PaymentIntent"
    pending = intent.microdeposits
    if intent.status != "requires_action" or not pending:
        raise InvalidRequestError(
            f"This {noun}'s payment method cannot be verified with microdeposits because the "
            f"{noun} has a status of {intent.status}.",
            code=f"{intent.object}_unexpected_state",
        )
    param, value = _given(p)
    index = 0 if param == "amounts" else 1
    # GUESS: either form verifies, whatever `microdeposit_type` says (Stripe's testing page
    # gives both for every test account).
    if value == VERIFIES[index]:
        intent.microdeposits = None
        intent.next_action = None
        pm = payment_methods.load(ctx, intent.payment_method or "", "payment_method")
        pm.microdeposits_verified = True
        ctx.tenant.put(pm)
        return None
    if value == TIMES_OUT[index]:
        code = "payment_method_microdeposit_verification_timeout"
    else:
        attempts = int(pending.get("attempts", 0)) + 1
        intent.microdeposits = {**pending, "attempts": attempts}
        code = f"payment_method_microdeposit_verification_{param}_mismatch"
        if value == EXCEEDS[index] or attempts >= MAX_ATTEMPTS:
            # GUESS: the third wrong try answers "attempts exceeded" and fails the intent.
            code = "payment_method_microdeposit_verification_attempts_exceeded"
    if code.endswith("_mismatch"):
        ctx.tenant.put(intent)
    else:
        _fail(ctx, intent, code)
    error = _error(code, param)
    error.extra.update(shown_in_error(ctx, intent))  # as the failure leaves it
    return Failed(error)


@carries_intent(SetupIntent)
def verify_setup(ctx: Ctx, p: dict[str, Any]) -> SetupIntent | ClientSetupIntent | Failed:
    si = ctx.tenant.load(SetupIntent, ctx.path["intent"])
    failed = verify(ctx, si, p)
    if failed is not None:
        return failed
    si.status = "succeeded"
    end_attempt(ctx, si, "succeeded")
    pm = payment_methods.load(ctx, si.payment_method or "", "payment_method")
    payment_methods.attach_to(ctx, pm, si.customer)
    ctx.tenant.put(si)
    ctx.emit("setup_intent.succeeded", si)
    return ClientSetupIntent.of(si) if ctx.publishable else si


@carries_intent(PaymentIntent)
def verify_payment(ctx: Ctx, p: dict[str, Any]) -> PaymentIntent | ClientPaymentIntent | Failed:
    pi = ctx.tenant.load(PaymentIntent, ctx.path["intent"])
    failed = verify(ctx, pi, p)
    if failed is not None:
        return failed
    # Verified: the debit starts, by the same rule as a confirm without microdeposits.
    pm = payment_methods.load(ctx, pi.payment_method or "", "payment_method")
    refused = ach.debit(ctx, pi, pm)
    ctx.tenant.put(pi)
    return refused or (ClientPaymentIntent.of(pi) if ctx.publishable else pi)

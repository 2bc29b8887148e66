"""The ACH fallback when the customer cannot link: take the account and routing numbers by
hand, verify them with microdeposits, then debit as usual.

Stripe sends microdeposits when a SetupIntent is confirmed with a typed-in bank account and
`verification_method=microdeposits`; the intent waits in `requires_action`
(`next_action.verify_with_microdeposits`) until the customer gives the amounts or the
descriptor code, with three tries and 10 days to do it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import stripe

from .errors import RelinkError

if TYPE_CHECKING:
    from .relink import MandateAcceptance, PaymentSetup, RelinkClient

# Stripe's error codes for values that do not verify (the intent may still wait for more).
VERIFY_CODES = "payment_method_microdeposit_verification_"


@dataclass(frozen=True)
class Verification:
    """What a verification attempt gave: the intent's status, and Stripe's code if it failed."""

    setup_intent: str
    status: str
    code: str | None = None

    @property
    def verified(self) -> bool:
        return self.status == "succeeded"

    @property
    def can_retry(self) -> bool:
        """The customer may try again (a mismatch, not a failed verification)."""
        return self.status == "requires_action"


def fall_back_to_microdeposits(
    client: RelinkClient,
    customer: str,
    routing_number: str,
    account_number: str,
    acceptance: MandateAcceptance,
    *,
    billing_name: str,
) -> PaymentSetup:
    """A SetupIntent with the typed-in account, confirmed under the accepted mandate: it waits
    for the microdeposits (`requires_action`)."""
    from .relink import PaymentSetup

    with client._step("confirm setup intent with microdeposits"):
        si = client.stripe.v1.setup_intents.create(
            params={  # type: ignore[arg-type]
                "customer": customer,
                "payment_method_types": ["us_bank_account"],
                "payment_method_data": {
                    "type": "us_bank_account",
                    "billing_details": {"name": billing_name},
                    "us_bank_account": {
                        "routing_number": routing_number,
                        "account_number": account_number,
                        "account_holder_type": "individual",
                    },
                },
                "payment_method_options": {
                    "us_bank_account": {"verification_method": "microdeposits"}
                },
                "confirm": True,
                "mandate_data": acceptance.mandate_data(),
            }
        )
    action = si.next_action.type if si.next_action else None
    if si.status != "requires_action" or action != "verify_with_microdeposits":
        raise RelinkError(
            "confirm setup intent with microdeposits",
            f"setup intent {si.id} is {si.status} ({action}), not waiting for microdeposits",
        )
    pm = si.payment_method if isinstance(si.payment_method, str) else None
    mandate = si.mandate if isinstance(si.mandate, str) else None
    return PaymentSetup(str(pm), si.id, mandate)


def verify_microdeposits(
    client: RelinkClient,
    setup_intent: str,
    *,
    amounts: list[int] | None = None,
    descriptor_code: str | None = None,
) -> Verification:
    """Hand Stripe the customer's values. A mismatch or a failed verification is an answer
    to show the customer, not an error; anything else raises `RelinkError`."""
    params: dict[str, Any] = {}
    if amounts is not None:
        params["amounts"] = amounts
    if descriptor_code is not None:
        params["descriptor_code"] = descriptor_code
    try:
        with client._step("verify microdeposits"):
            si = client.stripe.v1.setup_intents.verify_microdeposits(
                setup_intent,
                params=params,  # type: ignore[arg-type]
            )
        return Verification(si.id, si.status)
    except RelinkError as err:
        cause = err.__cause__
        code = cause.code if isinstance(cause, stripe.StripeError) else None
        if not code or not code.startswith(VERIFY_CODES):
            raise
        with client._step("retrieve setup intent"):
            si = client.stripe.v1.setup_intents.retrieve(setup_intent)
        return Verification(si.id, si.status, code)

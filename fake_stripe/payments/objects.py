"""The payment objects (ACH Direct Debit on `us_bank_account` only): `setup_intent`, its
`setup_attempt` and the `mandate` a confirmation creates; `payment_intent` and `charge`; and the
part of a PaymentIntent a publishable key may read.

Shapes follow the recorded spec (`setup_intent`, `setup_attempt`, `mandate`, `payment_intent`,
`charge`, `charge_outcome`, `api_errors`, `payment_method_details_us_bank_account`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel

from ..core.objects import Model, StripeObject
from ..resources.payment_methods import BillingDetails


class ChargeOutcome(Model):
    network_status: str | None
    reason: str | None = None
    risk_level: str = "not_assessed"
    seller_message: str | None
    type: str


class UsBankAccountDetails(Model):
    """`payment_method_details.us_bank_account`: the bank account as it was when charged."""

    account_holder_type: str | None
    account_type: str | None
    bank_name: str | None
    expected_debit_date: str | None = None
    fingerprint: str | None
    last4: str | None
    mandate: str | None = None
    payment_reference: str | None = None
    routing_number: str | None


class ChargePaymentMethodDetails(Model):
    type: str = "us_bank_account"
    us_bank_account: UsBankAccountDetails


class Charge(StripeObject):
    kind: ClassVar[str] = "charge"
    prefix: ClassVar[str] = "ch"
    noun: ClassVar[str] = "charge"
    # Every id field of the spec's `x-expandableFields`: one that is null expands to null, and
    # `transfer`, which a charge shows only when it has one, expands to nothing.
    expandable: ClassVar[dict[str, str]] = {
        "application": "application",
        "application_fee": "application_fee",
        "balance_transaction": "balance_transaction",
        "customer": "customer",
        "failure_balance_transaction": "balance_transaction",
        "invoice": "invoice",
        "on_behalf_of": "account",
        "payment_intent": "payment_intent",
        "review": "review",
        "source_transfer": "transfer",
        "transfer": "transfer",
    }
    indexed: ClassVar[tuple[str, ...]] = ("customer", "payment_intent")

    object: str = "charge"
    amount: int
    amount_captured: int = 0
    amount_refunded: int = 0
    application: str | None = None
    application_fee: str | None = None
    application_fee_amount: int | None = None
    balance_transaction: str | None = None
    billing_details: BillingDetails
    calculated_statement_descriptor: str | None = None
    captured: bool = True
    created: int
    currency: str
    customer: str | None = None
    description: str | None = None
    disputed: bool = False
    failure_balance_transaction: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    fraud_details: dict[str, Any] = {}
    invoice: str | None = None
    livemode: bool = False
    metadata: dict[str, str] = {}
    on_behalf_of: str | None = None
    outcome: ChargeOutcome | None = None
    paid: bool = False
    payment_intent: str | None = None
    payment_method: str | None = None
    payment_method_details: ChargePaymentMethodDetails | None = None
    receipt_email: str | None = None
    receipt_number: str | None = None
    receipt_url: str | None = None
    refunded: bool = False
    review: str | None = None
    shipping: dict[str, Any] | None = None
    source_transfer: str | None = None
    statement_descriptor: str | None = None
    statement_descriptor_suffix: str | None = None
    status: str = "pending"
    transfer_data: dict[str, Any] | None = None
    transfer_group: str | None = None


class PaymentIntent(StripeObject):
    kind: ClassVar[str] = "payment_intent"
    prefix: ClassVar[str] = "pi"
    noun: ClassVar[str] = "payment_intent"
    internal: ClassVar[frozenset[str]] = frozenset({"mandate", "settle_at", "microdeposits"})
    indexed: ClassVar[tuple[str, ...]] = ("customer",)
    expandable: ClassVar[dict[str, str]] = {
        "application": "application",
        "customer": "customer",
        "invoice": "invoice",
        "latest_charge": "charge",
        "on_behalf_of": "account",
        "payment_method": "payment_method",
        "review": "review",
    }

    object: str = "payment_intent"
    amount: int
    amount_capturable: int = 0
    amount_received: int = 0
    application: str | None = None
    application_fee_amount: int | None = None
    automatic_payment_methods: dict[str, Any] | None = None
    canceled_at: int | None = None
    cancellation_reason: str | None = None
    capture_method: str = "automatic"
    client_secret: str
    confirmation_method: str = "automatic"
    created: int
    currency: str
    customer: str | None = None
    description: str | None = None
    invoice: str | None = None
    last_payment_error: dict[str, Any] | None = None
    latest_charge: str | None = None
    livemode: bool = False
    metadata: dict[str, str] = {}
    next_action: dict[str, Any] | None = None
    on_behalf_of: str | None = None
    payment_method: str | None = None
    payment_method_options: dict[str, Any] | None = None
    payment_method_types: list[str]
    processing: dict[str, Any] | None = None
    receipt_email: str | None = None
    review: str | None = None
    setup_future_usage: str | None = None
    shipping: dict[str, Any] | None = None
    statement_descriptor: str | None = None
    statement_descriptor_suffix: str | None = None
    status: str = "requires_payment_method"
    transfer_data: dict[str, Any] | None = None
    transfer_group: str | None = None
    # internal: the mandate the debit runs under, and when the clock settles it
    mandate: str | None = None
    settle_at: int | None = None
    # what was sent for verification (payments/microdeposits.py), while it is pending
    microdeposits: dict[str, Any] | None = None


class Mandate(StripeObject):
    kind: ClassVar[str] = "mandate"
    prefix: ClassVar[str] = "mandate"
    noun: ClassVar[str] = "mandate"
    expandable: ClassVar[dict[str, str]] = {"payment_method": "payment_method"}
    indexed: ClassVar[tuple[str, ...]] = ("payment_method",)
    omit_if_none: ClassVar[frozenset[str]] = frozenset({"multi_use", "single_use"})

    object: str = "mandate"
    customer_acceptance: dict[str, Any]
    livemode: bool = False
    multi_use: dict[str, Any] | None = {}
    payment_method: str
    payment_method_details: dict[str, Any] = {"type": "us_bank_account", "us_bank_account": {}}
    # A PaymentIntent's mandate for one payment: {amount, currency}.
    single_use: dict[str, Any] | None = None
    status: str = "active"
    type: str = "multi_use"


class SetupAttempt(StripeObject):
    """One confirmation of a SetupIntent (`latest_attempt`): `succeeded`, or `requires_action`
    while microdeposits are awaited, then `succeeded`, `failed` or `abandoned`. It has no list
    route."""

    kind: ClassVar[str] = "setup_attempt"
    prefix: ClassVar[str] = "setatt"
    noun: ClassVar[str] = "setup_attempt"
    omit_if_none: ClassVar[frozenset[str]] = frozenset({"attach_to_self"})
    expandable: ClassVar[dict[str, str]] = {
        "application": "application",
        "customer": "customer",
        "on_behalf_of": "account",
        "payment_method": "payment_method",
        "setup_intent": "setup_intent",
    }

    object: str = "setup_attempt"
    application: str | None = None
    attach_to_self: bool | None = None
    created: int
    customer: str | None = None
    flow_directions: list[str] | None = None
    livemode: bool = False
    on_behalf_of: str | None = None
    payment_method: str
    payment_method_details: dict[str, Any]
    setup_error: dict[str, Any] | None = None
    setup_intent: str
    status: str = "succeeded"
    usage: str = "off_session"


# GA `allowed_payment_method_types` (stripe-node 22.4.0, API `2026-07-29.dahlia`); every preview.
ALLOWED_TYPES_GA = "2026-07-29"


class SetupIntent(StripeObject):
    kind: ClassVar[str] = "setup_intent"
    prefix: ClassVar[str] = "seti"
    noun: ClassVar[str] = "setupintent"
    preview: ClassVar[frozenset[str]] = frozenset({"allowed_payment_method_types"})
    ga_since: ClassVar[dict[str, str]] = {"allowed_payment_method_types": ALLOWED_TYPES_GA}
    internal: ClassVar[frozenset[str]] = frozenset({"microdeposits", "types_given"})
    indexed: ClassVar[tuple[str, ...]] = ("customer", "payment_method")
    expandable: ClassVar[dict[str, str]] = {
        "application": "application",
        "customer": "customer",
        "latest_attempt": "setup_attempt",
        "mandate": "mandate",
        "on_behalf_of": "account",
        "payment_method": "payment_method",
        "single_use_mandate": "mandate",
    }

    object: str = "setup_intent"
    allowed_payment_method_types: list[str] | None = None
    application: str | None = None
    automatic_payment_methods: None = None
    cancellation_reason: str | None = None
    client_secret: str
    created: int
    customer: str | None = None
    description: str | None = None
    flow_directions: list[str] | None = None
    last_setup_error: dict[str, Any] | None = None
    latest_attempt: str | None = None
    livemode: bool = False
    mandate: str | None = None
    metadata: dict[str, str] = {}
    next_action: dict[str, Any] | None = None
    on_behalf_of: str | None = None
    payment_method: str | None = None
    payment_method_options: dict[str, Any] | None = None
    payment_method_types: list[str]
    single_use_mandate: str | None = None
    status: str = "requires_payment_method"
    usage: str = "off_session"
    # internal: what was sent for verification (payments/microdeposits.py), while it is pending
    microdeposits: dict[str, Any] | None = None
    # internal: `payment_method_types` came from the request, not the default
    types_given: bool = False


class ClientView(BaseModel):
    """An intent as a publishable key sees it: the fields the subclass declares."""

    @classmethod
    def of(cls, intent: StripeObject) -> Self:
        return cls.model_validate(intent.model_dump(include=set(cls.model_fields)))


class ClientPaymentIntent(ClientView):
    """A PaymentIntent as a publishable key sees it (with its client secret): the fields of
    Stripe.js's `PaymentIntent` type; `customer`, `metadata` and `latest_charge` stay hidden."""

    id: str
    object: str = "payment_intent"
    amount: int
    canceled_at: int | None
    cancellation_reason: str | None
    capture_method: str
    client_secret: str
    confirmation_method: str
    created: int
    currency: str
    description: str | None
    last_payment_error: dict[str, Any] | None
    livemode: bool
    next_action: dict[str, Any] | None
    payment_method: str | None
    payment_method_types: list[str]
    processing: dict[str, Any] | None
    receipt_email: str | None
    setup_future_usage: str | None
    shipping: dict[str, Any] | None
    status: str


class ClientSetupIntent(ClientView):
    """A SetupIntent as a publishable key sees it (with its client secret): the fields of
    Stripe.js's `SetupIntent` type; `customer`, `metadata` and `mandate` stay hidden."""

    id: str
    object: str = "setup_intent"
    cancellation_reason: str | None
    client_secret: str
    created: int
    description: str | None
    last_setup_error: dict[str, Any] | None
    livemode: bool
    next_action: dict[str, Any] | None
    payment_method: str | None
    payment_method_types: list[str]
    status: str
    usage: str

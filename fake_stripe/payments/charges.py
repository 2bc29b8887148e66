"""Charges, as PaymentIntents make them (`latest_charge`): retrieve and list. A charge keeps the
bank account as it was when it was made (`payment_method_details.us_bank_account`)."""

from __future__ import annotations

from typing import Any

from ..core.context import Ctx
from ..core.params import PAGINATION, RANGE, Spec, Str, in_range
from ..core.render import Page, paginate
from ..core.views import View
from ..resources import customers
from .objects import Charge, PaymentIntent

LIST = Spec({**PAGINATION, "customer": Str(), "payment_intent": Str(), "created": RANGE})


def retrieve(ctx: Ctx, p: dict[str, Any]) -> View:
    return ctx.tenant.view(Charge, ctx.path["charge"])


def list_(ctx: Ctx, p: dict[str, Any]) -> Page:
    customer, intent, created = p.get("customer"), p.get("payment_intent"), p.get("created")
    if customer is not None:
        customers.load(ctx, customer, "customer")
    if intent is not None:
        ctx.tenant.load(PaymentIntent, intent, "payment_intent")

    def where(ch: Charge) -> bool:
        return (
            (customer is None or ch.customer == customer)
            and (intent is None or ch.payment_intent == intent)
            and in_range(ch.created, created)
        )

    match = ("customer", customer) if customer is not None else None
    if intent is not None:
        match = ("payment_intent", intent)  # an intent has fewer charges than its customer
    return paginate(ctx, Charge, p, "/v1/charges", where, match)

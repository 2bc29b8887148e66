"""What a new generic object holds before the request's values: its resource's example with
every value that describes that one example object cleared, then the few facts Stripe derives
from the request filled in once the request's values are in.

Cleared: each nullable field is null (a new price has no `nickname`, a new subscription was
never canceled), each amount is zero (a new invoice has no lines to total), each moment is
the object's `created`. Kept: what the example holds that is a new object's too (its `status`,
its state machine's start; flags such as `active`; nested settings; counts such as a plan's
`interval_count`).

GUESS (docs/guesses.md): the spec marks which fields may be null, not what Stripe puts in a
new object; the derived facts below each cite what Stripe documents.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..core.context import Ctx
from ..spec.examples import Shapes

# Fields kept from the example even where the spec allows null: the start of the object's
# life (`status`), and how it is shown.
_KEEP = frozenset({"id", "object", "status", "livemode", "metadata"})
_AMOUNT = re.compile(r"(^|_)(amount|total|subtotal|balance)(_|$)")
_MOMENT = re.compile(r"(_at|_date|_start|_end|_anchor|^date|^expires|^updated|_time|^timestamp)$")
# A moment `derive` sets to the object's `created`.
NOW: Any = type("Now", (), {"__repr__": lambda self: "NOW"})()
# A Checkout session expires a day after it is made unless told otherwise (Stripe's default).
CHECKOUT_EXPIRY = 24 * 60 * 60


def cleared(shapes: Shapes, schema: Mapping[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    """`example` (a copy of it) as a new object starts."""
    properties = schema.get("properties", {})
    out = dict(example)
    for name, value in example.items():
        field = properties.get(name)
        if field is None or name in _KEEP:
            continue
        resolved = shapes.resolve(field)
        if _nullable(shapes, resolved):
            out[name] = None
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if _MOMENT.search(name):
                out[name] = NOW
            elif _AMOUNT.search(name):
                out[name] = 0
    return out


def _nullable(shapes: Shapes, schema: Mapping[str, Any]) -> bool:
    return any(shapes.resolve(b).get("enum") == [None] for b in schema.get("anyOf", ()))


def derive(ctx: Ctx, data: dict[str, Any], given: Mapping[str, Any]) -> None:
    """Fill the moments left for `created`, then what Stripe derives from the request."""
    created = data.get("created")
    now = created if isinstance(created, int) else ctx.now()
    for name, value in data.items():
        if value is NOW:
            data[name] = now
    rule = _DERIVED.get(str(data.get("object")))
    if rule is not None:
        rule(ctx, data, given)


def _price(ctx: Ctx, data: dict[str, Any], given: Mapping[str, Any]) -> None:
    # The spec ties `type` to whether the price recurs.
    data["type"] = "recurring" if data.get("recurring") else "one_time"
    if data.get("unit_amount") is not None and data.get("unit_amount_decimal") is None:
        data["unit_amount_decimal"] = str(data["unit_amount"])


def _checkout_session(ctx: Ctx, data: dict[str, Any], given: Mapping[str, Any]) -> None:
    if "expires_at" not in given:
        data["expires_at"] = data["created"] + CHECKOUT_EXPIRY
    # GUESS (docs/guesses.md): the page's address is Stripe's form, with the session's id.
    data["url"] = f"https://checkout.stripe.com/c/pay/{data['id']}"


def _billing_portal_session(ctx: Ctx, data: dict[str, Any], given: Mapping[str, Any]) -> None:
    # GUESS (docs/guesses.md): Stripe's address is a secret; this one names the session.
    data["url"] = f"https://billing.stripe.com/p/session/{data['id']}"


def _subscription(ctx: Ctx, data: dict[str, Any], given: Mapping[str, Any]) -> None:
    data["cancel_at_period_end"] = bool(given.get("cancel_at_period_end", False))
    # The first period is one interval of the first item's price long.
    items = given.get("items")
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    price = ctx.tenant.get_any(str(first.get("price") or ""))
    recurring = price.to_api(ctx.version).get("recurring") if price is not None else None
    start = data.get("current_period_start")
    if isinstance(recurring, dict) and isinstance(start, int):
        count = recurring.get("interval_count") or 1
        data["current_period_end"] = _after(start, str(recurring.get("interval")), int(count))


def _after(start: int, interval: str, count: int) -> int:
    moment = datetime.datetime.fromtimestamp(start, datetime.UTC)
    if interval in ("day", "week"):
        return start + count * (86400 if interval == "day" else 7 * 86400)
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(moment.month - 1 + months, 12)
    day = min(moment.day, calendar.monthrange(moment.year + year, month + 1)[1])
    later = moment.replace(year=moment.year + year, month=month + 1, day=day)
    return int(later.timestamp())


def _subscription_item(ctx: Ctx, data: dict[str, Any], given: Mapping[str, Any]) -> None:
    # An item's `plan` is its price in the older shape, under the same id.
    price = data.get("price")
    if not isinstance(price, dict):
        return
    recurring = price.get("recurring") or {}
    data["plan"] = {
        "id": price.get("id"),
        "object": "plan",
        "active": price.get("active", True),
        "aggregate_usage": recurring.get("aggregate_usage"),
        "amount": price.get("unit_amount"),
        "amount_decimal": price.get("unit_amount_decimal"),
        "billing_scheme": price.get("billing_scheme", "per_unit"),
        "created": price.get("created"),
        "currency": price.get("currency"),
        "interval": recurring.get("interval", "month"),
        "interval_count": recurring.get("interval_count", 1),
        "livemode": False,
        "metadata": price.get("metadata", {}),
        "nickname": price.get("nickname"),
        "product": price.get("product"),
        "tiers_mode": price.get("tiers_mode"),
        "transform_usage": None,
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": recurring.get("usage_type", "licensed"),
    }


def _promotion_code(ctx: Ctx, data: dict[str, Any], given: Mapping[str, Any]) -> None:
    # A new promotion code is active unless told otherwise.
    data["active"] = bool(given.get("active", True))


def _tax_id(ctx: Ctx, data: dict[str, Any], given: Mapping[str, Any]) -> None:
    # The country a tax id's type names (`us_ein` -> US); an EU VAT number starts with it.
    kind, value = str(data.get("type") or ""), str(data.get("value") or "")
    prefix = kind.split("_", 1)[0]
    if prefix == "eu" and value[:2].isalpha():
        data["country"] = value[:2].upper().replace("EL", "GR")
    elif len(prefix) == 2 and prefix != "eu":
        data["country"] = prefix.upper()


def _refund(ctx: Ctx, data: dict[str, Any], given: Mapping[str, Any]) -> None:
    # Stripe's default is the whole amount of the charge (or the PaymentIntent) still unrefunded.
    paid = ctx.tenant.get_any(str(data.get("charge") or data.get("payment_intent") or ""))
    if paid is None:
        return
    shown = paid.to_api(ctx.version)
    if "amount" not in given and isinstance(shown.get("amount"), int):
        data["amount"] = shown["amount"] - int(shown.get("amount_refunded") or 0)
    if isinstance(shown.get("currency"), str):
        data["currency"] = shown["currency"]


def _starts(status: str) -> Callable[[Ctx, dict[str, Any], Mapping[str, Any]], None]:
    def start(ctx: Ctx, data: dict[str, Any], given: Mapping[str, Any]) -> None:
        data["status"] = status

    return start


_DERIVED: dict[str, Callable[[Ctx, dict[str, Any], Mapping[str, Any]], None]] = {
    "price": _price,
    "checkout.session": _checkout_session,
    "billing_portal.session": _billing_portal_session,
    "subscription": _subscription,
    "subscription_item": _subscription_item,
    "promotion_code": _promotion_code,
    "tax_id": _tax_id,
    "refund": _refund,
    # Stripe's first status of each (the example is a finished one).
    "identity.verification_session": _starts("requires_input"),
    "reporting.report_run": _starts("pending"),
}

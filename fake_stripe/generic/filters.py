"""A generic list's query parameters that are more than one field's equality: a plural array
naming a field (`ids[]` -> `id`, `lookup_keys[]` -> `lookup_key`), a hash naming the parts of a
field (`recurring[interval]`, `customer_details[email]`), and the few Stripe gives a meaning of
their own (`GET /v1/subscriptions`: no `status` means "not canceled", `all`, `ended`, `price`).

A parameter none of these reads is refused rather than ignored: a list that quietly ignores a
filter answers objects the caller asked not to see.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..core.context import Ctx
from ..core.errors import invalid_param
from ..core.params import in_range
from ..core.raw import RawKind
from .catalog import Operation

# A test on an object's JSON.
Test = Callable[[Mapping[str, Any]], bool]

_PAGING = frozenset({"limit", "starting_after", "ending_before", "expand", "created"})
_ITEM = "radar.value_list_item"
_RANGE_KEYS = frozenset({"gt", "gte", "lt", "lte"})
# `status=ended`: canceled, or expired for want of a first payment (Stripe's meaning).
_ENDED = frozenset({"canceled", "incomplete_expired"})


def tests(
    ctx: Ctx, op: Operation, properties: Mapping[str, Any], p: Mapping[str, Any]
) -> list[Test]:
    """The tests of the parameters of `p` that the catalog's equality filters and ranges do not
    cover; a parameter that is not a filter the fake can apply is refused, naming it."""
    found: list[Test] = []
    if _subscriptions(op):
        found.append(_subscription_status(p.get("status")))
    # A preview (`/v1/invoices/upcoming/lines`) computes its list from its parameters.
    preview = "upcoming" in op.template or "preview" in op.template
    for name, value in p.items():
        if name in _PAGING or name in op.filters or name in op.ranges or preview:
            continue
        test = _own(ctx, op.template, name, value) or _by_shape(name, value, properties)
        if test is None:
            # GUESS (docs/guesses.md): Stripe filters by it; the fake cannot, so it says so.
            raise invalid_param(
                name, f"The fake cannot filter {op.template} by {name}; leave it out."
            )
        found.append(test)
    return found


def consumed(op: Operation) -> frozenset[str]:
    """Equality filters this module reads in its own way (a subscription's `status`)."""
    return frozenset({"status"}) if _subscriptions(op) else frozenset()


def _subscriptions(op: Operation) -> bool:
    """A list of subscriptions (`/v1/subscriptions`, a customer's)."""
    return op.resource is not None and op.resource.build == "subscription"


def _subscription_status(status: Any) -> Test:
    # Without `status`, Stripe lists every subscription but the canceled ones.
    if status is None:
        return lambda data: data.get("status") != "canceled"
    if status == "all":
        return lambda data: True
    if status == "ended":
        return lambda data: data.get("status") in _ENDED
    return lambda data: data.get("status") == status


def _own(ctx: Ctx, template: str, name: str, value: Any) -> Test | None:
    """The filters whose meaning Stripe gives in words, not by naming a field."""
    if template in ("/v1/balance_transactions", "/v1/balance/history") and name == "payout":
        # The transactions a payout paid out: no balance transaction of the fake ever is.
        return lambda data: False
    if template == "/v1/radar/value_lists" and name == "contains":
        # The lists with an item of that value.
        holding = {
            item.data.get("value_list")
            for item in ctx.tenant.iterate(RawKind(_ITEM, _ITEM))
            if item.data.get("value") == value
        }
        return lambda data: data.get("id") in holding
    if template == "/v1/linked_accounts" and name == "session":
        session = ctx.tenant.get_any(str(value))
        shown = session.to_api(ctx.version) if session is not None else {}
        linked = {
            a.get("id") for a in _at(shown, ("accounts", "data")) or () if isinstance(a, dict)
        }
        return lambda data: data.get("id") in linked
    if template.startswith("/v1/treasury/") and name == "order_by":
        # GUESS (docs/guesses.md): newest first by `created`, whichever order is asked.
        return lambda data: True
    if template.endswith("/subscriptions") and name == "price":
        return lambda data: value in _item_prices(data)
    if template == "/v1/invoiceitems" and name == "pending":
        # Pending: on no invoice yet.
        return lambda data: (data.get("invoice") is None) == bool(value)
    if template == "/v1/subscription_schedules" and name == "scheduled":
        # Scheduled: not started yet.
        return lambda data: (data.get("status") == "not_started") == bool(value)
    if template == "/v1/shipping_rates" and name == "currency":
        return lambda data: _at(data, ("fixed_amount", "currency")) == value
    return None


def _item_prices(data: Mapping[str, Any]) -> list[Any]:
    items = _at(data, ("items", "data"))
    prices = []
    for item in items if isinstance(items, list) else ():
        price = item.get("price") if isinstance(item, dict) else None
        prices.append(price.get("id") if isinstance(price, dict) else price)
    return prices


def _by_shape(name: str, value: Any, properties: Mapping[str, Any]) -> Test | None:
    """`ids[]` -> `id` in the values; `recurring[interval]` -> that part of `recurring`
    (a part given as a range, `status_transitions[posted_at][gte]`, is a range)."""
    if isinstance(value, list):
        field = name[:-1] if name.endswith("s") else None
        if field is not None and field in properties:
            wanted = set(value)
            return lambda data: data.get(field) in wanted
        return None
    if name not in properties:
        return None
    if _integer(value) or (isinstance(value, dict) and value and set(value) <= _RANGE_KEYS):
        # A date that may be null (`due_date`, `canceled_at`): a range, or one moment.
        return lambda data: isinstance(f := data.get(name), int) and in_range(f, value)
    if isinstance(value, dict):
        parts = [(key, sub) for key, sub in value.items()]

        def matches(data: Mapping[str, Any]) -> bool:
            held = data.get(name)
            if not isinstance(held, dict):
                return False
            for key, sub in parts:
                if isinstance(sub, dict) and sub and set(sub) <= _RANGE_KEYS:
                    actual = held.get(key)
                    if not isinstance(actual, int) or not in_range(actual, sub):
                        return False
                elif held.get(key) != sub:
                    return False
            return True

        return matches
    return lambda data: data.get(name) == value


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _at(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = data
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node

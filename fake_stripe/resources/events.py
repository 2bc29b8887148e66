"""`/v1/events`: list and retrieve the tenant's events."""

from __future__ import annotations

from typing import Any

from ..core.context import Ctx
from ..core.errors import exclusive
from ..core.events import Event, type_group
from ..core.params import PAGINATION, RANGE, Arr, Bool, Spec, Str, in_range
from ..core.render import Page, paginate
from ..core.store.base import Match
from ..core.views import View

LIST = Spec(
    {
        **PAGINATION,
        "type": Str(),
        "types": Arr(Str(), max_items=20),
        "created": RANGE,
        "delivery_success": Bool(),
    }
)


def _matches(pattern: str, type_: str) -> bool:
    if pattern.endswith("*"):
        return type_.startswith(pattern[:-1])
    return pattern == type_


def list_(ctx: Ctx, p: dict[str, Any]) -> Page:
    type_ = p.get("type")
    types = p.get("types") or None  # `types=` (empty) sets no filter
    created = p.get("created")
    delivered = p.get("delivery_success")
    if type_ is not None and types is not None:
        raise exclusive("type", "types")

    def where(ev: Event) -> bool:
        if type_ is not None and not _matches(type_, ev.type):
            return False
        if types is not None and not any(_matches(t, ev.type) for t in types):
            return False
        # Delivered to every endpoint it was owed to (none, for an event no endpoint wanted);
        # an event whose attempts all failed stays counted in `pending_webhooks`, as Stripe's.
        if delivered is not None and (ev.pending_webhooks == 0) != delivered:
            return False
        return in_range(ev.created, created)

    # Each type, or group of them (`customer.*`), is read from the store's index; a wildcard
    # inside a segment (`cust*`) walks the events.
    wanted = [type_] if type_ is not None else list(types or [])
    entries = [("type", t) if not t.endswith("*") else type_group(t) for t in wanted]
    found = [e for e in entries if e is not None]
    match: Match | None = None
    if found and len(found) == len(entries):
        match = found[0] if len(found) == 1 else found
    # What the index reads is what the filter keeps: no model is built to check it again.
    exact = created is None and delivered is None and (not entries or match is not None)
    return paginate(ctx, Event, p, "/v1/events", None if exact else where, match)


def retrieve(ctx: Ctx, p: dict[str, Any]) -> View:
    return ctx.tenant.view(Event, ctx.path["id"])

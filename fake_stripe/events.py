"""Events: the record of every state change, listed through `/v1/events`, delivered by webhooks.

An event keeps a full snapshot of its object as stored (internal fields included), so it can be
rendered later for any API version: preview fields appear only for a `.preview` reader.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import exclusive
from .objects import Model, StripeObject, model_for
from .params import PAGINATION, RANGE, Arr, Bool, Spec, Str, in_range
from .render import Page, paginate

if TYPE_CHECKING:
    from .wire import Ctx


class EventRequest(Model):
    id: str | None = None
    idempotency_key: str | None = None


class EventData(Model):
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None


class Event(StripeObject):
    kind: ClassVar[str] = "event"
    prefix: ClassVar[str] = "evt"
    noun: ClassVar[str] = "event"
    internal: ClassVar[frozenset[str]] = frozenset({"snapshot_kind"})

    object: str = "event"
    api_version: str | None
    created: int
    data: EventData
    livemode: bool = False
    pending_webhooks: int = 0
    request: EventRequest | None
    type: str
    snapshot_kind: str

    def snapshot(self) -> StripeObject:
        return model_for(self.snapshot_kind).model_validate(self.data.object)

    def adjust(self, data: dict[str, Any], preview: bool) -> dict[str, Any]:
        data["data"]["object"] = self.snapshot().to_api(preview)
        if data["data"].get("previous_attributes") is None:
            del data["data"]["previous_attributes"]
        return data


Listener = Callable[["Ctx", Event], None]


class EventLog:
    """Records events in the tenant's store and tells listeners (webhook delivery)."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []

    def emit(
        self,
        ctx: Ctx,
        type: str,
        obj: StripeObject,
        previous_attributes: dict[str, Any] | None = None,
        from_request: bool = True,
    ) -> Event:
        ev = Event(
            id=ctx.tenant.new_id("evt"),
            api_version=ctx.version,
            created=ctx.now(),
            data=EventData(
                object=obj.model_dump(mode="json"), previous_attributes=previous_attributes
            ),
            request=EventRequest(id=ctx.request_id, idempotency_key=ctx.idempotency_key)
            if from_request
            else EventRequest(),
            type=type,
            snapshot_kind=obj.kind,
        )
        ctx.tenant.put(ev)
        after_commit = getattr(ctx.tenant, "after_commit", None)
        for listener in self.listeners:
            if after_commit is None:
                listener(ctx, ev)
            else:
                # Webhooks are sent only for events whose request succeeded.
                after_commit.append(functools.partial(listener, ctx, ev))
        return ev


LIST = Spec(
    {
        **PAGINATION,
        "type": Str(),
        "types": Arr(Str(), max_items=20),
        "created": RANGE,
        "delivery_success": Bool(),
    }
)
RETRIEVE = Spec({})


def _matches(pattern: str, type_: str) -> bool:
    if pattern.endswith("*"):
        return type_.startswith(pattern[:-1])
    return pattern == type_


def list_(ctx: Ctx, p: dict[str, Any]) -> Page:
    type_ = p.get("type")
    types = p.get("types") or None  # `types=` (empty) sets no filter
    created = p.get("created")
    if type_ is not None and types is not None:
        raise exclusive("type", "types")

    def where(ev: Event) -> bool:
        if type_ is not None and not _matches(type_, ev.type):
            return False
        if types is not None and not any(_matches(t, ev.type) for t in types):
            return False
        return in_range(ev.created, created)

    return paginate(ctx, Event, p, "/v1/events", where)


def retrieve(ctx: Ctx, p: dict[str, Any]) -> Event:
    return ctx.tenant.load(Event, ctx.path["id"])

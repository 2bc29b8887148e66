"""Events: the record of every state change (listed by `resources/events.py`, delivered by
`webhooks/`).

An event keeps a full snapshot of its object as stored (internal fields included), so it can be
rendered later for any API version: preview fields appear only for a `.preview` reader.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from .objects import Model, StripeObject, model_for

if TYPE_CHECKING:
    from .tenant import Tenant


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


# Told of each event once its request has committed, with the tenant's store itself.
Listener = Callable[["Tenant", Event], None]


class EventLog:
    """Records events in the tenant's store and tells listeners (webhook delivery)."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []

    def emit(
        self,
        tenant: Tenant,
        type: str,
        obj: StripeObject,
        *,
        version: str,
        request_id: str | None,
        idempotency_key: str | None = None,
        previous_attributes: dict[str, Any] | None = None,
    ) -> Event:
        # Validated from one plain dict: nested model instances would be checked and copied
        # again, and the object is dumped once, here.
        ev = Event.model_validate(
            {
                "id": tenant.new_id("evt"),
                "api_version": version,
                "created": tenant.now(),
                "data": {
                    "object": obj.model_dump(mode="json"),
                    "previous_attributes": previous_attributes,
                },
                "request": {"id": request_id, "idempotency_key": idempotency_key}
                if request_id is not None
                else {},
                "type": type,
                "snapshot_kind": obj.kind,
            }
        )
        tenant.put(ev)
        # A staged tenant tells listeners after its commit: webhooks are sent only for events
        # whose request succeeded.
        after_commit = getattr(tenant, "after_commit", None)
        committed = getattr(tenant, "base", tenant)
        for listener in self.listeners:
            if after_commit is None:
                listener(committed, ev)
            else:
                after_commit.append(functools.partial(listener, committed, ev))
        return ev

"""Events: the record of every state change (listed by `resources/events.py`, delivered by
`webhooks/`).

An event keeps a full snapshot of its object as stored (internal fields included). Its
`api_version` is the account's default version when it happened, and its `data` is the snapshot
rendered at that version, whoever reads it (`/v1/events` and a webhook endpoint without its own
`api_version`), as Stripe fixes both at creation. A webhook endpoint with its own `api_version`
gets the event rendered and labelled at that version.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .eventlog import EventLog, Recorded, Router, type_group, type_index
from .kinds import model_for
from .objects import Model, StripeObject
from .raw import RawObject

__all__ = [
    "Event",
    "EventData",
    "EventLog",
    "EventRequest",
    "Recorded",
    "Router",
    "type_group",
    "type_index",
]


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
    indexed: ClassVar[tuple[str, ...]] = ("type",)

    object: str = "event"
    api_version: str | None
    created: int
    data: EventData
    livemode: bool = False
    pending_webhooks: int = 0
    request: EventRequest | None
    type: str
    snapshot_kind: str

    def index_values(self) -> dict[str, str] | None:
        return type_index(self.type)

    def snapshot(self) -> StripeObject | RawObject:
        try:
            model = model_for(self.snapshot_kind)
        except KeyError:
            return RawObject(self.snapshot_kind, dict(self.data.object))
        return model.model_validate(self.data.object)

    def to_api(self, version: str) -> dict[str, Any]:
        """Read through `/v1/events`: as created, at the event's own `api_version` whatever the
        reader's (`version` is ignored, so the rendering depends on the event alone)."""
        return self.render_at(self.api_version or version)

    def render_at(self, version: str) -> dict[str, Any]:
        """The event as a reader at `version` sees it, labelled with that version (a webhook
        endpoint with its own `api_version` gets this)."""
        data = self.model_dump(mode="json", exclude=set(self.internal))
        data["api_version"] = version
        obj = self.snapshot()
        rendered = obj.to_api(version)
        data["data"]["object"] = rendered
        previous = self.data.previous_attributes
        if previous is None:
            del data["data"]["previous_attributes"]
        else:
            data["data"]["previous_attributes"] = _previous_for(obj, rendered, previous, version)
        return data


def _previous_for(
    obj: StripeObject | RawObject,
    rendered: dict[str, Any],
    previous: dict[str, Any],
    version: str,
) -> dict[str, Any]:
    """`previous_attributes` as the reader at `version` sees them: only the fields it sees, and
    only those whose rendering changed (a GA reader, who never sees `status_details.inactive`,
    is not told that `status_details` was `{}`)."""
    if isinstance(obj, RawObject):
        return {k: v for k, v in previous.items() if k in rendered}
    try:
        before = type(obj).model_validate({**obj.model_dump(mode="json"), **previous})
    except ValueError:
        return {k: v for k, v in previous.items() if k in rendered}
    shown = before.to_api(version)
    return {k: shown.get(k) for k in previous if k in rendered and shown.get(k) != rendered[k]}

"""The event log: each event written once, in the shape the `Event` model writes
(`core.events`), without building the model, so recording an event imports no model until an
event is read."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .encode import json_string, to_json
from .kinds import model_for
from .tenant import StagedTenant, Tenant
from .turns import checkpoint

if TYPE_CHECKING:
    from .objects import StripeObject
    from .raw import RawObject

EVENT = "event"  # the kind of `core.events.Event`


def type_index(type_: str) -> dict[str, str]:
    """An event's index entries: its type, and each group a `type=group.*` filter names:
    `customer.` and `customer.subscription.` for `customer.subscription.created`, under
    `type.1`, `type.2`."""
    found = {"type": type_}
    end = type_.find(".")
    depth = 1
    while end != -1:
        found[f"type.{depth}"] = type_[: end + 1]
        end = type_.find(".", end + 1)
        depth += 1
    return found


def type_group(pattern: str) -> tuple[str, str] | None:
    """The index entry a `type=` wildcard reads: `("type.1", "customer.")` for `customer.*`;
    None for a pattern that is not a group of whole segments (`cust*`), which is walked."""
    if not pattern.endswith(".*") or "*" in pattern[:-1]:
        return None
    group = pattern[:-1]
    return f"type.{group.count('.')}", group


class Recorded:
    """An event as it is recorded: what its routers read and set (`EventLog.emit` returns it)."""

    __slots__ = ("id", "type", "pending_webhooks")

    def __init__(self, id: str, type: str) -> None:
        self.id = id
        self.type = type
        self.pending_webhooks = 0


# Told of each event as it is recorded, before it is stored, with the request's staged tenant:
# it may set the event's `pending_webhooks`, stage what it owes for it and queue work in
# `after_commit` (webhook delivery hears of an event only if its request commits).
Router = Callable[[StagedTenant, Recorded], None]

_SLOTS = ("id", "api_version", "request_id", "idempotency_key", "type", "snapshot_kind")
# The values a recording fills in, in the order `Event` writes them (`_event_format` checks).
_ORDER = (
    *("id", "api_version", "created", "object", "previous_attributes", "pending_webhooks"),
    *("request_id", "idempotency_key", "type", "snapshot_kind"),
)


@functools.cache
def _event_format() -> str:
    """An event's JSON as `Event` writes it (its fields, their order, their defaults), as a
    `%`-format with a `%s` for each value a recording fills in, in `_ORDER`. Written by the
    model once, from marked values; a change of the model's shape that moves a value fails
    here, loudly."""
    event = model_for(EVENT)
    mark = "\x01{}\x01".format
    dumped = event.model_validate(
        {
            "id": mark("id"),
            "api_version": mark("api_version"),
            "created": 0,
            "data": {"object": {}, "previous_attributes": None},
            "request": {"id": mark("request_id"), "idempotency_key": mark("idempotency_key")},
            "type": mark("type"),
            "snapshot_kind": mark("snapshot_kind"),
        }
    ).model_dump_json()
    cut = "%({})s".format
    slots = {f'"\\u0001{name}\\u0001"': cut(name) for name in _SLOTS}
    slots['"created":0,'] = f'"created":{cut("created")},'
    slots['"pending_webhooks":0,'] = f'"pending_webhooks":{cut("pending_webhooks")},'
    slots['"data":{"object":{},"previous_attributes":null}'] = (
        f'"data":{{"object":{cut("object")},"previous_attributes":{cut("previous_attributes")}}}'
    )
    template = dumped.replace("%", "%%")
    for marked, slot in slots.items():
        if template.count(marked) != 1:
            raise RuntimeError(f"Event no longer writes {marked} once: {dumped}")
        template = template.replace(marked, slot)
    if re.findall(r"%\((\w+)\)s", template) != list(_ORDER):
        raise RuntimeError(f"Event no longer writes its values in the order {_ORDER}: {dumped}")
    return re.sub(r"%\((\w+)\)s", "%s", template)


def _string(value: str | None) -> str:
    """`value` in JSON, as `to_json` writes it."""
    if value is None:
        return "null"
    return json_string(value)


@functools.lru_cache(maxsize=1024)
def _named(value: str) -> str:
    """`_string` of a name the fake's own code gives (an event type, a kind, an API version):
    the same few on every event."""
    return _string(value)


@functools.lru_cache(maxsize=1024)
def _type_entries(type_: str) -> dict[str, str]:
    """`type_index`, kept for the event types the fake emits (never change the dict)."""
    return type_index(type_)


class EventLog:
    """Records events in the tenant's store, each written once, routed first."""

    def __init__(self) -> None:
        self.routers: list[Router] = []

    def emit(
        self,
        tenant: Tenant,
        type: str,
        obj: StripeObject | RawObject,
        *,
        version: str,
        request_id: str | None,
        idempotency_key: str | None = None,
        previous_attributes: dict[str, Any] | None = None,
        stored: str | None = None,
    ) -> Recorded:
        """Record an event of `obj` in `tenant`; `stored`: `obj`'s JSON, when its caller has
        it already (`Ctx.emit`)."""
        if not isinstance(tenant, StagedTenant):
            # Outside any request: a transaction of its own, committed at once.
            staged = StagedTenant(tenant)
            with tenant.backend.transaction(tenant.name, True):
                ev = self.emit(
                    staged,
                    type,
                    obj,
                    version=version,
                    request_id=request_id,
                    idempotency_key=idempotency_key,
                    previous_attributes=previous_attributes,
                    stored=stored,
                )
                staged.commit()
            return ev
        # Written in the shape `Event` writes (`_event_format`), with the object's own JSON,
        # serialized once, in `data.object`: no model is built for the event until it is read
        # (`tests/test_events.py` holds the two writings to each other, byte for byte).
        ev = Recorded(tenant.new_id("evt"), type)
        snapshot = obj.model_dump_json() if stored is None else stored
        checkpoint()
        for route in self.routers:
            route(tenant, ev)
        written = _event_format() % (  # in `_ORDER`
            f'"{ev.id}"',  # an id: letters, digits and `_` only
            _named(version),
            int(tenant.now()),
            snapshot,
            "null" if previous_attributes is None else to_json(previous_attributes).decode(),
            int(ev.pending_webhooks),
            _string(request_id),
            _string(None if request_id is None else idempotency_key),
            _named(type),
            _named(obj.kind),
        )
        tenant.put_row(EVENT, ev.id, written, _type_entries(type))
        return ev

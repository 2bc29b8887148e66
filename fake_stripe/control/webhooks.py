"""`/_fake/webhooks/deliveries` (the delivery journal), `/_fake/webhooks/settings` (a tenant's
fault modes and retry-schedule overrides), `/_fake/webhooks/payload` (an event as one endpoint
receives it) and `/_fake/webhooks/redeliver` (send an event to an endpoint again). They act on
the caller's tenant only, so the tenant's key is the credential, as on `/v1`; the server's
control token is not involved."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from ..core.errors import InvalidRequestError, invalid_param
from ..core.events import Event
from ..core.params import UNSET, Bool, Enum, Int, Param, Spec, Str, check
from ..core.tenant import Tenant
from ..resources.webhook_endpoints import WebhookEndpoint
from ..webhooks.delivery import Deliveries
from ..webhooks.schedule import BOUNDS, ScheduleError
from ..webhooks.settings import Settings
from ..webhooks.signing import render_payload
from ..wire import decode_form
from .guard import ControlServer, tenant_route


@dataclass
class Num(Param):
    """A decimal setting within `BOUNDS[name]`."""

    emptyable: bool = True

    def check(self, name: str, value: Any) -> Any:
        s = Str(max_length=40, emptyable=self.emptyable).check(name, value)
        if s is UNSET:
            return UNSET
        try:
            n = float(s)
            if not math.isfinite(n):
                raise ValueError
        except ValueError:
            raise invalid_param(name, f"Invalid decimal: {s}") from None
        low, high = BOUNDS[name]
        if n < low:
            raise invalid_param(name, f"This value must be greater than or equal to {low:g}.")
        if n > high:
            raise invalid_param(name, f"This value must be less than or equal to {high:g}.")
        return n


JOURNAL = Spec(
    {
        "event": Str(),
        "endpoint": Str(),
        "outcome": Enum(("succeeded", "failed")),
        "type": Str(),
        "after": Int(0),
        "limit": Int(1, 10_000),
    }
)
SETTINGS = Spec(
    {
        "duplicate": Bool(),
        "shuffle": Bool(),
        "shuffle_window": Num(),
        "base_delay": Num(),
        "factor": Num(),
        "max_attempts": Int(1, int(BOUNDS["max_attempts"][1]), emptyable=True),
        "time_scale": Num(),
        "timeout": Num(),
    }
)

# An event and one of the tenant's endpoints.
TARGET = Spec({"event": Str(), "endpoint": Str()}, required=("event", "endpoint"))


def _target(tenant: Tenant, p: dict[str, Any]) -> tuple[Event, WebhookEndpoint]:
    return tenant.load(Event, p["event"], "event"), tenant.load(
        WebhookEndpoint, p["endpoint"], "endpoint"
    )


class Payload(BaseModel):
    """An event's body as a delivery to one endpoint would send it now (rendered for the
    endpoint's version, with the event's current `pending_webhooks`)."""

    object: str = "webhook_payload"
    event: str
    endpoint: str
    api_version: str | None
    payload: str


class Redelivery(BaseModel):
    object: str = "webhook_redelivery"
    id: str
    event: str
    endpoint: str
    url: str


def _settings_body(d: Deliveries, tenant: Tenant) -> dict[str, Any]:
    s = d.settings(tenant)
    return {
        "duplicate": s.duplicate,
        "shuffle": s.shuffle,
        "shuffle_window": s.shuffle_window,
        "retry_schedule": dataclasses.asdict(s.schedule(d.schedule)),
    }


def routes(server: ControlServer) -> list[BaseRoute]:
    d = server.webhooks

    async def deliveries(request: Request, tenant: Tenant) -> Any:
        p = check(JOURNAL, await decode_form(request.url.query))
        limit = p.pop("limit", 100)
        found = d.journal(tenant.name, limit=limit + 1, **p)
        return {
            "object": "list",
            "data": [a.model_dump() for a in found[:limit]],
            "has_more": len(found) > limit,
            "url": "/_fake/webhooks/deliveries",
        }

    async def settings(request: Request, tenant: Tenant) -> Any:
        if request.method == "POST":
            p = check(SETTINGS, await decode_form(await request.body()))
            current = d.settings(tenant).model_dump()
            defaults = Settings().model_dump()
            for name, value in p.items():
                current[name] = defaults[name] if value is UNSET else value
            new = Settings.model_validate(current)
            try:
                new.schedule(d.schedule).check()
            except ScheduleError as err:
                raise invalid_param(err.param, str(err)) from None
            d.set_settings(tenant, new)
        return _settings_body(d, tenant)

    async def payload(request: Request, tenant: Tenant) -> Any:
        ev, ep = _target(tenant, check(TARGET, await decode_form(request.url.query)))
        return Payload(
            event=ev.id,
            endpoint=ep.id,
            api_version=ep.payload_version(ev.api_version),
            payload=render_payload(ev, ep),
        ).model_dump()

    async def redeliver(request: Request, tenant: Tenant) -> Any:
        ev, ep = _target(tenant, check(TARGET, await decode_form(await request.body())))
        if ep.status != "enabled":
            raise InvalidRequestError(
                f"The webhook endpoint {ep.id} is disabled; enable it to send events to it.",
                param="endpoint",
            )
        rec = d.redeliver(tenant, ev, ep)
        return Redelivery(id=rec.id, event=ev.id, endpoint=ep.id, url=ep.url).model_dump()

    return [
        Route("/_fake/webhooks/deliveries", tenant_route(server, deliveries), methods=["GET"]),
        Route("/_fake/webhooks/payload", tenant_route(server, payload), methods=["GET"]),
        Route("/_fake/webhooks/redeliver", tenant_route(server, redeliver), methods=["POST"]),
        Route("/_fake/webhooks/settings", tenant_route(server, settings), methods=["GET", "POST"]),
    ]

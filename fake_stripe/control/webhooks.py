"""`/_fake/webhooks/deliveries` (the delivery journal) and `/_fake/webhooks/settings` (a tenant's
fault modes and retry-schedule overrides). They act on the caller's tenant only, so the tenant's
key is the credential, as on `/v1`; the server's control token is not involved."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from ..core.errors import invalid_param
from ..core.params import UNSET, Bool, Enum, Int, Param, Spec, Str, check
from ..core.tenant import Tenant
from ..webhooks.delivery import BOUNDS, Deliveries, ScheduleError, Settings
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
        found = d.journal(tenant.name, **p)
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

    return [
        Route("/_fake/webhooks/deliveries", tenant_route(server, deliveries), methods=["GET"]),
        Route("/_fake/webhooks/settings", tenant_route(server, settings), methods=["GET", "POST"]),
    ]

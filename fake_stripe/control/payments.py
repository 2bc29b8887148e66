"""`/_fake/payments/settings`: a tenant's ACH settlement delay, in business days (default 4, as
Stripe's standard settlement; 0 settles a confirmed debit at the tenant's next request, as
Stripe's test mode does). It acts on the caller's tenant only: the tenant's key is the
credential."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from ..core.params import Int, Spec, check
from ..core.tenant import Tenant
from ..payments import ach
from ..wire import decode_form
from .guard import ControlServer, tenant_route

SETTINGS = Spec({"settlement_business_days": Int(0, 30)})


def routes(server: ControlServer) -> list[BaseRoute]:
    async def settings(request: Request, tenant: Tenant) -> Any:
        if request.method == "POST":
            p = check(SETTINGS, await decode_form(await request.body()))
            if "settlement_business_days" in p:
                tenant.meta_set(ach.SETTINGS_KEY, str(p["settlement_business_days"]))
        raw = tenant.meta_get(ach.SETTINGS_KEY)
        days = int(raw) if raw else ach.DEFAULT_SETTLEMENT_DAYS
        return {"object": "fake.payments_settings", "settlement_business_days": days}

    return [
        Route("/_fake/payments/settings", tenant_route(server, settings), methods=["GET", "POST"])
    ]

"""`/_fake/faults`: the fault rules a tenant has armed (`GET`), and clearing them (`DELETE`).

Rules are added with `POST /v1/test_helpers/faults`. Listing and clearing live here, outside
`/v1`, so that they never meet the rules themselves: a rule on `*` would otherwise fail the very
request that tries to remove it. The tenant's key is the credential, as on `/v1`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from ..core.faults import Rule
from ..core.params import Spec, check
from ..core.tenant import Tenant
from ..resources.test_helpers import fault_rule
from ..wire import decode_form
from .guard import ControlServer, tenant_route

PATH = "/_fake/faults"


def listed(rules: list[Rule]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [fault_rule(r).model_dump() for r in rules],
        "has_more": False,
        "url": PATH,
    }


def routes(server: ControlServer) -> list[BaseRoute]:
    async def faults(request: Request, tenant: Tenant) -> Any:
        check(Spec({}), await decode_form(request.url.query))
        rules = server.faults.rules(tenant.name)
        if request.method == "DELETE":  # answers with the rules it removed
            server.faults.reset(tenant.name)
        return listed(rules)

    return [Route(PATH, tenant_route(server, faults), methods=["GET", "DELETE"])]
